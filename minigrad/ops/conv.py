"""Convolution ops: ``conv`` (N = 1, 2, 3 spatial dims, stride, padding,
dilation, groups), ``conv_transpose`` and the weight gradient ``conv_weight``,
on the C kernels of ``minigrad._C._conv`` (im2col + GEMM).

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd``,
``minigrad.backend`` and ``minigrad._C._conv``.

# Note [Convolution adjoints]
The three products of a convolution layer are one bilinear form read three
ways, <gy, conv(x, w)> = <conv_transpose(gy, w), x> = <conv_weight(x, gy), w>,
so each op's backward is made of the other two (all three are linear in each
argument):
  Conv           y = conv(x, w)           gx = ConvTranspose(g, w)
                                          gw = ConvWeight(x, g)
  ConvTranspose  y = conv_transpose(x, w) gx = Conv(g, w)
                                          gw = ConvWeight(g, x)
  ConvWeight     gw = conv_weight(x, gy)  d/dx = ConvTranspose(gy, g)
                                          d/dgy = Conv(x, g)
Every backward is therefore itself recorded (``create_graph=True``) and
differentiable again, to any order. A transposed convolution whose
output_padding is at least its stride produces positions no input window
reaches; the conv that maps back then yields a few more positions than the
input had, and they are sliced off (they belong to no input).
"""

from __future__ import annotations

from typing import Any

from minigrad import backend
from minigrad._C import _conv
from minigrad.autograd.function import Function
from minigrad.tensor import Tensor

__all__ = ["col2im", "conv", "conv_transpose", "conv_weight", "im2col"]


# The forward's algorithm ("auto", "workspace" or "fused"; see the Cython
# wrapper's conv_forward). Private: benchmarks/bench_conv.py sets it to time
# both paths through the public API.
_FWD_PATH = "auto"


def _kw() -> dict[str, Any]:
    return {"num_threads": backend._kernel_threads(), "isa": backend._isa()}


def _crop(t: Tensor, spatial: tuple[int, ...]) -> Tensor:
    """``t`` (N, C, *s) cut to (N, C, *spatial) when it is larger (Note
    [Convolution adjoints])."""
    if tuple(t.shape[2:]) == tuple(spatial):
        return t
    keep = (slice(None), slice(None), *(slice(0, s) for s in spatial))
    return t[keep]


class Conv(Function):
    """y = conv(x, w) + b: y[n, o] = Σ_{c in o's group, t} w[o, c, t] ·
    x[n, c, o·stride - pad + t·dilation] + b[o] (zero outside x).
    dL/dx = conv_transpose(g, w), dL/dw = conv_weight(x, g), dL/db = Σ g over
    batch and space (Note [Convolution adjoints])."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, padding, dilation, groups):
        ctx.geom = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        }
        ctx.save_for_backward(x, w)
        return _conv.conv_forward(x, w, b, **ctx.geom, **_kw(), path=_FWD_PATH)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        gx = gw = gb = None
        if needs[0]:
            gx = ConvTranspose.apply(g, w, input_size=tuple(x.shape[2:]), **ctx.geom)
        if needs[1]:
            gw = ConvWeight.apply(x, g, kernel_size=tuple(w.shape[2:]), **ctx.geom)
        if len(needs) == 2:
            return gx, gw
        if needs[2]:
            gb = g.sum((0, *range(2, g.ndim)))
        return gx, gw, gb


class ConvTranspose(Function):
    """y = conv_transpose(x, w), the adjoint of conv in its input: x (N,
    w.shape[0], *s), w (C_in, C_out / groups, *k), y (N, C_out, *input_size).
    dL/dx = conv(g, w), dL/dw = conv_weight(g, x)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, w, *, input_size, stride, padding, dilation, groups):
        ctx.geom = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        }
        ctx.save_for_backward(x, w)
        return _conv.conv_backward_input(
            x, w, input_size=input_size, **ctx.geom, **_kw()
        )

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = _crop(Conv.apply(g, w, **ctx.geom), tuple(x.shape[2:]))
        if ctx.needs_input_grad[1]:
            gw = ConvWeight.apply(g, x, kernel_size=tuple(w.shape[2:]), **ctx.geom)
        return gx, gw


