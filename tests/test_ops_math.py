"""Elementwise math (minigrad/ops/math.py): values, gradients and result dtypes
against PyTorch, special values (NaN, ±inf, 0) included, and gradcheck in
float64 on hypothesis-drawn shapes; table-driven."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.helpers import examples
from tests.strategies import arrays, broadcastable_shapes, shapes

torch = pytest.importorskip("torch")

gradcheck = mg.autograd.gradcheck

# name -> (lo, hi): the open domain where the op is smooth (for gradcheck).
UNARY = {
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.2, 1.2),
    "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9),
    "atan": (-3, 3),
    "sinh": (-3, 3),
    "cosh": (-3, 3),
    "asinh": (-3, 3),
    "acosh": (1.1, 3),
    "atanh": (-0.9, 0.9),
    "exp2": (-3, 3),
    "expm1": (-3, 3),
    "log2": (0.2, 3),
    "log10": (0.2, 3),
    "log1p": (-0.8, 3),
    "rsqrt": (0.2, 3),
    "reciprocal": (0.2, 3),
    "erfc": (-2, 2),
    "erfinv": (-0.9, 0.9),
    "frac": (0.1, 0.9),
    "sgn": (0.1, 3),
    "floor": (0.1, 0.9),
    "ceil": (0.1, 0.9),
    "trunc": (0.1, 0.9),
    "round": (0.1, 0.4),
    "nan_to_num": (-3, 3),
}
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.7]
# PyTorch's integer-input result dtype: float32, except the rounding ops and
# sgn, which keep the integer dtype (frac refuses integers).
KEEPS_INT = {"sgn", "floor", "ceil", "trunc", "round", "nan_to_num"}


def _torch_fn(name):
    return getattr(torch, name)


def _grad_pair(name, arr, dtype):
    x = mg.tensor(arr, dtype=dtype, requires_grad=True)
    tx = torch.tensor(arr, dtype=getattr(torch, str(np.dtype(dtype))))
    tx.requires_grad_(True)
    y, ty = getattr(mg, name)(x), _torch_fn(name)(tx)
    g = np.linspace(-1.0, 1.5, max(arr.size, 1))[: arr.size].reshape(arr.shape)
    with np.errstate(invalid="ignore"):  # the test's own inf - inf in sum
        (y * mg.tensor(g, dtype=dtype)).sum().backward()
    (ty * torch.tensor(g, dtype=ty.dtype)).sum().backward()
    return y, ty, x.grad, tx.grad


def _close(a, b, rtol, atol=1e-6):
    a = a.data if isinstance(a, mg.Tensor) else a
    b = b.detach().numpy(force=True) if hasattr(b, "detach") else b
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_matches_torch(name, dtype):
    lo, hi = UNARY[name]
    rng = np.random.default_rng(0)
    arr = rng.uniform(lo, hi, (3, 4)).astype(dtype)
    y, ty, gx, tgx = _grad_pair(name, arr, dtype)
    assert y.dtype == np.dtype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    _close(y, ty, rtol)
    _close(gx, tgx, rtol * 10)


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"erfc", "erfinv"}))
def test_unary_special_values_as_torch(name):
    # NaN propagates, infinities and signed zeros map as in PyTorch, and so do
    # the gradients there (0, inf or NaN).
    arr = np.array(SPECIAL)
    y, ty, gx, tgx = _grad_pair(name, arr, np.float64)
    _close(y, ty, 1e-12)
    _close(gx, tgx, 1e-12)


def test_erfc_erfinv_special_values():
    # erfc is 1 - erf (its far tail rounds to 0: see Erfc's note), so compare
    # where 1 - erf is exact enough; erfinv at ±1 and outside [-1, 1].
    x = np.array([np.nan, -np.inf, np.inf, 0.0, -2.0, 2.0, 3.0])
    _close(mg.erfc(mg.tensor(x)), torch.erfc(torch.tensor(x)), 1e-6)
    v = np.array([np.nan, -1.0, 1.0, 1.5, -1.5, 0.0, 0.999999, -0.3])
    _close(mg.erfinv(mg.tensor(v)), torch.erfinv(torch.tensor(v)), 1e-9)


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"frac"}))
def test_integer_input_dtype_as_torch(name):
    arr = np.array([[1, 2], [3, 0]])
    if name in ("acosh",):
        arr = arr + 1
    y = getattr(mg, name)(mg.tensor(arr))
    ty = _torch_fn(name)(torch.tensor(arr))
    assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
    _close(y.to(mg.float64), ty.double(), 1e-6)


def test_frac_refuses_integers():
    with pytest.raises(TypeError, match="frac"):
        mg.frac(mg.tensor([1, 2]))


@given(data=st.data())
@examples(25, deadline=None)
def test_unary_gradcheck(data):
    name = data.draw(st.sampled_from(sorted(UNARY)))
    shape = data.draw(shapes(max_dims=3, max_side=4))
    lo, hi = UNARY[name]
    arr = data.draw(arrays(shape, lo=lo, hi=hi))
    x = mg.tensor(arr, dtype=mg.float64, requires_grad=True)
    assert gradcheck(getattr(mg, name), (x,))


def test_round_decimals_and_zero_gradients():
    arr = np.array([1.234, -2.345, 0.5, 1.5, 2.675])
    x = mg.tensor(arr, dtype=mg.float64, requires_grad=True)
    for d in (0, 1, 2, -1):
        _close(mg.round(x, decimals=d), torch.round(torch.tensor(arr), decimals=d), 0)
    # recorded with a zero gradient, as torch: x.round() * x differentiates
    (x.round() * x).sum().backward()
    _close(x.grad, np.round(arr), 0)


def test_nan_to_num_values_and_gradient():
    arr = np.array([np.nan, np.inf, -np.inf, 1.5])
    for kw in ({}, {"nan": 2.0, "posinf": 9.0, "neginf": -9.0}):
        x = mg.tensor(arr, dtype=mg.float32, requires_grad=True)
        tx = torch.tensor(arr, dtype=torch.float32, requires_grad=True)
        y, ty = x.nan_to_num(**kw), tx.nan_to_num(**kw)
        _close(y, ty, 0)
        y.sum().backward()
        ty.sum().backward()
        _close(x.grad, tx.grad, 0)


# -- binary ops ---------------------------------------------------------------------

BINARY = {
    # name -> (lo, hi) of both operands for gradcheck
    "atan2": (0.3, 2.0),
    "hypot": (0.3, 2.0),
    "logaddexp": (-2.0, 2.0),
    "xlogy": (0.3, 2.0),
    "copysign": (0.3, 2.0),
    "fmod": (0.3, 2.0),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_matches_torch(name, dtype):
    rng = np.random.default_rng(1)
    a = (rng.uniform(0.3, 2.0, (3, 4)) * rng.choice([-1, 1], (3, 4))).astype(dtype)
    b = (rng.uniform(0.3, 2.0, (4,)) * rng.choice([-1, 1], (4,))).astype(dtype)
    if name == "xlogy":
        a[0, 0] = 0
        b = np.abs(b)
    x, y = (mg.tensor(v, requires_grad=True) for v in (a, b))
    tx, ty = (torch.tensor(v, requires_grad=True) for v in (a, b))
    out, tout = getattr(mg, name)(x, y), getattr(torch, name)(tx, ty)
    assert out.dtype == np.dtype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    _close(out, tout, rtol)
    out.sum().backward()
    tout.sum().backward()
    _close(x.grad, tx.grad, rtol * 10)
    _close(y.grad, ty.grad, rtol * 10)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_special_values_as_torch(name):
    s = np.array(SPECIAL)
    a, b = np.meshgrid(s, s)
    x, y = (mg.tensor(v, dtype=mg.float64, requires_grad=True) for v in (a, b))
    tx, ty = (torch.tensor(v, requires_grad=True) for v in (a, b))
    out, tout = getattr(mg, name)(x, y), getattr(torch, name)(tx, ty)
    _close(out, tout, 1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_scalar_and_integer_operands(name):
    t = mg.tensor([1, 2, 3])
    tt = torch.tensor([1, 2, 3])
    pairs = ((2, 2), (1.5, 1.5), (mg.tensor([2, 2, 1]), torch.tensor([2, 2, 1])))
    for other, tother in pairs:
        if name in ("hypot", "logaddexp") and not isinstance(other, float):
            continue  # PyTorch: not implemented for integer tensors
        out = getattr(mg, name)(t, other)
        # torch's atan2, hypot, ... take no Python number: a 0-d tensor
        # promotes the same way
        tout = getattr(torch, name)(tt, torch.as_tensor(tother))
        assert str(out.dtype) == str(tout.dtype).removeprefix("torch.")
        _close(out.to(mg.float64), tout.double(), 1e-6)


@given(data=st.data())
@examples(25, deadline=None)
def test_binary_gradcheck_broadcasting(data):
    name = data.draw(st.sampled_from(sorted(BINARY)))
    sa, sb = data.draw(broadcastable_shapes(2, max_side=3))
    lo, hi = BINARY[name]
    a = data.draw(arrays(sa, lo=lo, hi=hi))
    b = data.draw(arrays(sb, lo=lo, hi=hi))
    if name != "xlogy":
        sign = data.draw(st.sampled_from([-1.0, 1.0]))
        a = a * sign
    if name == "fmod":  # away from the jumps of trunc(a / b)
        q = np.abs(np.broadcast_to(a, np.broadcast_shapes(sa, sb)) / b)
        if np.any(np.abs(q - np.round(q)) < 0.05):
            return
    x, y = (mg.tensor(v, dtype=mg.float64, requires_grad=True) for v in (a, b))
    assert gradcheck(getattr(mg, name), (x, y))


def test_fmod_integers_and_division_by_zero():
    a, b = np.array([-7, 7, -7, 7]), np.array([3, 3, -3, -3])
    out = mg.fmod(mg.tensor(a), mg.tensor(b))
    assert out.dtype == np.int64
    assert out.tolist() == torch.fmod(torch.tensor(a), torch.tensor(b)).tolist()
    with pytest.raises(ValueError, match="fmod"):
        mg.fmod(mg.tensor([1]), 0)


# -- composites -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "kw"),
    [
        ("lerp", 3, {}),
        ("lerp_scalar", 2, {}),
        ("addcmul", 3, {"value": 0.5}),
        ("addcdiv", 3, {"value": -2.0}),
        ("clip", 3, {}),
    ],
)
def test_composites_match_torch(name, args, kw):
    rng = np.random.default_rng(2)
    arrs = [rng.uniform(0.5, 2.0, s) for s in [(2, 3), (3,), (2, 1)][:args]]
    ms = [mg.tensor(a, requires_grad=True) for a in arrs]
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    if name == "lerp_scalar":
        out, tout = mg.lerp(*ms, 0.3), torch.lerp(*ts, 0.3)
    elif name == "clip":
        ts[1].data -= 0.7  # min below max somewhere, above elsewhere
        ms[1].data -= 0.7
        out, tout = ms[0].clip(ms[1], ms[2]), ts[0].clip(ts[1], ts[2])
    else:
        out = getattr(ms[0], name)(*ms[1:], **kw)
        tout = getattr(ts[0], name)(*ts[1:], **kw)
    _close(out, tout, 1e-10)
    out.sum().backward()
    tout.sum().backward()
    for m, t in zip(ms, ts):
        _close(m.grad, t.grad, 1e-10)


def test_addcdiv_refuses_integer_division():
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="addcdiv"):
        mg.addcdiv(mg.tensor([1.0, 2.0]), t, t)


def test_methods_and_functions_agree():
    x = mg.tensor([0.3, 0.6], dtype=mg.float64)
    for name in UNARY:
        if name in ("round", "nan_to_num"):
            continue
        np.testing.assert_array_equal(
            getattr(x, name)().data, getattr(mg, name)(x).data
        )
    for name in BINARY:
        np.testing.assert_array_equal(
            getattr(x, name)(x + 1).data, getattr(mg, name)(x, x + 1).data
        )
