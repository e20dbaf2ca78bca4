"""Finite-difference gradient checks: ``gradcheck`` and ``gradgradcheck``.

Layer: autograd. Central differences against the analytical Jacobian that
backward computes, with PyTorch's signature and default tolerances. A failure
reports, per input, the worst elements (index, analytical, numerical, absolute
and relative error) instead of a bare False.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd.engine import grad as autograd_grad

__all__ = ["GradcheckError", "JacobianCheck", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""

    def __init__(self, message: str, checks: list[JacobianCheck]) -> None:
        super().__init__(message)
        self.checks = checks


@dataclass
class JacobianCheck:
    """The two Jacobians of one input: ``analytical[k, j] = d out_j / d in_k``
    (input element k, flattened output element j), computed by backward and by
    central differences."""

    index: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    analytical: np.ndarray
    numerical: np.ndarray
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(np.all(self.bad_mask() == 0)) and not self.notes

    def bad_mask(self) -> np.ndarray:
        a, n = self.analytical, self.numerical
        with np.errstate(invalid="ignore"):
            ok = np.abs(a - n) <= self.atol + self.rtol * np.abs(n)
        ok |= np.isnan(a) & np.isnan(n)
        return ~ok

    def worst(self, k: int = 5) -> list[tuple[Any, Any, float, float, float, float]]:
        """The ``k`` worst elements: (input index, output index, analytical,
        numerical, absolute error, relative error)."""
        a, n = self.analytical, self.numerical
        with np.errstate(invalid="ignore"):
            excess = np.abs(a - n) - (self.atol + self.rtol * np.abs(n))
        excess = np.where(np.isnan(excess), np.inf, excess)
        order = np.argsort(-excess, axis=None)[:k]
        rows = []
        for flat in order:
            i, j = np.unravel_index(flat, a.shape)
            if excess[i, j] <= 0:
                break
            av, nv = float(a[i, j]), float(n[i, j])
            err = abs(av - nv)
            rows.append(
                (
                    _unravel(i, self.input_shape),
                    _unravel(j, self.output_shape),
                    av,
                    nv,
                    err,
                    err / max(abs(nv), 1e-12),
                )
            )
        return rows


def _unravel(i: int, shape: tuple[int, ...]) -> Any:
    return tuple(int(x) for x in np.unravel_index(i, shape)) if shape else ()


def _tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_outputs(outs: tuple[Any, ...]) -> np.ndarray:
    from minigrad.tensor import Tensor

    parts = [
        np.asarray(o.data if isinstance(o, Tensor) else o, dtype=np.float64).ravel()
        for o in outs
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def _numerical(
    fn: Callable[..., Any], inputs: tuple[Any, ...], i: int, n_out: int, eps: float
) -> np.ndarray:
    x = inputs[i].data
    jac = np.zeros((x.size, n_out))
    flat = x.reshape(-1) if x.flags.c_contiguous else None
    if flat is None:
        raise ValueError("gradcheck: inputs must be contiguous")
    # Not under no_grad: fn may itself differentiate (gradgradcheck).
    for k in range(x.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = _flat_outputs(_tuple(fn(*inputs)))
        flat[k] = orig - eps
        minus = _flat_outputs(_tuple(fn(*inputs)))
        flat[k] = orig
        jac[k] = (plus - minus) / (2 * eps)
    return jac


def _analytical(
    outs: tuple[Any, ...], diff_inputs: list[Any], sizes: list[int]
) -> list[np.ndarray]:
    from minigrad.tensor import Tensor

    n_out = sum(o.numel() for o in outs)
    jacs = [np.zeros((n, n_out)) for n in sizes]
    col = 0
    for o in outs:
        for j in range(o.numel()):
            seed = np.zeros(o.shape, o.dtype)
            seed.reshape(-1)[j] = 1
            if o.requires_grad:
                gs = autograd_grad(
                    [o],
                    diff_inputs,
                    [Tensor._wrap(seed)],
                    retain_graph=True,
                    allow_unused=True,
                )
                for jac, g in zip(jacs, gs):
                    if g is not None:
                        jac[:, col] = np.asarray(g.data, dtype=np.float64).ravel()
            col += 1
    return jacs


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Checks backward against central differences for every input that requires grad.

    Parameters
    ----------
    fn : callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors
    inputs : Tensor or tuple of Tensors (float64 recommended)
    eps, atol, rtol : step and tolerances (|a - n| <= atol + rtol·|n|)
    raise_exception : raise :class:`GradcheckError` on failure (else return False)

    Returns
    -------
    bool : True when every Jacobian agrees.
    """
    checks = compute_checks(fn, inputs, eps, atol, rtol)
    failed = [c for c in checks if not c.passed]
    if not failed:
        return True
    if raise_exception:
        raise GradcheckError(format_failure(failed), checks)
    return False


