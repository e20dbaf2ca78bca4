"""Stochastic gradient descent with momentum and Nesterov momentum. Layer: optim.

Imports ``minigrad.optim.optimizer`` only. Updates follow Note [Optimizer updates].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad._C import _optim
from minigrad.errors import ArgumentError
from minigrad.optim._fused import (
    AUTO_MIN_ELEMENTS,
    FusedArrays,
    bump_versions,
    fused_step,
)
from minigrad.optim.optimizer import Optimizer, ParamsT, _directed_grad
from minigrad.tensor import Tensor

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g` at step :math:`t`::

        g <- -g                                    if maximize
        g <- g + weight_decay * theta              if weight_decay != 0
        if momentum != 0:
            b <- g                                 at the first step
            b <- momentum * b + (1 - dampening) * g   afterwards
            g <- g + momentum * b   if nesterov    else   g <- b
        theta <- theta - lr * g

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (>= 0).
    momentum : float
        Momentum factor (>= 0); 0 disables the momentum buffer.
    dampening : float
        Dampening of the momentum's gradient term.
    weight_decay : float
        L2 penalty added to the gradient (>= 0).
    nesterov : bool
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool
        Ascend the objective instead of descending.
    fused : bool or None
        Update the whole group in one C call (minigrad/optim/_fused.py): None
        when it qualifies, True always (an error if it cannot), False never.

    Raises
    ------
    ValueError
        A negative option, or ``nesterov`` without momentum or with dampening.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "fused": fused,
        }
        super().__init__(params, defaults)

    _nonnegative = ("lr", "momentum", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ArgumentError(
                "SGD: nesterov momentum requires a momentum > 0 and zero dampening, "
                f"got momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        momentum = group["momentum"]
        dampening = group["dampening"]
        wd = group["weight_decay"]
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        plain = not (maximize or wd or momentum)
        min_elements = AUTO_MIN_ELEMENTS * plain
        if fused_step("SGD", group, self._fused_update, min_elements=min_elements):
            return
        if plain:
            _plain_sgd(group["params"], lr)
            return
        for p in group["params"]:
            if p.grad is None:
                continue
            x = p.data
            g = p.grad.data
            g = _directed_grad(g, x, maximize, wd)
            if momentum != 0:
                state = self.state[p]
                buf_t = state.get("momentum_buffer")
                if buf_t is None:
                    buf = np.array(g, dtype=x.dtype)
                    state["momentum_buffer"] = Tensor._wrap(buf)
                else:
                    buf = buf_t.data
                    buf *= momentum
                    if dampening == 0:
                        buf += g
                    else:
                        buf += (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            x -= lr * g
            p._version[0] += 1

    def _fused_update(self, group: dict[str, Any], fused: FusedArrays) -> None:
        """The update above for the whole group in one C call (same bits). A new
        momentum buffer is allocated here and set to the gradient by the kernel
        (flag 1), as ``np.array(g)`` does above."""
        params, datas, grads = fused
        momentum = group["momentum"]
        bufs, first, new = [], [], []
        if momentum != 0:
            for p in params:
                t = self.state[p].get("momentum_buffer")
                first.append(t is None)
                if t is None:
                    t = Tensor._wrap(np.zeros_like(p.data))
                    new.append((p, t))
                bufs.append(t.data)
        hp = (group["lr"], momentum, group["dampening"], group["weight_decay"],
              group["nesterov"], group["maximize"])  # fmt: skip
        _optim.step(
            "sgd",
            datas,
            grads,
            bufs if momentum != 0 else None,
            None,
            None,
            None,
            first if momentum != 0 else None,
            hp,
        )
        for p, t in new:
            self.state[p]["momentum_buffer"] = t
        bump_versions(params)


def _plain_sgd(params: list[Tensor], lr: float) -> None:
    """theta <- theta - lr * g: the update without momentum, weight decay or
    maximize, with the fewest operations per parameter (it is most of the step
    of a small network)."""
    for p in params:
        g = p.grad
        if g is None:
            continue
        x = p.data
        x -= lr * g.data
        vc = p._vc
        if vc is None:
            p._vc = [1]
        else:
            vc[0] += 1
