"""Checks of the by-hand exercises (backprop written in plain numpy) against
minigrad's autograd, step by step.

Layer: exercises. The reference is the same network built from Tensor ops and
differentiated by the tensor engine (``minigrad.exercises.networks``), every
intermediate gradient included. The learner's function runs under a tracer
(``minigrad.exercises.steps``) so that each step of their backward pass (the
error at the output, dW2, db2, the error at the hidden layer, dW1, db1, the
updates) is compared with the engine's, and the first wrong one is named, in
their own variable names, with what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from minigrad.autograd.diagnose import Finding, name_factor
from minigrad.exercises.catalog import Exercise
from minigrad.exercises.checker import CheckResult, _not_implemented, _raised
from minigrad.exercises.networks import Net, forward_steps, steps, two_layer
from minigrad.exercises.steps import checked_names, first_wrong_step, trace_call

__all__ = ["CLASSIC_222", "check_by_hand", "reference_222", "reference_xor"]

PARAMS = ("W1", "b1", "W2", "b2")

# Matt Mazur's worked example (weights w1..w8, biases, inputs, targets, rate).
CLASSIC_222: dict[str, Any] = {
    "x": np.array([0.05, 0.10]),
    "target": np.array([0.01, 0.99]),
    "W1": np.array([[0.15, 0.20], [0.25, 0.30]]),
    "b1": np.array([0.35, 0.35]),
    "W2": np.array([[0.40, 0.45], [0.50, 0.55]]),
    "b2": np.array([0.60, 0.60]),
    "lr": 0.5,
}

NET_222 = Net("col", "sigmoid", "sse_sigmoid")
NET_XOR = Net("row", "tanh", "mse_sigmoid")


def reference_222(
    x: np.ndarray, target: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """E and its gradients for the 2-2-2 network, by minigrad's autograd."""
    v = two_layer(NET_222, x, target, params)
    return v["loss"], {k: v[f"d_{k}"] for k in PARAMS}