class ConvWeight(Function):
    """gw = conv_weight(x, gy) = ∂<gy, conv(x, w)>/∂w (summed over the batch),
    shape (gy.shape[1], x.shape[1] / groups, *kernel_size).
    dL/dx = conv_transpose(gy, g), dL/dgy = conv(x, g)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, gy, *, kernel_size, stride, padding, dilation, groups):
        ctx.geom = {
            "stride": stride,
            "padding": padding,
            "dilation": dilation,
            "groups": groups,
        }
        ctx.save_for_backward(x, gy)
        return _conv.conv_backward_weight(
            x, gy, kernel_size=kernel_size, **ctx.geom, **_kw()
        )

    @staticmethod
    def backward(ctx, g):
        x, gy = ctx.saved_tensors
        gx = ggy = None
        if ctx.needs_input_grad[0]:
            gx = ConvTranspose.apply(gy, g, input_size=tuple(x.shape[2:]), **ctx.geom)
        if ctx.needs_input_grad[1]:
            ggy = _crop(Conv.apply(x, g, **ctx.geom), tuple(gy.shape[2:]))
        return gx, ggy


def conv(
    x: Tensor,
    w: Tensor,
    b: Tensor | None = None,
    *,
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int = 1,
) -> Tensor:
    """y = conv(x, w) + b for x (N, C_in, *in), w (C_out, C_in / groups, *k),
    b (C_out,), one float dtype; the shapes were checked by the caller
    (``nn.functional``), the kernel checks them again."""
    geom = {"stride": stride, "padding": padding, "dilation": dilation}
    if b is None:
        return Conv.apply(x, w, groups=groups, **geom)
    return Conv.apply(x, w, b, groups=groups, **geom)


def conv_transpose(
    x: Tensor,
    w: Tensor,
    *,
    output_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int = 1,
) -> Tensor:
    """y = conv_transpose(x, w), y of spatial size ``output_size``; x (N,
    C_in, *s), w (C_in, C_out / groups, *k)."""
    return ConvTranspose.apply(
        x,
        w,
        input_size=tuple(output_size),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


def conv_weight(
    x: Tensor,
    gy: Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int = 1,
) -> Tensor:
    """The weight gradient of a convolution as a differentiable op."""
    return ConvWeight.apply(
        x,
        gy,
        kernel_size=tuple(kernel_size),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )


class Im2Col(Function):
    """cols = im2col(x): x (N, C, *in) -> (N, C·prod(kernel), L), the patches
    PyTorch's ``unfold`` lays out; dL/dx = col2im(g), the adjoint."""

    _array_forward = True

    @staticmethod
    def forward(ctx, x, *, geom):
        ctx.geom, ctx.in_size = geom, tuple(x.shape[2:])
        return _conv.im2col(x, **geom, num_threads=backend._kernel_threads())

    @staticmethod
    def backward(ctx, g):
        return Col2Im.apply(g, geom=ctx.geom, input_size=ctx.in_size)


class Col2Im(Function):
    """x = col2im(cols), the patches summed back into (N, C, *input_size)
    (PyTorch's ``fold``); dL/dcols = im2col(g), the adjoint."""

    _array_forward = True

    @staticmethod
    def forward(ctx, cols, *, geom, input_size):
        ctx.geom = geom
        return _conv.col2im(
            cols, input_size=input_size, **geom, num_threads=backend._kernel_threads()
        )

    @staticmethod
    def backward(ctx, g):
        return Im2Col.apply(g, geom=ctx.geom)


def im2col(
    x: Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Tensor:
    """The patches of x (N, C, *in): (N, C·prod(kernel_size), L)."""
    geom = {
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }
    return Im2Col.apply(x, geom=geom)


def col2im(
    cols: Tensor,
    *,
    input_size: tuple[int, ...],
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Tensor:
    """The adjoint of im2col: cols (N, C·prod(kernel_size), L) summed into
    (N, C, *input_size)."""
    geom = {
        "kernel_size": kernel_size,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
    }
    return Col2Im.apply(cols, geom=geom, input_size=tuple(input_size))
