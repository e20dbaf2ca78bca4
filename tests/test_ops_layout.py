"""Shape and layout ops (flip, roll, repeat, tril, diagonal, unfold, splits,
movedim, broadcasting, meshgrid, stacks, atleast_Nd) and the products (einsum
with its backward, outer, inner, dot, kron, cross, tensordot, bmm, addmm):
values, dtypes and gradients against PyTorch, gradcheck on drawn shapes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.compare_torch import compare
from tests.helpers import examples

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1415)


def _f(*shape):
    return RNG.standard_normal(shape)


def _i(hi, *shape):
    return RNG.integers(0, hi, shape)


# (name, mg fn, torch fn, args)
CASES = [
    ("flip", lambda a: a.flip(0, -1), lambda a: a.flip(0, -1), [_f(2, 3, 4)]),
    ("flip_list", lambda a: mg.flip(a, [1]), lambda a: torch.flip(a, [1]), [_f(2, 3)]),
    ("fliplr", lambda a: a.fliplr(), lambda a: a.fliplr(), [_f(2, 3)]),
    ("flipud", lambda a: mg.flipud(a), lambda a: torch.flipud(a), [_f(4)]),
    ("roll", lambda a: a.roll(1, 0), lambda a: a.roll(1, 0), [_f(3, 4)]),
    ("roll_multi", lambda a: mg.roll(a, (2, -1), (1, 0)),
     lambda a: torch.roll(a, (2, -1), (1, 0)), [_f(3, 4)]),
    ("roll_flat", lambda a: a.roll(5), lambda a: a.roll(5), [_f(3, 4)]),
    ("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), [_f(2, 3)]),
    ("repeat_zero", lambda a: a.repeat(0, 2), lambda a: a.repeat(0, 2), [_f(2, 3)]),
    ("tile", lambda a: a.tile((2,)), lambda a: a.tile((2,)), [_f(2, 3)]),
    ("tile_more", lambda a: mg.tile(a, (2, 1, 2)), lambda a: torch.tile(a, (2, 1, 2)),
     [_f(2, 3)]),
    ("repeat_interleave", lambda a: a.repeat_interleave(2),
     lambda a: a.repeat_interleave(2), [_f(2, 3)]),
    ("repeat_interleave_t", lambda a, r: mg.repeat_interleave(a, r, dim=0),
     lambda a, r: torch.repeat_interleave(a, r, dim=0),
     [_f(3, 2), np.array([1, 0, 3])]),
    ("tril", lambda a: a.tril(), lambda a: a.tril(), [_f(3, 4)]),
    ("tril_neg", lambda a: mg.tril(a, -1), lambda a: torch.tril(a, -1), [_f(2, 3, 3)]),
    ("triu", lambda a: a.triu(1), lambda a: a.triu(1), [_f(4, 3)]),
    ("triu_int", lambda a: a.triu(), lambda a: a.triu(), [_i(5, 3, 3)]),
    ("diag_vec", lambda a: a.diag(), lambda a: a.diag(), [_f(3)]),
    ("diag_vec_off", lambda a: mg.diag(a, -2), lambda a: torch.diag(a, -2), [_f(3)]),
    ("diag_mat", lambda a: a.diag(1), lambda a: a.diag(1), [_f(3, 4)]),
    ("diagonal", lambda a: a.diagonal(), lambda a: a.diagonal(), [_f(3, 4)]),
    ("diagonal_dims", lambda a: mg.diagonal(a, -1, 2, 0),
     lambda a: torch.diagonal(a, -1, 2, 0), [_f(3, 2, 4)]),
    ("diag_embed", lambda a: a.diag_embed(), lambda a: a.diag_embed(), [_f(2, 3)]),
    ("diag_embed_dims", lambda a: mg.diag_embed(a, 1, 0, 2),
     lambda a: torch.diag_embed(a, 1, 0, 2), [_f(2, 3)]),
    ("trace", lambda a: a.trace(), lambda a: a.trace(), [_f(3, 4)]),
    ("unfold", lambda a: a.unfold(1, 2, 1), lambda a: a.unfold(1, 2, 1), [_f(2, 5)]),
    ("unfold_step", lambda a: a.unfold(0, 2, 3), lambda a: a.unfold(0, 2, 3),
     [_f(8, 2)]),
    ("narrow", lambda a: a.narrow(1, 1, 2), lambda a: a.narrow(1, 1, 2), [_f(2, 4)]),
    ("narrow_neg", lambda a: mg.narrow(a, 0, -2, 2),
     lambda a: torch.narrow(a, 0, -2, 2), [_f(3, 2)]),
    ("chunk", lambda a: a.chunk(3, 1), lambda a: a.chunk(3, 1), [_f(2, 7)]),
    ("chunk_few", lambda a: mg.chunk(a, 4), lambda a: torch.chunk(a, 4), [_f(6)]),
    ("tensor_split", lambda a: a.tensor_split(3, 1), lambda a: a.tensor_split(3, 1),
     [_f(2, 7)]),
    ("tensor_split_idx", lambda a: mg.tensor_split(a, [1, 4, -1]),
     lambda a: torch.tensor_split(a, [1, 4, -1]), [_f(6)]),
    ("unbind", lambda a: a.unbind(1), lambda a: a.unbind(1), [_f(2, 3)]),
    ("movedim", lambda a: a.movedim(0, -1), lambda a: a.movedim(0, -1), [_f(2, 3, 4)]),
    ("movedim_multi", lambda a: mg.movedim(a, (0, 1), (2, 0)),
     lambda a: torch.movedim(a, (0, 1), (2, 0)), [_f(2, 3, 4)]),
    ("swapaxes", lambda a: a.swapaxes(0, 2), lambda a: a.swapaxes(0, 2),
     [_f(2, 3, 4)]),
    ("swapdims", lambda a: mg.swapdims(a, -1, 0), lambda a: torch.swapdims(a, -1, 0),
     [_f(2, 3)]),
    ("t", lambda a: a.t(), lambda a: a.t(), [_f(2, 3)]),
    ("t_1d", lambda a: mg.t(a), lambda a: torch.t(a), [_f(3)]),
    ("mT", lambda a: a.mT, lambda a: a.mT, [_f(2, 3, 4)]),
    ("view_as", lambda a, b: a.view_as(b), lambda a, b: a.view_as(b),
     [_f(6), _f(2, 3)]),
    ("reshape_as", lambda a, b: a.reshape_as(b), lambda a, b: a.reshape_as(b),
     [_f(2, 3), _f(3, 2)]),
    ("expand_as", lambda a, b: a.expand_as(b), lambda a, b: a.expand_as(b),
     [_f(3, 1), _f(2, 3, 4)]),
    ("broadcast_to", lambda a: a.broadcast_to((2, 3)), lambda a: a.broadcast_to((2, 3)),
     [_f(3)]),
    ("broadcast_tensors", lambda a, b: mg.broadcast_tensors(a, b),
     lambda a, b: torch.broadcast_tensors(a, b), [_f(3, 1), _f(4)]),
    ("meshgrid_ij", lambda a, b: mg.meshgrid(a, b, indexing="ij"),
     lambda a, b: torch.meshgrid(a, b, indexing="ij"), [_f(3), _f(2)]),
    ("meshgrid_xy", lambda a, b, c: mg.meshgrid(a, b, c, indexing="xy"),
     lambda a, b, c: torch.meshgrid(a, b, c, indexing="xy"), [_f(3), _f(2), _f(4)]),
    ("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [_f(2, 3, 4)]),
    ("unflatten", lambda a: a.unflatten(1, (2, -1)), lambda a: a.unflatten(1, (2, -1)),
     [_f(3, 6)]),
    ("squeeze_tuple", lambda a: a.squeeze((0, 2, 3)), lambda a: a.squeeze((0, 2, 3)),
     [_f(1, 2, 1, 3)]),
    ("hstack", lambda a, b: mg.hstack([a, b]), lambda a, b: torch.hstack([a, b]),
     [_f(2, 3), _f(2, 1)]),
    ("hstack_1d", lambda a, b: mg.hstack([a, b]), lambda a, b: torch.hstack([a, b]),
     [_f(2), _f(3)]),
    ("vstack", lambda a, b: mg.vstack([a, b]), lambda a, b: torch.vstack([a, b]),
     [_f(3), _f(2, 3)]),
    ("dstack", lambda a, b: mg.dstack([a, b]), lambda a, b: torch.dstack([a, b]),
     [_f(3), _f(3)]),
    ("dstack_2d", lambda a, b: mg.dstack([a, b]), lambda a, b: torch.dstack([a, b]),
     [_f(2, 3), _f(2, 3)]),
    ("column_stack", lambda a, b: mg.column_stack([a, b]),
     lambda a, b: torch.column_stack([a, b]), [_f(3), _f(3, 2)]),
    ("atleast_1d", lambda a: mg.atleast_1d(a), lambda a: torch.atleast_1d(a),
     [np.array(1.5)]),
    ("atleast_2d", lambda a, b: mg.atleast_2d(a, b),
     lambda a, b: torch.atleast_2d(a, b),
     [_f(3), _f(2, 2)]),
    ("atleast_3d", lambda a, b, c: mg.atleast_3d(a, b, c),
     lambda a, b, c: torch.atleast_3d(a, b, c), [np.array(1.0), _f(3), _f(2, 3)]),
    # products
    ("einsum_mm", lambda a, b: mg.einsum("ij,jk->ik", a, b),
     lambda a, b: torch.einsum("ij,jk->ik", a, b), [_f(2, 3), _f(3, 4)]),
    ("einsum_implicit", lambda a, b: mg.einsum("ij,kj", a, b),
     lambda a, b: torch.einsum("ij,kj", a, b), [_f(2, 3), _f(4, 3)]),
    ("einsum_trace", lambda a: mg.einsum("ii", a), lambda a: torch.einsum("ii", a),
     [_f(3, 3)]),
    ("einsum_diag", lambda a: mg.einsum("ii->i", a), lambda a: torch.einsum("ii->i", a),
     [_f(3, 3)]),
    ("einsum_sum_out", lambda a, b: mg.einsum("ij,j->", a, b),
     lambda a, b: torch.einsum("ij,j->", a, b), [_f(2, 3), _f(3)]),
    ("einsum_summed_only", lambda a, b: mg.einsum("ij,k->k", a, b),
     lambda a, b: torch.einsum("ij,k->k", a, b), [_f(2, 3), _f(4)]),
    ("einsum_ellipsis", lambda a, b: mg.einsum("...ij,...jk->...ik", a, b),
     lambda a, b: torch.einsum("...ij,...jk->...ik", a, b), [_f(2, 2, 3), _f(2, 3, 2)]),
    ("einsum_three", lambda a, b, c: mg.einsum("ab,bc,cd->ad", [a, b, c]),
     lambda a, b, c: torch.einsum("ab,bc,cd->ad", [a, b, c]),
     [_f(2, 3), _f(3, 4), _f(4, 2)]),
    ("einsum_batch_diag", lambda a: mg.einsum("bii->bi", a),
     lambda a: torch.einsum("bii->bi", a), [_f(2, 3, 3)]),
    ("outer", lambda a, b: a.outer(b), lambda a, b: a.outer(b), [_f(3), _f(2)]),
    ("inner", lambda a, b: a.inner(b), lambda a, b: a.inner(b), [_f(2, 3), _f(4, 3)]),
    ("inner_0d", lambda a, b: mg.inner(a, b), lambda a, b: torch.inner(a, b),
     [np.array(2.0), _f(3)]),
    ("dot", lambda a, b: a.dot(b), lambda a, b: a.dot(b), [_f(4), _f(4)]),
    ("vdot", lambda a, b: mg.vdot(a, b), lambda a, b: torch.vdot(a, b), [_f(4), _f(4)]),
    ("dot_int", lambda a, b: a.dot(b), lambda a, b: a.dot(b), [_i(5, 4), _i(5, 4)]),
    ("kron", lambda a, b: a.kron(b), lambda a, b: a.kron(b), [_f(2, 3), _f(2, 2)]),
    ("kron_ranks", lambda a, b: mg.kron(a, b), lambda a, b: torch.kron(a, b),
     [_f(3), _f(2, 2)]),
    ("cross", lambda a, b: a.cross(b, dim=1), lambda a, b: a.cross(b, dim=1),
     [_f(2, 3), _f(2, 3)]),
    ("linalg_cross", lambda a, b: mg.linalg.cross(a, b),
     lambda a, b: torch.linalg.cross(a, b), [_f(4, 3), _f(1, 3)]),
    ("tensordot", lambda a, b: mg.tensordot(a, b, 2),
     lambda a, b: torch.tensordot(a, b, 2), [_f(2, 3, 4), _f(3, 4, 5)]),
    ("tensordot_lists", lambda a, b: mg.tensordot(a, b, ([0, 2], [2, 0])),
     lambda a, b: torch.tensordot(a, b, ([0, 2], [2, 0])), [_f(2, 3, 4), _f(4, 5, 2)]),
    ("bmm", lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), [_f(2, 3, 4), _f(2, 4, 2)]),
    ("addmm", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2.0),
     lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2.0), [_f(3), _f(2, 4), _f(4, 3)]),
    ("baddbmm", lambda c, a, b: mg.baddbmm(c, a, b, alpha=-1.0),
     lambda c, a, b: torch.baddbmm(c, a, b, alpha=-1.0),
     [_f(2, 3, 2), _f(2, 3, 4), _f(2, 4, 2)]),
]  # fmt: skip


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_against_torch(name):
    _, fm, ft, args = next(c for c in CASES if c[0] == name)
    compare(fm, ft, args)


def test_einsum_gradgrad():
    a = mg.tensor(_f(2, 3), requires_grad=True)
    b = mg.tensor(_f(3, 3), requires_grad=True)
    assert mg.autograd.gradgradcheck(
        lambda x, y: mg.einsum("ij,jj,kj->ik", x, y, x), [a, b]
    )


def test_unfold_is_windows():
    a = mg.tensor(np.arange(7.0))
    np.testing.assert_array_equal(
        a.unfold(0, 3, 2).data, [[0, 1, 2], [2, 3, 4], [4, 5, 6]]
    )


def test_errors_name_the_op():
    a = mg.tensor(_f(2, 3))
    with pytest.raises(ValueError, match="einsum"):
        mg.einsum("ij,jk->ik", a, a)
    with pytest.raises(ValueError, match="fliplr"):
        mg.fliplr(mg.tensor(_f(3)))
    with pytest.raises(IndexError, match="narrow"):
        a.narrow(1, 2, 2)
    with pytest.raises(ValueError, match="repeat"):
        a.repeat(2)
    with pytest.raises(ValueError, match="cross"):
        mg.cross(a, a, dim=0)
    with pytest.raises(ValueError, match="trace"):
        mg.tensor(_f(3)).trace()


# -- gradcheck on drawn shapes (0 and 1 sizes, negative dims) ----------------------


@examples(25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=2, max_size=3), st.data())
def test_layout_gradcheck(shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    off = data.draw(st.integers(-2, 2))
    gc = mg.autograd.gradcheck
    assert gc(lambda x: x.flip(dim), [a])
    assert gc(lambda x: x.roll(off, dim), [a])
    assert gc(lambda x: x.repeat(*([2] * nd)), [a])
    assert gc(lambda x: x.repeat_interleave(2, dim), [a])
    assert gc(lambda x: x.tril(off) + x.triu(off), [a])
    assert gc(lambda x: x.diagonal(off, dim, (dim + 1) % nd), [a])
    assert gc(lambda x: x.diag_embed(off, dim, -1 if dim % (nd + 1) != nd else 0), [a])
    size = data.draw(st.integers(0, shape[dim]))
    step = data.draw(st.integers(1, 2))
    assert gc(lambda x: x.unfold(dim, size, step), [a])
    assert gc(lambda x: mg.cat(list(x.tensor_split(2, dim)), dim), [a])
    assert gc(lambda x: mg.stack(list(x.unbind(dim)), dim) if x.shape[dim] else x, [a])
    assert gc(lambda x: x.movedim(dim, 0), [a])


@examples(20, deadline=None)
@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.data())
def test_einsum_gradcheck(i, j, k, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = mg.tensor(rng.standard_normal((i, j)), requires_grad=True)
    b = mg.tensor(rng.standard_normal((j, k)), requires_grad=True)
    eq = data.draw(st.sampled_from(["ij,jk->ik", "ij,jk->ki", "ij,jk->", "ij,jk->j"]))
    assert mg.autograd.gradcheck(lambda x, y: mg.einsum(eq, x, y), [a, b])
    assert mg.autograd.gradcheck(lambda x, y: mg.kron(x, y), [a, b])
    assert mg.autograd.gradcheck(lambda x, y: mg.tensordot(x, y, 1), [a, b])
