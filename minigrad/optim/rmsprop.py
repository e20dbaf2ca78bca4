"""RMSprop (Hinton's lecture 6e), optionally centered and with momentum. Layer: optim.

Imports ``minigrad.optim.optimizer`` only. Updates follow Note [Optimizer updates].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad._C import _optim
from minigrad.optim._fused import FusedArrays, bump_versions, fused_step
from minigrad.optim.optimizer import Optimizer, ParamsT, _directed_grad
from minigrad.tensor import Tensor

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g`::

        g <- -g                                         if maximize
        g <- g + weight_decay * theta                   if weight_decay != 0
        s <- alpha * s + (1 - alpha) * g**2
        if centered:  a <- alpha * a + (1 - alpha) * g;   d = sqrt(s - a**2) + eps
        else:         d = sqrt(s) + eps
        if momentum > 0:  b <- momentum * b + g / d;   theta <- theta - lr * b
        else:             theta <- theta - lr * g / d

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (>= 0).
    alpha : float
        Smoothing constant of the squared-gradient average (>= 0).
    eps : float
        Added to the denominator for numerical stability (>= 0).
    weight_decay : float
        L2 penalty added to the gradient (>= 0).
    momentum : float
        Momentum factor (>= 0).
    centered : bool
        Normalize by an estimate of the gradient's variance instead of its
        second moment.
    maximize : bool
        Ascend the objective instead of descending.
    foreach : bool or None
        Update the whole group in one C call (minigrad/optim/_fused.py): None
        when it qualifies, True always (an error if it cannot), False never.
        (PyTorch's RMSprop has no ``fused`` option; ``foreach`` is its name
        for the multi-tensor step.)

    Raises
    ------
    ValueError
        A negative option.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
            "foreach": foreach,
        }
        super().__init__(params, defaults)

    _fused_key = "foreach"
    _nonnegative = ("lr", "alpha", "eps", "weight_decay", "momentum")

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        alpha = group["alpha"]
        eps = group["eps"]
        wd = group["weight_decay"]
        momentum = group["momentum"]
        centered = group["centered"]
        maximize = group["maximize"]
        if fused_step("RMSprop", group, self._fused_update, "foreach"):
            return
        for p in group["params"]:
            if p.grad is None:
                continue
            x = p.data
            g = p.grad.data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["square_avg"] = Tensor._wrap(np.zeros_like(x))
            state["step"] += 1
            g = _directed_grad(g, x, maximize, wd)
            s = state["square_avg"].data
            s *= alpha
            tmp = np.multiply(g, g, dtype=x.dtype, out=np.empty_like(x))
            tmp *= 1 - alpha
            s += tmp
            if centered:
                a = _buffer(state, "grad_avg", x)
                np.subtract(g, a, out=tmp)
                tmp *= 1 - alpha
                a += tmp  # a <- a + (1 - alpha)(g - a), PyTorch's lerp
                np.multiply(a, a, out=tmp)
                np.subtract(s, tmp, out=tmp)
                np.sqrt(tmp, out=tmp)
            else:
                np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            if momentum > 0:
                buf = _buffer(state, "momentum_buffer", x)
                buf *= momentum
                buf += tmp
                tmp = buf * lr
            else:
                tmp *= lr
            x -= tmp
            p._version[0] += 1

    def _fused_update(self, group: dict[str, Any], fused: FusedArrays) -> None:
        """The update above for the whole group in one C call (same bits)."""
        params, datas, grads = fused
        centered = group["centered"]
        momentum = group["momentum"]
        keys = ("square_avg", "grad_avg", "momentum_buffer")
        used = (True, bool(centered), momentum > 0)
        lists: list[list[np.ndarray]] = [[], [], []]
        new = []
        for p in params:
            state = self.state[p]
            arrays = {}
            for j, key in enumerate(keys):
                if used[j]:
                    t = state.get(key)
                    if t is None:
                        t = arrays[key] = Tensor._wrap(np.zeros_like(p.data))
                    lists[j].append(t.data)
            new.append(arrays)
        hp = (group["lr"], group["alpha"], group["eps"], group["weight_decay"],
              momentum, centered, group["maximize"])  # fmt: skip
        s0, s1, s2 = (lst if u else None for lst, u in zip(lists, used))
        _optim.step(
            "rmsprop",
            datas,
            grads,
            s0,
            s1,
            s2,
            None,
            None,
            hp,
        )
        for p, arrays in zip(params, new):
            state = self.state[p]
            state["step"] = state.get("step", 0) + 1
            state.update(arrays)
        bump_versions(params)


def _buffer(state: dict[str, Any], key: str, like: np.ndarray) -> np.ndarray:
    """The state array ``key``, created as zeros on first use."""
    t = state.get(key)
    if t is None:
        t = state[key] = Tensor._wrap(np.zeros_like(like))
    return t.data