def reference_xor(
    X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """The XOR network's loss and gradients, by minigrad's autograd."""
    v = two_layer(NET_XOR, X, y, params)
    return v["loss"], {k: v[f"d_{k}"] for k in PARAMS}


@dataclass(frozen=True)
class Spec:
    """How one by-hand exercise is called and read.

    ``data`` names the input and target arguments; ``returns`` is
    ``"update"`` (E and the four new parameters), ``"grads"`` (loss and a dict
    of gradients) or ``"grads_new"`` (loss, gradients, new parameters);
    ``what`` says each step in the exercise's notation.
    """

    fn: str
    signature: str
    net: Net
    cases: Callable[[], list[tuple[str, dict[str, Any]]]]
    data: tuple[str, str]
    returns: str
    what: dict[str, str]
    loss_name: str = "loss"
    params: tuple[str, ...] = PARAMS
    done: Callable[[Callable[..., Any], int], list[str]] = field(
        default=lambda fn, n: []
    )


def check_by_hand(ex: Exercise, module: ModuleType) -> CheckResult:
    """Runs the by-hand exercise ``ex`` on the learner's ``module``."""
    spec = SPECS[ex.name]
    fn = getattr(module, spec.fn, None)
    if not callable(fn):
        return CheckResult(
            ex.name, "failed", [f"{ex.name}: the file must define {spec.signature}"]
        )
    cases = spec.cases()
    path = getattr(module, "__file__", "") or ""
    for label, case in cases:
        X, y = case[spec.data[0]], case[spec.data[1]]
        params = {k: case[k] for k in spec.params}
        lr = case.get("lr")
        where = (
            f"{label} ({spec.data[0]} {np.shape(X)}, "
            + ", ".join(
                f"{k} {np.shape(params[k])}" for k in spec.params if k.startswith("W")
            )
            + ")"
        )
        args = {
            k: (np.array(v) if isinstance(v, np.ndarray) else v)
            for k, v in case.items()
        }
        try:
            res, events = trace_call(fn, args)
        except NotImplementedError as exc:
            return _not_implemented(ex, spec.fn, exc)
        except Exception as exc:
            result = _raised(ex, spec.fn, exc, where, path)
            if isinstance(exc, ValueError) and "matmul" in str(exc):
                result.lines.append(
                    "  A matrix product's shapes do not fit. When the error flows "
                    "back through a weight matrix it goes through the transpose "
                    "(delta @ W2.T in the x @ W layout, W2.T @ delta in the W @ x "
                    "one), and a weight's gradient is the layer's input (transposed) "
                    "times the error."
                )
            return result
        parsed = _parse(spec, res)
        if isinstance(parsed, str):
            return CheckResult(
                ex.name, "failed", [f"{ex.name}: FAILED on {where}: {parsed}."]
            )
        loss, yours = parsed
        v = two_layer(spec.net, X, y, params)
        walk = steps(spec.net, X, y, params, v, spec.what, yours, lr)
        N = 1 if spec.net.layout == "col" else int(np.shape(X)[0])
        sizes = {"the batch size N": N} if N > 1 else {}
        forward = [v[k] for k in ("z1", "h", "z2", "out") if k in v]
        found = first_wrong_step(walk, events, sizes, forward)
        lines, findings = [], []
        if not np.isclose(loss, v["loss"], rtol=1e-7, atol=1e-12):
            ratio = loss / v["loss"] if v["loss"] else float("inf")
            msg = (
                f"your {spec.loss_name} is {loss:.9g}, autograd's is "
                f"{v['loss']:.9g}"
                + (
                    f" (ratio {ratio:.4g}: {name_factor(ratio, sizes)})"
                    if np.isfinite(ratio)
                    else ""
                )
            )
            lines.append(f"The forward pass is wrong: {msg}.")
            findings.append(Finding("forward", None, msg))
        if lines:  # the forward pass is wrong: where?
            fw = first_wrong_step(forward_steps(spec.net, v, loss), events, {})
            if fw is not None and fw.step.key != "loss":
                lines = [
                    "The forward pass is wrong (the backward is checked once it is "
                    "right).",
                    *(_value_words(t) for t in fw.lines),
                ]
                msg = _value_words(fw.finding.message)
                findings = [Finding("forward", None, msg, fw.finding.evidence)]
                found = None
        if found is not None:
            if lines:  # the loss is wrong, every forward value right
                lines.append(
                    "Your backward pass is compared with autograd's from the right "
                    "forward values:"
                )
            lines += found.lines
            findings.append(found.finding)
        if lines:
            return CheckResult(
                ex.name, "failed", [f"{ex.name}: FAILED on {where}.", *lines], findings
            )
    names = checked_names(walk, events, forward)
    lines = [
        f"{ex.name}: passed. Your {spec.loss_name} and every step of your backward "
        f"pass match autograd on {len(cases)} cases "
        f"({'; '.join(label for label, _ in cases)})."
    ]
    if names:
        lines.append(f"The steps compared, in your names: {', '.join(names)}.")
    lines += spec.done(fn, len(cases))
    return CheckResult(ex.name, "passed", lines)


def _value_words(text: str) -> str:
    """A diagnosis said of a forward value instead of a gradient."""
    return text.replace("the gradient is", "the value is").replace(
        "the gradient has", "the value has"
    )


def _parse(spec: Spec, res: Any) -> tuple[float, dict[str, tuple[str, Any]]] | str:
    """The loss and what the learner returned for each step, or what is wrong
    with the return value."""
    keys = spec.params
    if spec.returns == "update":
        if not (isinstance(res, (tuple, list)) and len(res) == 1 + len(keys)):
            news = ", ".join(f"{k}_new" for k in keys)
            return f"{spec.fn} must return (E, {news})"
        yours = {f"new_{k}": (f"{k}_new", r) for k, r in zip(keys, res[1:])}
        return _float(res[0]), yours
    n = 2 if spec.returns == "grads" else 3
    shape = "(loss, grads)" if n == 2 else "(loss, grads, new_params)"
    dicts = "{" + ", ".join(f'"{k}": ...' for k in keys) + "}"
    if not (
        isinstance(res, (tuple, list))
        and len(res) == n
        and all(isinstance(d, dict) for d in res[1:])
    ):
        return f"{spec.fn} must return {shape}, each dict {dicts}"
    for d in res[1:]:
        missing = [k for k in keys if k not in d]
        if missing:
            return f"a dict returned by {spec.fn} lacks {missing}"
    yours = {f"d_{k}": (f'grads["{k}"]', res[1][k]) for k in keys}
    if n == 3:
        yours.update({f"new_{k}": (f'new_params["{k}"]', res[2][k]) for k in keys})
    return _float(res[0]), yours


def _float(x: Any) -> float:
    try:
        return float(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        return float("nan")


# -- the cases ---------------------------------------------------------------------


def _cases_222() -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(222)
    cases = [("the classic example", dict(CLASSIC_222))]
    for i in range(3):
        cases.append(
            (
                f"random case {i + 1}",
                {
                    "x": rng.uniform(-1, 1, 2),
                    "target": rng.uniform(0.05, 0.95, 2),
                    "W1": rng.standard_normal((2, 2)),
                    "b1": 0.5 * rng.standard_normal(2),
                    "W2": rng.standard_normal((2, 2)),
                    "b2": 0.5 * rng.standard_normal(2),
                    "lr": float(rng.uniform(0.1, 1.0)),
                },
            )
        )
    return cases


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _two_layer_params(rng: np.random.Generator, d: int, h: int, c: int) -> dict:
    return {
        "W1": rng.standard_normal((d, h)),
        "b1": 0.5 * rng.standard_normal(h),
        "W2": rng.standard_normal((h, c)),
        "b2": 0.5 * rng.standard_normal(c),
    }


def _cases_xor() -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(4)
    cases = []
    for label, X, y, h in (
        ("XOR, H = 3", XOR_X, XOR_Y, 3),
        ("XOR, H = 2", XOR_X, XOR_Y, 2),
        ("random data, N = 5, H = 4", rng.standard_normal((5, 2)), None, 4),
    ):
        if y is None:
            y = rng.uniform(0, 1, (5, 1))
        cases.append((label, {"X": X, "y": y, **_two_layer_params(rng, 2, h, 1)}))
    return cases


def _cases_mlp_batch() -> list[tuple[str, dict[str, Any]]]:
    # The first case has a square W2 (H = C): a missing transpose then gives
    # wrong values instead of a shape error.
    rng = np.random.default_rng(5)
    cases = []
    for n, d, h, c in ((5, 3, 4, 4), (8, 2, 5, 3)):
        case = {
            "X": rng.standard_normal((n, d)),
            "Y": rng.standard_normal((n, c)),
            **_two_layer_params(rng, d, h, c),
            "lr": float(rng.uniform(0.05, 0.5)),
        }
        cases.append((f"N = {n}, D = {d}, H = {h}, C = {c}", case))
    return cases


def _cases_softmax() -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(6)
    cases = []
    for n, d, c in ((5, 4, 3), (8, 3, 4)):
        case = {
            "X": rng.standard_normal((n, d)),
            "target": rng.integers(0, c, n),
            "W": rng.standard_normal((d, c)),
            "b": 0.5 * rng.standard_normal(c),
        }
        cases.append((f"N = {n}, D = {d}, C = {c}", case))
    return cases


def _cases_mlp_relu() -> list[tuple[str, dict[str, Any]]]:
    rng = np.random.default_rng(7)
    cases = []
    for n, d, h, c in ((6, 4, 3, 3), (8, 3, 5, 4)):
        while True:  # z1 away from relu's kink at 0, where it has no derivative
            params = _two_layer_params(rng, d, h, c)
            X = rng.standard_normal((n, d))
            if np.abs(X @ params["W1"] + params["b1"]).min() > 0.05:
                break
        case = {"X": X, "target": rng.integers(0, c, n), **params}
        cases.append((f"N = {n}, D = {d}, H = {h}, C = {c}", case))
    return cases


# -- what the exercises call each step ---------------------------------------------


def _what_rows(out: str, act: str, loss: str = "L") -> dict[str, str]:
    return {
        "d_out": f"d{loss}/d{out}, the loss's derivative with respect to the output",
        "d_z2": f"d{loss}/dz2, the error at the output layer (before its activation)",
        "d_W2": f"d{loss}/dW2",
        "d_b2": f"d{loss}/db2",
        "d_W": f"d{loss}/dW",
        "d_b": f"d{loss}/db",
        "d_h": f"d{loss}/dh, the error flowing back through W2 to the hidden layer",
        "d_z1": f"d{loss}/dz1, the error at the hidden layer (d{loss}/dh times "
        f"{act}'(z1))",
        "d_W1": f"d{loss}/dW1",
        "d_b1": f"d{loss}/db1",
        **{f"new_{k}": f"the updated {k}, {k} - lr * d{loss}/d{k}" for k in PARAMS},
    }


WHAT_222 = {
    **_what_rows("out", "sigmoid", "E"),
    "d_out": "dE/dout, the error's derivative with respect to the outputs",
    "d_z2": "delta_out = dE/dnet_out, the error signal of the output neurons",
    "d_h": "dE/dh, the output error collected back through W2 (before the update)",
    "d_z1": "delta_h = dE/dnet_h, the error signal of the hidden neurons",
}


def _done_222(fn: Callable[..., Any], n: int) -> list[str]:
    _, g = reference_222(
        CLASSIC_222["x"], CLASSIC_222["target"], {k: CLASSIC_222[k] for k in PARAMS}
    )
    w5 = CLASSIC_222["W2"][0, 0] - 0.5 * g["W2"][0, 0]
    return [
        f"After the step on the classic example, w5 = {w5:.8f}, as in the worked "
        "example."
    ]


def _done_xor(
    fn: Callable[..., Any], n: int, steps: int = 2000, lr: float = 2.0
) -> list[str]:
    """Learns XOR with the learner's gradients (information, not a check)."""
    rng = np.random.default_rng(0)
    params = {
        "W1": rng.standard_normal((2, 8)),
        "b1": np.zeros(8),
        "W2": rng.standard_normal((8, 1)),
        "b2": np.zeros(1),
    }
    try:
        first = None
        for _ in range(steps):
            loss, grads = fn(XOR_X, XOR_Y, **params)
            first = float(loss) if first is None else first
            params = {k: v - lr * np.asarray(grads[k]) for k, v in params.items()}
    except Exception:
        return []
    h = np.tanh(XOR_X @ params["W1"] + params["b1"])
    p = 1.0 / (1.0 + np.exp(-(h @ params["W2"] + params["b2"])))
    solved = bool(np.all((p.ravel() > 0.5) == XOR_Y.ravel().astype(bool)))
    return [
        f"Trained with your gradients ({steps} steps of gradient descent, lr "
        f"{lr}): loss {first:.4f} -> {float(loss):.4f}, predictions "
        f"{np.round(p.ravel(), 3).tolist()} for targets [0, 1, 1, 0]"
        + (": XOR solved." if solved else ".")
    ]


SPECS: dict[str, Spec] = {
    "backprop_222": Spec(
        "sgd_step",
        "sgd_step(x, target, W1, b1, W2, b2, lr)",
        NET_222,
        _cases_222,
        ("x", "target"),
        "update",
        WHAT_222,
        "E",
        done=_done_222,
    ),
    "xor_numpy": Spec(
        "forward_backward",
        "forward_backward(X, y, W1, b1, W2, b2)",
        NET_XOR,
        _cases_xor,
        ("X", "y"),
        "grads",
        _what_rows("p", "tanh"),
        done=_done_xor,
    ),
    "mlp_batch": Spec(
        "sgd_step",
        "sgd_step(X, Y, W1, b1, W2, b2, lr)",
        Net("row", "sigmoid", "half_sse_linear"),
        _cases_mlp_batch,
        ("X", "Y"),
        "grads_new",
        _what_rows("out", "sigmoid"),
    ),
    "softmax_classifier": Spec(
        "forward_backward",
        "forward_backward(X, target, W, b)",
        Net("row", None, "ce"),
        _cases_softmax,
        ("X", "target"),
        "grads",
        {
            **_what_rows("p", ""),
            "d_z2": "dL/dz, the error at the logits z = X @ W + b",
        },
        params=("W", "b"),
    ),
    "mlp_relu": Spec(
        "forward_backward",
        "forward_backward(X, target, W1, b1, W2, b2)",
        Net("row", "relu", "ce"),
        _cases_mlp_relu,
        ("X", "target"),
        "grads",
        _what_rows("p", "relu"),
    ),
}
