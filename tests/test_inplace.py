"""In-place twins (minigrad/inplace.py): each against its out-of-place op (values
and gradients on hypothesis-drawn shapes, gradcheck in float64), version counters
that catch a saved tensor modified in place, the leaf and view rules, shape
changes, random fills; then the same against PyTorch (the ``torch`` fixture skips
only those when it is missing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples
from tests.strategies import arrays, shapes

gradcheck = mg.autograd.gradcheck


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


# -- the cases -------------------------------------------------------------------
# Unary: name -> (lo, hi), a domain where the op is smooth.
UNARY = {
    "neg": (-3, 3),
    "abs": (0.2, 3),
    "square": (-3, 3),
    "exp": (-3, 3),
    "exp2": (-3, 3),
    "expm1": (-3, 3),
    "log": (0.2, 3),
    "log2": (0.2, 3),
    "log10": (0.2, 3),
    "log1p": (-0.8, 3),
    "sqrt": (0.2, 3),
    "rsqrt": (0.2, 3),
    "reciprocal": (0.2, 3),
    "sigmoid": (-3, 3),
    "tanh": (-3, 3),
    "relu": (0.2, 3),
    "erf": (-2, 2),
    "erfc": (-2, 2),
    "erfinv": (-0.8, 0.8),
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atan": (-3, 3),
    "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9),
    "arctan": (-3, 3),
    "sinh": (-3, 3),
    "cosh": (-3, 3),
    "asinh": (-3, 3),
    "acosh": (1.1, 3),
    "atanh": (-0.9, 0.9),
    "sign": (0.2, 3),
    "sgn": (0.2, 3),
    "floor": (0.1, 0.9),
    "ceil": (0.1, 0.9),
    "trunc": (0.1, 0.9),
    "fix": (0.1, 0.9),
    "frac": (0.1, 0.9),
    "round": (0.1, 0.4),
    "nan_to_num": (-3, 3),
}

# With tensor operands that broadcast to the input: name -> (domain of the
# input, domains of the operands, the call's arguments from the operands).
Args = Callable[[list[Any]], tuple[tuple[Any, ...], dict[str, Any]]]
BINARY: dict[str, tuple[tuple[float, float], list[tuple[float, float]], Args]] = {
    "pow": ((0.5, 2), [(-2, 2)], lambda o: ((o[0],), {})),
    "fmod": ((0.1, 0.9), [(1.5, 2.5)], lambda o: ((o[0],), {})),
    "remainder": ((0.1, 0.9), [(1.5, 2.5)], lambda o: ((o[0],), {})),
    "atan2": ((0.5, 2), [(-2, 2)], lambda o: ((o[0],), {})),
    "arctan2": ((0.5, 2), [(-2, 2)], lambda o: ((o[0],), {})),
    "hypot": ((0.5, 2), [(0.5, 2)], lambda o: ((o[0],), {})),
    "xlogy": ((-2, 2), [(0.5, 2)], lambda o: ((o[0],), {})),
    "copysign": ((0.5, 2), [(0.5, 2)], lambda o: ((-o[0],), {})),
    "lerp": ((-2, 2), [(-2, 2), (0, 1)], lambda o: ((o[0], o[1]), {})),
    "addcmul": ((-2, 2), [(-2, 2)] * 2, lambda o: ((o[0], o[1]), {"value": 0.5})),
    "addcdiv": ((-2, 2), [(-2, 2), (0.5, 2)], lambda o: ((o[0], o[1]), {})),
    "clip": ((-2, 2), [(-3, -2.1), (2.1, 3)], lambda o: ((o[0], o[1]), {})),
    "clamp": ((-2, 2), [(-3, -2.1)], lambda o: ((), {"min": o[0]})),
}

# Ops whose inputs are all constants of the value (no gradient flows).
NON_DIFF = {"sign", "sgn", "floor", "ceil", "trunc", "fix", "round"}


def _leaf(arr: np.ndarray) -> mg.Tensor:
    return mg.tensor(arr, dtype=mg.float64, requires_grad=True)


def _uniform(rng: np.random.Generator, dom: tuple[float, float], shape: Any) -> Any:
    return rng.uniform(dom[0], dom[1], shape)


@st.composite
def _operand_shape(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape`` (a suffix, some sides set to 1)."""
    k = draw(st.integers(0, len(shape)))
    tail = shape[len(shape) - k :]
    return tuple(1 if draw(st.booleans()) else s for s in tail)


