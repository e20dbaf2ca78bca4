"""Recurrent layers: RNN, LSTM, GRU (the cells, in ``rnn_cell.py``, are
re-exported here as in ``torch.nn.modules.rnn``). Layer: nn.

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

# Note [Packed input]
A PackedSequence is unpacked to its (T, B, in) padded batch, sorted by
decreasing length. At step t only the first batch_sizes[t] rows are inside
their sequence: the others keep their state (``where``), so h_n is each
sequence's state at its own last step, and the reverse direction, which meets
the padding first, starts each sequence from h_0 at its own last step. The
outputs are packed again (the padded rows dropped), and h_n / c_n put back in
the caller's batch order.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.nn.rnn_cell import (
    _NONLIN,
    GRUCell,
    LSTMCell,
    RNNCell,
    _check_dtype,
    _check_size,
    _float_dtype,
    _gru_step,
    _lstm_step,
    _rnn_step,
)
from minigrad.nn.utils.rnn import PackedSequence, pad_packed_sequence
from minigrad.ops.layout import unbind
from minigrad.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


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
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (gate, layer_in)),
                    ("weight_hh", (gate, out_h)),
                ]
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

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        """input (L, N, in), (N, L, in) with batch_first, unbatched (L, in), or
        a PackedSequence; returns (output, h_n) ((output, (h_n, c_n)) for
        LSTM), the output packed like a packed input."""
        name = self._name()
        packed = input if isinstance(input, PackedSequence) else None
        sizes = None
        if packed is not None:
            # Note [Packed input]: run on the padded batch, sorted by length,
            # and freeze the state of each sequence past its end.
            input, _ = pad_packed_sequence(PackedSequence(*packed[:2]))
            sizes = packed.batch_sizes.data
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
        if batched and self.batch_first and packed is None:
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
            if packed is not None and packed.sorted_indices is not None:
                h0 = h0.index_select(1, packed.sorted_indices)
                if lstm:
                    assert c0 is not None  # checked above
                    c0 = c0.index_select(1, packed.sorted_indices)
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
                    x, h, c, self._weights(layer, direction), direction, sizes
                )
                outs.append(out)
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            x = outs[0] if dirs == 1 else ops.cat(outs, -1)
        if batched and self.batch_first and packed is None:
            x = x.transpose(0, 1)
        hn = ops.stack(h_n)
        cn = ops.stack(c_n) if lstm else None
        if packed is not None:
            assert sizes is not None  # the packed batch's lengths
            rows = x.unbind(0)
            data = ops.cat([r[:n] for r, n in zip(rows, sizes.tolist())], 0)
            if packed.unsorted_indices is not None:
                hn = hn.index_select(1, packed.unsorted_indices)
                if cn is not None:
                    cn = cn.index_select(1, packed.unsorted_indices)
            output: Tensor | PackedSequence = PackedSequence(data, *packed[1:])
        elif not batched:
            output = x.squeeze(1)
            hn = hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        else:
            output = x
        return (output, (hn, cn)) if lstm else (output, hn)

    def _run(
        self,
        x: Tensor,
        h: Tensor,
        c: Tensor | None,
        weights: tuple[Any, ...],
        reverse: int,
        sizes: np.ndarray | None = None,
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """One layer, one direction over the (T, B, in) sequence ``x``: the
        (T, B, out) outputs and the last h (and c). With ``sizes`` (a packed
        batch's batch_sizes), only the first sizes[t] rows advance at step t."""
        w_ih, w_hh, b_ih, b_hh, w_hr = weights
        steps = unbind(F.linear(x, w_ih, b_ih), 0)  # Note [Input projection]
        order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
        hs: list[Tensor] = [h] * len(steps)
        mode = self.mode
        batch = x.shape[1]
        for t in order:
            gi = steps[t]
            h_prev, c_prev = h, c
            if mode == "LSTM":
                h, c = _lstm_step(gi, h, c, w_hh, b_hh, w_hr)  # type: ignore[arg-type]
            elif mode == "GRU":
                h = _gru_step(gi, h, w_hh, b_hh)
            else:
                h = _rnn_step(gi, h, w_hh, b_hh, mode)
            if sizes is not None and sizes[t] < batch:
                live = (np.arange(batch) < sizes[t])[:, None]
                h = ops.where(live, h, h_prev)
                c = ops.where(live, c, c_prev) if c is not None else None
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
