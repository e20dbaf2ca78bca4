"""The activation kernels (minigrad._C._act) against numpy references, on every
instruction set this CPU has, both dtypes, contiguous and strided operands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad._C import _act

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]
DTYPES = [np.float32, np.float64]
PARAMS = {"leaky_relu": (0.07, 0.0), "softplus": (1.5, 12.0)}
# Kernel vs float64 reference: mixed tolerance, relative to max(|ref|, 1).
TOL = {np.float32: 2e-6, np.float64: 1e-13}

_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def _sig(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(x) / (1 + np.exp(x)))


def _gt(x):
    k0, k1 = math.sqrt(2 / math.pi), 0.044715
    t = np.tanh(k0 * (x + k1 * x**3))
    du = k0 * (1 + 3 * k1 * x**2)
    return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du


def reference(op: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) in float64, written independently of the kernels."""
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    with np.errstate(over="ignore", invalid="ignore"):
        if op == "relu":
            return np.maximum(x, 0), (x > 0) * 1.0
        if op == "leaky_relu":
            return np.where(x > 0, x, p0 * x), np.where(x > 0, 1.0, p0)
        if op == "sigmoid":
            s = _sig(x)
            return s, s * (1 - s)
        if op == "tanh":
            return np.tanh(x), 1 - np.tanh(x) ** 2
        if op == "gelu":
            cdf = 0.5 * _erfc(-x / math.sqrt(2))
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            return x * cdf, cdf + x * pdf
        if op == "gelu_tanh":
            return _gt(x)
        if op == "silu":
            s = _sig(x)
            return x * s, s * (1 + x * (1 - s))
        if op == "softplus":
            z = p0 * x
            y = np.where(
                z > p1, x, (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / p0
            )
            return y, np.where(z > p1, 1.0, _sig(z))
        if op == "erf":
            return _erf(x), 2 / math.sqrt(math.pi) * np.exp(-x * x)
    raise AssertionError(op)


def _close(actual, expected, dtype):
    err = np.abs(actual.astype(np.float64) - expected) / np.maximum(np.abs(expected), 1)
    assert np.nanmax(err, initial=0) <= TOL[dtype], np.nanmax(err)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))


def _run(op, x, g, isa=None):
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    y = _act.forward(op, x, p0=p0, p1=p1, isa=isa)
    s = y if op in _act.BACKWARD_FROM_OUTPUT else x
    return y, _act.backward(op, s, g, p0=p0, p1=p1, isa=isa)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_matches_reference(op, dtype, isa):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(517) * 4, rng.uniform(-30, 30, 100)])
    x = x.astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    y, gx = _run(op, x, g, isa)
    ry, rd = reference(op, x.astype(np.float64))
    _close(y, ry, dtype)
    # The backward of sigmoid/tanh reads the rounded y: compare it with the
    # derivative evaluated at that y, the kernel's exact contract.
    if op == "sigmoid":
        rd = y.astype(np.float64) * (1 - y.astype(np.float64))
    if op == "tanh":
        rd = 1 - y.astype(np.float64) ** 2
    _close(gx, g.astype(np.float64) * rd, dtype)


