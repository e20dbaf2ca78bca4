"""Reductions: sum, mean, var, std, max, min, amax, argmax, logsumexp with ``dim``
(None, int, negative, tuple) and ``keepdim``; forward against numpy and PyTorch,
gradcheck, invariants, stability and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from tests.helpers import assert_close, examples
from tests.strategies import arrays, shapes

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck
SMALL = shapes(max_dims=3, max_side=4)


def leaves(*arrs):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrs]


@st.composite
def dims_for(draw, ndim, allow_tuple=True):
    """None, an int (maybe negative) or a tuple of distinct dims."""
    kinds = ["none", "int", "tuple"] if allow_tuple else ["none", "int"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none" or ndim == 0:
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1))
    return tuple(ax - ndim if draw(st.booleans()) else ax for ax in axes)


def np_axis(dim, ndim):
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else dim
    return tuple(d % ndim for d in dims)


def count(shape, dim):
    axis = np_axis(dim, len(shape))
    return int(
        np.prod([shape[i] for i in (axis if axis is not None else range(len(shape)))])
    )


@st.composite
def distinct_array(draw, shape):
    """Values with no ties (max/min are kinks at ties), order drawn."""
    n = int(np.prod(shape))
    order = draw(st.permutations(list(range(n))))
    return (np.asarray(order, dtype=np.float64).reshape(shape) - n / 2) * 0.37


def check_invariants(fn, ts):
    out = fn(*ts)
    assert out.dtype == mg.float64
    grads = mg.autograd.grad(out, ts, mg.zeros(out.shape, dtype=mg.float64))
    for g, t in zip(grads, ts):
        assert g.shape == t.shape
        assert g.dtype == t.dtype
        assert np.all(g.data == 0)
    return out


# op name: (minigrad call, numpy reference, torch call)
REDUCTIONS = {
    "sum": (
        lambda t, d, k: t.sum(d, keepdim=k),
        lambda a, ax, k: np.sum(a, axis=ax, keepdims=k),
        lambda t, d, k: t.sum(d, keepdim=k) if d is not None else t.sum(),
    ),
    "mean": (
        lambda t, d, k: mg.mean(t, d, keepdim=k),
        lambda a, ax, k: np.mean(a, axis=ax, keepdims=k),
        lambda t, d, k: t.mean(d, keepdim=k) if d is not None else t.mean(),
    ),
    "var": (
        lambda t, d, k: t.var(d, keepdim=k),
        lambda a, ax, k: np.var(a, axis=ax, keepdims=k, ddof=1),
        lambda t, d, k: t.var(d, keepdim=k) if d is not None else t.var(),
    ),
    "var_biased": (
        lambda t, d, k: t.var(d, keepdim=k, unbiased=False),
        lambda a, ax, k: np.var(a, axis=ax, keepdims=k),
        lambda t, d, k: (
            t.var(d, keepdim=k, unbiased=False)
            if d is not None
            else t.var(unbiased=False)
        ),
    ),
    "std": (
        lambda t, d, k: t.std(d, keepdim=k),
        lambda a, ax, k: np.std(a, axis=ax, keepdims=k, ddof=1),
        lambda t, d, k: t.std(d, keepdim=k) if d is not None else t.std(),
    ),
    "logsumexp": (
        lambda t, d, k: t.logsumexp(d, keepdim=k),
        lambda a, ax, k: np.log(np.sum(np.exp(a), axis=ax, keepdims=k)),
        lambda t, d, k: (
            t.logsumexp(d if d is not None else tuple(range(t.ndim)), k)
            if t.ndim
            else t.logsumexp(0)
        ),
    ),
}


def draw_reduction(data, name, shape_strategy=SMALL):
    shape = data.draw(shape_strategy, label="shape")
    dim = data.draw(dims_for(len(shape)), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    a = data.draw(arrays(shape, np.float64), label="a")
    n = count(shape, dim)
    if name.startswith(("var", "std")):
        assume(n >= 2)  # N - 1 > 0 (else NaN, tested separately)
    if name == "std":
        assume(
            np.all(np.var(a, axis=np_axis(dim, len(shape))) > 1e-4)
        )  # sqrt kink at 0
    if name == "mean":
        assume(n >= 1)
    return a, dim, keepdim


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@examples(30)
@given(data=st.data())
def test_reduction_forward_and_gradcheck(name, data):
    fn, ref, _ = REDUCTIONS[name]
    a, dim, keepdim = draw_reduction(data, name)
    ts = leaves(a)

    def f(t):
        return fn(t, dim, keepdim)

    out = check_invariants(f, ts)
    expected = ref(a, np_axis(dim, a.ndim), keepdim)
    assert out.shape == np.shape(expected)
    assert_close(out, expected, rtol=1e-9, atol=1e-9)
    assert gradcheck(f, ts)


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@examples(8)
@given(data=st.data())
def test_reduction_gradgradcheck(name, data):
    fn = REDUCTIONS[name][0]
    a, dim, keepdim = draw_reduction(data, name, shapes(max_dims=2, max_side=3))
    assert gradgradcheck(lambda t: fn(t, dim, keepdim), leaves(a))


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@examples(10)
@given(data=st.data())
def test_reduction_matches_torch(name, data):
    torch = pytest.importorskip("torch")
    fn, _, tfn = REDUCTIONS[name]
    a, dim, keepdim = draw_reduction(data, name)
    (x,) = leaves(a)
    xt = torch.tensor(a, requires_grad=True)
    out, tout = fn(x, dim, keepdim), tfn(xt, dim, keepdim)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-9, atol=1e-12)
    v = np.random.default_rng(1).standard_normal(out.shape)
    (out * mg.tensor(v)).sum().backward()
    (tout * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-9, atol=1e-12)


# -- max / min / amax / argmax -------------------------------------------------


@pytest.mark.parametrize("is_max", [True, False])
@examples(30)
@given(data=st.data())
def test_max_min_forward_and_gradcheck(is_max, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dim = data.draw(dims_for(len(shape)))
    keepdim = data.draw(st.booleans())
    a = data.draw(distinct_array(shape))
    axis = np_axis(dim, len(shape))
    ref = (np.amax if is_max else np.amin)(a, axis=axis, keepdims=keepdim)
    (x,) = leaves(a)

    def f(t):
        r = (t.max if is_max else t.min)(dim, keepdim=keepdim)
        return r.values if isinstance(dim, int) else r

    out = check_invariants(f, [x])
    assert_close(out, ref)
    assert gradcheck(f, [x])
    assert gradgradcheck(f, [x])
    if isinstance(dim, int):
        idx = (x.max if is_max else x.min)(dim, keepdim=keepdim).indices
        ref_idx = (np.argmax if is_max else np.argmin)(a, axis=dim, keepdims=keepdim)
        assert idx.dtype == mg.int64
        assert not idx.requires_grad
        np.testing.assert_array_equal(idx.data, ref_idx)


def test_max_returns_values_indices_pair():
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 7.0]])
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 7.0]
    assert indices.tolist() == [1, 0]
    r = x.min(dim=-1, keepdim=True)
    assert r.values.shape == (2, 1)
    assert r.indices.tolist() == [[0], [1]]
    assert x.max().item() == 7.0
    assert x.amax(dim=(0, 1)).item() == 7.0
    assert mg.max(x, 0).values.tolist() == [7.0, 5.0, 7.0]


def test_max_gradient_on_ties_follows_pytorch():
    # Over one dim: all to the returned index; over everything: split evenly.
    x = mg.tensor([[5.0, 5.0], [5.0, 2.0]], requires_grad=True)
    x.max(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[1.0, 0.0], [1.0, 0.0]])
    x.grad = None
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [[1 / 3, 1 / 3], [1 / 3, 0.0]])


def test_max_min_of_int_tensors():
    t = mg.tensor([[3, 9], [4, 1]])
    assert t.max().item() == 9
    assert t.min().item() == 1
    assert t.max(0).values.tolist() == [4, 9]
    assert t.max(0).indices.tolist() == [1, 0]
    assert t.amin(1).tolist() == [3, 1]
    assert t.max().dtype == mg.int64


def test_max_of_empty_raises():
    with pytest.raises(RuntimeError, match=r"max: cannot reduce an empty tensor"):
        mg.zeros(0, 3).max()
    with pytest.raises(IndexError, match=r"min: cannot reduce over dim 1 of size 0"):
        mg.zeros(2, 0).min(1)
    assert mg.zeros(0, 3).max(1).values.shape == (0,)


@examples(50)
@given(data=st.data())
def test_argmax_argmin_match_numpy(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    a = data.draw(arrays(shape, np.float64))
    dim = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    x = mg.tensor(a)
    for ours, ref in ((x.argmax, np.argmax), (x.argmin, np.argmin)):
        got = ours(dim, keepdim=keepdim)
        assert got.dtype == mg.int64
        if dim is None:
            expected = ref(a)
            if keepdim:
                expected = np.reshape(expected, (1,) * a.ndim)
        else:
            expected = ref(a, axis=dim, keepdims=keepdim)
        np.testing.assert_array_equal(got.data, expected)


# -- logsumexp, var/std edge cases ---------------------------------------------


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_logsumexp_is_stable_at_plus_minus_1000(dtype):
    x = mg.tensor(
        [[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=dtype, requires_grad=True
    )
    y = x.logsumexp(1)
    np.testing.assert_allclose(y.data, [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 2), 0.5), rtol=1e-6)
    assert y.dtype == dtype


def test_logsumexp_infinities_and_empty_follow_torch():
    assert mg.tensor([-np.inf, -np.inf]).logsumexp(0).item() == -np.inf
    assert mg.tensor([np.inf, 1.0]).logsumexp(0).item() == np.inf
    assert mg.zeros(0).logsumexp(0).item() == -np.inf
    assert mg.tensor([1, 2]).logsumexp(0).dtype == mg.float32


def test_var_std_corrections_and_degenerate_counts():
    x = mg.tensor([1.0, 2.0, 4.0], dtype=mg.float64)
    assert x.var().item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(correction=2).item() == pytest.approx(np.var([1, 2, 4]) * 3)
    assert x.std(0, keepdim=True).shape == (1,)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(mg.tensor([3.0]).var().item())  # N - 1 = 0: 0/0, no warning
        assert np.isnan(mg.zeros(0).mean().item())
    with pytest.raises(TypeError, match="var: input dtype should be floating"):
        mg.tensor([1, 2]).var()
    with pytest.raises(TypeError, match="mean: input dtype should be floating"):
        mg.tensor([1, 2]).mean()


def test_sum_dtypes_and_empty():
    assert mg.tensor([True, True, False]).sum().item() == 2
    assert mg.tensor([True]).sum().dtype == mg.int64
    assert mg.tensor([1, 2]).sum().dtype == mg.int64
    assert mg.zeros(0, 3).sum().item() == 0.0
    assert mg.zeros(2, 0).sum(1).tolist() == [0.0, 0.0]
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(dim=()).item() == 10.0  # an empty dim list reduces everything
    assert x.sum((0, 1), keepdim=True).shape == (1, 1)
    assert x.sum([-1]).tolist() == [3.0, 7.0]


def test_reduction_dim_errors_name_the_op():
    x = mg.zeros(2, 3)
    for name, f in [
        ("sum", lambda: x.sum(2)),
        ("mean", lambda: x.mean(-3)),
        ("var", lambda: x.var((0, 5))),
        ("max", lambda: x.max(2)),
        ("logsumexp", lambda: x.logsumexp(3)),
        ("argmax", lambda: x.argmax(2)),
    ]:
        with pytest.raises(IndexError, match=rf"{name}: dim -?\d+ is out of range"):
            f()
    with pytest.raises(ValueError, match=r"sum: dim .* repeats"):
        x.sum((0, -2))


def test_reductions_of_0d_tensors():
    x = mg.tensor(3.0, dtype=mg.float64, requires_grad=True)
    assert x.sum().item() == 3.0
    assert x.sum(0).shape == ()
    assert x.mean(-1).item() == 3.0
    v, i = x.max(0)
    assert v.item() == 3.0
    assert i.item() == 0
    (x.sum(0) + x.logsumexp(0)).backward()
    assert x.grad.item() == 2.0
