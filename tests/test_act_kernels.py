"""The activation kernels (minigrad._C._act) against numpy references, on every
instruction set this CPU has, both dtypes, contiguous and strided operands."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _act
from tests.helpers import examples

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
    # (1 + tanh u)/2 written as sigmoid(2u), which does not cancel for x << 0
    k0, k1 = math.sqrt(2 / math.pi), 0.044715
    v = 2 * k0 * (x + k1 * x**3)
    s, sm = _sig(v), _sig(-v)
    return x * s, s + x * s * sm * 2 * k0 * (1 + 3 * k1 * x**2)


def reference(op: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(f(x), f'(x)) in float64, written independently of the kernels."""
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    with np.errstate(over="ignore", invalid="ignore"):
        if op == "relu":
            return np.maximum(x, 0), (~(x <= 0)) * 1.0  # relu'(NaN) = 1 (torch)
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


@examples(25, deadline=None)
@given(
    n=st.sampled_from([0, 1, 2, 15, 16, 17, 31, 33, 63, 64, 65, 1000, 40_001, 150_001]),
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
    """Strided operands are gathered into chunks and run through the same vector
    loop as contiguous ones: bitwise the same results, on every ISA, at sizes
    around the chunk (512) and block (16) boundaries, with broadcast (stride-0)
    and negative strides, one or two threads."""
    rng = np.random.default_rng(1)
    p0, p1 = PARAMS.get(op, (0.0, 0.0))
    base = (rng.standard_normal((9, 14)) * 3).astype(dtype)
    long = (rng.standard_normal(3 * 1100) * 3).astype(dtype)
    xs = [base[:, ::3], base.T, base[::2, 1], base[::-1, 0]]
    xs += [long[: 3 * n : 3] for n in (1, 15, 17, 511, 512, 513, 1100)]
    for isa in ISAS:
        for x in xs:
            one = np.ones_like(x)
            for g in (one, np.broadcast_to(dtype(0.75), x.shape), one[::-1]):
                cx, cg = np.ascontiguousarray(x), np.ascontiguousarray(g)
                for nt in (1, 2):
                    kw = dict(p0=p0, p1=p1, isa=isa, nthreads=nt)
                    y = _act.forward(op, x, **kw)
                    gx = _act.backward(op, x, g, **kw)
                    np.testing.assert_array_equal(y, _act.forward(op, cx, **kw))
                    np.testing.assert_array_equal(
                        gx, _act.backward(op, cx, cg, **kw), err_msg=f"{isa} {x.shape}"
                    )
                    if x.ndim == 1:  # a strided out must be 1-D
                        out = np.full(2 * x.size, np.nan, dtype)[::-2]
                        _act.backward(op, x, g, out=out, **kw)
                        np.testing.assert_array_equal(out, gx)


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


# -- float32 accuracy in ulp, limits, special values, determinism ---------------


def _ulp_err(actual: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|actual - ref| in units of the float32 spacing at ref (denormal spacing
    below the normal range)."""
    spacing = np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64)
    return np.abs(actual.astype(np.float64) - ref) / np.maximum(spacing, 2.0**-149)


# Max ulp error of the float32 forward against the float64 reference, for
# |x| <= 12 and results above 2^-100 in magnitude (an intermediate such as
# sigmoid(2u) or Φ(-|x|) turns denormal before the result does, and is then flushed
# or rounded to the denormal grid: only an absolute accuracy of ~1e-38 holds
# there), and the max mixed error of the backward, |err| / max(|f'|, 1) (f'
# has zeros, near which no relative bound holds).
ULP_BOUND = {
    "relu": 0,
    "leaky_relu": 1,  # the slope is rounded to float32
    "sigmoid": 3,
    "tanh": 4,
    "gelu": 8,
    "gelu_tanh": 16,  # see below
    "silu": 3,
    # β·x is rounded to float32 first, and e^(βx) turns that into a relative
    # error of |βx|·2^-24: ~20 ulp at βx = -17 (as in PyTorch).
    "softplus": 24,
    "erf": 4,
}
BWD_BOUND = 5e-7


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_f32_ulp_error(op, isa):
    x = np.concatenate(
        [np.linspace(-12, 12, 240_001), np.geomspace(1e-6, 12, 20_000)]
    ).astype(np.float32)
    x = np.concatenate([x, -x[-20_000:]])
    xd = x.astype(np.float64)
    ry, rd = reference(op, xd)
    y, gx = _run(op, x, np.ones_like(x), isa)
    keep = np.abs(ry) >= 2.0**-100
    if op == "gelu_tanh":
        # x·sigmoid(2u), u cubic in x: for x < 0 the result is ~x·e^(2u), whose
        # relative error is |2u| times that of u (|2u| = 6 at x = -3, 70 at
        # x = -9): ulp up to -3, a relative bound below.
        tail = keep & (x < -3)
        rel = np.abs(y[tail] / ry[tail] - 1)
        assert rel.max() <= 4e-5, rel.max()
        keep &= x >= -3
    err = _ulp_err(y[keep], ry[keep])
    assert err.max() <= ULP_BOUND[op], (err.max(), x[keep][np.argmax(err)])
    if op == "sigmoid":
        rd = y.astype(np.float64) * (1 - y.astype(np.float64))
    if op == "tanh":
        rd = 1 - y.astype(np.float64) ** 2
    berr = np.abs(gx - rd) / np.maximum(np.abs(rd), 1)
    assert berr.max() <= BWD_BOUND, (berr.max(), x[np.argmax(berr)])


def test_act_kernel_f32_gelu_tail_is_relatively_accurate():
    # PyTorch's x·(1 + erf(x/√2))/2 cancels to nothing for x << 0; the erfc
    # form keeps a relative accuracy down to where Φ(x) leaves float32's
    # normal range.
    x = np.linspace(-12, -3, 20_001).astype(np.float32)
    ry, _ = reference("gelu", x.astype(np.float64))
    for isa in ISAS:
        y = _act.forward("gelu", x, isa=isa)
        rel = np.abs(y / ry - 1)
        assert rel.max() < 1e-6, (isa, rel.max())


LIMITS = {
    # op: (f(-inf), f(+inf), f'(-inf), f'(+inf)) with the default PARAMS
    "relu": (0.0, np.inf, 0.0, 1.0),
    "leaky_relu": (-np.inf, np.inf, PARAMS["leaky_relu"][0], 1.0),
    "sigmoid": (0.0, 1.0, 0.0, 0.0),
    "tanh": (-1.0, 1.0, 0.0, 0.0),
    "gelu": (0.0, np.inf, 0.0, 1.0),
    "gelu_tanh": (0.0, np.inf, 0.0, 1.0),
    "silu": (0.0, np.inf, 0.0, 1.0),
    "softplus": (0.0, np.inf, 0.0, 1.0),
    "erf": (-1.0, 1.0, 0.0, 0.0),
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", _act.OPS)
def test_act_kernel_special_values(op, dtype, isa):
    """±inf give the limits (never inf·0 = NaN), NaN propagates, huge and
    denormal inputs give the reference values."""
    info = np.finfo(dtype)
    x = np.array(
        [
            *(-np.inf, np.inf, np.nan, -info.max, info.max, -1e30, 1e30, -1000.0),
            *(1000.0, -info.tiny, info.tiny, -info.smallest_subnormal * 3, 1e-40),
            *(-0.0, 0.0),
        ],
        dtype,
    )
    y, gx = _run(op, x, np.ones_like(x), isa)
    lo, hi, dlo, dhi = LIMITS[op]
    assert (y[0], y[1]) == (lo, hi)
    assert (gx[0], gx[1]) == (dlo, dhi)
    assert np.isnan(y[2])
    if op not in ("relu", "leaky_relu"):  # their backward is a select on x > 0
        assert np.isnan(gx[2])
    assert not np.isnan(y[3:]).any()
    assert not np.isnan(gx[3:]).any()
    # Finite inputs, huge to denormal: the float64 reference, to the dtype's
    # tolerance (absolute below 1).
    ry, _ = reference(op, x[3:].astype(np.float64))
    ry = np.where(np.isnan(ry), 0.0, ry)  # reference's own inf·0 at ±max
    np.testing.assert_allclose(y[3:], ry.astype(dtype), rtol=8e-7, atol=1e-37)
    if op == "sigmoid":
        np.testing.assert_array_equal(y[5:9], [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_act_kernel_results_independent_of_alignment_and_threads(dtype):
    """Every element goes through the same vector code whatever the array's
    offset from a cache line (the kernels realign the output) and however the
    threads split it, so results are bitwise equal."""
    rng = np.random.default_rng(5)
    base = (rng.standard_normal(1000) * 5).astype(dtype)
    g = rng.standard_normal(1000).astype(dtype)
    big = (rng.standard_normal(300_001) * 5).astype(dtype)
    for isa in ISAS:
        for op in _act.OPS:
            p0, p1 = PARAMS.get(op, (0.0, 0.0))
            want = _act.forward(op, base, p0=p0, p1=p1, isa=isa)
            wantb = _act.backward(op, base, g, p0=p0, p1=p1, isa=isa)
            for off in range(1, 16):
                out = np.empty(1100, dtype)[off : off + 1000]
                _act.forward(op, base, p0=p0, p1=p1, out=out, isa=isa)
                np.testing.assert_array_equal(out, want, err_msg=f"{op} {isa} {off}")
                _act.backward(op, base, g, p0=p0, p1=p1, out=out, isa=isa)
                np.testing.assert_array_equal(out, wantb, err_msg=f"{op} {isa} {off}")
            y1 = _act.forward(op, big, p0=p0, p1=p1, isa=isa, nthreads=1)
            y2 = _act.forward(op, big, p0=p0, p1=p1, isa=isa, nthreads=2)
            np.testing.assert_array_equal(y1, y2, err_msg=f"{op} {isa} threads")


@pytest.mark.parametrize("op", ["relu", "tanh", "gelu"])
def test_act_kernel_transposed_operands_run_in_their_own_order(op):
    """A transposed input (and a gradient laid out like it, or broadcast) is
    read in memory order with no copy; the result is laid out like the input,
    as in PyTorch, with the contiguous case's values."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((40, 70, 3)).astype(np.float32).transpose(2, 0, 1)
    g = rng.standard_normal((40, 70, 3)).astype(np.float32).transpose(2, 0, 1)
    y = _act.forward(op, x)
    assert y.strides == x.strides
    np.testing.assert_array_equal(y, _act.forward(op, np.ascontiguousarray(x)))
    for grad in (g, np.broadcast_to(np.float32(2.0), x.shape)):
        gx = _act.backward(op, x, grad)
        assert gx.strides == x.strides
        want = _act.backward(op, np.ascontiguousarray(x), np.ascontiguousarray(grad))
        np.testing.assert_array_equal(gx, want)
