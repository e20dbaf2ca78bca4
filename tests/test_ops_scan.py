"""Scans (cumsum, cumprod, cummax, cummin, logcumsumexp), the reductions of
ops/stats.py (prod, median, nansum, nanmean, var_mean, std_mean, aminmax,
count_nonzero, all, any) and the norms of ops/norm.py: values, indices,
gradients and dtypes against PyTorch (zeros, ties and NaN included), and
gradcheck in float64 on hypothesis-drawn shapes (sizes 0 and 1, negative dims)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.helpers import examples
from tests.strategies import shapes

torch = pytest.importorskip("torch")

gradcheck = mg.autograd.gradcheck


def _np(t):
    return t.detach().numpy(force=True) if hasattr(t, "detach") else t


def _close(a, b, rtol=1e-10, atol=1e-12):
    a = a.data if isinstance(a, mg.Tensor) else a
    np.testing.assert_allclose(a, _np(b), rtol=rtol, atol=atol, equal_nan=True)


def _tricky(rng, shape=(3, 5)):
    """Random values with zeros (one in a row, two in another), ties and a NaN
    row: the edge cases of the scans' and prod's gradients."""
    a = rng.normal(size=shape)
    a[0, 1] = 0
    a[1, 0] = a[1, 3] = 0
    a[2, 2] = a[2, 0]
    return a


def _both(fn_mg, fn_torch, arr, g_seed=3):
    """Output(s) and input gradient of fn on arr, in minigrad and torch, for a
    random output gradient."""
    x = mg.tensor(arr, dtype=mg.float64, requires_grad=True)
    tx = torch.tensor(arr, requires_grad=True)
    y, ty = fn_mg(x), fn_torch(tx)
    yv = y[0] if isinstance(y, tuple) else y
    tyv = ty[0] if isinstance(ty, tuple) else ty
    g = np.random.default_rng(g_seed).normal(size=yv.shape)
    with np.errstate(invalid="ignore"):
        (yv * mg.tensor(g)).sum().backward()
    (tyv * torch.tensor(g)).sum().backward()
    return y, ty, x.grad, tx.grad


SCANS = ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"]


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("nan", [False, True])
def test_scans_match_torch(name, dim, nan):
    arr = _tricky(np.random.default_rng(0))
    if nan:
        arr[1, 2] = np.nan
    y, ty, gx, tgx = _both(
        lambda t: getattr(t, name)(dim), lambda t: getattr(torch, name)(t, dim), arr
    )
    if isinstance(y, tuple):
        _close(y.values, ty.values)
        np.testing.assert_array_equal(y.indices.data, ty.indices.numpy())
        assert y.indices.dtype == np.int64
    else:
        _close(y, ty)
    _close(gx, tgx, rtol=1e-9)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float32])
def test_scan_result_dtypes(name, dtype):
    arr = np.array([[1, 0, 2], [3, 1, 1]]).astype(dtype)
    y = getattr(mg, name)(mg.tensor(arr), 1)
    ty = getattr(torch, name)(torch.tensor(arr), 1)
    assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(y.data, ty.numpy())
    y = getattr(mg, name)(mg.tensor(arr), 1, dtype=mg.float64)
    assert y.dtype == np.float64


@given(data=st.data())
@examples(25, deadline=None)
def test_scans_gradcheck(data):
    name = data.draw(st.sampled_from(SCANS))
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    seed = data.draw(st.integers(0, 2**16))
    arr = np.random.default_rng(seed).normal(size=shape)  # no ties (cummax kinks)
    if name == "cumprod" and arr.size and data.draw(st.booleans()):
        arr.flat[data.draw(st.integers(0, arr.size - 1))] = 0.0
    x = mg.tensor(arr, requires_grad=True)

    def fn(t):
        out = getattr(t, name)(dim)
        return out.values if isinstance(out, tuple) else out

    assert gradcheck(fn, (x,))


def test_scans_of_0d_and_empty():
    s = mg.tensor(2.5, requires_grad=True)
    for name in SCANS:
        out = getattr(s, name)(0)
        tout = getattr(torch.tensor(2.5), name)(0)
        v = out.values if isinstance(out, tuple) else out
        _close(v, tout.values if isinstance(tout, tuple) else tout, rtol=1e-6)
    e = mg.zeros(0, 3)
    for name in SCANS:
        out = getattr(e, name)(0)
        assert (out.values if isinstance(out, tuple) else out).shape == (0, 3)


def test_scan_dim_errors():
    with pytest.raises(IndexError, match="cumsum"):
        mg.zeros(2, 3).cumsum(2)
    with pytest.raises(TypeError, match="cumprod"):
        mg.cumprod(mg.zeros(2), None)


# -- reductions ---------------------------------------------------------------------

REDUCTIONS = {
    # name -> (minigrad fn, torch fn)
    "prod_all": (lambda t: t.prod(), lambda t: t.prod()),
    "prod_dim": (lambda t: t.prod(1), lambda t: t.prod(1)),
    "prod_dim_keep": (lambda t: t.prod(-2, keepdim=True), lambda t: t.prod(-2, True)),
    "median_all": (lambda t: t.median(), lambda t: t.median()),
    "median_dim": (lambda t: t.median(1), lambda t: t.median(1)),
    "median_dim0_keep": (lambda t: t.median(0, True), lambda t: t.median(0, True)),
    "nansum": (lambda t: t.nansum(1), lambda t: t.nansum(1)),
    "nansum_all": (lambda t: mg.nansum(t), lambda t: torch.nansum(t)),
    "nanmean": (lambda t: t.nanmean(-1, True), lambda t: t.nanmean(-1, True)),
    "var_mean": (
        lambda t: mg.var_mean(t, 1, correction=0),
        lambda t: torch.var_mean(t, 1, correction=0),
    ),
    "std_mean": (
        lambda t: mg.std_mean(t, (0, 1), correction=2),
        lambda t: torch.std_mean(t, (0, 1), correction=2),
    ),
    "var_correction": (
        lambda t: t.var(0, correction=2),
        lambda t: t.var(0, correction=2),
    ),
    "aminmax": (lambda t: mg.aminmax(t, dim=1), lambda t: torch.aminmax(t, dim=1)),
    "amax_ties": (lambda t: t.amax(1), lambda t: t.amax(1)),
    "amin_all": (lambda t: t.amin(), lambda t: t.amin()),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@pytest.mark.parametrize("nan", [False, True])
def test_reductions_match_torch(name, nan):
    arr = _tricky(np.random.default_rng(1))
    arr[0, 4] = arr[0, 3]  # a tie of the maximum
    arr[0, 3] = arr[0, 4] = np.abs(arr).max() + 1
    if nan:
        arr[2, 1] = np.nan
    fm, ft = REDUCTIONS[name]
    y, ty, gx, tgx = _both(fm, ft, arr)
    if isinstance(y, tuple):
        for a, b in zip(y, ty):
            if a.dtype == np.int64:
                if not nan or name.startswith("median"):
                    np.testing.assert_array_equal(a.data, b.numpy())
            else:
                _close(a, b)
    else:
        _close(y, ty)
    _close(gx, tgx, rtol=1e-9)


def test_prod_zero_counts_gradient_as_torch():
    # no zero, one zero, two zeros in a slice
    arr = np.array([[1.5, -2.0, 3.0], [1.5, 0.0, 3.0], [0.0, 2.0, 0.0]])
    _, _, gx, tgx = _both(lambda t: t.prod(1), lambda t: t.prod(1), arr)
    _close(gx, tgx)
    _, _, gx, tgx = _both(lambda t: t.prod(), lambda t: t.prod(), arr[:2, :2])
    _close(gx, tgx)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.float32])
def test_reduction_dtypes(dtype):
    arr = np.array([[1, 0, 2], [3, 1, 1]]).astype(dtype)
    m, t = mg.tensor(arr), torch.tensor(arr)
    for fm, ft in [
        (lambda x: x.prod(), lambda x: x.prod()),
        (lambda x: x.count_nonzero(1), lambda x: x.count_nonzero(1)),
        (lambda x: x.all(1), lambda x: x.all(1)),
        (lambda x: x.any(), lambda x: x.any()),
        (lambda x: mg.all(x, (0, 1)), lambda x: torch.all(x, (0, 1))),
    ]:
        y, ty = fm(m), ft(t)
        assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(y.data, ty.numpy())


def test_median_even_count_is_lower_and_index():
    arr = np.array([[4.0, 1.0, 3.0, 2.0], [1.0, 1.0, 2.0, 2.0]])
    v, i = mg.median(mg.tensor(arr), 1)
    tv, ti = torch.median(torch.tensor(arr), 1)
    _close(v, tv)
    assert v.tolist() == [2.0, 1.0]
    assert mg.median(mg.tensor(arr)).item() == torch.median(torch.tensor(arr)).item()
    assert i.tolist()[0] == ti.tolist()[0]


def test_median_errors_and_empty():
    with pytest.raises(IndexError, match="median"):
        mg.zeros(2, 0).median(1)
    assert math.isnan(mg.zeros(0).median().item())


def test_nan_reductions_all_nan():
    x = mg.tensor([np.nan, np.nan], requires_grad=True)
    assert math.isnan(x.nanmean().item())
    y = x.nansum()
    assert y.item() == 0.0
    y.backward()
    assert x.grad.tolist() == [0.0, 0.0]


@given(data=st.data())
@examples(25, deadline=None)
def test_reductions_gradcheck(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    seed = data.draw(st.integers(0, 2**16))
    arr = np.random.default_rng(seed).normal(size=shape)
    if data.draw(st.booleans()):
        arr.flat[data.draw(st.integers(0, arr.size - 1))] = 0.0
    name = data.draw(
        st.sampled_from(["prod", "prod_all", "median", "nansum", "nanmean"])
    )
    fns = {
        "prod": lambda t: t.prod(dim),
        "prod_all": lambda t: t.prod(),
        "median": lambda t: t.median(dim).values,
        "nansum": lambda t: t.nansum(dim),
        "nanmean": lambda t: t.nanmean(dim, keepdim=True),
    }
    x = mg.tensor(arr, requires_grad=True)
    assert gradcheck(fns[name], (x,))


# -- norms ----------------------------------------------------------------------------

VECTOR_ORDS = [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dim", [None, 1, (0, -1)])
def test_vector_norm_matches_torch(ord, dim):
    arr = _tricky(np.random.default_rng(2))
    arr[1] = 0.0  # a zero row: the gradient at 0 is 0 as in torch
    arr[0, 2] = -arr[0, 3]  # a tie of |x| for the inf norms
    y, ty, gx, tgx = _both(
        lambda t: mg.linalg.vector_norm(t, ord, dim),
        lambda t: torch.linalg.vector_norm(t, ord, dim),
        arr,
    )
    _close(y, ty)
    if ord != 0:  # torch gives no gradient at all for ord 0; ours is 0
        _close(gx, tgx, rtol=1e-9)
    else:
        assert not gx.data.any()


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_matches_torch(ord, keepdim):
    arr = np.random.default_rng(3).normal(size=(2, 3, 4))
    y, ty, gx, tgx = _both(
        lambda t: mg.linalg.matrix_norm(t, ord, keepdim=keepdim),
        lambda t: torch.linalg.matrix_norm(t, ord, keepdim=keepdim),
        arr,
    )
    _close(y, ty)
    _close(gx, tgx)


@pytest.mark.parametrize(
    "args", [(), ("fro",), (2, 1), (1, (0, 1)), (math.inf, None, True), (3, -1)]
)
def test_norm_matches_torch(args):
    arr = np.random.default_rng(4).normal(size=(3, 4))
    y, ty, gx, tgx = _both(lambda t: t.norm(*args), lambda t: t.norm(*args), arr)
    _close(y, ty)
    _close(gx, tgx)
    _close(mg.linalg.norm(mg.tensor(arr)), torch.linalg.norm(torch.tensor(arr)))


def test_norm_errors():
    with pytest.raises(TypeError, match="vector_norm"):
        mg.linalg.vector_norm(mg.tensor([1, 2]))
    with pytest.raises(ValueError, match="nuc"):
        mg.linalg.matrix_norm(mg.zeros(2, 2), "nuc")
    with pytest.raises(ValueError, match="matrix_norm"):
        mg.linalg.matrix_norm(mg.zeros(2))


@given(data=st.data())
@examples(20, deadline=None)
def test_norms_gradcheck(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    seed = data.draw(st.integers(0, 2**16))
    arr = np.random.default_rng(seed).normal(size=shape)
    ord = data.draw(st.sampled_from([2, 1, math.inf, 3, 0.5]))
    dim = data.draw(st.sampled_from([None, -1]))
    x = mg.tensor(arr, requires_grad=True)
    assert gradcheck(lambda t: mg.linalg.vector_norm(t, ord, dim), (x,))
