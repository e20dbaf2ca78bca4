"""Checks of the by-hand exercises (backprop written in plain numpy) against
minigrad's autograd.

Layer: exercises. The reference is the same network built from Tensor ops and
differentiated by the tensor engine; each of the learner's gradients becomes a
:class:`~minigrad.autograd.gradcheck.JacobianCheck` (one column: the loss) so
the diagnosis is the one gradcheck gives (sign, factor, transpose, unsummed
broadcast dimension, swap, zero).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from minigrad.autograd.diagnose import BackwardProbe, RawGrad, diagnose, name_factor
from minigrad.autograd.gradcheck import JacobianCheck, format_failure
from minigrad.exercises.catalog import Exercise
from minigrad.exercises.checker import CheckResult, _not_implemented, _raised

__all__ = ["CLASSIC_222", "check_by_hand", "reference_222", "reference_xor"]

ATOL, RTOL = 1e-8, 1e-6
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


def _leaves(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    from minigrad.creation import tensor
    from minigrad.dtypes import float64

    return {k: tensor(v, dtype=float64, requires_grad=True) for k, v in arrays.items()}


def reference_222(
    x: np.ndarray,
    target: np.ndarray,
    params: dict[str, np.ndarray],
) -> tuple[float, dict[str, np.ndarray]]:
    """E and its gradients for the 2-2-2 network, by minigrad's autograd."""
    from minigrad.creation import tensor
    from minigrad.dtypes import float64

    p = _leaves(params)
    xs = tensor(x.reshape(2, 1), dtype=float64)
    t = tensor(target.reshape(2, 1), dtype=float64)
    h = (p["W1"] @ xs + p["b1"].reshape(2, 1)).sigmoid()
    out = (p["W2"] @ h + p["b2"].reshape(2, 1)).sigmoid()
    e = (0.5 * (t - out) ** 2).sum()
    e.backward()
    return float(e.item()), {k: np.array(v.grad.data) for k, v in p.items()}


def reference_xor(
    X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]
) -> tuple[float, dict[str, np.ndarray]]:
    """The XOR network's loss and gradients, by minigrad's autograd."""
    from minigrad.creation import tensor
    from minigrad.dtypes import float64

    p = _leaves(params)
    xs, ys = tensor(X, dtype=float64), tensor(y, dtype=float64)
    h = (xs @ p["W1"] + p["b1"]).tanh()
    prob = (h @ p["W2"] + p["b2"]).sigmoid()
    loss = ((prob - ys) ** 2).mean()
    loss.backward()
    return float(loss.item()), {k: np.array(v.grad.data) for k, v in p.items()}


def check_by_hand(ex: Exercise, module: ModuleType) -> CheckResult:
    """Runs the by-hand exercise ``ex`` on the learner's ``module``."""
    check = {"backprop_222": _check_222, "xor_numpy": _check_xor}[ex.name]
    return check(ex, module)


def _function(ex: Exercise, module: ModuleType, name: str) -> Any:
    fn = getattr(module, name, None)
    return fn if callable(fn) else None


# -- backprop_222 ------------------------------------------------------------------


def _cases_222() -> list[dict[str, Any]]:
    rng = np.random.default_rng(222)
    cases = [CLASSIC_222]
    for _ in range(3):
        cases.append(
            {
                "x": rng.uniform(-1, 1, 2),
                "target": rng.uniform(0.05, 0.95, 2),
                "W1": rng.standard_normal((2, 2)),
                "b1": 0.5 * rng.standard_normal(2),
                "W2": rng.standard_normal((2, 2)),
                "b2": 0.5 * rng.standard_normal(2),
                "lr": float(rng.uniform(0.1, 1.0)),
            }
        )
    return cases


def _check_222(ex: Exercise, module: ModuleType) -> CheckResult:
    fn = _function(ex, module, "sgd_step")
    if fn is None:
        return _missing(ex, "sgd_step(x, target, W1, b1, W2, b2, lr)")
    cases = _cases_222()
    for number, case in enumerate(cases, 1):
        where = "the classic example" if number == 1 else f"random case {number - 1}"
        args = {k: np.array(v) if k != "lr" else v for k, v in case.items()}
        try:
            res = fn(**args)
        except NotImplementedError as exc:
            return _not_implemented(ex, "sgd_step", exc)
        except Exception as exc:
            return _raised(ex, "sgd_step", exc, where, module.__file__ or "")
        if not (isinstance(res, (tuple, list)) and len(res) == 5):
            return _bad_return(
                ex, where, "sgd_step must return (E, W1_new, b1_new, W2_new, b2_new)"
            )
        params = {k: case[k] for k in PARAMS}
        e_ref, grads = reference_222(case["x"], case["target"], params)
        lr = case["lr"]
        yours = {
            k: (params[k] - np.asarray(new, dtype=np.float64)) / lr
            if np.shape(new) == params[k].shape
            else np.asarray(new, dtype=np.float64)
            for k, new in zip(PARAMS, res[1:])
        }
        result = _compare(
            ex,
            where,
            float(np.asarray(res[0])),
            e_ref,
            "E",
            yours,
            grads,
            "sgd_step",
            update=True,
        )
        if result is not None:
            return result
    new_w2 = (
        CLASSIC_222["W2"]
        - 0.5
        * reference_222(
            CLASSIC_222["x"], CLASSIC_222["target"], {k: CLASSIC_222[k] for k in PARAMS}
        )[1]["W2"]
    )
    return CheckResult(
        ex.name,
        "passed",
        [
            f"{ex.name}: passed. Your E and updated weights match autograd on the "
            f"classic example and {len(cases) - 1} random ones (after the step, "
            f"w5 = {new_w2[0, 0]:.8f}, as in the worked example)."
        ],
    )


