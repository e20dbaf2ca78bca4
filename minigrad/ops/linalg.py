"""Matrix products: ``matmul`` with numpy's rules (1-D, 2-D, batched with
broadcasting) and ``linear`` (PyTorch's x @ weightᵀ + bias, optionally with an
activation fused into the same pass).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``, ``minigrad.backend``
and the ``minigrad._C._gemm`` kernel. float32/float64 products run on that
kernel (threads and ISA from :mod:`minigrad.backend`); integer dtypes use numpy.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from minigrad import backend
from minigrad._C import _act, _gemm
from minigrad.autograd.function import Function, _apply_arrays
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import result_type
from minigrad.errors import ShapeError
from minigrad.ops.elementwise import Where
from minigrad.tensor import Tensor
from minigrad.tensor import _wrap as wrap

__all__ = ["linear", "matmul"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ACTIVATIONS = (None, "relu", "sigmoid", "tanh")


# Note [Tiny products]
# In Linear's unrecorded backward, a product below this many multiply-adds
# (m·k·n) runs on numpy's ``dot``: the arithmetic is a few microseconds at
# most and the GEMM call's argument checks, thread/ISA lookup and packing
# would be most of its cost. Measured on one thread (float32, AVX-512): 4x2 @
# 2x2 1.3 us kernel vs 0.36 us dot; 16³ 2.0 vs 0.44; 32³ 2.3 vs 1.0; the
# 41k-MAC products of an MLP's last layer (64x10 @ 10x64, 10x64 @ 64x64)
# 2.6-3.9 vs 1.1-1.4; 64x64 @ 64x128 (524k) 11.7 vs 10.0, where the kernel
# could use more threads. OpenBLAS runs products under 262144 multiply-adds on
# the calling thread, so below this bound numpy uses no thread the thread
# setting does not allow. Forward products always run on the kernel, so the
# thread and ISA settings (and MINIGRAD_ISA errors) apply as before.
_TINY = 65536


class _GemmKw(TypedDict):
    num_threads: int
    isa: str


def _gemm_kw() -> _GemmKw:
    return {"num_threads": backend._kernel_threads(), "isa": backend._isa()}


def _numel(shape: tuple[int, ...]) -> int:
    # Explicit sizes: reshape(-1, ...) is ambiguous when another dim is 0.
    return int(np.prod(shape, dtype=np.int64))


def _as_batch3(x: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
    """``x`` (..., r, c) as a (B, r, c) array for the batch shape ``batch``: a
    view when the batch dims merge, (1, r, c) when ``x`` has no batch of its own
    (the kernel broadcasts it), else a broadcast copy."""
    r, c = x.shape[-2:]
    if x.shape[:-2] == batch:
        return x.reshape(_numel(batch), r, c)
    if _numel(x.shape[:-2]) == 1:
        return x.reshape(1, r, c)
    return np.broadcast_to(x, (*batch, r, c)).reshape(_numel(batch), r, c)


def _matmul_arrays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for arrays with ndim >= 2 and agreeing shapes (checked by
    ``matmul``)."""
    if a.dtype == np.float16 and b.dtype == np.float16:
        # accumulate in float32, round once (Note [float16 computes in float32])
        return _matmul_arrays(a.astype(np.float32), b.astype(np.float32)).astype(
            np.float16
        )
    if a.dtype != b.dtype or a.dtype not in _FLOATS:
        return np.matmul(a, b)
    kw = _gemm_kw()
    m, n = a.shape[-2], b.shape[-1]
    if b.ndim == 2:
        # (..., m, k) @ (k, n): fold the batch into the rows, one GEMM.
        rows = _numel(a.shape[:-1])
        out = np.empty((*a.shape[:-1], n), a.dtype)
        _gemm.gemm(a.reshape(rows, a.shape[-1]), b, out=out.reshape(rows, n), **kw)
        return out
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    out = np.empty((*batch, m, n), a.dtype)
    if out.size == 0:
        # An empty batch (numpy's rule: 1 against 0 gives 0) or m or n of 0:
        # nothing to compute, and no operand to hand the kernel.
        return out
    out3 = out.reshape(_numel(batch), m, n)
    _gemm.gemm(_as_batch3(a, batch), _as_batch3(b, batch), out=out3, **kw)
    return out