@settings(max_examples=25, deadline=None)
@given(
    n=st.sampled_from([0, 1, 2, 15, 16, 17, 63, 64, 65, 1000, 40_001, 70_003]),
    op=st.sampled_from(_act.OPS),
    dtype=st.sampled_from(DTYPES),
    threads=st.sampled_from([1, 2]),
)
def test_act_kernel_sizes_and_threads(n, op, dtype, threads):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    y = _act.forward(op, x, p0=p0, p1=p1, nthreads=threads)
    y1 = _act.forward(op, x, p0=p0, p1=p1, nthreads=1, isa="generic")
    assert y.shape == (n,)
    assert y.dtype == dtype
    _close(y, reference(op, x.astype(np.float64))[0], dtype)
    # Threads split the work but never change a value.
    np.testing.assert_allclose(y, y1, rtol=4 * TOL[dtype], atol=4 * TOL[dtype])
    s = y if op in _act.BACKWARD_FROM_OUTPUT else x
    gx = _act.backward(op, s, g, p0=p0, p1=p1, nthreads=threads)
    assert gx.shape == (n,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_strided_and_transposed(op, dtype):
    rng = np.random.default_rng(1)
    base = (rng.standard_normal((9, 14)) * 3).astype(dtype)
    for x in (base[:, ::3], base.T, base[::2, 1], base[::-1, 0]):
        g = np.ones_like(x)
        y, gx = _run(op, x, g)
        cy, cgx = _run(op, np.ascontiguousarray(x), g.copy())
        # The strided loop calls the scalar library: equal up to its rounding.
        tol = 4 * TOL[dtype]
        np.testing.assert_allclose(y, cy, rtol=tol, atol=tol)
        np.testing.assert_allclose(gx, cgx, rtol=tol, atol=tol)


@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_in_place_and_strided_out(op):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(100)
    want = _act.forward(op, x, p0=0.5, p1=3.0)
    buf = x.copy()
    assert _act.forward(op, buf, p0=0.5, p1=3.0, out=buf) is buf
    np.testing.assert_array_equal(buf, want)
    out = np.full(200, np.nan)[::2]
    _act.forward(op, x, p0=0.5, p1=3.0, out=out)
    np.testing.assert_allclose(out, want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
def test_act_kernel_extremes_are_finite_and_exact(dtype):
    x = np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype)
    sig = _act.forward("sigmoid", x)
    assert sig[0] == 0.0
    assert sig[-1] == 1.0
    assert np.all(np.isfinite(sig))
    for op in _act.OPS:
        y, gx = _run(op, x, np.ones_like(x))
        assert np.all(np.isfinite(y)), op
        assert np.all(np.isfinite(gx)), op
    sp = _act.forward("softplus", x, p0=1.0, p1=math.inf)
    assert sp[-1] == 1000.0
    assert sp[0] == 0.0


@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_propagates_nan(op):
    x = np.array([np.nan, 1.0, np.nan], np.float32)
    y, _gx = _run(op, x, np.ones_like(x))
    assert np.isnan(y[0])
    assert np.isnan(y[2])
    assert not np.isnan(y[1])


def test_act_kernel_zero_upstream_gives_zero():
    x = np.random.default_rng(3).standard_normal(50)
    for op in _act.OPS:
        _, gx = _run(op, x, np.zeros_like(x))
        assert np.all(gx == 0), op


def test_act_kernel_empty_and_0d():
    for op in _act.OPS:
        assert _act.forward(op, np.zeros((0, 3), np.float32)).shape == (0, 3)
        y = _act.forward(op, np.array(0.5), p0=1.0, p1=20.0)
        assert y.shape == ()
        assert np.isfinite(y)


def test_act_kernel_validation():
    x = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        _act.forward("swish", x)
    with pytest.raises(TypeError, match="relu: x must be a numpy array"):
        _act.forward("relu", [1.0])
    with pytest.raises(TypeError, match="relu: x must be float32 or float64"):
        _act.forward("relu", np.arange(3))
    with pytest.raises(TypeError, match="out has dtype float64"):
        _act.forward("relu", x, out=np.ones(4))
    with pytest.raises(ValueError, match=r"out has shape \(5,\)"):
        _act.forward("relu", x, out=np.ones(5, np.float32))
    with pytest.raises(ValueError, match="C-contiguous"):
        _act.forward(
            "relu", np.ones((3, 4), np.float32), out=np.ones((4, 3), np.float32).T
        )
    ro = np.ones(4, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _act.forward("relu", x, out=ro)
    big = np.ones(8, np.float32)
    with pytest.raises(ValueError, match="overlaps an input"):
        _act.forward("relu", big[:4], out=big[2:6])
    with pytest.raises(TypeError, match="s is float32 but grad_out is float64"):
        _act.backward("relu", x, np.ones(4))
    with pytest.raises(ValueError, match=r"s has shape \(4,\) but grad_out"):
        _act.backward("relu", x, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="nthreads must be a positive int"):
        _act.forward("relu", x, nthreads=0)
    with pytest.raises(ValueError, match="unknown instruction set 'sse9'"):
        _act.forward("relu", x, isa="sse9")
    with pytest.raises(ValueError, match="unknown instruction set"):
        _act.has_isa("neon9")
