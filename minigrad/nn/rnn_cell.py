"""Single-step recurrent cells: RNNCell, LSTMCell, GRUCell, and the step
formulas that the multi-step layers in ``rnn.py`` share. Layer: nn.

Built from differentiable Tensor ops (``F.linear`` on the GEMM, the fused
sigmoid/tanh kernels), so gradients of gradients work and no op of their own is
needed. Parameter names, shapes, gate order (LSTM: i, f, g, o; GRU: r, z, n)
and init follow PyTorch, so a PyTorch state_dict loads as numpy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.dtypes import DTypeError, canonical_dtype
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["GRUCell", "LSTMCell", "RNNCell"]

_NONLIN = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    d = np.dtype(np.float32) if dtype is None else canonical_dtype(dtype, op)
    if d.kind != "f":
        raise DTypeError(f"{op}: dtype must be float32 or float64, got {d}")
    return d


def _check_size(value: Any, what: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{op}: {what} should be of type int, got {type(value).__name__}"
        )
    if value <= 0:
        raise ArgumentError(f"{op}: {what} must be greater than zero, got {value}")
    return int(value)


# One time step of each cell kind. ``gi`` is the input projection of this step
# (x_t @ W_ihᵀ + b_ih, Note [Input projection] in rnn.py); the rest is PyTorch's
# formula.


def _rnn_step(
    gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, act: str
) -> Tensor:
    """h' = act(gi + h @ W_hhᵀ + b_hh)."""
    pre = gi + F.linear(h, w_hh, b_hh)
    return ops.tanh(pre) if act == "RNN_TANH" else ops.relu(pre)


def _lstm_step(
    gi: Tensor,
    h: Tensor,
    c: Tensor,
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
) -> tuple[Tensor, Tensor]:
    """i, f, g, o = sig, sig, tanh, sig of (gi + h @ W_hhᵀ + b_hh), in that order;
    c' = f * c + i * g;  h' = o * tanh(c') (then @ W_hrᵀ with proj_size)."""
    gates = gi + F.linear(h, w_hh, b_hh)
    i, f, g, o = ops.split(gates, gates.shape[-1] // 4, -1)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    h = ops.sigmoid(o) * ops.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """r = sig(gi_r + gh_r), z = sig(gi_z + gh_z), n = tanh(gi_n + r * gh_n) with
    gh = h @ W_hhᵀ + b_hh (so b_hn sits inside r's product, as in PyTorch);
    h' = (1 - z) * n + z * h = n + z * (h - n)."""
    gh = F.linear(h, w_hh, b_hh)
    size = gh.shape[-1] // 3
    i_r, i_z, i_n = ops.split(gi, size, -1)
    h_r, h_z, h_n = ops.split(gh, size, -1)
    r = ops.sigmoid(i_r + h_r)
    z = ops.sigmoid(i_z + h_z)
    n = ops.tanh(i_n + r * h_n)
    return n + z * (h - n)


def _check_dtype(x: Tensor, w: Tensor, op: str) -> None:
    if x.dtype != w.dtype:
        raise DTypeError(
            f"{op}: input dtype ({x.dtype}) does not match weight dtype ({w.dtype}); "
            f"convert the input with x.to({w.dtype}) or the model with "
            f"model.to({x.dtype})"
        )


class _CellBase(Module):
    """One time step: weight_ih (G * hidden, in), weight_hh (G * hidden, hidden),
    bias_ih, bias_hh (G * hidden), U(±1/√hidden) as PyTorch."""

    _gates = 1

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, dtype: Any
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(input_size, bool) or not isinstance(
            input_size, (int, np.integer)
        ):
            raise TypeError(f"{name}: input_size should be of type int")
        if input_size < 0:
            raise ArgumentError(
                f"{name}: input_size must be non-negative, got {input_size}"
            )
        hidden_size = _check_size(hidden_size, "hidden_size", name)
        d = _float_dtype(dtype, name)
        self.input_size = int(input_size)
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        g = self._gates * hidden_size
        self.weight_ih = Parameter(np.empty((g, input_size), d))
        self.weight_hh = Parameter(np.empty((g, hidden_size), d))
        if bias:
            self.bias_ih = Parameter(np.empty(g, d))
            self.bias_hh = Parameter(np.empty(g, d))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's init: every parameter from U(-1/√hidden, 1/√hidden)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prepare(self, input: Tensor, hx: Any, n_state: int) -> tuple[Any, ...]:
        """Checks; returns (x (N, in), states (N, hidden) each, batched)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}: expected a Tensor input, got {type(input).__name__}"
            )
        if input.ndim not in (1, 2):
            raise ShapeError(
                f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead"
            )
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                f"expected {self.input_size}"
            )
        _check_dtype(input, self.weight_ih, name)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            zeros = Tensor._wrap(np.zeros(shape, self.weight_ih.dtype))
            return x, (zeros,) * n_state, batched
        states = tuple(hx) if n_state == 2 else (hx,)
        if n_state == 2 and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
        out = []
        for k, s in enumerate(states):
            what = f"hidden{k}" if n_state == 2 else "hidden"
            if not isinstance(s, Tensor):
                raise TypeError(
                    f"{name}: {what} must be a Tensor, got {type(s).__name__}"
                )
            if s.ndim != input.ndim:
                raise ShapeError(
                    f"{name}: Expected {what} to be {input.ndim}D, got {s.ndim}D "
                    "instead"
                )
            s = s if batched else s.unsqueeze(0)
            if s.shape[0] != x.shape[0]:
                raise ShapeError(
                    f"{name}: Input batch size {x.shape[0]} doesn't match {what} "
                    f"batch size {s.shape[0]}"
                )
            if s.shape[1] != self.hidden_size:
                raise ShapeError(
                    f"{name}: {what} has inconsistent hidden_size: got {s.shape[1]}, "
                    f"expected {self.hidden_size}"
                )
            _check_dtype(s, self.weight_ih, name)
            out.append(s)
        return x, tuple(out), batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act tanh or relu.

    Shapes: input (N, in) or (in), hx like the output (N, hidden) or (hidden);
    hx defaults to zeros."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in _NONLIN:
            raise ArgumentError(
                f"Unknown nonlinearity: {nonlinearity}. Select from 'tanh' or 'relu'."
            )
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _rnn_step(gi, h, self.weight_hh, self.bias_hh, _NONLIN[self.nonlinearity])
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """One LSTM step (gates i, f, g, o); returns (h', c')."""

    _gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        x, (h, c), batched = self._prepare(input, hx, 2)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(gi, h, c, self.weight_hh, self.bias_hh, None)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(_CellBase):
    """One GRU step (gates r, z, n); returns h'."""

    _gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        gi = F.linear(x, self.weight_ih, self.bias_ih)
        h = _gru_step(gi, h, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)