class MatMul(Function):
    """y = a @ b for a, b with ndim >= 2 (batch dims broadcast);
    dL/da = g @ bᵀ, dL/db = aᵀ @ g, each reduced to its input's shape.

    The transposes are views: the kernel reads them through its packing.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _matmul_arrays(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if _transposed(a, g):  # Note [Gradients in the operand's layout]
                ga = MatMul.apply(b, g.transpose(-1, -2)).transpose(-1, -2)
            else:
                ga = MatMul.apply(g, b.transpose(-1, -2)).sum_to(a.shape)
        if ctx.needs_input_grad[1]:
            if _transposed(b, g):
                gb = MatMul.apply(g.transpose(-1, -2), a).transpose(-1, -2)
            elif b.ndim == 2 and a.ndim > 2:
                # b was shared by the whole batch: one GEMM over the batch
                # folded into K, instead of a batch of products then a sum.
                k, n = b.shape
                rows = _numel(a.shape[:-1])
                gb = MatMul.apply(
                    a.reshape(rows, k).transpose(0, 1), g.reshape(rows, n)
                )
            else:
                gb = MatMul.apply(a.transpose(-1, -2), g).sum_to(b.shape)
        return ga, gb


# Note [Gradients in the operand's layout]
# An operand stored with its last two axes swapped (w.T, k.transpose(-1, -2)
# of a C-contiguous tensor) gets its gradient in that layout too, as
# PyTorch's mm backward does: dL/da = (b @ gᵀ)ᵀ, the same product written
# transposed. The transpose back to the stored tensor then gives a
# C-contiguous gradient, which a leaf takes without a copy and which meets
# the next backward kernel in its input's layout; computed as g @ bᵀ it came
# back transposed (1000x1000 float32: a 4 MB tiled copy at the leaf, or the
# softmax backward's mixed-layout path at ~1.8x its contiguous time).


def _transposed(t: Tensor, g: Tensor) -> bool:
    """Whether ``t`` is stored with its last two axes swapped and its
    gradient has g's batch shape (no broadcast to sum over). (A vector
    operand reaches MatMul as a one-column matrix: ``matmul`` reshapes it.)"""
    d = t.data
    if d.ndim < 2 or d.shape[:-2] != g.shape[:-2]:
        return False
    m, n = d.shape[-2], d.shape[-1]
    it = d.itemsize
    return m > 1 and n > 1 and d.strides[-2] == it and d.strides[-1] == it * m


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with numpy's rules.

    Parameters
    ----------
    a : Tensor, shape (..., m, k) or (k,)
    b : Tensor, shape (..., k, n) or (k,)
        A 1-D operand is a row (left) or a column (right) vector whose dim is
        removed from the result; batch dims broadcast.

    Returns
    -------
    Tensor, shape (..., m, n)

    Raises
    ------
    TypeError
        Non-Tensor or bool operands.
    ValueError
        0-d operands, inner dimensions or batch dims that do not agree.
    """
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(
            "matmul: expected two Tensors, got "
            f"{type(a).__name__} and {type(b).__name__}"
        )
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: both operands need at least 1 dim, got {a.shape} @ {b.shape}"
        )
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        raise ShapeError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"matmul: batch dimensions do not broadcast: {a.shape} @ {b.shape}"
        ) from None
    if a.dtype != b.dtype:
        dt = result_type(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    if a.dtype.kind == "b":
        raise TypeError("matmul: bool tensors are not supported")
    va, vb = a.ndim == 1, b.ndim == 1
    if va:
        a = a.reshape(1, ka)
    if vb:
        b = b.reshape(kb, 1)
    y = MatMul.apply(a, b)
    if va and vb:
        return y.reshape(())
    if va:
        return y.squeeze(-2)
    if vb:
        return y.squeeze(-1)
    return y


class Linear(Function):
    """y = act(x @ wᵀ + b) in one pass over y (bias and activation are applied
    by the GEMM's epilogue), x (N, in), w (out, in), b (out,).

    With z = x @ wᵀ + b and gz = g · act'(z), written in terms of y:
    relu' = [not y <= 0], sigmoid' = y(1 - y), tanh' = 1 - y²;
    dL/dx = gz @ w, dL/dw = gzᵀ @ x, dL/db = Σ_rows gz.

    With an activation, y (the output) is saved, as PyTorch's relu, sigmoid
    and tanh save their result: modifying it in place before backward is an
    error (Note [Saved tensors]). For relu, gz is selected, not multiplied
    (g where not y <= 0, else 0: an inf or NaN in g where the unit is off
    gives 0, as PyTorch's threshold_backward); NaN in y passes g.
    """

    _array_forward = True

    @staticmethod
    def forward(ctx, x, w, b=None, *, activation=None):
        # the keywords of _gemm_kw, without building its dict (a small net's
        # forward is a few such calls)
        y = _gemm.gemm(
            x,
            w,
            trans_b=True,
            bias=b,
            activation=activation,
            num_threads=backend._kernel_threads(),
            isa=backend._isa(),
        )
        ctx.activation = activation
        if activation is None:
            ctx.save_for_backward(x, w)
        else:
            ctx.save_for_backward(x, w, y)
        return y

    @staticmethod
    def backward(ctx, g):
        if not STATE.grad_enabled:
            # Not recording (no create_graph): plain array arithmetic, no
            # per-op graph machinery for the products and sums below.
            return _linear_backward_arrays(ctx, g.data, *ctx._saved_arrays())
        x, w, *rest = ctx.saved_tensors
        act = ctx.activation
        if act == "relu":
            (y,) = rest
            # the unrecorded path's selection (relu_bias_backward), as Tensor
            # ops; gz.sum(0) below sums in its order too
            gz = Where.apply(g, 0.0, cond=~(y.data <= 0))
        elif act == "sigmoid":
            (y,) = rest
            gz = g * (y * (1 - y))
        elif act == "tanh":
            (y,) = rest
            gz = g * (1 - y * y)
        else:
            gz = g
        gx = MatMul.apply(gz, w) if ctx.needs_input_grad[0] else None
        gw = MatMul.apply(gz.transpose(0, 1), x) if ctx.needs_input_grad[1] else None
        if len(ctx.needs_input_grad) == 2:  # no bias
            return gx, gw
        return gx, gw, gz.sum(0) if ctx.needs_input_grad[2] else None


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 2-D float arrays of one dtype (views of any strides)."""
    if a.shape[0] * a.shape[1] * b.shape[1] <= _TINY:
        return a.dot(b)  # Note [Tiny products]
    return _gemm.gemm(a, b, **_gemm_kw())


# Note [ReLU backward and the bias gradient in one pass]
# With activation="relu", the unrecorded backward gets gz = g where not
# y <= 0 (else 0) and the bias gradient Σ_rows gz from one C pass over the
# saved output y and g (_act.relu_bias_backward, csrc/act/relu_bias.c). It
# replaced a mask built in forward (~(y <= 0), two numpy passes), g * mask (a
# bool-to-float cast and a multiply) and _sum_rows below. One thread, float32,
# AVX-512, best of repeats on a loaded shared machine (three interleaved
# runs): 64x128 (the MNIST MLP's first layer) mask 2.4-3.3 us in forward plus
# 5.8-7.6 us in backward before, 1.9-3.0 us in all after; 64x64 1.8-2.6 plus
# 2.9-5.7 before, 1.3-2.3 after. The pass sums down the rows in order from
# +0, as numpy's gz.sum(0) (the recorded path) does for a C-contiguous gz
# with two or more columns, so the two paths now give the same relu bias
# gradient bit for bit (a single column numpy sums pairwise; before, the
# product below could differ in the last bit). The order does not depend on
# the thread count: threads split the columns (from MG_ACT_PAR_MIN elements
# and 32 float32 columns; under load a second thread did not pay at any size
# measured, and _kernel_threads then gives one). A broadcast g (from .sum()
# or .mean()) is read in place; a transposed g is copied first (faster than a
# strided gather, see relu_bias.c).

# Note [Bias gradient as a product]
# The bias gradient of Linear's unrecorded backward without relu (relu: Note
# [ReLU backward and the bias gradient in one pass]), Σ_rows gz, is computed as
# ones(rows) @ gz when gz is small (<= _TINY elements, Note [Tiny products]):
# numpy's axis-0 add.reduce costs ~1 us even on a 4x2 array (0.35 us as a dot),
# and 4-6x a dot up to 64x128. The sum's order differs from add.reduce's, so
# the result can differ in the last bit (the recorded path sums with
# ``Tensor.sum``); tests/test_xor_costs.py checks the two agree. The ones
# vectors are cached per (rows, dtype), read-only.
_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def _sum_rows(gz: np.ndarray) -> np.ndarray:
    """Σ over axis 0 of a 2-D float array (Note [Bias gradient as a product])."""
    rows = gz.shape[0]
    if gz.size > _TINY or rows == 0:
        return np.add.reduce(gz, axis=0)
    key = (rows, gz.dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:  # many batch sizes: keep the cache small
            _ONES.clear()
        ones = _ONES[key] = np.ones(rows, gz.dtype)
        ones.flags.writeable = False
    return ones.dot(gz)


# 1 as a 0-d array of each float dtype, for 1 - y below: a Python number is
# converted on every call (0.6 us on a 4x2 float32 array, 0.3 us this way);
# the same bits, as 1 is exact in every float dtype.
_ONE = {np.dtype(t): np.ones((), t) for t in (np.float16, np.float32, np.float64)}


def _linear_backward_arrays(
    ctx: Any, g: np.ndarray, x: np.ndarray, w: np.ndarray, y: Any = None
) -> tuple[Any, ...]:
    """``Linear.backward`` on arrays, for a backward that is not recorded
    (``y``, the output, is saved when there is an activation)."""
    act = ctx.activation
    needs = ctx.needs_input_grad
    db = None
    if act == "relu":
        # gz and the bias gradient in one pass (Note [ReLU backward and the
        # bias gradient in one pass])
        if g.dtype != y.dtype:
            g = g.astype(y.dtype)
        gz, db = _act.relu_bias_backward(
            y,
            g,
            bias=len(needs) == 3 and needs[2],
            nthreads=backend._kernel_threads(),
        )
    elif act == "sigmoid":
        gz = np.subtract(_ONE.get(y.dtype, 1), y)  # g·y·(1 - y), one new array
        gz *= y
        gz *= g
    elif act == "tanh":
        gz = y * y
        np.subtract(1, gz, out=gz)
        gz *= g
    else:
        gz = g
    rows, n_out = gz.shape
    # Both products take rows·out·in multiply-adds (Note [Tiny products]).
    if rows * n_out * w.shape[1] <= _TINY:
        gx = wrap(gz.dot(w)) if needs[0] else None
        gw = wrap(gz.T.dot(x)) if needs[1] else None
    else:
        gx = wrap(_mm(gz, w)) if needs[0] else None
        gw = wrap(_mm(gz.T, x)) if needs[1] else None
    if len(needs) == 2:  # no bias
        return gx, gw
    if not needs[2]:
        return gx, gw, None
    return gx, gw, wrap(db if db is not None else _sum_rows(gz))


def _check_linear(
    x: Tensor, weight: Tensor, bias: Tensor | None, activation: str | None
) -> None:
    for name, t in (("x", x), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if activation not in _ACTIVATIONS:
        raise ShapeError(
            f"linear: activation must be one of {_ACTIVATIONS}, got {activation!r}"
        )
    if weight.ndim != 2:
        raise ShapeError(
            f"linear: weight must be 2-D (out_features, in_features), got "
            f"shape {weight.shape}"
        )
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: x's last dim must equal weight's in_features: x {x.shape}, "
            f"weight {weight.shape}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(
            f"linear: bias must have shape ({weight.shape[0]},) for weight "
            f"{weight.shape}, got {bias.shape}"
        )


def _linear_composite(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    activation: str | None = None,
) -> Tensor:
    """y = act(x @ weightᵀ + bias) built from primitive ops: the fused op's
    twin, kept for tests."""
    _check_linear(x, weight, bias, activation)
    y = matmul(x, weight.transpose(0, 1))
    if bias is not None:
        y = y + bias
    if activation == "relu":
        return y.relu()
    if activation == "sigmoid":
        return y.sigmoid()
    if activation == "tanh":
        return y.tanh()
    return y


def _linear_fast(x: Any, weight: Any, bias: Any, activation: Any) -> Tensor | None:
    """``linear`` in the common case, checked in a few comparisons (2-D x, one
    float dtype, a bias that fits); None when the full checks must run. Also
    nn.Linear's first step, before its own checks (which then run only when
    this declines)."""
    if isinstance(x, Tensor) and isinstance(weight, Tensor):
        xd, wd = x.data, weight.data
        dt = xd.dtype
        if (
            xd.ndim == 2
            and wd.ndim == 2
            and xd.shape[1] == wd.shape[1]
            and dt == wd.dtype
            and dt in _FLOATS
            and activation in _ACTIVATIONS
        ):
            kw = {"activation": activation}
            if bias is None:
                return _apply_arrays(Linear, (x, weight), kw)
            if (
                isinstance(bias, Tensor)
                and bias.data.dtype == dt
                and bias.data.shape == (wd.shape[0],)
            ):
                return _apply_arrays(Linear, (x, weight, bias), kw)
    return None


def linear(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    activation: str | None = None,
) -> Tensor:
    """y = act(x @ weightᵀ + bias), PyTorch's layout, in one pass over y.

    Parameters
    ----------
    x : Tensor, shape (..., in_features)
    weight : Tensor, shape (out_features, in_features)
    bias : Tensor, shape (out_features,), optional
    activation : {None, "relu", "sigmoid", "tanh"}
        Applied in the same pass (by the GEMM's epilogue).

    Returns
    -------
    Tensor, shape (..., out_features)

    Raises
    ------
    TypeError
        Non-Tensor arguments or bool dtypes.
    ValueError
        Shapes that do not agree, or an unknown activation.
    """
    y = _linear_fast(x, weight, bias, activation)
    if y is not None:
        return y
    _check_linear(x, weight, bias, activation)
    ts = [x, weight] + ([bias] if bias is not None else [])
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = result_type(dt, t.dtype)
    if dt not in _FLOATS:
        if np.dtype(dt).kind == "b":
            raise TypeError("linear: bool tensors are not supported")
        return _linear_composite(x, weight, bias, activation)
    x, weight = x.to(dt), weight.to(dt)
    if bias is not None:
        bias = bias.to(dt)
    lead = x.shape[:-1]
    if x.ndim != 2:
        x = x.reshape(_numel(lead), x.shape[-1])
    args = (x, weight) if bias is None else (x, weight, bias)
    y = Linear.apply(*args, activation=activation)
    if len(lead) != 1:
        y = y.reshape(*lead, weight.shape[0])
    return y
