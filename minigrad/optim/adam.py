"""Adam and AdamW (decoupled weight decay). Layer: optim.

Imports ``minigrad.optim.optimizer`` only. Updates follow Note [Optimizer updates].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad._C import _optim
from minigrad.errors import ArgumentError
from minigrad.optim._fused import FusedArrays, bump_versions, fused_step
from minigrad.optim.optimizer import Optimizer, ParamsT, _directed_grad
from minigrad.tensor import Tensor

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) with PyTorch's update rule.

    For each parameter :math:`\theta` with gradient :math:`g` at step :math:`t`
    (counting from 1)::

        g <- -g                                         if maximize
        g <- g + weight_decay * theta                   if weight_decay != 0
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g**2
        v_max <- max(v_max, v);  v' = v_max if amsgrad else v
        theta <- theta - lr / (1 - beta1**t) * m / (sqrt(v') / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Parameters to optimize, or parameter groups.
    lr : float
        Learning rate (>= 0).
    betas : (float, float)
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float
        Added to the denominator for numerical stability (>= 0).
    weight_decay : float
        L2 penalty added to the gradient (>= 0). See :class:`AdamW` for the
        decoupled form.
    amsgrad : bool
        Use the running maximum of the second moment (Reddi et al., 2018).
    maximize : bool
        Ascend the objective instead of descending.
    fused : bool or None
        Update the whole group in one C call (minigrad/optim/_fused.py): None
        when it qualifies, True always (an error if it cannot), False never.

    Raises
    ------
    ValueError
        An option out of its range.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "fused": fused,
        }
        super().__init__(params, defaults)

    _nonnegative = ("lr", "eps", "weight_decay")

    def _check_options(self, group: dict[str, Any]) -> None:
        super()._check_options(group)
        name = type(self).__name__
        betas = group["betas"] = tuple(group["betas"])
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ArgumentError(
                f"{name}: invalid betas {betas!r} (two values, each in [0, 1))"
            )

    def _update_group(self, group: dict[str, Any]) -> None:
        lr = group["lr"]
        beta1, beta2 = group["betas"]
        eps = group["eps"]
        wd = group["weight_decay"]
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        if fused_step(type(self).__name__, group, self._fused_update):
            return
        for p in group["params"]:
            if p.grad is None:
                continue
            x = p.data
            g = p.grad.data
            state = self.state[p]
            if not state:
                state["step"] = 0
                state["exp_avg"] = Tensor._wrap(np.zeros_like(x))
                state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(x))
            state["step"] = t = state["step"] + 1
            if self._decoupled and wd != 0:
                x *= 1 - lr * wd
            g = _directed_grad(g, x, maximize, 0.0 if self._decoupled else wd)
            m = state["exp_avg"].data
            v = state["exp_avg_sq"].data
            # out=: a 0-d parameter would give a numpy scalar, not an array
            tmp = np.multiply(g, 1 - beta1, dtype=x.dtype, out=np.empty_like(x))
            m *= beta1
            m += tmp
            np.square(g, out=tmp)
            tmp *= 1 - beta2
            v *= beta2
            v += tmp
            if amsgrad:
                vmax_t = state.get("max_exp_avg_sq")
                if vmax_t is None:
                    vmax_t = state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(x))
                vmax = vmax_t.data
                np.maximum(vmax, v, out=vmax)
                v = vmax
            if lr == 0:
                continue  # moments updated, parameter unchanged (as PyTorch)
            # x -= step_size * m / (sqrt(v) / sqrt(bc2) + eps), with the scalar
            # factors folded into the denominator to save two passes over memory.
            step_size = lr / (1 - beta1**t)
            np.sqrt(v, out=tmp)
            tmp *= 1 / (math.sqrt(1 - beta2**t) * step_size)
            tmp += eps / step_size
            np.divide(m, tmp, out=tmp)
            x -= tmp
            p._version[0] += 1

    def _fused_update(self, group: dict[str, Any], fused: FusedArrays) -> None:
        """The update above for the whole group in one C call (same bits)."""
        params, datas, grads = fused
        amsgrad = group["amsgrad"]
        state_of = self.state
        states = [state_of[p] for p in params]
        # Note [Adam's fused call, gathered]: from the second step on, every
        # moment exists; comprehensions gather them (an explicit loop over
        # parameters and state keys cost ~60k instructions of a small MLP's
        # ~100k opt.step).
        try:
            m = [s["exp_avg"].data for s in states]
            v = [s["exp_avg_sq"].data for s in states]
            vmax = [s["max_exp_avg_sq"].data for s in states] if amsgrad else None
            new: list[tuple[dict[str, Any], str, Tensor]] = []
        except KeyError:
            m, v, vmax, new = _gather_moments(states, datas, amsgrad)
        steps = [s.get("step", 0) + 1 for s in states]
        beta1, beta2 = group["betas"]
        hp = (group["lr"], beta1, beta2, group["eps"], group["weight_decay"],
              self._decoupled, amsgrad, group["maximize"])  # fmt: skip
        _optim.step("adam", datas, grads, m, v, vmax, steps, None, hp)
        # State is committed only once the call has validated and run.
        for state, key, t in new:
            state.setdefault("step", 0)  # first, as the numpy path orders them
            state[key] = t
        for state, t in zip(states, steps):
            state["step"] = t
        if group["lr"] != 0:
            bump_versions(params)


def _gather_moments(
    states: list[dict[str, Any]], datas: list[np.ndarray], amsgrad: bool
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray] | None, list[Any]]:
    """The moment arrays of each parameter's state, with zeros for those not
    created yet: ``new`` lists them as (state, key, tensor), for the caller to
    store once the step has run."""
    keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")[: 3 if amsgrad else 2]
    lists: list[list[np.ndarray]] = [[], [], []]
    new = []
    for state, x in zip(states, datas):
        for key, lst in zip(keys, lists):
            t = state.get(key)
            if t is None:
                t = Tensor._wrap(np.zeros_like(x))
                new.append((state, key, t))
            lst.append(t.data)
    m, v, vmax = lists
    return m, v, vmax if amsgrad else None, new


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Same as :class:`Adam` except that weight decay shrinks the parameter
    directly, ``theta <- theta * (1 - lr * weight_decay)``, before the Adam
    update, instead of being added to the gradient. The default
    ``weight_decay`` is 0.01, as in PyTorch.

    Parameters
    ----------
    params, lr, betas, eps, amsgrad, maximize
        As for :class:`Adam`.
    weight_decay : float
        Decoupled weight decay coefficient (>= 0).
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            fused=fused,
        )
