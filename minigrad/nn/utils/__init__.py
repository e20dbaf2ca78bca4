"""nn.utils: gradient clipping; ``rnn``: padding sequences. Layer: nn."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.errors import ArgumentError
from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]

_Params = Tensor | Iterable[Tensor]


def _grads(parameters: _Params) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: _Params,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scales all gradients together, in place, so that their total norm is at
    most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of every gradient
    element (``inf``: the largest absolute value). Gradients are multiplied by
    min(1, max_norm / (total + 1e-6)) (PyTorch).

    Parameters
    ----------
    parameters : Tensor or iterable of Tensors (those without ``.grad`` are skipped)
    max_norm : float
    norm_type : float, e.g. 1.0, 2.0 or ``inf``
    error_if_nonfinite : raise if the total norm is nan or inf

    Returns
    -------
    Tensor (0-d) : the total norm before clipping.

    Raises
    ------
    RuntimeError : ``error_if_nonfinite`` and the norm is nan or inf
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ArgumentError(
            f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}"
        )
    if not grads:
        return Tensor._wrap(np.zeros((), np.float32))
    dtype = np.result_type(*[g.dtype for g in grads])
    if math.isinf(norm_type):
        per = [np.max(np.abs(g.data)) if g.numel() else 0.0 for g in grads]
        total = np.max(np.asarray(per, dtype))
    else:
        per = [np.sum(np.abs(g.data.astype(np.float64)) ** norm_type) for g in grads]
        total = np.sum(per) ** (1.0 / norm_type)
    total = np.asarray(total, dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
            "is non-finite, so it cannot be clipped; set error_if_nonfinite=False "
            "to clip anyway"
        )
    coef = float(max_norm) / (float(total) + 1e-6)
    # NOTE: a nan norm scales by nan, as in PyTorch (clamp(nan, max=1) is nan).
    if coef < 1.0 or math.isnan(coef):
        with no_grad():
            for g in grads:
                g.mul_(coef)
    return Tensor._wrap(total)


def clip_grad_value_(parameters: _Params, clip_value: float) -> None:
    """Clamps every gradient element, in place, into [-clip_value, clip_value]."""
    v = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-v, v)


# Imported last: the submodule's name is part of the public path
# (``nn.utils.rnn.pad_sequence``, as ``torch.nn.utils.rnn``).
from minigrad.nn.utils import rnn  # noqa: E402
