"""Indexing and selection (gather / scatter family, index_*, masked_*, take,
nonzero, sort / topk / kthvalue, unique, searchsorted): values, dtypes and
gradients against PyTorch (table driven), gradcheck on drawn shapes, and the
IndexError of an out-of-range index."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.compare_torch import _to_mg, compare
from tests.helpers import examples

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(14)


def _f(*shape):
    return RNG.standard_normal(shape)


def _i(hi, *shape):
    return RNG.integers(0, hi, shape)


def _mask(*shape):
    return RNG.random(shape) < 0.5


_IDX3 = np.array([[0, 2, 1], [1, 1, 0]])
_DUP = np.array([[0, 1, 0], [1, 1, 1]])

# (name, mg fn, torch fn, args); both fns take the converted args.
CASES = [
    ("gather0", lambda a, i: a.gather(0, i), lambda a, i: a.gather(0, i),
     [_f(3, 4), _i(3, 2, 3)]),
    ("gather_neg_dim", lambda a, i: mg.gather(a, -1, i),
     lambda a, i: torch.gather(a, -1, i), [_f(2, 4), _IDX3]),
    ("scatter_add", lambda a, i, s: a.scatter_add(1, i, s),
     lambda a, i, s: a.scatter_add(1, i, s), [_f(2, 4), _DUP, _f(2, 3)]),
    ("scatter_add_big_src", lambda a, i, s: mg.scatter_add(a, 0, i, s),
     lambda a, i, s: torch.scatter_add(a, 0, i, s), [_f(3, 4), _i(3, 2, 2), _f(3, 5)],
     False),  # torch's backward fails for a src larger than index
    ("scatter_src", lambda a, i, s: a.scatter(1, i, s),
     lambda a, i, s: a.scatter(1, i, s), [_f(2, 4), np.array([[3, 0], [1, 2]]),
                                          _f(2, 2)]),
    ("scatter_value", lambda a, i: a.scatter(1, i, value=2.5),
     lambda a, i: a.scatter(1, i, 2.5), [_f(2, 4), np.array([[3, 0], [1, 2]])]),
    ("scatter_reduce_add", lambda a, i, s: a.scatter(1, i, s, reduce="add"),
     lambda a, i, s: a.scatter(1, i, s, reduce="add"), [_f(2, 4), _DUP, _f(2, 3)],
     False),  # no derivative in torch (minigrad's is scatter_add's)
    ("index_select", lambda a, i: a.index_select(1, i),
     lambda a, i: a.index_select(1, i), [_f(2, 4), np.array([3, 0, 3])]),
    ("index_select_0d", lambda a, i: mg.index_select(a, 0, i),
     lambda a, i: torch.index_select(a, 0, i), [_f(3, 2), np.array(1)]),
    ("index_add", lambda a, i, s: a.index_add(0, i, s, alpha=2.0),
     lambda a, i, s: a.index_add(0, i, s, alpha=2.0),
     [_f(3, 2), np.array([2, 0, 2, 2]), _f(4, 2)]),
    ("index_fill", lambda a, i: a.index_fill(1, i, -1.5),
     lambda a, i: a.index_fill(1, i, -1.5), [_f(2, 4), np.array([0, 3])]),
    ("index_copy", lambda a, i, s: a.index_copy(1, i, s),
     lambda a, i, s: a.index_copy(1, i, s), [_f(2, 4), np.array([3, 1]), _f(2, 2)]),
    ("masked_fill", lambda a, m: a.masked_fill(m, 0.5),
     lambda a, m: a.masked_fill(m, 0.5), [_f(3, 4), _mask(4)]),
    ("masked_fill_int", lambda a, m: a.masked_fill(m, 7),
     lambda a, m: a.masked_fill(m, 7), [_i(9, 3, 4), _mask(3, 4)]),
    ("masked_select", lambda a, m: a.masked_select(m),
     lambda a, m: a.masked_select(m), [_f(3, 4), _mask(3, 1)]),
    ("masked_scatter", lambda a, m, s: a.masked_scatter(m, s),
     lambda a, m, s: a.masked_scatter(m, s), [_f(3, 4), _mask(3, 4), _f(4, 4)]),
    ("take", lambda a, i: a.take(i), lambda a, i: a.take(i),
     [_f(3, 4), np.array([[0, -1], [11, 5]])]),
    ("take_along_dim", lambda a, i: a.take_along_dim(i, 1),
     lambda a, i: a.take_along_dim(i, 1), [_f(3, 4), _i(4, 1, 2)]),
    ("take_along_dim_none", lambda a, i: mg.take_along_dim(a, i),
     lambda a, i: torch.take_along_dim(a, i), [_f(3, 4), _i(12, 5)]),
    ("nonzero", lambda a: a.nonzero(), lambda a: a.nonzero(), [_i(2, 3, 4)]),
    ("nonzero_tuple", lambda a: mg.nonzero(a, as_tuple=True),
     lambda a: torch.nonzero(a, as_tuple=True), [_i(2, 3, 4)]),
    ("argwhere", lambda a: mg.argwhere(a), lambda a: torch.argwhere(a), [_i(2, 5)]),
    ("where1", lambda a: mg.where(a), lambda a: torch.where(a), [_mask(3, 3)]),
    ("sort", lambda a: a.sort(), lambda a: a.sort(stable=True), [_f(3, 5)]),
    ("sort_desc_dim0", lambda a: mg.sort(a, 0, descending=True),
     lambda a: torch.sort(a, dim=0, descending=True, stable=True), [_f(4, 3)]),
    ("sort_ties", lambda a: a.sort(descending=True),
     lambda a: a.sort(descending=True, stable=True),
     [np.array([[1.0, 2.0, 1.0, 2.0, 0.0, 1.0]])]),
    ("sort_ties_asc", lambda a: a.sort(), lambda a: a.sort(stable=True),
     [np.array([2, 1, 2, 1, 0, 2])]),
    ("sort_nan", lambda a: a.sort(descending=True),
     lambda a: a.sort(descending=True, stable=True),
     [np.array([1.0, np.nan, -1.0, 3.0])]),
    ("argsort", lambda a: a.argsort(dim=0, descending=True),
     lambda a: a.argsort(dim=0, descending=True, stable=True), [_i(3, 6, 2)]),
    ("topk", lambda a: a.topk(2), lambda a: a.topk(2), [_f(3, 5)]),
    ("topk_smallest", lambda a: mg.topk(a, 3, dim=0, largest=False),
     lambda a: torch.topk(a, 3, dim=0, largest=False), [_f(4, 2)]),
    ("kthvalue", lambda a: a.kthvalue(2, 1), lambda a: a.kthvalue(2, 1), [_f(3, 4)]),
    ("kthvalue_keepdim", lambda a: mg.kthvalue(a, 3, 0, keepdim=True),
     lambda a: torch.kthvalue(a, 3, 0, keepdim=True), [_f(4, 2)]),
    ("unique", lambda a: mg.unique(a, return_inverse=True, return_counts=True),
     lambda a: torch.unique(a, return_inverse=True, return_counts=True),
     [_i(4, 3, 5)]),
    ("unique_dim", lambda a: mg.unique(a, dim=0, return_inverse=True),
     lambda a: torch.unique(a, dim=0, return_inverse=True),
     [np.array([[1, 2], [0, 1], [1, 2]])]),
    ("searchsorted", lambda s, v: mg.searchsorted(s, v),
     lambda s, v: torch.searchsorted(s, v),
     [np.array([1.0, 2.0, 2.0, 5.0]), np.array([[0.0, 2.0], [6.0, 2.5]])]),
    ("searchsorted_right", lambda s, v: mg.searchsorted(s, v, right=True),
     lambda s, v: torch.searchsorted(s, v, right=True),
     [np.array([1.0, 2.0, 2.0, 5.0]), np.array([2.0, 5.0, 1.0])]),
    ("searchsorted_side_nd", lambda s, v: mg.searchsorted(s, v, side="right"),
     lambda s, v: torch.searchsorted(s, v, side="right"),
     [np.array([[1, 3, 5], [2, 4, 6]]), np.array([[3, 6], [1, 4]])]),
    ("bucketize", lambda v, b: mg.bucketize(v, b), lambda v, b: torch.bucketize(v, b),
     [np.array([[1, 5], [3, 7]]), np.array([1, 3, 5])]),
    ("bucketize_right", lambda v, b: mg.bucketize(v, b, right=True),
     lambda v, b: torch.bucketize(v, b, right=True),
     [np.array([1, 5, 3, 9]), np.array([1, 3, 5])]),
]  # fmt: skip


def test_scatter_add_larger_src_gradient():
    a = mg.tensor(_f(3, 4), requires_grad=True)
    s = mg.tensor(_f(3, 5), requires_grad=True)
    idx = mg.tensor(np.array([[2, 0], [2, 2]]))
    assert mg.autograd.gradcheck(lambda x, y: x.scatter_add(0, idx, y), [a, s])


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_against_torch(name):
    _, fm, ft, args, *grad = next(c for c in CASES if c[0] == name)
    compare(fm, ft, args, *grad)


REDUCTIONS = ["sum", "mean", "amax", "amin", "prod"]


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_against_torch(reduce, include_self):
    a, s = _f(3, 4), _f(3, 4)
    s[0, 1] = s[0, 0]  # a tie inside one position
    idx = np.array([[0, 0, 2, 2], [1, 0, 1, 1], [0, 2, 2, 0]])

    def fm(x, i, y):
        return x.scatter_reduce(1, i, y, reduce, include_self=include_self)

    def ft(x, i, y):
        return x.scatter_reduce(1, i, y, reduce, include_self=include_self)

    if reduce == "prod":  # forward only
        compare(fm, ft, [a, idx, s], grad=False)
        with pytest.raises(NotImplementedError, match="prod"):
            fm(_to_mg(a), mg.tensor(idx), _to_mg(s))
    else:
        compare(fm, ft, [a, idx, s])


def test_scatter_reduce_int_mean():
    a, s = _i(9, 2, 3), _i(9, 2, 3)
    idx = np.array([[0, 0, 1], [2, 2, 2]])
    compare(
        lambda x, i, y: x.scatter_reduce(1, i, y, "mean"),
        lambda x, i, y: x.scatter_reduce(1, i, y, "mean"),
        [a, idx, s],
    )


# -- out of range: an IndexError naming the op, the index and the size ------------

BAD = [
    ("gather", lambda a: a.gather(1, mg.tensor([[0, 4]]))),
    ("gather", lambda a: a.gather(1, mg.tensor([[0, -1]]))),
    ("scatter_add", lambda a: a.scatter_add(0, mg.tensor([[3, 0]]), a[:1, :2])),
    ("scatter", lambda a: a.scatter(1, mg.tensor([[5]]), value=1.0)),
    ("scatter_reduce", lambda a: a.scatter_reduce(1, mg.tensor([[4]]), a, "amax")),
    ("index_select", lambda a: a.index_select(0, mg.tensor([0, 3]))),
    ("index_add", lambda a: a.index_add(1, mg.tensor([4]), a[:, :1])),
    ("index_fill", lambda a: a.index_fill(1, mg.tensor([-1]), 0.0)),
    ("take", lambda a: a.take(mg.tensor([12]))),
    ("take", lambda a: a.take(mg.tensor([-13]))),
    ("take_along_dim", lambda a: a.take_along_dim(mg.tensor([[7]]), 1)),
]


@pytest.mark.parametrize(("op", "fn"), BAD)
def test_out_of_range_index_raises(op, fn):
    a = mg.tensor(_f(3, 4), requires_grad=True)
    with pytest.raises(
        IndexError, match=rf"^{op}: index -?\d+ is out of bounds .* size"
    ):
        fn(a)


def test_sort_out_of_range_k():
    a = mg.tensor(_f(3, 4))
    with pytest.raises(ValueError, match="topk"):
        a.topk(5)
    with pytest.raises(ValueError, match="kthvalue"):
        a.kthvalue(0)


# -- gradcheck on drawn shapes (0 and 1 sizes, negative dims) ----------------------


@st.composite
def gather_case(draw):
    nd = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dim = draw(st.integers(-nd, nd - 1))
    ishape = tuple(
        draw(st.integers(0, 3)) if i == dim % nd else draw(st.integers(0, s))
        for i, s in enumerate(shape)
    )
    seed = draw(st.integers(0, 2**16))
    return shape, dim, ishape, seed


@examples(25, deadline=None)
@given(gather_case())
def test_gather_scatter_gradcheck(case):
    shape, dim, ishape, seed = case
    rng = np.random.default_rng(seed)
    idx = mg.tensor(rng.integers(0, shape[dim], ishape))
    a = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    src = mg.tensor(rng.standard_normal(ishape), requires_grad=True)
    assert mg.autograd.gradcheck(lambda x: x.gather(dim, idx) ** 2, [a])
    assert mg.autograd.gradcheck(lambda x, s: x.scatter_add(dim, idx, s), [a, src])
    assert mg.autograd.gradcheck(
        lambda x, s: x.scatter_reduce(dim, idx, s, "mean", include_self=False),
        [a, src],
    )


@examples(25, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=3),
    st.data(),
)
def test_sort_topk_gradcheck(shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    desc = data.draw(st.booleans())
    assert mg.autograd.gradcheck(lambda x: x.sort(dim, desc).values ** 2, [a])
    k = data.draw(st.integers(0, shape[dim]))
    assert mg.autograd.gradcheck(lambda x: x.topk(k, dim).values ** 2, [a])
    if shape[dim]:
        assert mg.autograd.gradcheck(lambda x: x.kthvalue(1, dim).values ** 2, [a])
    mask = mg.tensor(rng.random(shape) < 0.5)
    assert mg.autograd.gradcheck(lambda x: x.masked_fill(mask, 1.0) ** 2, [a])
    assert mg.autograd.gradcheck(lambda x: x.masked_select(mask) ** 2, [a])


def test_masked_fill_with_tensor_value_gets_gradient():
    a = mg.tensor(_f(2, 3), requires_grad=True)
    v = mg.tensor(0.5, dtype=mg.float64, requires_grad=True)
    m = mg.tensor(_mask(2, 3))
    assert mg.autograd.gradcheck(lambda x, y: x.masked_fill(m, y), [a, v])


def test_tensor_where_method_takes_self_where_the_condition_holds():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.where(mg.tensor([True, False, True]), 0.5)
    np.testing.assert_array_equal(y.data, [1.0, 0.5, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 1.0])