def _twins(
    name: str, xs: list[np.ndarray], args: Args
) -> tuple[list[mg.Tensor], list[mg.Tensor]]:
    """(in place, out of place): the result then each input's gradient."""
    out = []
    for inplace in (True, False):
        leaves = [_leaf(a) for a in xs]
        pos, kw = args(leaves[1:])
        y = leaves[0] * 1.0
        res = (
            getattr(y, name + "_")(*pos, **kw)
            if inplace
            else getattr(y, name)(*pos, **kw)
        )
        if inplace:
            assert res is y
        if res.requires_grad:
            (
                res * mg.tensor(np.cos(np.arange(res.numel())).reshape(res.shape))
            ).sum().backward()
        out.append([res.detach()] + [t.grad for t in leaves])
    return out[0], out[1]


def _assert_same(a: list[Any], b: list[Any]) -> None:
    for u, v in zip(a, b):
        assert (u is None) == (v is None)
        if u is not None:
            assert u.dtype == v.dtype
            np.testing.assert_allclose(u.data, v.data, rtol=1e-12, atol=1e-12)


# -- in place == out of place ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(max_dims=3, max_side=4), seed=st.integers(0, 2**16))
@examples(8)
def test_unary_inplace_matches_out_of_place(name, shape, seed):
    x = _uniform(np.random.default_rng(seed), UNARY[name], shape)
    a, b = _twins(name, [x], lambda o: ((), {}))
    _assert_same(a, b)
    if name not in NON_DIFF:
        assert gradcheck(lambda t: getattr(t * 1.0, name + "_")(), [_leaf(x)])


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shape=shapes(max_dims=3, max_side=4))
@examples(8)
def test_binary_inplace_matches_out_of_place(name, data, shape):
    dom, doms, args = BINARY[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    xs = [_uniform(rng, dom, shape)]
    xs += [_uniform(rng, d, data.draw(_operand_shape(shape))) for d in doms]
    a, b = _twins(name, xs, args)
    _assert_same(a, b)

    def f(*ts):
        pos, kw = args(list(ts[1:]))
        return getattr(ts[0] * 1.0, name + "_")(*pos, **kw)

    assert gradcheck(f, [_leaf(v) for v in xs])


@given(x=arrays((2, 3), lo=-3, hi=3), p=st.sampled_from([2, 3, 0.5, -1]))
@examples(10)
def test_pow_scalar_exponent(x, p):
    x = np.abs(x) + 0.5
    a, b = _twins("pow", [x], lambda o: ((p,), {}))
    _assert_same(a, b)


# Index, mask and triangle ops: the call from a seeded rng, the input's shape.
def _index_call(name: str, rng: np.random.Generator, shape: tuple[int, ...]) -> Any:
    nd = len(shape)
    dim = int(rng.integers(-nd, nd))
    n = shape[dim]
    k = int(rng.integers(0, n + 1))
    idx = mg.tensor(rng.permutation(n)[:k])
    src_shape = tuple(k if i == dim % nd else s for i, s in enumerate(shape))
    mask = mg.tensor(rng.random(shape[-1:]) < 0.5)
    scatter_idx = mg.tensor(rng.integers(0, max(n, 1), shape)) if n else None

    def src(o: list[Any]) -> Any:
        return o[0]

    return {
        "index_add": ([src_shape], lambda o: ((dim, idx, o[0]), {"alpha": 2.0})),
        "index_copy": ([src_shape], lambda o: ((dim, idx, o[0]), {})),
        "index_fill": ([()], lambda o: ((dim, idx, o[0]), {})),
        "masked_fill": ([()], lambda o: ((mask, o[0]), {})),
        "masked_scatter": ([shape], lambda o: ((mask, o[0]), {})),
        "scatter": ([shape], lambda o: ((dim, scatter_idx, src(o)), {})),
        "scatter_add": ([shape], lambda o: ((dim, scatter_idx, o[0]), {})),
        "scatter_reduce": (
            [shape],
            lambda o: ((dim, scatter_idx, o[0], "sum"), {"include_self": False}),
        ),
        "scatter_reduce_mean": (
            [shape],
            lambda o: ((dim, scatter_idx, o[0], "mean"), {}),
        ),
        "tril": ([], lambda o: ((1,), {})),
        "triu": ([], lambda o: ((-1,), {})),
        "cumsum": ([], lambda o: ((dim,), {})),
        "cumprod": ([], lambda o: ((dim,), {})),
    }[name]


INDEXED = [
    "index_add",
    "index_copy",
    "index_fill",
    "masked_fill",
    "masked_scatter",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "scatter_reduce_mean",
    "tril",
    "triu",
    "cumsum",
    "cumprod",
]


@pytest.mark.parametrize("name", INDEXED)
@given(shape=shapes(min_dims=2, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
@examples(8)
def test_indexed_inplace_matches_out_of_place(name, shape, seed):
    rng = np.random.default_rng(seed)
    op = name.removesuffix("_mean")
    if op.startswith("scatter") and 0 in shape:
        return  # (no index values to draw)
    op_shapes, args = _index_call(name, rng, shape)
    xs = [rng.uniform(0.5, 2, shape)] + [rng.uniform(0.5, 2, s) for s in op_shapes]
    a, b = _twins(op, xs, args)
    _assert_same(a, b)
    if op != "scatter":  # (repeated indices: which write lands is unspecified)

        def f(*ts):
            pos, kw = args(list(ts[1:]))
            return getattr(ts[0] * 1.0, op + "_")(*pos, **kw)

        assert gradcheck(f, [_leaf(v) for v in xs])


@given(n=st.integers(1, 4), m=st.integers(1, 7), wrap=st.booleans())
@examples(10)
def test_fill_diagonal_(n, m, wrap):
    x = _leaf(np.arange(float(n * m)).reshape(m, n))
    y = x * 1.0
    y.fill_diagonal_(-1.0, wrap=wrap)
    expect = np.arange(float(n * m)).reshape(m, n)
    np.fill_diagonal(expect, -1.0, wrap=wrap)
    np.testing.assert_array_equal(y.data, expect)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, (expect != -1).astype(float))
    cube = mg.zeros(3, 3, 3)
    cube.fill_diagonal_(1)
    assert cube.sum().item() == 3
    assert cube[1, 1, 1].item() == 1
    with pytest.raises(ShapeError, match="fill_diagonal_"):
        mg.zeros(2, 3, 4).fill_diagonal_(1)


def test_nan_to_num_replaces_in_place():
    x = mg.tensor([float("nan"), float("inf"), -float("inf"), 1.0])
    assert x.nan_to_num_(nan=2.0, posinf=3.0, neginf=-3.0) is x
    assert x.tolist() == [2.0, 3.0, -3.0, 1.0]


def test_addmm_and_baddbmm_inplace():
    rng = np.random.default_rng(0)
    c, a, b = (rng.normal(size=s) for s in [(2, 4), (2, 3), (3, 4)])
    xs = [c, a, b]
    args: Args = lambda o: ((o[0], o[1]), {"beta": 0.5, "alpha": 2.0})  # noqa: E731
    _assert_same(*_twins("addmm", xs, args))
    c3, a3, b3 = (rng.normal(size=s) for s in [(2, 2, 4), (2, 2, 3), (2, 3, 4)])
    _assert_same(*_twins("baddbmm", [c3, a3, b3], args))


# -- comparisons, logical, bitwise: the result is cast to the tensor's dtype -------


@pytest.mark.parametrize(
    "name",
    [
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
    ],
)
def test_comparison_inplace_keeps_the_dtype(name):
    for dt in (mg.float32, mg.float64, mg.int64):
        x = mg.tensor([1, 2, 3], dtype=dt)
        want = getattr(x, name)(2).data.astype(dt)
        assert getattr(x, name + "_")(2) is x
        assert x.dtype == dt
        np.testing.assert_array_equal(x.data, want)
    y = mg.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1.0
    y.lt_(2.5)
    assert y.requires_grad  # the old value gets a zero gradient, as in PyTorch


def test_logical_and_bitwise_inplace():
    b = mg.tensor([True, False, True])
    b.logical_and_(mg.tensor([True, True, False]))
    assert b.tolist() == [True, False, False]
    assert b.dtype == np.bool_
    b.logical_not_()
    assert b.tolist() == [False, True, True]
    f = mg.tensor([0.0, 2.0])
    f.logical_or_(mg.tensor([1.0, 0.0]))
    assert f.tolist() == [1.0, 1.0]
    assert f.dtype == np.float32
    f.logical_xor_(mg.tensor([1.0, 0.0]))
    assert f.tolist() == [0.0, 1.0]
    i = mg.tensor([12, 10])
    i.bitwise_and_(6)
    assert i.tolist() == [4, 2]
    i.bitwise_or_(1)
    i.bitwise_xor_(mg.tensor([0, 3]))
    assert i.tolist() == [5, 0]
    i.bitwise_left_shift_(2)
    assert i.tolist() == [20, 0]
    i.bitwise_right_shift_(1)
    i.bitwise_not_()
    assert i.tolist() == [-11, -1]
    with pytest.raises(TypeError):
        mg.tensor([1.0]).bitwise_and_(1)


def test_result_that_cannot_be_cast_raises():
    i = mg.tensor([1, 4])
    with pytest.raises(DTypeError, match="sqrt_"):
        i.sqrt_()
    with pytest.raises(DTypeError, match="sin_"):
        i.sin_()
    assert i.tolist() == [1, 4]  # untouched
    with pytest.raises(ShapeError, match="add_"):
        mg.zeros(3).add_(mg.zeros(2, 3))
    with pytest.raises(ShapeError, match="lerp_"):
        mg.zeros(3).lerp_(mg.zeros(2, 3), 0.5)


# -- autograd rules ----------------------------------------------------------------

# in-place ops that overwrite a tensor another node saved: (name, call)
OVERWRITERS: list[tuple[str, Callable[[mg.Tensor], Any]]] = [
    ("sin_", lambda t: t.sin_()),
    ("exp_", lambda t: t.exp_()),
    ("pow_", lambda t: t.pow_(2)),
    ("masked_fill_", lambda t: t.masked_fill_(mg.tensor([True, False]), 0.0)),
    ("index_add_", lambda t: t.index_add_(0, mg.tensor([1]), mg.ones(1))),
    ("scatter_", lambda t: t.scatter_(0, mg.tensor([0]), mg.ones(1, dtype=t.dtype))),
    ("lerp_", lambda t: t.lerp_(mg.ones(2), 0.5)),
    ("clip_", lambda t: t.clip_(mg.zeros(2), mg.ones(2))),
    ("sigmoid_", lambda t: t.sigmoid_()),
    ("uniform_", lambda t: t.uniform_()),
    ("unsqueeze_", lambda t: t.unsqueeze_(0)),
    ("t_", lambda t: t.t_()),
]


@pytest.mark.parametrize(("name", "op"), OVERWRITERS, ids=[n for n, _ in OVERWRITERS])
def test_version_counter_catches_a_saved_input_modified(name, op):
    x = mg.tensor([0.3, 0.7], dtype=mg.float64, requires_grad=True)
    y = x * 1.0
    z = y.log()  # Log saves its input y
    v = y._version[0]
    op(y)
    assert y._version[0] > v
    with pytest.raises(RuntimeError, match=r"LogBackward.*modified by an in-place"):
        z.sum().backward()


@pytest.mark.parametrize(
    ("name", "op"), OVERWRITERS[:10], ids=[n for n, _ in OVERWRITERS[:10]]
)
def test_version_counter_catches_a_saved_output_modified(name, op):
    x = mg.tensor([0.3, 0.7], dtype=mg.float64, requires_grad=True)
    y = x.exp()  # Exp saves its output y
    op(y)
    with pytest.raises(RuntimeError, match=r"ExpBackward.*modified by an in-place"):
        y.sum().backward()


@pytest.mark.parametrize(("name", "op"), OVERWRITERS, ids=[n for n, _ in OVERWRITERS])
def test_leaf_that_requires_grad_is_refused(name, op):
    x = mg.tensor([0.3, 0.7], requires_grad=True)
    with pytest.raises(RuntimeError, match=rf"{name}: a leaf tensor"):
        op(x)
    assert x.tolist() == pytest.approx([0.3, 0.7])
    assert x.shape == (2,)
    with mg.no_grad():
        op(x)  # allowed, as in PyTorch (what nn.init does)


def test_operand_that_requires_grad_gets_its_gradient():
    # y.xlogy_(w) etc. where only the operand records: the old y is a constant.
    w = _leaf(np.array([0.5, 2.0]))
    y = mg.tensor([1.0, 3.0], dtype=mg.float64)
    y.xlogy_(w)
    assert y.requires_grad
    assert y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(w.grad.data, [1.0 / 0.5, 3.0 / 2.0])
    w2 = _leaf(np.array([0.25, 0.5]))
    y2 = mg.tensor([1.0, 3.0], dtype=mg.float64)
    y2.lerp_(mg.tensor([2.0, 5.0], dtype=mg.float64), w2)
    y2.sum().backward()
    np.testing.assert_allclose(w2.grad.data, [1.0, 2.0])


def test_chained_inplace_ops_match_out_of_place():
    x = _leaf(np.array([0.2, 0.4, 0.9]))
    y = x * 2.0
    y.sin_().mul_(3.0).exp_().clip_(max=mg.tensor(5.0, dtype=mg.float64))
    y.sum().backward()
    x2 = _leaf(x.data.copy())
    ((x2 * 2.0).sin() * 3.0).exp().clamp(max=5.0).sum().backward()
    np.testing.assert_allclose(
        y.data, ((x2 * 2.0).sin() * 3.0).exp().clamp(max=5.0).data
    )
    np.testing.assert_allclose(x.grad.data, x2.grad.data)
    assert gradgrad_ok(lambda t: (t * 2.0).sin_().exp_(), x)


def gradgrad_ok(fn: Callable[[mg.Tensor], mg.Tensor], x: mg.Tensor) -> bool:
    return mg.autograd.gradgradcheck(fn, [_leaf(x.data.copy())])


def test_views_follow_the_base():
    base = mg.zeros(2, 3)
    row = base[1]
    row.exp_()
    row.masked_fill_(mg.tensor([True, False, False]), 5.0)
    assert base.tolist() == [[0, 0, 0], [5, 1, 1]]
    assert base._version[0] == row._version[0] >= 2
    col = base.t()[0]
    col.neg_()
    assert base[:, 0].tolist() == [0, -5]
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1.0
    v = x[1:]
    with pytest.raises(RuntimeError, match="sin_: in-place change of a view"):
        v.sin_()
    with mg.no_grad():
        v.sin_()
    assert x.data[1] == pytest.approx(np.sin(2.0))


# -- shape changes ---------------------------------------------------------------


def test_metadata_inplace_changes_shape_and_shares_memory():
    a = mg.arange(6.0).reshape(2, 3)
    base = a.data
    assert a.t_() is a
    assert a.shape == (3, 2)
    assert np.shares_memory(a.data, base)
    a.transpose_(0, 1)
    a.unsqueeze_(1)
    assert a.shape == (2, 1, 3)
    a.squeeze_()
    assert a.shape == (2, 3)
    a.unsqueeze_(-1).swapaxes_(0, 2).swapdims_(1, 2)
    assert a.shape == (1, 2, 3)
    a.squeeze_(0)
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(Exception, match="transpose"):
        a.transpose_(0, 5)
    assert a.shape == (2, 3)


@given(shape=shapes(min_dims=2, max_dims=3, max_side=3))
@examples(10)
def test_metadata_inplace_gradients(shape):
    x = _leaf(np.arange(float(np.prod(shape))).reshape(shape))
    y = x * 1.0
    y.transpose_(0, -1).unsqueeze_(0)
    assert y.shape == (1, *np.swapaxes(x.data, 0, -1).shape)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)
    assert gradcheck(
        lambda t: (t * 1.0).t_() if t.ndim == 2 else (t * 1.0).squeeze_(),
        [_leaf(np.random.default_rng(0).normal(size=shape))],
    )


# -- random fills ---------------------------------------------------------------------


def test_random_fills_dtype_range_and_statistics():
    g = np.random.default_rng(0)
    n = 40_000
    u = mg.zeros(n, dtype=mg.float64).uniform_(-2.0, 3.0, generator=g)
    assert u.dtype == np.float64
    assert u.data.min() >= -2
    assert u.data.max() < 3
    assert abs(u.data.mean() - 0.5) < 0.05
    assert abs(u.data.var() - 25 / 12) < 0.1
    v = mg.zeros(n).uniform_(**{"from": 5.0, "to": 6.0}, generator=g)
    assert v.dtype == np.float32
    assert v.data.min() >= 5
    assert v.data.max() < 6
    z = mg.zeros(n).normal_(1.0, 2.0, generator=g)
    assert abs(z.data.mean() - 1) < 0.05
    assert abs(z.data.std() - 2) < 0.05
    e = mg.zeros(n).exponential_(4.0, generator=g)
    assert e.data.min() >= 0
    assert abs(e.data.mean() - 0.25) < 0.01
    b = mg.zeros(n, dtype=mg.int64).bernoulli_(0.3, generator=g)
    assert b.dtype == np.int64
    assert set(np.unique(b.data)) <= {0, 1}
    assert abs(b.data.mean() - 0.3) < 0.02
    p = mg.tensor([0.0, 1.0, 0.5]).expand(n, 3)
    bt = mg.zeros(n, 3).bernoulli_(p, generator=g)
    assert bt.data[:, 0].max() == 0
    assert bt.data[:, 1].min() == 1
    assert abs(bt.data[:, 2].mean() - 0.5) < 0.02
    gm = mg.zeros(n).geometric_(0.25, generator=g)
    assert gm.data.min() >= 1
    assert abs(gm.data.mean() - 4) < 0.15
    ln = mg.zeros(n, dtype=mg.float64).log_normal_(0.0, 0.5, generator=g)
    assert abs(np.log(ln.data).std() - 0.5) < 0.02
    c = mg.zeros(n, dtype=mg.float64).cauchy_(2.0, 1.0, generator=g)
    assert abs(np.median(c.data) - 2.0) < 0.05


def test_random_integers():
    g = np.random.default_rng(1)
    r = mg.zeros(10_000, dtype=mg.int64).random_(3, 7, generator=g)
    assert set(np.unique(r.data)) == {3, 4, 5, 6}
    r.random_(4, generator=g)
    assert set(np.unique(r.data)) == {0, 1, 2, 3}
    f = mg.zeros(10_000).random_(generator=g)
    assert f.dtype == np.float32
    assert f.data.min() >= 0
    assert f.data.max() <= 2**24
    assert (f.data == np.round(f.data)).all()
    assert f.data.max() > 2**23
    big = mg.zeros(1000, dtype=mg.int64).random_(generator=g)
    assert big.data.min() >= 0
    assert big.data.max() > 2**60
    bb = mg.zeros(1000, dtype=mg.bool).random_(generator=g)
    assert bb.dtype == np.bool_
    assert 0.3 < bb.data.mean() < 0.7
    with pytest.raises(ArgumentError, match="random_: expects from < to"):
        r.random_(5, 5)
    with pytest.raises(TypeError, match="random_"):
        r.random_(1, 3, frm=2)


def test_random_fill_errors():
    with pytest.raises(DTypeError, match="normal_"):
        mg.zeros(3, dtype=mg.int64).normal_()
    with pytest.raises(DTypeError, match="uniform_"):
        mg.zeros(3, dtype=mg.int64).uniform_()
    with pytest.raises(ArgumentError, match="normal_: expects std >= 0"):
        mg.zeros(3).normal_(0, -1)
    with pytest.raises(ArgumentError, match="uniform_: expects from <= to"):
        mg.zeros(3).uniform_(2, 1)
    with pytest.raises(ArgumentError, match="bernoulli_"):
        mg.zeros(3).bernoulli_(1.5)
    with pytest.raises(ShapeError, match="bernoulli_"):
        mg.zeros(3).bernoulli_(mg.tensor([0.5, 0.5]))
    with pytest.raises(ArgumentError, match="exponential_"):
        mg.zeros(3).exponential_(0)
    with pytest.raises(ArgumentError, match="geometric_"):
        mg.zeros(3).geometric_(0)
    with pytest.raises(TypeError, match="uniform_"):
        mg.zeros(3).uniform_(0, 1, low=3)


def test_random_fill_of_a_non_leaf_gives_a_zero_gradient():
    x = _leaf(np.array([1.0, 2.0]))
    y = x * 3.0
    y.normal_(generator=np.random.default_rng(0))
    (y * 2.0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_manual_seed_drives_random_fills():
    mg.manual_seed(7)
    a = mg.zeros(5).uniform_()
    mg.manual_seed(7)
    b = mg.zeros(5).uniform_()
    assert a.tolist() == b.tolist()


# -- against PyTorch -------------------------------------------------------------------


def test_every_torch_inplace_twin_exists(torch):
    """Every out-of-place Tensor method minigrad has whose PyTorch twin ``X_``
    exists has ``X_`` too (the ones left out are listed, each with why)."""
    left_out: dict[str, str] = {}
    methods = [
        m
        for m in dir(mg.Tensor)
        if not m.startswith("_") and callable(getattr(mg.Tensor, m))
    ]
    missing = sorted(
        m
        for m in methods
        if hasattr(torch.Tensor, m + "_")
        and not hasattr(mg.Tensor, m + "_")
        and m not in left_out
    )
    assert missing == []


def _torch_call(torch: Any, a: Any) -> Any:
    if isinstance(a, mg.Tensor):
        return torch.from_numpy(np.array(a.data))
    return a


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes(max_dims=3, max_side=4), seed=st.integers(0, 2**16))
@examples(4)
def test_unary_inplace_matches_torch(torch, name, shape, seed):
    x = _uniform(np.random.default_rng(seed), UNARY[name], shape)
    for dt in (np.float32, np.float64):
        m = mg.tensor(x.astype(dt))
        t = torch.from_numpy(x.astype(dt))
        getattr(m, name + "_")()
        getattr(t, name + "_")()
        assert m.dtype == dt
        assert str(t.dtype) == f"torch.{np.dtype(dt).name}"
        np.testing.assert_allclose(m.data, t.numpy(), rtol=2e-6, atol=1e-6)
    # gradients through the in-place op on a non-leaf
    xm, xt = _leaf(x), torch.tensor(x, requires_grad=True)
    ym = xm * 1.0
    getattr(ym, name + "_")()
    yt = getattr(xt, name)()  # (torch has no backward for some in-place twins)
    (ym * ym).sum().backward()
    (yt * yt).sum().backward()
    tg = xt.grad.numpy(force=True)  # (a ZeroTensor for sgn)
    np.testing.assert_allclose(xm.grad.data, tg, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shape=shapes(max_dims=3, max_side=4))
@examples(4)
def test_binary_inplace_matches_torch(torch, name, data, shape):
    dom, doms, args = BINARY[name]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    xs = [_uniform(rng, dom, shape)]
    xs += [_uniform(rng, d, data.draw(_operand_shape(shape))) for d in doms]
    ms = [_leaf(v) for v in xs]
    ts = [torch.tensor(v, requires_grad=True) for v in xs]
    pm, km = args(ms[1:])
    pt, kt = args(ts[1:])
    ym, yt = ms[0] * 1.0, ts[0] * 1.0
    getattr(ym, name + "_")(*pm, **km)
    getattr(yt, name + "_")(*pt, **kt)
    np.testing.assert_allclose(ym.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    (ym * ym).sum().backward()
    (yt * yt).sum().backward()
    for m, t in zip(ms, ts):
        np.testing.assert_allclose(m.grad.data, t.grad.numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", INDEXED)
@given(shape=shapes(min_dims=2, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
@examples(4)
def test_indexed_inplace_matches_torch(torch, name, shape, seed):
    rng = np.random.default_rng(seed)
    op = name.removesuffix("_mean")
    if op.startswith("scatter") and 0 in shape:
        return
    op_shapes, args = _index_call(name, rng, shape)
    xs = [rng.uniform(0.5, 2, shape)] + [rng.uniform(0.5, 2, s) for s in op_shapes]
    ms = [mg.tensor(v) for v in xs]
    pm, km = args(ms[1:])
    pt, kt = args([torch.from_numpy(v) for v in xs[1:]])
    pt = tuple(_torch_call(torch, a) for a in pt)
    if op == "scatter":  # distinct positions per slice, so the result is defined
        return
    getattr(ms[0], op + "_")(*pm, **km)
    t = torch.from_numpy(xs[0])
    getattr(t, op + "_")(*pt, **kt)
    np.testing.assert_allclose(ms[0].data, t.numpy(), rtol=1e-12, atol=1e-12)


def test_comparisons_and_casts_match_torch(torch):
    for name in ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_xor"]:
        for dt in ("float32", "int64", "bool"):
            m = mg.tensor([0, 1, 2, 3], dtype=getattr(mg, dt))
            t = torch.tensor([0, 1, 2, 3], dtype=getattr(torch, dt))
            o = [1, 1, 0, 5]
            getattr(m, name + "_")(mg.tensor(o, dtype=getattr(mg, dt)))
            getattr(t, name + "_")(torch.tensor(o, dtype=getattr(torch, dt)))
            assert m.tolist() == t.tolist()
            assert str(m.dtype) == dt
    for name in ["sqrt_", "exp_", "sigmoid_"]:
        with pytest.raises(RuntimeError):
            getattr(torch.tensor([1, 2]), name)()
        with pytest.raises(RuntimeError):
            getattr(mg.tensor([1, 2]), name)()


def test_metadata_inplace_matches_torch(torch):
    x = np.arange(24.0).reshape(2, 3, 4)
    m, t = mg.tensor(x), torch.tensor(x)
    for call in [
        lambda a: a.transpose_(0, 2),
        lambda a: a.unsqueeze_(1),
        lambda a: a.squeeze_(1),
        lambda a: a.swapaxes_(0, 1),
        lambda a: a.squeeze_(),
    ]:
        call(m)
        call(t)
        assert m.shape == tuple(t.shape)
        assert m.tolist() == t.tolist()
    m2, t2 = mg.tensor(x[0]), torch.tensor(x[0])
    m2.t_()
    t2.t_()
    assert m2.tolist() == t2.tolist()


def test_fill_diagonal_matches_torch(torch):
    for shape in [(3, 3), (7, 3), (3, 7), (2, 2, 2)]:
        for wrap in (False, True):
            m, t = mg.zeros(*shape), torch.zeros(*shape)
            m.fill_diagonal_(2.0, wrap=wrap)
            t.fill_diagonal_(2.0, wrap=wrap)
            assert m.tolist() == t.tolist(), (shape, wrap)
