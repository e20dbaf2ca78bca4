"""Dense linear algebra on (batches of) square matrices: inv, det, slogdet,
solve, cholesky (differentiable), qr, svd, eigh, pinv (forward only).

Layer: ops. numpy's LAPACK does the factorisations; each backward is written
with Tensor ops (matmul, solve, inv ...), so it can be differentiated again.
``minigrad.linalg`` is the public namespace (``mg.linalg.inv`` ...).

The forward-only ops raise a NotImplementedError when asked for a gradient
(grad mode on and an input that requires grad) rather than cut the graph
silently; compute them on ``t.detach()`` or under ``no_grad``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import STATE
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.layout import tril
from minigrad.ops.linalg import matmul
from minigrad.ops.shape import unsqueeze
from minigrad.tensor import Tensor

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "inv",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
]


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-1, -2)


def _square(a: Tensor, op: str) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(a).__name__}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(
            f"{op}: expected a (batch of) square matrices, got shape {a.shape}"
        )
    if a.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating tensor, got {a.dtype}")


def _lapack(op: str, fn: Any, *arrays: Any) -> Any:
    try:
        return fn(*arrays)
    except np.linalg.LinAlgError as e:
        raise ArgumentError(f"{op}: {e} (input of shape {arrays[0].shape})") from None


class Inv(Function):
    """Y = A⁻¹;  dL/dA = -Yᵀ g Yᵀ."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        y = _lapack("inv", np.linalg.inv, a)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        yt = _mT(y)
        return -matmul(matmul(yt, g), yt)


def inv(a: Tensor) -> Tensor:
    """The inverse of a (batch of) square matrices.

    Raises
    ------
    ValueError
        A singular matrix or a non-square shape.
    """
    _square(a, "inv")
    return Inv.apply(a)


class Det(Function):
    """d = det(A);  dL/dA = g · d · A⁻ᵀ (A must be invertible for the gradient)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        d = np.asarray(np.linalg.det(a))
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        s = unsqueeze(unsqueeze(g * d, -1), -1)
        return s * _mT(inv(a))


def det(a: Tensor) -> Tensor:
    """The determinant of a (batch of) square matrices. Its gradient needs an
    invertible matrix."""
    _square(a, "det")
    return Det.apply(a)


class LogAbsDet(Function):
    """l = log|det A|;  dL/dA = g · A⁻ᵀ."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.slogdet(a)[1])

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return unsqueeze(unsqueeze(g, -1), -1) * _mT(inv(a))


class SignLogAbsDet(NamedTuple):
    """What ``slogdet`` returns, as ``torch.linalg.slogdet``."""

    sign: Tensor
    logabsdet: Tensor


def slogdet(a: Tensor) -> SignLogAbsDet:
    """``(sign, logabsdet)`` of the determinant; ``logabsdet`` is
    differentiable (the sign has no gradient)."""
    _square(a, "slogdet")
    sign = Tensor._wrap(np.asarray(np.linalg.slogdet(a.data)[0]))
    return SignLogAbsDet(sign, LogAbsDet.apply(a))


