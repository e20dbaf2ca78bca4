"""Recurrent layers: RNN, LSTM, GRU and their single-step cells. Layer: nn.

Built from differentiable Tensor ops (``F.linear`` on the GEMM, the fused
sigmoid/tanh kernels, ``stack``), so gradients of gradients work and no op of
their own is needed. Parameter names, shapes, registration order, gate order
(LSTM: i, f, g, o; GRU: r, z, n) and initialization follow PyTorch, so a
PyTorch state_dict loads as numpy arrays and gives the same outputs.

# Note [Input projection]
x_t @ W_ihᵀ + b_ih does not depend on the recurrence, so each layer/direction
computes it for every time step in one matmul over the whole (T, B, in)
sequence; only h @ W_hhᵀ runs per step, in a Python loop over time. The time
steps are then read off that projection with ``unbind``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.dtypes import DTypeError, canonical_dtype
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.layout import unbind
from minigrad.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
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
# (x_t @ W_ihᵀ + b_ih, Note [Input projection]); the rest is PyTorch's formula.


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


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction
    (PyTorch's names and order), their checks and the loop over layers.

    ``mode`` is "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = self._name(mode)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ArgumentError(
                f"{name}: dropout should be a number in range [0, 1], got {dropout!r}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ArgumentError(
                f"{name}: dropout should be a number in range [0, 1] representing "
                f"the probability of an element being zeroed, got {dropout}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so "
                "non-zero dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        if isinstance(input_size, bool) or not isinstance(
            input_size, (int, np.integer)
        ):
            raise TypeError(f"{name}: input_size should be of type int")
        if input_size < 0:
            raise ArgumentError(
                f"{name}: input_size must be non-negative, got {input_size}"
            )
        hidden_size = _check_size(hidden_size, "hidden_size", name)
        num_layers = _check_size(num_layers, "num_layers", name)
        if isinstance(proj_size, bool) or not isinstance(proj_size, (int, np.integer)):
            raise TypeError(f"{name}: proj_size should be of type int")
        if proj_size < 0:
            raise ArgumentError(
                f"{name}: proj_size should be a positive integer or zero to disable "
                f"projections, got {proj_size}"
            )
        if proj_size >= hidden_size:
            raise ArgumentError(
                f"{name}: proj_size has to be smaller than hidden_size, got "
                f"proj_size={proj_size}, hidden_size={hidden_size}"
            )
        if proj_size and mode != "LSTM":
            raise ArgumentError(
                "proj_size argument is only supported for LSTM, not RNN or GRU"
            )
        d = _float_dtype(dtype, name)
        self.mode = mode
        self.input_size = int(input_size)
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.proj_size = int(proj_size)
        dirs = 2 if bidirectional else 1
        out_h = proj_size or hidden_size
        gate = _GATES[mode] * hidden_size
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_in = self.input_size if layer == 0 else out_h * dirs
            for direction in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (gate, layer_in)), ("weight_hh", (gate, out_h))]
                if bias:
                    shapes += [("bias_ih", (gate,)), ("bias_hh", (gate,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for base, shape in shapes:
                    setattr(self, base + sfx, Parameter(np.empty(shape, d)))
                    self._flat_weights_names.append(base + sfx)
        self.reset_parameters()

    def _name(self, mode: str | None = None) -> str:
        m = mode or self.mode
        return "RNN" if m.startswith("RNN") else m

    def reset_parameters(self) -> None:
        """PyTorch's init: every parameter from U(-1/√hidden, 1/√hidden)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -bound, bound)

    def flatten_parameters(self) -> None:
        """A no-op: there is no cuDNN weight buffer to compact (kept so that
        PyTorch code calling it runs)."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, as PyTorch's."""
        per = len(self._flat_weights_names) // (
            self.num_layers * (1 + self.bidirectional)
        )
        ws = [getattr(self, n) for n in self._flat_weights_names]
        return [ws[i : i + per] for i in range(0, len(ws), per)]

    def _weights(self, layer: int, direction: int) -> tuple[Any, ...]:
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        get = self._parameters.get
        return (
            get("weight_ih" + sfx),
            get("weight_hh" + sfx),
            get("bias_ih" + sfx),
            get("bias_hh" + sfx),
            get("weight_hr" + sfx),
        )

    def _check_hidden(self, h: Any, expected: tuple[int, ...], what: str) -> Tensor:
        name = self._name()
        if not isinstance(h, Tensor):
            raise TypeError(f"{name}: {what} must be a Tensor, got {type(h).__name__}")
        if h.shape != expected:
            raise ShapeError(
                f"{name}: Expected {what} size {expected}, got {list(h.shape)}"
            )
        return h

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Any, Any]:
        name = self._name()
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}: expected a Tensor input, got {type(input).__name__}"
            )
        if input.ndim not in (2, 3):
            raise ShapeError(
                f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                "instead"
            )
        if input.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {input.shape[-1]}"
            )
        w0 = self.weight_ih_l0
        _check_dtype(input, w0, name)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise ShapeError(f"{name}: Expected sequence length to be larger than 0")
        dirs = 2 if self.bidirectional else 1
        batch = x.shape[1]
        out_h = self.proj_size or self.hidden_size
        h_shape = (self.num_layers * dirs, batch, out_h)
        c_shape = (self.num_layers * dirs, batch, self.hidden_size)
        lstm = self.mode == "LSTM"
        h0 = c0 = None
        if hx is not None:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0 = hx
            for k, t in enumerate((h0, c0) if lstm else (h0,)):
                if isinstance(t, Tensor) and t.ndim != (3 if batched else 2):
                    raise ShapeError(
                        f"{name}: For {'batched 3' if batched else 'unbatched 2'}-D "
                        f"input, hx{f'[{k}]' if lstm else ''} should also be "
                        f"{3 if batched else 2}-D but got {t.ndim}-D tensor"
                    )
            if not batched:
                h0 = h0.unsqueeze(1) if isinstance(h0, Tensor) else h0
                c0 = c0.unsqueeze(1) if isinstance(c0, Tensor) else c0
            h0 = self._check_hidden(h0, h_shape, "hidden[0]" if lstm else "hidden")
            _check_dtype(h0, w0, name)
            if lstm:
                c0 = self._check_hidden(c0, c_shape, "hidden[1]")
                _check_dtype(c0, w0, name)
        zeros_h = Tensor._wrap(np.zeros((batch, out_h), w0.dtype))
        zeros_c = Tensor._wrap(np.zeros((batch, self.hidden_size), w0.dtype))
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for direction in range(dirs):
                k = layer * dirs + direction
                h = zeros_h if h0 is None else h0[k]
                c = None
                if lstm:
                    c = zeros_c if c0 is None else c0[k]
                out, h, c = self._run(
                    x, h, c, self._weights(layer, direction), direction
                )
                outs.append(out)
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            x = outs[0] if dirs == 1 else ops.cat(outs, -1)
        output = x
        if batched and self.batch_first:
            output = output.transpose(0, 1)
        hn = ops.stack(h_n)
        cn = ops.stack(c_n) if lstm else None
        if not batched:
            output = output.squeeze(1)
            hn = hn.squeeze(1)
            cn = cn.squeeze(1) if lstm else None
        return (output, (hn, cn)) if lstm else (output, hn)

    def _run(
        self,
        x: Tensor,
        h: Tensor,
        c: Tensor | None,
        weights: tuple[Any, ...],
        reverse: int,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One layer, one direction over the (T, B, in) sequence ``x``: the
        (T, B, out) outputs and the last h (and c)."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        steps = unbind(F.linear(x, w_ih, b_ih), 0)  # Note [Input projection]
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        hs: list[Tensor] = [h] * len(steps)
        mode = self.mode
        for t in order:
            gi = steps[t]
            if mode == "LSTM":
                h, c = _lstm_step(gi, h, c, w_hh, b_hh, w_hr)  # type: ignore[arg-type]
            elif mode == "GRU":
                h = _gru_step(gi, h, w_hh, b_hh)
            else:
                h = _rnn_step(gi, h, w_hh, b_hh, mode)
            hs[t] = h
        return ops.stack(hs), h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act tanh
    or relu, stacked ``num_layers`` deep (optionally both directions).

    Shapes: input (L, N, in) ((N, L, in) with batch_first, or unbatched (L, in)),
    h_0 (D * num_layers, N, hidden) (unbatched: without N). Returns
    (output (L, N, D * hidden), h_n (D * num_layers, N, hidden)).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in _NONLIN:
            raise ArgumentError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(
            _NONLIN[nonlinearity],
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's formulation (gates i, f, g, o), with an
    optional projection of h to ``proj_size``.

    Returns (output, (h_n, c_n)); h has size ``proj_size`` when it is set,
    otherwise ``hidden_size``; c always ``hidden_size``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's formulation (gates r, z, n; the reset gate
    multiplies h W_hnᵀ + b_hn). Returns (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
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
