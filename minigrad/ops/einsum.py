"""einsum and the products built on it or on matmul: outer, inner, dot, vdot,
kron, cross, tensordot, bmm, baddbmm, addmm.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and the shape,
layout and linalg ops.

# Note [Einsum backward]
After parsing, every operand's subscripts are distinct letters: an operand
with a repeated letter ('ii') is replaced first by its diagonal (a
differentiable op of its own), and '...' by fresh letters. The gradient of
operand i is then one einsum of the output gradient with the other operands,
``"out,others->s_i"``; a letter of s_i that appears nowhere else was summed
away in forward, so its gradient is broadcast back along it (computed without
it, then expanded). Each backward is again an ``Einsum``, so it can be
differentiated again.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops.layout import diagonal, movedim
from minigrad.ops.linalg import matmul
from minigrad.ops.shape import expand, reshape, stack, unsqueeze
from minigrad.tensor import Tensor

__all__ = [
    "addmm",
    "baddbmm",
    "bmm",
    "cross",
    "dot",
    "einsum",
    "inner",
    "kron",
    "outer",
    "tensordot",
    "vdot",
]

_LETTERS = string.ascii_letters


class Einsum(Function):
    """y = einsum(eq, *ops) with distinct letters per operand;
    dL/d op_i = einsum(g, others -> s_i) (Note [Einsum backward])."""

    _array_forward = True

    @staticmethod
    def forward(ctx, *ops, ins, out):
        ctx.ins, ctx.out = ins, out
        ctx.save_for_backward(*ops)
        eq = ",".join(ins) + "->" + out
        return np.einsum(eq, *ops, optimize=len(ops) > 2)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads: list[Tensor | None] = []
        for i, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [j for j in range(len(ops)) if j != i]
            seen = set(ctx.out).union(*(ctx.ins[j] for j in others))
            target = "".join(c for c in ctx.ins[i] if c in seen)
            gi = Einsum.apply(
                g,
                *(ops[j] for j in others),
                ins=(ctx.out, *(ctx.ins[j] for j in others)),
                out=target,
            )
            if target != ctx.ins[i]:
                shape = ops[i].shape
                for k, c in enumerate(ctx.ins[i]):
                    if c not in seen:
                        gi = unsqueeze(gi, k)
                gi = expand(gi, shape)
            grads.append(gi)
        return tuple(grads)


def _parse(eq: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ArgumentError(
            f"einsum: the equation has {len(ins)} operands, got {len(shapes)} tensors"
        )
    used = set(eq) - set(".,->")
    if not used <= set(_LETTERS):
        raise ArgumentError(f"einsum: subscripts must be letters, got {eq!r}")
    free = [c for c in _LETTERS if c not in used]
    ell_n = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            ell_n = max(ell_n, len(shp) - (len(s) - 3))
    ell = "".join(free[:ell_n])
    fixed = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            k = len(shp) - (len(s) - 3)
            s = s.replace("...", ell[ell_n - k :] if k else "")
        if len(s) != len(shp):
            raise ShapeError(
                f"einsum: subscripts {s!r} do not match an operand of shape {shp}"
            )
        fixed.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts: dict[str, int] = {}
        for s in fixed:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(
            sorted(c for c in counts if counts[c] == 1 and c not in ell)
        )
    return fixed, out


def _distinct(t: Tensor, s: str) -> tuple[Tensor, str]:
    """``t`` with each repeated letter of ``s`` reduced to its diagonal."""
    while len(set(s)) != len(s):
        c = next(c for c in s if s.count(c) > 1)
        i = s.index(c)
        j = s.index(c, i + 1)
        t = diagonal(t, 0, i, j)  # the diagonal goes last
        s = s[:i] + s[i + 1 : j] + s[j + 1 :] + c
    return t, s


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum`` (also ``einsum(eq, [a, b])``):
    letters, '...', repeated letters (diagonals), implicit output. Differentiable
    in every operand (Note [Einsum backward]); operand dtypes must match.

    Raises
    ------
    ValueError
        An equation that does not match the operands, or sizes that disagree.
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [o if isinstance(o, Tensor) else Tensor(o) for o in operands]
    ins, out = _parse(equation, [o.shape for o in ops])
    sizes: dict[str, int] = {}
    for s, o in zip(ins, ops):
        for c, n in zip(s, o.shape):
            if sizes.setdefault(c, n) != n:
                if sizes[c] == 1 or n == 1:
                    raise ShapeError(
                        f"einsum: broadcasting of '...' dims ({c}) is not supported"
                    )
                raise ShapeError(
                    f"einsum: subscript {c!r} has sizes {sizes[c]} and {n} in "
                    f"{equation!r}"
                )
    if len(set(out)) != len(out) or not set(out) <= set(sizes):
        raise ArgumentError(f"einsum: bad output subscripts in {equation!r}")
    pairs = [_distinct(o, s) for o, s in zip(ops, ins)]
    dt = {o.dtype for o in ops}
    if len(dt) > 1:
        raise TypeError(
            f"einsum: operands must have one dtype, got {sorted(map(str, dt))}"
        )
    return Einsum.apply(*(p[0] for p in pairs), ins=tuple(p[1] for p in pairs), out=out)


# -- products -------------------------------------------------------------------------


def _need(t: Tensor, nd: int, op: str, name: str = "input") -> None:
    if t.ndim != nd:
        raise ShapeError(f"{op}: {name} must be {nd}-d, got shape {t.shape}")


def outer(a: Tensor, b: Tensor) -> Tensor:
    """The outer product of two 1-d tensors (``ger``)."""
    _need(a, 1, "outer")
    _need(b, 1, "outer", "vec2")
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def dot(a: Tensor, b: Tensor) -> Tensor:
    """The dot product of two 1-d tensors of one size."""
    _need(a, 1, "dot")
    _need(b, 1, "dot", "tensor")
    if a.shape != b.shape:
        raise ShapeError(f"dot: sizes differ: {a.shape} and {b.shape}")
    return einsum("i,i->", a, b)


def vdot(a: Tensor, b: Tensor) -> Tensor:
    """``dot`` (the first operand would be conjugated; minigrad is real)."""
    return dot(a, b)


def inner(a: Tensor, b: Tensor) -> Tensor:
    """Sum over the last dims of ``a`` and ``b`` (a product for 0-d operands)."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: last dims differ: {a.shape} and {b.shape}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Sum of products over ``dims`` (the last n of ``a`` with the first n of
    ``b``, or two lists of dims)."""
    if isinstance(dims, (int, np.integer)):
        n = int(dims)
        if n < 0 or n > min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot: dims {n} out of range")
        da, db = list(range(a.ndim - n, a.ndim)), list(range(n))
    else:
        da, db = [list(x) if not isinstance(x, int) else [x] for x in dims]
        da = [d % max(a.ndim, 1) for d in da]
        db = [d % max(b.ndim, 1) for d in db]
    if len(da) != len(db):
        raise ArgumentError(f"tensordot: dims lists {da}, {db} differ in length")
    sa = list(_LETTERS[: a.ndim])
    sb = list(_LETTERS[a.ndim : a.ndim + b.ndim])
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"tensordot: dim {i} of {a.shape} and dim {j} of {b.shape} differ"
            )
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in da] + [
        c for k, c in enumerate(sb) if k not in db
    ]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


def kron(a: Tensor, b: Tensor) -> Tensor:
    """The Kronecker product (dims of the smaller-rank operand padded in front)."""
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    x = reshape(a, tuple(v for s in a.shape for v in (s, 1)))
    y = reshape(b, tuple(v for s in b.shape for v in (1, s)))
    return reshape(x * y, tuple(p * q for p, q in zip(a.shape, b.shape)))


def cross(a: Tensor, b: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the last dim of size 3 when
    None, as ``torch.linalg.cross`` defaults to -1), broadcasting the rest."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = expand(a, shape), expand(b, shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), -1)
    d = dim % max(len(shape), 1)
    if not shape or shape[d] != 3:
        raise ShapeError(f"cross: dim {dim} of shape {shape} must have size 3")
    a, b = movedim(a, d, -1), movedim(b, d, -1)
    ax, ay, az = (a[..., i] for i in range(3))
    bx, by, bz = (b[..., i] for i in range(3))
    c = stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], -1)
    return movedim(c, -1, d)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched matrix product of (B, n, m) and (B, m, p) (no broadcasting)."""
    _need(a, 3, "bmm")
    _need(b, 3, "bmm", "mat2")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ShapeError(f"bmm: shapes {a.shape} and {b.shape} do not agree")
    return matmul(a, b)


def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-d mat1, mat2."""
    _need(mat1, 2, "addmm", "mat1")
    _need(mat2, 2, "addmm", "mat2")
    return _add_scaled(input, matmul(mat1, mat2), beta, alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
) -> Tensor:
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha)


def _add_scaled(input: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    p = prod if alpha == 1 else prod * alpha
    if beta == 0:  # input ignored, NaN included (PyTorch)
        return p
    i = input if beta == 1 else input * beta
    return i + p
