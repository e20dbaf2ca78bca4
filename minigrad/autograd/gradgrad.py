"""``gradgradcheck``: second derivatives against finite differences of the first.

Layer: autograd. Built on :mod:`minigrad.autograd.gradcheck` (the Jacobian
checks and the report); imports ``minigrad.tensor`` and, on failure,
``minigrad.autograd.diagnose`` lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.engine import grad as autograd_grad
from minigrad.autograd.gradcheck import (
    GradcheckError,
    JacobianCheck,
    _tuple,
    compute_checks,
    format_failure,
)
from minigrad.errors import ArgumentError, ShapeError

__all__ = ["gradgradcheck"]


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
    """Checks second derivatives against finite differences of the first.

    The function checked is the first derivative ``(inputs, v) -> vᵀ·J(inputs)``
    (PyTorch's gradgradcheck: gradcheck of the first-order gradients, random
    ``v``). Its analytical Jacobian is the backward of the backward recorded with
    ``create_graph=True``; its numerical Jacobian is central differences of the
    first derivative as plain backward (``create_graph=False``) computes it. The
    reference must be the plain one: ops compute the recorded backward with
    separate Tensor-op code (Note [Kernel backward, Tensor-op double backward]
    in ``ops/activation.py``), and differencing that code would only compare it
    with itself. For the same reason the recorded first derivative must also
    equal the plain one in value.

    Parameters
    ----------
    fn, inputs, eps, atol, rtol, raise_exception : as for :func:`gradcheck`
    grad_outputs : Tensor or tuple of Tensors, optional (one per output of fn
        that requires grad); those that require grad are checked as inputs too.
        Default: seeded standard-normal tensors that require grad.
    seed : seed of the default ``grad_outputs``

    Returns
    -------
    bool : True when the recorded first derivative equals the plain one and its
    Jacobian agrees with the finite differences.

    Raises
    ------
    GradcheckError
        On a mismatch with ``raise_exception``; the report names the input
        (``input i`` or ``grad_outputs[k]``) whose entries differ.
    """
    from minigrad.tensor import Tensor

    inputs = _tuple(inputs)
    diff = [
        i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad
    ]
    if not diff:
        raise ArgumentError("gradgradcheck: no input requires grad")
    outs = [o for o in _tuple(fn(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    if not outs:
        raise ShapeError("gradgradcheck: fn returned no Tensor that requires grad")
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [
            Tensor(rng.standard_normal(o.shape), dtype=o.dtype, requires_grad=True)
            for o in outs
        ]
    gos = tuple(_tuple(grad_outputs))
    if len(gos) != len(outs):
        raise ArgumentError(
            f"gradgradcheck: got {len(gos)} grad_outputs for {len(outs)} outputs "
            "that require grad"
        )
    n = len(inputs)

    def first_grad(create_graph: bool) -> Callable[..., tuple[Any, ...]]:
        def f(*args: Any) -> tuple[Any, ...]:
            ins, vs = args[:n], args[n:]
            os_ = [
                o for o in _tuple(fn(*ins)) if isinstance(o, Tensor) and o.requires_grad
            ]
            gs = autograd_grad(
                os_,
                [ins[i] for i in diff],
                list(vs),
                create_graph=create_graph,
                allow_unused=True,
            )
            return tuple(
                g
                if g is not None
                else Tensor._wrap(np.zeros(ins[i].shape, ins[i].dtype))
                for i, g in zip(diff, gs)
            )

        return f

    recorded, plain = first_grad(True), first_grad(False)
    all_inputs = (*inputs, *gos)
    checks = _first_grad_values(recorded, plain, all_inputs, diff, atol, rtol)
    if all(c.passed for c in checks):
        checks = compute_checks(recorded, all_inputs, eps, atol, rtol, reference=plain)
        for c in checks:
            if c.index >= n:
                c.name = f"grad_outputs[{c.index - n}]"
        title = (
            "gradgradcheck failed: the backward of the recorded backward "
            "(create_graph=True) disagrees with finite differences of backward."
        )
    else:
        title = (
            "gradgradcheck failed: backward recorded with create_graph=True "
            "computes another first derivative than plain backward."
        )
    failed = [c for c in checks if not c.passed]
    if not failed:
        return True
    if raise_exception:
        from minigrad.autograd.diagnose import diagnose

        findings = diagnose(checks)
        raise GradcheckError(
            format_failure(failed, findings, title=title), checks, findings
        )
    return False


def _first_grad_values(
    recorded: Callable[..., tuple[Any, ...]],
    plain: Callable[..., tuple[Any, ...]],
    inputs: tuple[Any, ...],
    diff: list[int],
    atol: float,
    rtol: float,
) -> list[JacobianCheck]:
    """One check per differentiable input: the first derivative recorded
    (``ours``) against the plain one (``ref``), as one-column Jacobians."""
    checks = []
    for i, r, p in zip(diff, recorded(*inputs), plain(*inputs)):
        shape = inputs[i].shape
        checks.append(
            JacobianCheck(
                i,
                shape,
                (1,),
                np.asarray(r.data, dtype=np.float64).reshape(-1, 1),
                np.asarray(p.data, dtype=np.float64).reshape(-1, 1),
                atol,
                rtol,
                name=f"first derivative of input {i}",
            )
        )
    return checks
