"""Finite-difference gradient checks: ``gradcheck`` and ``gradcheck_module``
(``gradgradcheck``, built on them, is in ``gradgrad.py``).

Layer: autograd. Imports the backward engine and, lazily, ``minigrad.tensor``,
``minigrad.scalar.check`` (functions of scalar Values) and
``minigrad.autograd.diagnose`` (the failure path); nothing above.

Central differences against the analytical Jacobian that backward computes, with
PyTorch's signature and default tolerances. A failure reports, per input, what
:mod:`minigrad.autograd.diagnose` recognises (a flipped sign, a constant factor,
a transpose, an unsummed broadcast dimension, swapped inputs, a zero gradient, a
kink) and the worst elements (index, analytical, numerical, absolute and relative
error) instead of a bare False.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd.engine import grad as autograd_grad
from minigrad.errors import ArgumentError, ShapeError

__all__ = [
    "GradcheckError",
    "JacobianCheck",
    "compute_checks",
    "format_failure",
    "gradcheck",
    "gradcheck_module",
]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree.

    ``checks`` holds every :class:`JacobianCheck` (passed or not) and
    ``findings`` the diagnosis (:class:`~minigrad.autograd.diagnose.Finding`).
    """

    def __init__(
        self, message: str, checks: list[JacobianCheck], findings: Any = None
    ) -> None:
        super().__init__(message)
        self.checks = checks
        self.findings = list(findings) if findings is not None else []


@dataclass
class JacobianCheck:
    """The two Jacobians of one input: ``analytical[k, j] = d out_j / d in_k``
    (input element k, flattened output element j), computed by backward and by
    central differences.

    The optional fields help the diagnosis: ``name`` labels the input in reports
    (a parameter name, say); ``numerical_left`` / ``numerical_right`` are the
    one-sided differences (they disagree where fn has a kink); ``input_values``
    is the flattened input.
    """

    index: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    analytical: np.ndarray
    numerical: np.ndarray
    atol: float
    rtol: float
    notes: list[str] = field(default_factory=list)
    name: str | None = None
    numerical_left: np.ndarray | None = None
    numerical_right: np.ndarray | None = None
    input_values: np.ndarray | None = None

    @property
    def label(self) -> str:
        """How reports name this input: ``name`` or ``input <index>``."""
        return self.name if self.name is not None else f"input {self.index}"

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
        order = np.argsort(-excess, axis=None, kind="stable")[:k]
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


def _float_outputs(res: Any) -> tuple[Any, ...]:
    """fn's floating-point Tensor outputs (indices and constants are skipped)."""
    from minigrad.tensor import Tensor

    return tuple(
        o for o in _tuple(res) if isinstance(o, Tensor) and o.dtype.kind == "f"
    )


def _flat_outputs(outs: tuple[Any, ...]) -> np.ndarray:
    parts = [np.asarray(o.data, dtype=np.float64).ravel() for o in outs]
    return np.concatenate(parts) if parts else np.zeros(0)