# -- xor_numpy ---------------------------------------------------------------------

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def _cases_xor() -> list[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(4)
    cases = []
    for label, X, y, h in (
        ("XOR, H = 3", XOR_X, XOR_Y, 3),
        ("XOR, H = 2", XOR_X, XOR_Y, 2),
        ("random data, N = 5, H = 4", rng.standard_normal((5, 2)), None, 4),
    ):
        if y is None:
            y = rng.uniform(0, 1, (5, 1))
        params = {
            "W1": rng.standard_normal((2, h)),
            "b1": 0.5 * rng.standard_normal(h),
            "W2": rng.standard_normal((h, 1)),
            "b2": 0.5 * rng.standard_normal(1),
        }
        cases.append((label, X, y, params))
    return cases


def _check_xor(ex: Exercise, module: ModuleType) -> CheckResult:
    fn = _function(ex, module, "forward_backward")
    if fn is None:
        return _missing(ex, "forward_backward(X, y, W1, b1, W2, b2)")
    cases = _cases_xor()
    for label, X, y, params in cases:
        where = f"{label} (X {X.shape}, W1 {params['W1'].shape})"
        try:
            res = fn(X.copy(), y.copy(), **{k: v.copy() for k, v in params.items()})
        except NotImplementedError as exc:
            return _not_implemented(ex, "forward_backward", exc)
        except Exception as exc:
            return _raised(ex, "forward_backward", exc, where, module.__file__ or "")
        if not (
            isinstance(res, (tuple, list))
            and len(res) == 2
            and isinstance(res[1], dict)
        ):
            return _bad_return(
                ex,
                where,
                'forward_backward must return (loss, {"W1": ..., "b1": ..., '
                '"W2": ..., "b2": ...})',
            )
        missing = [k for k in PARAMS if k not in res[1]]
        if missing:
            return _bad_return(ex, where, f"the gradients dict lacks {missing}")
        loss_ref, grads = reference_xor(X, y, params)
        yours = {k: np.asarray(res[1][k], dtype=np.float64) for k in PARAMS}
        result = _compare(
            ex,
            where,
            float(np.asarray(res[0])),
            loss_ref,
            "the loss",
            yours,
            grads,
            "forward_backward",
            sizes={"the batch size N": X.shape[0]},
        )
        if result is not None:
            return result
    lines = [
        f"{ex.name}: passed. Your loss and gradients match autograd on "
        f"{len(cases)} cases ({'; '.join(c[0] for c in cases)})."
    ]
    lines += _train_xor(fn)
    return CheckResult(ex.name, "passed", lines)


def _train_xor(fn: Callable[..., Any], steps: int = 2000, lr: float = 2.0) -> list[str]:
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


# -- shared ------------------------------------------------------------------------


def _compare(
    ex: Exercise,
    where: str,
    loss: float,
    loss_ref: float,
    loss_name: str,
    yours: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    source: str,
    update: bool = False,
    sizes: dict[str, int] | None = None,
) -> CheckResult | None:
    """Loss and gradients against autograd's; a failure report or None."""
    lines = []
    if not np.isclose(loss, loss_ref, rtol=1e-7, atol=1e-12):
        ratio = loss / loss_ref if loss_ref else float("inf")
        lines.append(
            f"{loss_name} is wrong: yours is {loss:.9g}, autograd's {loss_ref:.9g} "
            f"(ratio {ratio:.4g}"
            + (f"; {name_factor(ratio, {})})" if np.isfinite(ratio) else ")")
        )
    checks, raw = [], {}
    for i, k in enumerate(PARAMS):
        ref, mine = grads[k], yours[k]
        same = mine.shape == ref.shape
        checks.append(
            JacobianCheck(
                i,
                ref.shape,
                (),
                mine.reshape(-1, 1) if same else np.full((ref.size, 1), np.nan),
                ref.reshape(-1, 1),
                ATOL,
                RTOL,
                name=k,
            )
        )
        if not same and update:  # a wrong-shaped update says nothing of the gradient
            checks[-1].notes.append(
                f"your new {k} has shape {mine.shape}, not {ref.shape}"
            )
        elif not same:
            raw[i] = RawGrad(mine.shape, mine.reshape(-1, 1), f"your {source}")
    failed = [c for c in checks if not c.passed]
    if not failed and not lines:
        return None
    findings = diagnose(
        checks,
        BackwardProbe(f"your {source}", raw),
        ours="yours",
        ref="autograd",
        sizes=sizes,
    )
    if update:
        findings = [_as_update(f) for f in findings]
    head = [f"{ex.name}: FAILED on {where}.", *lines]
    if failed:
        names = ", ".join(c.label for c in failed)
        head.append(
            f"Your gradients disagree with autograd for {names}"
            + (
                " (your gradient is read off your update: (old - new) / lr):"
                if update
                else ":"
            )
        )
        body = format_failure(failed, findings, ours="yours", ref="autograd")
        head += ["  " + line for line in body.splitlines()[1:]]
    return CheckResult(ex.name, "failed", head, findings)


def _as_update(f: Any) -> Any:
    """Says 'not updated' for a parameter whose update leaves it unchanged."""
    if f.kind == "zero" and not f.evidence.get("partial") and f.index is not None:
        f.message = (
            f"{PARAMS[f.index]}: it is not updated (new = old), but its gradient "
            "is not zero"
        )
    return f


def _missing(ex: Exercise, signature: str) -> CheckResult:
    return CheckResult(
        ex.name, "failed", [f"{ex.name}: the file must define {signature}"]
    )


def _bad_return(ex: Exercise, where: str, msg: str) -> CheckResult:
    return CheckResult(ex.name, "failed", [f"{ex.name}: FAILED on {where}: {msg}."])