class Solve(Function):
    """X = A⁻¹ B for B (..., n, k);  dL/dB = solve(Aᵀ, g), dL/dA = -dL/dB Xᵀ
    (each reduced to its input's batch shape)."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        x = _lapack("solve", np.linalg.solve, a, b)
        ctx.save_for_backward(a, x)
        ctx.shapes = (a.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = Solve.apply(_mT(a), g)
        ga = -matmul(gb, _mT(x)) if ctx.needs_input_grad[0] else None
        sa, sb = ctx.shapes
        return (
            ga.sum_to(sa) if ga is not None else None,
            gb.sum_to(sb) if ctx.needs_input_grad[1] else None,
        )


def solve(a: Tensor, b: Tensor, *, left: bool = True) -> Tensor:
    """The X with ``A X = B`` (``left=False``: ``X A = B``). B is a vector (or a
    batch of them) when it has one dim less than A, as in PyTorch.

    Raises
    ------
    ValueError
        A singular A, or shapes that do not agree.
    """
    _square(a, "solve")
    if not left:
        return _mT(solve(_mT(a), _mT(b)))
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape[:-1] == a.shape[:-2])
    bb = unsqueeze(b, -1) if vector else b
    if bb.ndim < 2 or bb.shape[-2] != a.shape[-1]:
        raise ShapeError(f"solve: A of shape {a.shape} and B of shape {b.shape}")
    if bb.dtype != a.dtype:
        raise TypeError(f"solve: A ({a.dtype}) and B ({b.dtype}) differ in dtype")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], bb.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"solve: batch dims of A {a.shape} and B {b.shape} do not broadcast"
        ) from None
    a_ = a.expand(*batch, *a.shape[-2:]) if a.shape[:-2] != batch else a
    b_ = bb.expand(*batch, *bb.shape[-2:]) if bb.shape[:-2] != batch else bb
    x = Solve.apply(a_, b_)
    return x.squeeze(-1) if vector else x


class Cholesky(Function):
    """L = chol(A) (lower);  dL/dA = L⁻ᵀ Φ L⁻¹ with Φ = the symmetric part of
    tril(Lᵀ g) (diagonal halved), PyTorch's formula."""

    _array_forward = True

    @staticmethod
    def forward(ctx, a):
        lo = _lapack("cholesky", np.linalg.cholesky, a)
        ctx.save_for_backward(lo)
        return lo

    @staticmethod
    def backward(ctx, g):
        (lo,) = ctx.saved_tensors
        phi = tril(matmul(_mT(lo), g))
        phi = 0.5 * (phi + _mT(tril(phi, -1)))
        # L⁻ᵀ Φ L⁻¹ = solve(Lᵀ, solve(Lᵀ, Φᵀ)ᵀ)
        return solve(_mT(lo), _mT(solve(_mT(lo), _mT(phi))))


def cholesky(a: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of a symmetric positive-definite matrix (lower, or
    upper with ``upper=True``); only the lower triangle of ``a`` is read.

    Raises
    ------
    ValueError
        A matrix that is not positive-definite.
    """
    _square(a, "cholesky")
    lo = Cholesky.apply(a)
    return _mT(lo) if upper else lo


# -- forward only -----------------------------------------------------------------


def _forward_only(op: str, a: Tensor) -> None:
    if STATE.grad_enabled and a.requires_grad:
        raise NotImplementedError(
            f"linalg.{op}: the backward is not implemented (forward only); "
            "call it on t.detach() or under no_grad"
        )


class QR(NamedTuple):
    Q: Tensor
    R: Tensor


class SVD(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class Eigh(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


def _mat(a: Tensor, op: str) -> None:
    if a.ndim < 2 or a.data.dtype.kind != "f":
        raise ShapeError(
            f"linalg.{op}: expected a floating (batch of) matrices, got "
            f"{a.dtype} {a.shape}"
        )


def qr(a: Tensor, mode: Any = "reduced") -> QR:
    """``(Q, R)`` with ``A = Q R`` (mode 'reduced', 'complete' or 'r').
    Forward only."""
    _mat(a, "qr")
    _forward_only("qr", a)
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: unknown mode {mode!r}")
    if mode == "r":
        r: Any = np.linalg.qr(a.data, mode="r")
        return QR(Tensor._wrap(np.zeros((0,), a.data.dtype)), Tensor._wrap(r))
    q, r = np.linalg.qr(a.data, mode=mode)
    return QR(Tensor._wrap(q), Tensor._wrap(r))


def svd(a: Tensor, full_matrices: bool = True) -> SVD:
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``. Forward only."""
    _mat(a, "svd")
    _forward_only("svd", a)
    u, s, vh = _lapack("svd", lambda x: np.linalg.svd(x, full_matrices), a.data)
    return SVD(Tensor._wrap(u), Tensor._wrap(s), Tensor._wrap(vh))


def eigh(a: Tensor, UPLO: Any = "L") -> Eigh:
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix, read from
    its ``UPLO`` triangle. Forward only."""
    _square(a, "eigh")
    _forward_only("eigh", a)
    w, v = _lapack("eigh", lambda x: np.linalg.eigh(x, UPLO), a.data)
    return Eigh(Tensor._wrap(w), Tensor._wrap(v))


def pinv(a: Tensor, *, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse. Forward only."""
    _mat(a, "pinv")
    _forward_only("pinv", a)
    return Tensor._wrap(
        _lapack("pinv", lambda x: np.linalg.pinv(x, hermitian=hermitian), a.data)
    )
