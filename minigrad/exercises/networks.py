"""The networks of the by-hand exercises: forward and gradients by minigrad's
autograd, and the steps of their backward pass with the usual mistakes.

Layer: exercises. ``two_layer`` differentiates one network with the tensor
engine (every intermediate gradient, not only the parameters'); ``steps``
turns that into the :class:`~minigrad.exercises.steps.Step` list the checker
walks, each step with the values its common mistakes give.

Layouts: ``"row"`` is numpy's batch layout (``z1 = X @ W1 + b1``, X (N, D), W1
(D, H)); ``"col"`` is the single-example column layout of the worked 2-2-2
example (``z1 = W1 @ x + b1``, x (D,), W1 (H, D)).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.exercises.steps import Step, Variant

__all__ = ["Net", "forward_steps", "steps", "two_layer"]

ACT_DERIV = {
    "sigmoid": ("h * (1 - h)", lambda h, z: h * (1 - h), lambda z: z * (1 - z)),
    "tanh": ("1 - h**2", lambda h, z: 1 - h**2, lambda z: 1 - z**2),
    "relu": ("(z1 > 0)", lambda h, z: (z > 0).astype(np.float64), None),
}


@dataclass(frozen=True)
class Net:
    """One network: layout, hidden activation (None: no hidden layer), and the
    head: ``"sse_sigmoid"`` (E = sum 1/2 (target - sigmoid(z2))^2),
    ``"mse_sigmoid"`` (mean((sigmoid(z2) - y)^2)), ``"half_sse_linear"``
    (sum 1/2 (z2 - Y)^2 / N) or ``"ce"`` (softmax cross-entropy, batch mean)."""

    layout: str
    act: str | None
    head: str


def two_layer(net: Net, X: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> dict:
    """Loss, forward values and every gradient, by autograd, as numpy arrays.

    Keys: loss, z1, h, z2, out; gradients d_out (of the output activation's
    output), d_z2, d_h, d_z1 and d_<param>. Without a hidden layer the
    parameters are W and b, and z2 is the logits.
    """
    import minigrad as mg
    from minigrad.creation import tensor
    from minigrad.dtypes import float64

    p = {
        k: tensor(np.asarray(v), dtype=float64, requires_grad=True)
        for k, v in params.items()
    }
    col = net.layout == "col"
    xs = tensor(X.reshape(-1, 1) if col else X, dtype=float64)
    vals: dict[str, Any] = {}

    def affine(inp: Any, w: str, b: str) -> Any:
        if col:
            return p[w] @ inp + p[b].reshape(-1, 1)
        return inp @ p[w] + p[b]

    if net.act is None:
        z2 = affine(xs, "W", "b")
        inner = [z2]
    else:
        z1 = affine(xs, "W1", "b1")
        h = getattr(z1, net.act)()
        z2 = affine(h, "W2", "b2")
        inner = [z1, h, z2]
    if net.head in ("sse_sigmoid", "mse_sigmoid"):
        out = z2.sigmoid()
        t = tensor(y.reshape(-1, 1) if col else y, dtype=float64)
        loss = (0.5 * (t - out) ** 2).sum() if col else ((out - t) ** 2).mean()
        inner.append(out)
    elif net.head == "half_sse_linear":
        out = z2
        t = tensor(y, dtype=float64)
        loss = 0.5 * ((out - t) ** 2).sum() / X.shape[0]
    else:
        out = z2.softmax(dim=1)
        onehot = np.zeros(z2.shape)
        onehot[np.arange(len(y)), y] = 1.0
        loss = -(z2.log_softmax(dim=1) * tensor(onehot, dtype=float64)).sum() / len(y)
    names = ["z1", "h", "z2", "out"] if net.act else ["z2", "out"]
    if net.head in ("half_sse_linear", "ce"):
        names = names[:-1]
    grads = mg.autograd.grad(loss, [*inner, *p.values()])

    def arr(t: Any) -> np.ndarray:
        a = np.array(t.data, dtype=np.float64)
        return a.reshape(-1) if col and a.ndim == 2 and a.shape[1] == 1 else a

    for n, t, g in zip(names, inner, grads):
        vals[n], vals[f"d_{n}"] = arr(t), arr(g)
    if "out" not in vals:
        vals["out"] = arr(out)
    for k, g in zip(p, grads[len(inner) :]):
        vals[f"d_{k}"] = np.array(g.data, dtype=np.float64)
    vals["loss"] = float(loss.item())
    return vals


def forward_steps(net: Net, v: dict[str, Any], loss: float) -> list[Step]:
    """The forward pass as steps (z1, h, z2, the output), then the loss the
    learner returned: the first wrong one is where the forward goes wrong."""
    col = net.layout == "col"
    mul = (lambda w, a: f"{w} @ {a}") if col else (lambda w, a: f"{a} @ {w}")
    x = "x" if col else "X"
    out: list[Step] = []
    if net.act:
        out.append(Step("z1", f"z1 = {mul('W1', x)} + b1", v["z1"], feeds=("h",)))
        out.append(Step("h", f"h = {net.act}(z1)", v["h"], feeds=("z2",)))
        out.append(Step("z2", f"z2 = {mul('W2', 'h')} + b2", v["z2"], feeds=("out",)))
    else:
        out.append(Step("z2", f"z = {mul('W', x)} + b", v["z2"], feeds=("out",)))
    if net.head != "half_sse_linear":
        f = "sigmoid" if net.head.endswith("sigmoid") else "softmax"
        out.append(Step("out", f"the output, {f}(z)", v["out"], feeds=("loss",)))
    out.append(
        Step("loss", "the loss", np.asarray(v["loss"]), returned="the loss", yours=loss)
    )
    return out


def steps(
    net: Net,
    X: np.ndarray,
    y: np.ndarray,
    params: dict[str, np.ndarray],
    v: dict[str, Any],
    what: dict[str, str],
    yours: dict[str, tuple[str, Any]],
    lr: float | None = None,
) -> list[Step]:
    """The backward pass of ``net`` as steps, with their common mistakes.

    ``what`` says each step in the exercise's notation (keys: d_out, d_z2,
    d_W2, ..., new_W2); ``yours`` maps a step key to the label and value of what
    the learner returned for it (missing: an intermediate step).
    """
    col = net.layout == "col"
    N = 1 if col else X.shape[0]
    second = ("W2", "b2") if net.act else ("W", "b")
    out: list[Step] = []

    def step(
        key: str, value: np.ndarray, variants: list[Variant], feeds: tuple
    ) -> None:
        label, mine = yours.get(key, (None, None))
        out.append(Step(key, what[key], value, variants, label, mine, feeds))

    def mm(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
        try:
            return a @ b
        except ValueError:
            return None

    # -- the output
    dz2 = v["d_z2"]
    if net.head in ("sse_sigmoid", "mse_sigmoid"):
        p, z2, dp = v["out"], v["z2"], v["d_out"]
        step("d_out", dp, [], ("d_z2",))
        step(
            "d_z2",
            dz2,
            [
                Variant(
                    "activation_derivative",
                    dp,
                    "the sigmoid's derivative is missing: it is the derivative with "
                    "respect to the output, not yet with respect to the sum before "
                    "the sigmoid; multiply by out * (1 - out)",
                ),
                Variant(
                    "activation_derivative",
                    dp * z2 * (1 - z2),
                    "the sigmoid's derivative is taken of the sum before the "
                    "sigmoid (z * (1 - z)) instead of its output: sigmoid'(z) = "
                    "out * (1 - out)",
                ),
            ],
            (f"d_{second[0]}", f"d_{second[1]}", "d_h"),
        )
    elif net.head == "ce":
        p = v["out"]
        step(
            "d_z2",
            dz2,
            [
                Variant(
                    "ce_target",
                    p / N,
                    f"the -1 at the target class is missing: it is softmax(z) / N, "
                    f"so it is exactly 1/N = {1 / N:.4g} too large at each row's "
                    "target class and right elsewhere. The gradient of cross-entropy "
                    "is (softmax(z) - onehot(target)) / N",
                ),
                Variant(
                    "ce_target",
                    p,
                    f"the -1 at the target class is missing and the 1/N of the "
                    f"batch mean too: it is softmax(z); the gradient is (softmax(z) "
                    f"- onehot(target)) / N with N = {N}",
                ),
            ],
            (f"d_{second[0]}", f"d_{second[1]}", "d_h"),
        )
    else:
        step("d_z2", dz2, [], (f"d_{second[0]}", f"d_{second[1]}", "d_h"))
    for k in second:
        step(f"d_{k}", v[f"d_{k}"], [], (f"new_{k}",))
    # -- through W2 to the hidden layer
    if net.act:
        W2 = params["W2"]
        W2_new = W2 - lr * v["d_W2"] if lr is not None else None
        back = (lambda w: w.T @ dz2) if col else (lambda w: mm(dz2, w.T))
        wrong_t = mm(W2, dz2) if col else mm(dz2, W2)
        formula = "W2.T @ delta" if col else "delta @ W2.T"
        causes = []
        if wrong_t is not None and wrong_t.shape == v["d_h"].shape:
            causes.append(
                (
                    "transpose_missing",
                    wrong_t,
                    f"the transpose of W2 is missing: the error flows back through "
                    f"W2 transposed ({formula})",
                )
            )
        if W2_new is not None and (moved := back(W2_new)) is not None:
            causes.append(
                (
                    "updated_weights",
                    moved,
                    "it uses W2 after the update (W2 - lr * dW2): the error flows "
                    "back through the weights the forward pass used; compute it "
                    "before updating W2 (or keep the old W2)",
                )
            )
        h, z1 = v["h"], v["z1"]
        name, deriv, of_z = ACT_DERIV[net.act]
        d = deriv(h, z1)
        step("d_h", v["d_h"], [Variant(k, val, e) for k, val, e in causes], ("d_z1",))
        z1_variants = [Variant(k, val * d, e) for k, val, e in causes]
        z1_variants.append(
            Variant(
                "activation_derivative",
                v["d_h"],
                f"the {net.act}'s derivative is missing: it is the error at the "
                f"hidden layer's output h; multiply by {net.act}'(z1) = {name}",
            )
        )
        if of_z is not None:
            z1_variants.append(
                Variant(
                    "activation_derivative",
                    v["d_h"] * of_z(z1),
                    f"the {net.act}'s derivative is taken of z1, the sum before "
                    f"the {net.act}, instead of its output h: {net.act}'(z1) = {name}",
                )
            )
        else:
            z1_variants.append(
                Variant(
                    "activation_derivative",
                    np.maximum(v["d_h"], 0.0),
                    "relu is applied to the error instead of its derivative: the "
                    "error passes where z1 > 0 (multiply by (z1 > 0)), whatever its "
                    "sign",
                )
            )
        step("d_z1", v["d_z1"], z1_variants, ("d_W1", "d_b1"))
        for k in ("W1", "b1"):
            step(f"d_{k}", v[f"d_{k}"], [], (f"new_{k}",))
    # -- the updates
    if lr is not None:
        for k in params:
            g, old = v[f"d_{k}"], params[k]
            step(
                f"new_{k}",
                old - lr * g,
                [
                    Variant(
                        "update_sign",
                        old + lr * g,
                        f"the step has the wrong sign: new {k} = {k} + lr * d{k} "
                        f"climbs the loss; gradient descent subtracts: {k} - lr * d{k}",
                    ),
                    Variant(
                        "not_updated",
                        old,
                        f"it is not updated (new {k} = {k}), but its gradient is "
                        "not zero",
                    ),
                ],
                (),
            )
    return out