def _numerical(
    fn: Callable[..., Any],
    inputs: tuple[Any, ...],
    i: int,
    f0: np.ndarray,
    eps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Central differences, and the one-sided ones (left, right) that show kinks."""
    x = inputs[i].data
    if not x.flags.c_contiguous:
        raise ShapeError(f"gradcheck: input {i} must be contiguous")
    flat = x.reshape(-1)
    n_out = f0.size
    left, right = np.zeros((x.size, n_out)), np.zeros((x.size, n_out))
    # Not under no_grad: fn may itself differentiate (gradgradcheck).
    for k in range(x.size):
        orig = flat[k]
        try:
            flat[k] = orig + eps
            plus = _flat_outputs(_float_outputs(fn(*inputs)))
            flat[k] = orig - eps
            minus = _flat_outputs(_float_outputs(fn(*inputs)))
        finally:
            flat[k] = orig
        if plus.size != n_out or minus.size != n_out:
            raise ArgumentError("gradcheck: fn returned outputs of a different size")
        right[k] = (plus - f0) / eps
        left[k] = (f0 - minus) / eps
    return (left + right) / 2, left, right


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
    *,
    strict: bool = False,
) -> bool:
    """Checks backward against central differences for every input that requires grad.

    Parameters
    ----------
    fn : callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors
        (or, for scalar ``Value`` inputs, a Value or a list of Values)
    inputs : Tensor or tuple of Tensors (float64 recommended)
    eps, atol, rtol : step and tolerances (|a - n| <= atol + rtol·|n|)
    raise_exception : raise :class:`GradcheckError` on failure (else return False)
    strict : bool, keyword-only
        When fn's outputs come from one user-defined Function applied to the
        inputs, also call its ``backward`` directly and fail if it returns a
        gradient whose shape is not its input's (an unsummed broadcast
        dimension, which the engine would otherwise sum silently, as PyTorch
        does), returns None where a gradient is needed, or is not linear in
        ``grad_out``. The exercise checker uses it.

    Returns
    -------
    bool : True when every Jacobian agrees.

    Raises
    ------
    GradcheckError
        On a mismatch with ``raise_exception``; the message holds the diagnosis
        and the worst elements. A RuntimeError raised by backward is reported
        the same way.
    """
    inputs = _tuple(inputs)
    checks = compute_checks(fn, inputs, eps, atol, rtol)
    probe = None
    if strict:
        from minigrad.autograd.diagnose import apply_probe, probe_backward

        probe = probe_backward(fn, inputs)
        apply_probe(checks, probe, strict=True)
    failed = [c for c in checks if not c.passed]
    if not failed:
        return True
    if raise_exception:
        from minigrad.autograd.diagnose import apply_probe, diagnose, probe_backward

        if probe is None:
            probe = probe_backward(fn, inputs)
            apply_probe(checks, probe, strict=False)
            failed = [c for c in checks if not c.passed]
        findings = diagnose(checks, probe)
        raise GradcheckError(format_failure(failed, findings), checks, findings)
    return False


def compute_checks(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float,
    atol: float,
    rtol: float,
    *,
    reference: Callable[..., Any] | None = None,
) -> list[JacobianCheck]:
    """The analytical and numerical Jacobian of every input that requires grad.

    The numerical Jacobian differences ``reference`` (default: fn itself), a
    function of the same inputs with outputs of the same sizes as fn's.

    A RuntimeError raised by backward does not propagate: the analytical
    Jacobians are then NaN and each check carries a note saying what was raised.
    """
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
        raise ArgumentError("gradcheck: no input requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            warnings.warn(
                f"gradcheck: input {i} is {inputs[i].dtype}, not float64; "
                "finite differences will be imprecise",
                stacklevel=3,
            )
    outs = _float_outputs(fn(*inputs))
    if not outs:
        raise ShapeError("gradcheck: fn returned no floating-point Tensor")
    out_shape = outs[0].shape if len(outs) == 1 else (sum(o.numel() for o in outs),)
    f0 = _flat_outputs(outs)
    notes: list[str] = []
    try:
        analytical = _analytical(
            outs, [inputs[i] for i in diff], [inputs[i].numel() for i in diff]
        )
    except RuntimeError as exc:
        analytical = [np.full((inputs[i].numel(), f0.size), np.nan) for i in diff]
        notes = [f"backward raised {type(exc).__name__}: {exc}"]
    if reference is not None:
        fn = reference
        f0 = _flat_outputs(_float_outputs(fn(*inputs)))
    checks = []
    for i, a in zip(diff, analytical):
        n, left, right = _numerical(fn, inputs, i, f0, eps)
        checks.append(
            JacobianCheck(
                i,
                inputs[i].shape,
                out_shape,
                a,
                n,
                atol,
                rtol,
                notes=list(notes),
                numerical_left=left,
                numerical_right=right,
                input_values=np.array(inputs[i].data, dtype=np.float64).ravel(),
            )
        )
    return checks


def format_failure(
    failed: Sequence[JacobianCheck],
    findings: Any = (),
    *,
    ours: str = "analytical",
    ref: str = "numerical",
    title: str = "gradcheck failed: backward disagrees with finite differences.",
) -> str:
    """The report of failed checks: ``title``, then per input the diagnosis, the
    notes and the worst elements (``ours`` and ``ref`` name the two Jacobians'
    columns)."""
    lines = [title]
    general = [f for f in findings if f.index is None]
    lines.extend(f"  diagnosis: {f.message}" for f in general)
    said = {f.message for f in findings}
    for c in failed:
        compared = bool(np.isfinite(c.analytical).any()) or not c.analytical.size
        what = (
            f"{int(c.bad_mask().sum())} of {c.analytical.size} Jacobian entries differ"
            if compared
            else "no analytical Jacobian to compare"
        )
        lines.append(
            f"  {c.label} (shape {c.input_shape}), output shape {c.output_shape}: "
            f"{what}"
        )
        lines.extend(
            f"    diagnosis: {f.message}" for f in findings if f.index == c.index
        )
        lines.extend(f"    note: {note}" for note in c.notes if note not in said)
        rows = c.worst() if compared else []
        if rows:
            lines.append(
                f"    {'input idx':<13} {'output idx':<13} {ours:>12} {ref:>12} "
                f"{'abs err':>11} {'rel err':>10}"
            )
        for ii, oi, av, nv, err, rel in rows:
            lines.append(
                f"    {ii!s:<13} {oi!s:<13} {av:>12.6g} {nv:>12.6g} "
                f"{err:>11.3g} {rel:>10.3g}"
            )
    return "\n".join(lines)


def gradcheck_module(
    module: Any,
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Gradchecks a whole Module: every parameter and every floating input.

    The module is run in float64 for the check: each parameter's ``.data`` is
    replaced by a float64 copy, and afterwards the original array object (and
    the original ``.grad``) is put back, so optimizers and views that hold it
    are unaffected; buffers (running statistics) get their original values back.
    Floating inputs are checked through float64 copies that require grad; other
    inputs (integer labels) are passed as they are. Any object with
    ``named_parameters()`` and ``__call__`` works (duck typing).

    Parameters
    ----------
    module : Module
        Deterministic for the check: call ``module.eval()`` first if it has
        Dropout (BatchNorm in training mode is fine).
    *inputs : Tensors or other arguments of ``module(*inputs)``
    eps, atol, rtol, raise_exception : as for :func:`gradcheck`

    Returns
    -------
    bool : True when every Jacobian agrees.

    Raises
    ------
    GradcheckError
        On a mismatch with ``raise_exception``; parameters are named in the
        report (``parameter 'fc1.weight'``).
    ValueError
        The module's output changes between two calls with the same inputs.
    """
    from minigrad.tensor import Tensor

    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    saved = [(p, p.data, p.grad) for _, p in named]
    buffers = _snapshot_buffers(module)
    ins = tuple(
        Tensor(x.data, dtype=np.float64, requires_grad=True)
        if isinstance(x, Tensor) and x.dtype.kind == "f"
        else x
        for x in inputs
    )
    n_in = len(ins)
    try:
        for p, data, _ in saved:
            p.data = np.array(data, dtype=np.float64)

        def fn(*args: Any) -> Any:
            return module(*args[:n_in])

        all_inputs = (*ins, *(p for _, p in named))
        _require_deterministic(fn, all_inputs)
        checks = compute_checks(fn, all_inputs, eps, atol, rtol)
    finally:
        for p, data, g in saved:
            p.data = data
            p.grad = g
        _restore_buffers(buffers)
    for c in checks:
        if c.index >= n_in:
            c.name = f"parameter {named[c.index - n_in][0]!r}"
    failed = [c for c in checks if not c.passed]
    if not failed:
        return True
    if raise_exception:
        from minigrad.autograd.diagnose import diagnose

        findings = diagnose(checks)
        raise GradcheckError(format_failure(failed, findings), checks, findings)
    return False


def _snapshot_buffers(module: Any) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    named_buffers = getattr(module, "named_buffers", None)
    if named_buffers is None:
        return []
    return [(b, b.data, np.array(b.data)) for _, b in named_buffers() if b is not None]


def _restore_buffers(buffers: list[tuple[Any, np.ndarray, np.ndarray]]) -> None:
    for b, arr, values in buffers:
        arr[...] = values
        b.data = arr


def _require_deterministic(fn: Callable[..., Any], inputs: tuple[Any, ...]) -> None:
    first = _flat_outputs(_float_outputs(fn(*inputs)))
    second = _flat_outputs(_float_outputs(fn(*inputs)))
    if first.shape != second.shape or not np.array_equal(first, second):
        raise ArgumentError(
            "gradcheck_module: the module's output changed between two calls with "
            "the same inputs (Dropout in training mode?); call module.eval() first"
        )


def __getattr__(name: str) -> Any:
    # gradgradcheck lived here; gradgrad.py imports this module, hence lazily.
    if name == "gradgradcheck":
        from minigrad.autograd.gradgrad import gradgradcheck

        return gradgradcheck
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
