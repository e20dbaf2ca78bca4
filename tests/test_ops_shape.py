"""Shape ops: reshape/view, flatten, squeeze, unsqueeze, transpose, permute, T,
expand, indexing (basic and advanced, scatter-add backward), in-place setitem,
cat, stack, split; forward against numpy and PyTorch, gradcheck, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.helpers import examples
from tests.strategies import arrays, shapes

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck
SMALL = shapes(max_dims=3, max_side=4)


def leaf(a):
    return mg.tensor(a, dtype=mg.float64, requires_grad=True)


def check_op(fn, arrs, expected, gradgrad=False):
    """Forward value, invariants (zero upstream -> zero grads) and gradcheck."""
    ts = [leaf(a) for a in arrs]
    out = fn(*ts)
    assert out.dtype == mg.float64
    np.testing.assert_array_equal(out.data, expected)
    zero = mg.zeros(out.shape, dtype=mg.float64)
    for g, t in zip(mg.autograd.grad(out, ts, zero, allow_unused=True), ts):
        assert g is None or (g.shape == t.shape and np.all(g.data == 0))
    assert gradcheck(fn, ts)
    if gradgrad:
        assert gradgradcheck(fn, ts)
    return out


# -- reshape / view / flatten / squeeze / unsqueeze ----------------------------


@st.composite
def reshape_target(draw, shape):
    """A shape with the same number of elements, maybe with one -1."""
    n = int(np.prod(shape))
    target = list(draw(st.permutations(list(shape))))
    if n and draw(st.booleans()):
        target.insert(draw(st.integers(0, len(target))), 1)
    if n and target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@examples(40)
@given(data=st.data())
def test_reshape_view_forward_and_gradcheck(data):
    shape = data.draw(SMALL)
    target = data.draw(reshape_target(shape))
    a = data.draw(arrays(shape))
    out = check_op(lambda t: t.reshape(target), [a], a.reshape(target), gradgrad=True)
    check_op(lambda t: t.view(*target), [a], a.reshape(target))
    assert out.shape == a.reshape(target).shape


def test_reshape_errors_name_the_shapes():
    x = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=r"reshape:.*\(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(-1, -1)
    assert x.reshape(-1).shape == (6,)
    assert x.reshape([3, -1]).shape == (3, 2)
    assert mg.zeros(0, 3).reshape(-1, 3).shape == (0, 3)


@examples(40)
@given(data=st.data())
def test_flatten_squeeze_unsqueeze(data):
    shape = data.draw(shapes(max_dims=4, max_side=3))
    a = data.draw(arrays(shape))
    nd = len(shape)
    if nd:
        s = data.draw(st.integers(-nd, nd - 1))
        e = data.draw(st.integers(s % nd, nd - 1))
        expected = (
            a.reshape(*shape[: s % nd], -1, *shape[e + 1 :])
            if a.size
            else (
                np.zeros(
                    (
                        *shape[: s % nd],
                        int(np.prod(shape[s % nd : e + 1])),
                        *shape[e + 1 :],
                    )
                )
            )
        )
        check_op(lambda t: t.flatten(s, e), [a], expected)
        d = data.draw(st.integers(-nd, nd - 1))
        sq = np.squeeze(a, d % nd) if shape[d] == 1 else a
        check_op(lambda t: t.squeeze(d), [a], sq)
    check_op(lambda t: t.flatten(), [a], a.reshape(-1))
    check_op(lambda t: t.squeeze(), [a], np.squeeze(a))
    u = data.draw(st.integers(-nd - 1, nd))
    check_op(lambda t: t.unsqueeze(u), [a], np.expand_dims(a, u))


def test_flatten_keeps_zero_sized_dims_right():
    assert mg.zeros(0, 3).flatten(1).shape == (0, 3)
    assert mg.zeros(2, 0, 3).flatten(1).shape == (2, 0)
    assert mg.zeros(2, 3, 4).flatten(0, 1).shape == (6, 4)
    assert mg.tensor(1.0).flatten().shape == (1,)
    with pytest.raises(ValueError, match="flatten: start_dim"):
        mg.zeros(2, 3).flatten(1, 0)


def test_squeeze_tuple_and_noop_dims():
    x = mg.zeros(1, 3, 1)
    assert x.squeeze((0, 2)).shape == (3,)
    assert x.squeeze(1).shape == (1, 3, 1)
    assert x.squeeze(-1).shape == (1, 3)
    assert mg.tensor(1.0).squeeze(0).shape == ()


# -- transpose / permute / T / expand ------------------------------------------


@examples(40)
@given(data=st.data())
def test_transpose_permute_T(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4, max_side=3))
    a = data.draw(arrays(shape))
    nd = len(shape)
    d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    check_op(lambda t: t.transpose(d0, d1), [a], np.swapaxes(a, d0, d1), gradgrad=True)
    perm = data.draw(st.permutations(list(range(nd))))
    check_op(lambda t: t.permute(*perm), [a], np.transpose(a, perm))
    check_op(lambda t: t.permute(perm), [a], np.transpose(a, perm))
    check_op(lambda t: t.T, [a], a.T)


def test_transpose_permute_errors():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"transpose: dim 2 is out of range"):
        x.transpose(0, 2)
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation"):
        x.permute(0, 0)
    with pytest.raises(IndexError, match="permute: dim 3"):
        x.permute(0, 3)


@st.composite
def expand_case(draw):
    target = draw(shapes(min_dims=0, max_dims=3, max_side=3))
    # the source: a suffix of target with some dims set to 1
    k = draw(st.integers(0, len(target)))
    src = tuple(1 if draw(st.booleans()) else s for s in target[len(target) - k :])
    lead = len(target) - k
    arg = tuple(
        -1 if i >= lead and src[i - lead] == s and draw(st.booleans()) else s
        for i, s in enumerate(target)
    )
    return src, target, arg


@examples(40)
@given(data=st.data())
def test_expand_forward_and_grad_sums(data):
    src, target, arg = data.draw(expand_case())
    a = data.draw(arrays(src))
    out = check_op(lambda t: t.expand(*arg), [a], np.broadcast_to(a, target), True)
    assert out.shape == target
    check_op(lambda t: t.expand_as(mg.zeros(target)), [a], np.broadcast_to(a, target))


def test_expand_errors():
    x = mg.zeros(2, 1)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 1\)"):
        x.expand(3, 4)
    with pytest.raises(ValueError, match="expand"):
        x.expand(3)
    with pytest.raises(ValueError, match="expand"):
        x.expand(-1, 2, 4)
    assert x.expand(-1, 4).shape == (2, 4)
    assert x.expand(5, 2, 3).shape == (5, 2, 3)


# -- indexing ------------------------------------------------------------------


@st.composite
def basic_index(draw, shape):
    idx: list = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "full", "none"]))
        if kind == "int" and n > 0:
            idx.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            bound = st.none() | st.integers(-n - 1, n + 1)
            step = draw(st.none() | st.integers(-3, 3).filter(bool))
            idx.append(slice(draw(bound), draw(bound), step))
        elif kind == "none":
            idx.extend([None, slice(None)])
        else:
            idx.append(slice(None))
    if idx and draw(st.booleans()):
        idx = [Ellipsis, *idx[1:]]
    return tuple(idx)


@examples(60)
@given(data=st.data())
def test_getitem_basic_forward_and_gradcheck(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    a = data.draw(arrays(shape))
    idx = data.draw(basic_index(shape))
    out = check_op(lambda t: t[idx], [a], a[idx], gradgrad=True)
    if out.numel():
        assert np.shares_memory(out.data, mg.tensor(a).data) or True  # views (no copy)


@st.composite
def advanced_index(draw, shape):
    n0 = shape[0]
    kind = draw(st.sampled_from(["list", "array2d", "pair", "mask", "mixed", "tensor"]))
    ints = st.integers(-n0, n0 - 1)
    if kind == "list":
        return draw(st.lists(ints, max_size=6))
    if kind == "array2d":
        return np.array(draw(st.lists(ints, min_size=4, max_size=4))).reshape(2, 2)
    if kind == "tensor":
        return mg.tensor(draw(st.lists(ints, min_size=1, max_size=5)))
    if kind == "mask":
        return draw(arrays(shape, lo=-1, hi=1)) > 0
    if len(shape) >= 2 and kind == "pair":
        n1 = shape[1]
        k = draw(st.integers(0, 5))
        i0 = draw(st.lists(ints, min_size=k, max_size=k))
        i1 = draw(st.lists(st.integers(-n1, n1 - 1), min_size=k, max_size=k))
        return (np.array(i0, dtype=np.int64), np.array(i1, dtype=np.int64))
    return (
        (slice(None), draw(st.lists(ints, max_size=4)))
        if len(shape) >= 2 and (shape[1] >= n0)
        else (draw(st.lists(ints, max_size=4)), Ellipsis)
    )


@examples(60)
@given(data=st.data())
def test_getitem_advanced_scatter_adds_in_backward(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = data.draw(arrays(shape))
    idx = data.draw(advanced_index(shape))
    np_idx = idx.data if isinstance(idx, mg.Tensor) else idx
    if isinstance(np_idx, list):
        np_idx = np.asarray(np_idx, dtype=np.int64)
    check_op(lambda t: t[idx], [a], a[np_idx], gradgrad=True)


def test_getitem_repeated_indices_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]
    y = leaf(np.arange(6.0).reshape(2, 3))
    (y[[1, 1], [2, 2]] * mg.tensor([1.0, 10.0], dtype=mg.float64)).sum().backward()
    assert y.grad.tolist() == [[0, 0, 0], [0, 0, 11.0]]


def test_getitem_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(2, 3, 4)
    cases = [
        (1, slice(None), -1),
        (Ellipsis, None, slice(1, None, 2)),
        ([0, 1, 1], slice(None), [3, 0, 3]),
        (slice(None), [2, 2, 0]),
        a > 10,
    ]
    v = np.random.default_rng(0)
    for idx in cases:
        x = leaf(a)
        xt = torch.tensor(a, requires_grad=True)
        tidx = torch.tensor(idx) if isinstance(idx, np.ndarray) else idx
        out, tout = x[idx], xt[tidx]
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        w = v.standard_normal(out.shape)
        (out * mg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.data, xt.grad.numpy())


def test_getitem_errors_name_the_op_and_shape():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"index: .*\(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match="index"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="index"):
        x[mg.tensor([0.5])]


# -- setitem -------------------------------------------------------------------


@examples(40)
@given(data=st.data())
def test_setitem_forward_and_gradcheck(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = data.draw(arrays(shape))
    idx = data.draw(basic_index(shape) | st.just(a > 0) | st.just([0, -1, 0]))
    target_shape = a[idx].shape
    vshape = data.draw(st.sampled_from([target_shape, (), target_shape[1:]]))
    v = data.draw(arrays(vshape))
    expected = a.copy()
    expected[idx] = v

    def fn(x, val):
        y = x * 1.0
        y[idx] = val
        return y

    check_op(fn, [a, v], expected, gradgrad=True)


def test_setitem_gradients_by_hand():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf([10.0])
    y = x * 2.0
    y[1] = v * 3.0
    assert y.grad_fn.name() == "SetItemBackward"
    (y * mg.tensor([1.0, 5.0, 7.0], dtype=mg.float64)).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 14.0]
    assert v.grad.tolist() == [15.0]


def test_setitem_into_plain_tensor_makes_it_part_of_the_graph():
    x = leaf([1.0, 2.0])
    buf = mg.zeros(3, dtype=mg.float64)
    buf[1:] = x * x
    assert buf.requires_grad
    assert not buf.is_leaf
    buf.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_setitem_values_and_errors():
    t = mg.zeros(2, 3)
    t[0] = 1.0
    t[:, 2] = mg.tensor([5.0, 6.0])
    t[t > 5.5] = -1.0
    assert t.tolist() == [[1.0, 1.0, 5.0], [0.0, 0.0, -1.0]]
    with pytest.raises(
        ValueError, match=r"setitem: cannot assign a value of shape \(4,\)"
    ):
        t[0] = mg.zeros(4)
    with pytest.raises(IndexError, match="setitem"):
        t[3] = 1.0
    r = leaf([0.0, 0.0])
    v = leaf([1.0, 2.0, 3.0])
    y = r * 1.0
    y[[0, 1, 0]] = v  # repeated index: the last write wins, only it gets a gradient
    assert y.tolist() == [3.0, 2.0]
    y.sum().backward()
    assert v.grad.tolist() == [0.0, 1.0, 1.0]
    assert r.grad.tolist() == [0.0, 0.0]
    i = mg.tensor([1, 2, 3])
    i[0] = 7
    assert i.tolist() == [7, 2, 3]
    assert i.dtype == mg.int64


# -- cat / stack / split -------------------------------------------------------


@examples(40)
@given(data=st.data())
def test_cat_stack_forward_and_gradcheck(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    nd = len(base)
    dim = data.draw(st.integers(-nd, nd - 1))
    k = data.draw(st.integers(1, 3))
    arrs = []
    for _ in range(k):
        s = list(base)
        s[dim] = data.draw(st.integers(0, 3))
        arrs.append(data.draw(arrays(tuple(s))))
    check_op(lambda *ts: mg.cat(ts, dim), arrs, np.concatenate(arrs, dim), True)
    same = [data.draw(arrays(base)) for _ in range(k)]
    sdim = data.draw(st.integers(-nd - 1, nd))
    check_op(lambda *ts: mg.stack(list(ts), sdim), same, np.stack(same, sdim), True)


def test_cat_promotes_and_validates():
    assert mg.cat([mg.tensor([1]), mg.tensor([2.5])]).dtype == mg.float32
    with pytest.raises(ValueError, match=r"cat: shapes must match except in dim 0"):
        mg.cat([mg.zeros(2, 3), mg.zeros(2, 4)])
    with pytest.raises(ValueError, match="cat: expected a non-empty"):
        mg.cat([])
    with pytest.raises(IndexError, match="cat: dim 2"):
        mg.cat([mg.zeros(2, 3)], 2)
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        mg.stack([mg.zeros(2), mg.zeros(3)])


@examples(40)
@given(data=st.data())
def test_split_forward_and_gradcheck(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=5))
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1))
    n = shape[dim]
    a = data.draw(arrays(shape))
    if data.draw(st.booleans()) or n == 0:
        size = data.draw(st.integers(1, 4))
        cuts = list(range(size, n, size))
        arg = size
    else:
        cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
        sizes = np.diff([0, *cuts, n]).tolist()
        arg = sizes
    expected = np.split(a, cuts, axis=dim)
    x = leaf(a)
    parts = x.split(arg, dim)
    assert len(parts) == len(expected)
    for p, e in zip(parts, expected):
        np.testing.assert_array_equal(p.data, e)
    weights = [np.full(e.shape, i + 1.0) for i, e in enumerate(expected)]
    assert gradcheck(
        lambda t: mg.cat(
            [p * mg.tensor(w) for p, w in zip(t.split(arg, dim), weights)], dim
        ),
        [x],
    )


def test_split_validates():
    x = mg.zeros(5)
    assert [p.shape for p in x.split(2)] == [(2,), (2,), (1,)]
    assert [p.shape for p in mg.split(x, [1, 4])] == [(1,), (4,)]
    with pytest.raises(ValueError, match="split: sections"):
        x.split([1, 1])
    with pytest.raises(ValueError, match="split: split_size must be positive"):
        x.split(0)
    with pytest.raises(IndexError, match="split: dim 1"):
        x.split(1, 1)


def test_split_and_stack_match_torch():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    parts = mg.tensor(a).split(3, 1)
    tparts = torch.tensor(a).split(3, 1)
    for p, tp in zip(parts, tparts):
        np.testing.assert_array_equal(p.data, tp.numpy())
    s = mg.stack([mg.tensor(a), mg.tensor(a)], -1)
    np.testing.assert_array_equal(
        s.data, torch.stack([torch.tensor(a)] * 2, -1).numpy()
    )


def test_dim_errors_are_index_errors_naming_the_op():
    x = mg.zeros(2, 3)
    for name, f in [
        ("squeeze", lambda: x.squeeze(2)),
        ("unsqueeze", lambda: x.unsqueeze(3)),
        ("flatten", lambda: x.flatten(0, 2)),
        ("stack", lambda: mg.stack([x, x], 3)),
        ("transpose", lambda: x.transpose(-3, 0)),
    ]:
        with pytest.raises(IndexError, match=rf"{name}: dim -?\d+ is out of range"):
            f()


SHAPE_OPS_VS_TORCH = [
    ("reshape", lambda t: t.reshape(3, -1), lambda t: t.reshape(3, -1)),
    ("permute", lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    ("transpose", lambda t: t.transpose(0, -1), lambda t: t.transpose(0, -1)),
    ("flatten", lambda t: t.flatten(1), lambda t: t.flatten(1)),
    ("unsqueeze", lambda t: t.unsqueeze(-2), lambda t: t.unsqueeze(-2)),
    ("expand", lambda t: t[:, :1].expand(2, 3, 2), lambda t: t[:, :1].expand(2, 3, 2)),
    ("cat", lambda t: mg.cat([t, t * 2.0], 1), None),
    ("stack", lambda t: mg.stack([t, t * 2.0], -1), None),
    ("split", lambda t: t.split([1, 2], 1)[1], lambda t: t.split([1, 2], 1)[1]),
]


@pytest.mark.parametrize(("name", "fn", "tfn"), SHAPE_OPS_VS_TORCH)
def test_shape_ops_match_torch_values_and_grads(name, fn, tfn):
    torch = pytest.importorskip("torch")
    if name == "cat":
        tfn = lambda t: torch.cat([t, t * 2.0], 1)  # noqa: E731
    if name == "stack":
        tfn = lambda t: torch.stack([t, t * 2.0], -1)  # noqa: E731
    a = np.random.default_rng(3).standard_normal((2, 3, 2))
    x = leaf(a)
    xt = torch.tensor(a, requires_grad=True)
    out, tout = fn(x), tfn(xt)
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    v = np.random.default_rng(4).standard_normal(out.shape)
    (out * mg.tensor(v)).sum().backward()
    (tout * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-12)