def compute_checks(
    fn: Callable[..., Any], inputs: Any, eps: float, atol: float, rtol: float
) -> list[JacobianCheck]:
    """The analytical and numerical Jacobian of every input that requires grad."""
    from minigrad.tensor import Tensor

    inputs = _tuple(inputs)
    if inputs and type(inputs[0]).__name__ == "Value":
        # Functions of scalar Values (minigrad.scalar) are checked there.
        from minigrad.scalar.check import value_checks

        return value_checks(fn, inputs, eps, atol, rtol)
    diff = [
        i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad
    ]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; "
                "finite differences will be imprecise",
                stacklevel=3,
            )
    outs = tuple(
        o for o in _tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.kind == "f"
    )
    if not outs:
        raise ValueError("gradcheck: fn returned no floating-point Tensor")
    out_shape = outs[0].shape if len(outs) == 1 else (sum(o.numel() for o in outs),)
    n_out = sum(o.numel() for o in outs)
    analytical = _analytical(
        outs, [inputs[i] for i in diff], [inputs[i].numel() for i in diff]
    )
    checks = []
    for i, a in zip(diff, analytical):
        n = _numerical(fn, inputs, i, n_out, eps)
        checks.append(JacobianCheck(i, inputs[i].shape, out_shape, a, n, atol, rtol))
    return checks


def format_failure(failed: Sequence[JacobianCheck]) -> str:
    lines = ["gradcheck failed: backward disagrees with finite differences."]
    for c in failed:
        bad = int(c.bad_mask().sum())
        lines.append(
            f"  input {c.index} (shape {c.input_shape}), output shape "
            f"{c.output_shape}: {bad} of {c.analytical.size} Jacobian entries differ"
        )
        lines.extend(f"    note: {note}" for note in c.notes)
        lines.append(
            "    input idx     output idx    analytical     numerical"
            "     abs err    rel err"
        )
        for ii, oi, av, nv, err, rel in c.worst():
            lines.append(
                f"    {ii!s:<13} {oi!s:<13} {av:>12.6g} {nv:>12.6g} "
                f"{err:>11.3g} {rel:>10.3g}"
            )
    return "\n".join(lines)


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    grad_outputs: Any = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Checks second derivatives: gradcheck of ``(inputs, v) -> vᵀ·J(inputs)``,
    the backward pass recorded with ``create_graph=True``. ``v`` defaults to a
    random (seeded) tensor per output."""
    from minigrad.tensor import Tensor

    inputs = _tuple(inputs)
    diff = [
        i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad
    ]
    outs = [o for o in _tuple(fn(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [
            Tensor(rng.standard_normal(o.shape), dtype=o.dtype, requires_grad=True)
            for o in outs
        ]
    gos = list(_tuple(grad_outputs))
    n = len(inputs)

    def first_grad(*args: Any) -> tuple[Any, ...]:
        ins, vs = args[:n], args[n:]
        os_ = [o for o in _tuple(fn(*ins)) if isinstance(o, Tensor) and o.requires_grad]
        gs = autograd_grad(
            os_, [ins[i] for i in diff], list(vs), create_graph=True, allow_unused=True
        )
        res = []
        for i, g in zip(diff, gs):
            res.append(
                g
                if g is not None
                else Tensor._wrap(np.zeros(ins[i].shape, ins[i].dtype))
            )
        return tuple(res)

    return gradcheck(
        first_grad,
        (*inputs, *gos),
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
