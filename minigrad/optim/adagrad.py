"""Adagrad (Duchi, Hazan & Singer, 2011). Layer: optim.

Imports ``minigrad.optim.optimizer`` only. Updates follow Note [Optimizer updates].
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad._C import _optim
from minigrad.optim._fused import FusedArrays, bump_versions, fused_step
from minigrad.optim.optimizer import Optimizer, ParamsT, _directed_grad
from minigrad.tensor import Tensor

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad with PyTorch's update rule.

    The accumulator starts at ``initial_accumulator_value``. For each parameter
    :math:`\theta` with gradient :math:`g` at step :math:`t` (counting from 1)::

        g <- -g                                         if maximize
        g <- g + weight_decay * theta                   if weight_decay != 0
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s <- s + g**2
        theta <- theta - lr_t * g / (sqrt(s) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (>= 0).
    lr_decay : float
        Learning rate decay per step (>= 0).
    weight_decay : float
        L2 penalty added to the gradient (>= 0).
    initial_accumulator_value : float
        Starting value of the sum of squared gradients (>= 0).
    eps : float
        Added to the denominator for numerical stability (>= 0).
    maximize : bool
        Ascend the objective instead of descending.
    fused : bool or None
        Update the whole group in one C call (minigrad/optim/_fused.py): None
        when it qualifies, True always (an error if it cannot), False never.

    Raises
    ------
    ValueError
        A negative option.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
            "fused": fused,
        }
        super().__init__(params, defaults)

    _nonnegative = (
        "lr",
        "lr_decay",
        "weight_decay",
        "initial_accumulator_value",
        "eps",
    )

    def _init_group_state(self, group: dict[str, Any]) -> None:
        # As PyTorch: the accumulator exists from construction, so a state_dict
        # taken before the first step already holds it.
        init = group["initial_accumulator_value"]
        for p in group["params"]:
            self.state[p] = {
                "step": 0,
                "sum": Tensor._wrap(np.full_like(p.data, init)),
            }

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        lr_decay = group["lr_decay"]
        wd = group["weight_decay"]
        eps = group["eps"]
        maximize = group["maximize"]
        if fused_step("Adagrad", group, self._fused_update):
            return
        for p in group["params"]:
            if p.grad is None:
                continue
            x = p.data
            g = p.grad.data
            state = self.state[p]
            if not state:  # e.g. after loading a state dict without this parameter
                self._init_group_state({**group, "params": [p]})
                state = self.state[p]
            state["step"] = t = state["step"] + 1
            g = _directed_grad(g, x, maximize, wd)
            clr = lr / (1 + (t - 1) * lr_decay)
            s = state["sum"].data
            tmp = np.multiply(g, g, dtype=x.dtype, out=np.empty_like(x))
            s += tmp
            np.sqrt(s, out=tmp)
            tmp += eps
            np.divide(g, tmp, out=tmp)
            tmp *= clr
            x -= tmp
            p._version[0] += 1

    def _fused_update(self, group: dict[str, Any], fused: FusedArrays) -> None:
        """The update above for the whole group in one C call (same bits)."""
        params, datas, grads = fused
        for p in params:
            if not self.state[p]:  # as above
                self._init_group_state({**group, "params": [p]})
        states = [self.state[p] for p in params]
        steps = [s["step"] + 1 for s in states]
        hp = (group["lr"], group["lr_decay"], group["weight_decay"], group["eps"],
              group["maximize"])  # fmt: skip
        _optim.step(
            "adagrad",
            datas,
            grads,
            [s["sum"].data for s in states],
            None,
            None,
            steps,
            None,
            hp,
        )
        for s, t in zip(states, steps):
            s["step"] = t
        bump_versions(params)
