"""Hardening of the GEMM (issue 12, found by fuzzing): batch broadcasting
with empty batches, size arithmetic that overflowed in C, and every argument
of ``minigrad._C._gemm.gemm`` that reaches C: each either works (compared with
numpy) or raises a clear error. The C entry points are also called through
ctypes (tests/gemm_ctypes.py) with arguments no Python check would let
through: they must return an error status, never crash."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import gemm_ctypes
import numpy as np
import pytest

import minigrad as mg
from minigrad._C import _gemm
from minigrad.autograd import gradcheck
from minigrad.errors import ArgumentError, ShapeError

ISAS = _gemm.available_isas()
M, K, N = 2, 3, 4
BATCHES = (0, 1, 2)
TESTS = os.path.dirname(os.path.abspath(__file__))


def _shapes(r: int, c: int, vec: int) -> list[tuple[int, ...]]:
    """Operand shapes of every ndim 1-4, batch sizes from BATCHES."""
    out: list[tuple[int, ...]] = [(vec,), (r, c)]
    out += [(b, r, c) for b in BATCHES]
    out += [(b1, b2, r, c) for b1 in BATCHES for b2 in BATCHES]
    return out


PAIRS = list(itertools.product(_shapes(M, K, K), _shapes(K, N, K)))


def _numpy_matmul(sa, sb):
    try:
        return np.matmul(np.ones(sa), np.ones(sb)).shape
    except ValueError:
        return None


# -- batch broadcasting with batches of 0 and 1 (the matmul op) ------------


@pytest.mark.parametrize(("sa", "sb"), PAIRS, ids=lambda s: "x".join(map(str, s)))
def test_matmul_every_batch_combination_matches_numpy(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    want_shape = _numpy_matmul(sa, sb)
    if want_shape is None:
        with pytest.raises(ShapeError, match="matmul: batch dimensions"):
            mg.tensor(a) @ mg.tensor(b)
        return
    for dtype in (np.float32, np.float64):
        got = mg.tensor(a, dtype=dtype) @ mg.tensor(b, dtype=dtype)
        assert got.shape == want_shape
        assert got.dtype == dtype
        np.testing.assert_allclose(got.numpy(), np.matmul(a, b), rtol=1e-5, atol=1e-5)


def test_matmul_2d_times_empty_batch():
    # The example of issue 12: numpy and PyTorch give (0, 2, 4).
    y = mg.zeros(2, 3) @ mg.zeros(0, 3, 4)
    assert y.shape == (0, 2, 4)
    y = mg.zeros(1, 2, 3) @ mg.zeros(0, 3, 4)
    assert y.shape == (0, 2, 4)
    y = mg.zeros(0, 2, 3) @ mg.zeros(1, 3, 4)
    assert y.shape == (0, 2, 4)


_GRAD_PAIRS = [
    (sa, sb)
    for sa, sb in PAIRS
    if _numpy_matmul(sa, sb) is not None
    and (0 in sa[:-2] + sb[:-2] or 1 in sa[:-2] + sb[:-2])
]


@pytest.mark.parametrize(("sa", "sb"), _GRAD_PAIRS, ids=lambda s: "x".join(map(str, s)))
def test_matmul_grad_with_batches_of_0_and_1(sa, sb):
    rng = np.random.default_rng(1)
    a = mg.tensor(rng.standard_normal(sa), requires_grad=True)
    b = mg.tensor(rng.standard_normal(sb), requires_grad=True)
    y = a @ b
    g = rng.standard_normal(y.shape)
    y.backward(mg.tensor(g))
    assert a.grad.shape == sa
    assert b.grad.shape == sb
    # The gradients numpy's broadcasting rules give: each summed back over
    # the dims its operand was broadcast along (zeros from an empty batch).
    a2 = a.data.reshape(1, K) if a.ndim == 1 else a.data
    b2 = b.data.reshape(K, 1) if b.ndim == 1 else b.data
    g2 = g.reshape(np.matmul(a2, b2).shape)
    ga = np.matmul(g2, np.swapaxes(b2, -1, -2))
    gb = np.matmul(np.swapaxes(a2, -1, -2), g2)
    ga = _sum_to(ga, a2.shape).reshape(sa)
    gb = _sum_to(gb, b2.shape).reshape(sb)
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-10, atol=1e-12)
    if y.numel() > 0:
        assert gradcheck(lambda x, z: x @ z, (a, b))


def _sum_to(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead))) if lead else x
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
    return x.sum(axis=axes, keepdims=True) if axes else x


# -- batch broadcasting in the wrapper -------------------------------------


@pytest.mark.parametrize(("ba", "bb"), itertools.product((0, 1, 2), repeat=2))
@pytest.mark.parametrize("with_out", [False, True])
def test_gemm_batch_of_1_and_0(ba, bb, with_out):
    if ba != bb and 1 not in (ba, bb):
        with pytest.raises(ShapeError, match="gemm: batch sizes differ"):
            _gemm.gemm(np.ones((ba, M, K)), np.ones((bb, K, N)))
        return
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((ba, M, K)), rng.standard_normal((bb, K, N))
    want = np.matmul(a, b)
    out = np.full(want.shape, np.nan) if with_out else None
    got = _gemm.gemm(a, b, out=out)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_gemm_batch_of_1_against_0_reads_nothing():
    # Before the fix the batch was max(1, 0) = 1 and C read A from an empty
    # B's data pointer (AddressSanitizer: heap-buffer-overflow). A
    # subprocess, so that a crash fails the test instead of the run.
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent("""
            import numpy as np
            from minigrad._C import _gemm
            for _ in range(200):
                a = np.ones((1, 64, 64), np.float32)
                b = np.ones((0, 64, 64), np.float32)[:, ::-1]
                y = _gemm.gemm(a, b, path="ref")
                assert y.shape == (0, 64, 64), y.shape
                y = _gemm.gemm(b.swapaxes(1, 2), a)
                assert y.shape == (0, 64, 64), y.shape
            print("ok")
        """)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


# -- blocking and size arithmetic ------------------------------------------

HUGE_BLOCKS = [2**62, 2**63 - 1, 2**63, 2**64 + 5, 10**30]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("big", HUGE_BLOCKS)
@pytest.mark.parametrize("which", [0, 1, 2, None])
def test_gemm_huge_blocks_mean_one_block(isa, big, which):
    # Issue 12: blocks near 2**63 overflowed `x + y - 1` in C's ceil_div and
    # killed the process with SIGFPE. Run in-process: the fix makes it safe,
    # a subprocess test below shows the crash is gone for the C entry point.
    blocks = [big] * 3 if which is None else [8, 16, 8]
    if which is not None:
        blocks[which] = big
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((67, 45)), rng.standard_normal((45, 71))
    got = _gemm.gemm(a, b, isa=isa, path="packed", blocks=tuple(blocks))
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "blocks",
    [(0, 8, 8), (8, -1, 8), (True, 8, 8), (8.0, 8, 8), (8, 8), [8, 8, 8]],
)
def test_gemm_bad_blocks_are_rejected(blocks):
    with pytest.raises(ArgumentError, match=r"gemm: blocks must be three positive"):
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), blocks=blocks)


def _subprocess(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {TESTS!r})\n"
         + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("big", [2**62, 2**63 - 1])
def test_c_gemm_huge_blocks_do_not_crash(big):
    proc = _subprocess(f"""
        import numpy as np
        import gemm_ctypes
        rng = np.random.default_rng(0)
        a, b = rng.standard_normal((67, 45)), rng.standard_normal((45, 71))
        c = np.empty((67, 71))
        for blocks in [({big},) * 3, (8, {big}, 8), ({big}, 8, {big})]:
            st = gemm_ctypes.call_arrays(a, b, c, path="packed", blocks=blocks)
            assert st == 0, st
            assert np.allclose(c, a @ b), blocks
        print("ok")
    """)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "ok"


_MAX_DIM = (2**63 - 1) // 4


@pytest.mark.parametrize(
    ("m", "n", "k", "strides", "want"),
    [
        # sizes past MG_GEMM_MAX_DIM
        (2**63 - 1, 2, 2, (2, 1, 2, 1, 2, 1), gemm_ctypes.ESIZE),
        (2, 2**62, 2, (2, 1, 2, 1, 2, 1), gemm_ctypes.ESIZE),
        (2, 2, _MAX_DIM + 1, (2, 1, 2, 1, 2, 1), gemm_ctypes.ESIZE),
        # products that overflow: m * n, m * k, k * n
        (2**40, 2**40, 1, (1, 1, 1, 1, 1, 1), gemm_ctypes.ESIZE),
        (2**40, 2, 2**40, (1, 1, 1, 1, 1, 1), gemm_ctypes.ESIZE),
        (2, 2**40, 2**40, (1, 1, 1, 1, 1, 1), gemm_ctypes.ESIZE),
        # extents (i * rs + p * cs) that overflow
        (3, 2, 2, (2**62, 1, 2, 1, 2, 1), gemm_ctypes.ESIZE),
        (2, 2, 2, (2, 1, 2, -(2**63) + 1, 2, 1), gemm_ctypes.ESIZE),
        (3, 2, 2, (2, 1, 2, 1, 2**62, 1), gemm_ctypes.ESIZE),
        (2, 2, 2, (-(2**63), 1, 2, 1, 2, 1), gemm_ctypes.ESIZE),
        # two elements of C at one address
        (2, 2, 2, (2, 1, 2, 1, 0, 1), gemm_ctypes.EARG),
        (2, 2, 2, (2, 1, 2, 1, 2, 0), gemm_ctypes.EARG),
        # negative sizes
        (-1, 2, 2, (2, 1, 2, 1, 2, 1), gemm_ctypes.EARG),
    ],
)
def test_c_gemm_refuses_sizes_it_cannot_compute(m, n, k, strides, want):
    # Null operands: a kernel that did not refuse would crash at once. Each
    # runs in a subprocess so that a crash fails only this test.
    rs_a, cs_a, rs_b, cs_b, rs_c, cs_c = strides
    proc = _subprocess(f"""
        import gemm_ctypes
        for path in ("auto", "packed", "direct", "ref"):
            for threads in (1, 2):
                st = gemm_ctypes.call({m}, {n}, {k}, None, {rs_a}, {cs_a}, None,
                                      {rs_b}, {cs_b}, None, {rs_c}, {cs_c},
                                      path=path, threads=threads)
                assert st == {want}, (path, st)
        print("ok")
    """)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "ok"


def test_gemm_output_too_large_to_address_raises():
    col = np.broadcast_to(np.ones((1, 1), np.float32), (2**31, 1))
    with pytest.raises(ArgumentError, match=r"gemm: the output of .* would hold"):
        _gemm.gemm(col, col.T)
    a = np.broadcast_to(np.ones((1, 1, 1)), (2**40, 2**10, 1))
    b = np.broadcast_to(np.ones((1, 1, 1)), (1, 1, 2**12))
    with pytest.raises(ArgumentError, match=r"1099511627776 \* 1024 \* 4096"):
        _gemm.gemm(a, b)


# -- every other argument that reaches C -----------------------------------


def _misaligned(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` whose data starts one byte past an element boundary."""
    buf = np.zeros(x.nbytes + x.itemsize, np.uint8)
    y = buf[1 : 1 + x.nbytes].view(x.dtype).reshape(x.shape)
    y[...] = x
    assert not y.flags.aligned
    return y


def _swapped(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` in the other byte order (same values)."""
    y = x.astype(x.dtype.newbyteorder("S"))
    assert not y.dtype.isnative
    return y


def _layout(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "C":
        return np.ascontiguousarray(x)
    if kind == "F":
        return np.asfortranarray(x)
    if kind == "T":  # a transposed view
        return np.ascontiguousarray(x.T).T
    if kind == "strided":  # steps in every dim
        big = np.zeros(tuple(3 * s + 1 for s in x.shape), x.dtype)
        view = big[tuple(slice(1, None, 3) for _ in x.shape)]
        view[...] = x
        return view
    if kind == "negative":  # negative strides in every dim
        rev = tuple(slice(None, None, -1) for _ in x.shape)
        return np.ascontiguousarray(x[rev])[rev]
    if kind == "misaligned":
        return _misaligned(x)
    if kind == "swapped":  # non-native byte order ('>f4' on x86)
        return _swapped(x)
    if kind == "swapped-strided":
        return _layout(_swapped(x), "strided")
    if kind == "misaligned-T":
        return _misaligned(np.ascontiguousarray(x.T)).T
    raise AssertionError(kind)


LAYOUTS = (
    "C",
    "F",
    "T",
    "strided",
    "negative",
    "misaligned",
    "misaligned-T",
    "swapped",
    "swapped-strided",
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lay_a", LAYOUTS)
@pytest.mark.parametrize("lay_b", LAYOUTS)
@pytest.mark.parametrize("shape", [(5, 7, 3), (37, 29, 41)])
def test_gemm_operand_layouts_match_numpy(dtype, lay_a, lay_b, shape):
    m, k, n = shape
    rng = np.random.default_rng(4)
    a = rng.uniform(-1, 1, (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (k, n)).astype(dtype)
    bias = rng.uniform(-1, 1, n).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64) + bias
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12}
    got = _gemm.gemm(_layout(a, lay_a), _layout(b, lay_b), bias=_layout(bias, lay_a))
    assert got.dtype == dtype
    assert got.dtype.isnative
    np.testing.assert_allclose(got, want, **tol)
    # The same through transposes of the stored operands.
    got = _gemm.gemm(
        _layout(np.ascontiguousarray(a.T), lay_b),
        _layout(np.ascontiguousarray(b.T), lay_a),
        trans_a=True,
        trans_b=True,
    )
    np.testing.assert_allclose(got, want - bias, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lay_out", LAYOUTS)
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_gemm_out_layouts_match_numpy(dtype, lay_out, beta):
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (19, 23)).astype(dtype)
    b = rng.uniform(-1, 1, (23, 17)).astype(dtype)
    c0 = rng.uniform(-1, 1, (19, 17)).astype(dtype)
    out = _layout(c0.copy(), lay_out)
    got = _gemm.gemm(a, b, out=out, beta=beta, alpha=2)
    assert got is out
    want = 2 * (a.astype(np.float64) @ b) + beta * c0
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12}
    np.testing.assert_allclose(out.astype(np.float64), want, **tol)
    assert out.dtype == _layout(c0, lay_out).dtype  # byte order kept


@pytest.mark.parametrize("lay", ["swapped", "misaligned", "negative", "strided"])
def test_gemm_batched_layouts_match_numpy(lay):
    rng = np.random.default_rng(6)
    a = rng.uniform(-1, 1, (3, 9, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, (1, 5, 6)).astype(np.float32)
    out = _layout(np.zeros((3, 9, 6), np.float32), lay)
    _gemm.gemm(_layout(a, lay), _layout(b, lay), out=out)
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-5, atol=1e-5)


def test_gemm_zero_stride_operands():
    row = np.arange(4.0)
    a = np.broadcast_to(row, (6, 4))  # every row the same, stride 0
    b = np.broadcast_to(np.arange(3.0), (4, 3))
    np.testing.assert_allclose(_gemm.gemm(a, b), np.asarray(a) @ np.asarray(b))


def test_gemm_non_native_mismatch_is_a_type_error():
    a = _swapped(np.ones((2, 2), np.float32))
    with pytest.raises(TypeError, match=r"got >f4 and float64|got <f4 and float64"):
        _gemm.gemm(a, np.ones((2, 2)))
    with pytest.raises(TypeError, match="bias dtype"):
        _gemm.gemm(a, a, bias=_swapped(np.ones(2)))
    with pytest.raises(TypeError, match="out dtype"):
        _gemm.gemm(a, a, out=_swapped(np.ones((2, 2))))


@pytest.mark.parametrize(
    ("alpha", "beta", "want_alpha", "want_beta"),
    [
        (2, 0, 2.0, 0.0),
        (True, False, 1.0, 0.0),
        (np.float32(0.5), np.float64(1.5), 0.5, 1.5),
        (Fraction(1, 4), Fraction(3, 2), 0.25, 1.5),
        (np.int64(-3), np.int8(2), -3.0, 2.0),
    ],
)
def test_gemm_alpha_beta_real_types(alpha, beta, want_alpha, want_beta):
    a, b = np.full((3, 3), 2.0), np.eye(3)
    out = np.ones((3, 3))
    _gemm.gemm(a, b, alpha=alpha, beta=beta, out=out)
    np.testing.assert_allclose(out, want_alpha * a + want_beta)


@pytest.mark.parametrize("bad", [10**400, -(10**400)])
def test_gemm_alpha_beta_too_large_for_a_float(bad):
    a = np.ones((2, 2))
    for kw in ({"alpha": bad}, {"beta": bad}):
        with pytest.raises(ArgumentError, match="gemm: alpha and beta must be"):
            _gemm.gemm(a, a, **kw)


@pytest.mark.parametrize("bad", [1j, "2", None, [1.0], np.array([1.0, 2.0])])
def test_gemm_alpha_beta_non_real_types(bad):
    a = np.ones((2, 2))
    with pytest.raises(TypeError, match="alpha must be a real number"):
        _gemm.gemm(a, a, alpha=bad)


def test_gemm_nan_alpha_propagates():
    got = _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), alpha=float("nan"))
    assert np.isnan(got).all()


@pytest.mark.parametrize("bad", [0, 1, -1, ["avx2"], np.array(["a", "b"]), b"avx2"])
def test_gemm_isa_of_wrong_type(bad):
    with pytest.raises(ArgumentError, match="unknown ISA"):
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), isa=bad)


def test_has_isa_of_wrong_type():
    assert _gemm.has_isa(None) is False  # "auto" is not a kernel
    for bad in (0, ["avx2"], b"avx2", np.array(["avx2", "x"])):
        with pytest.raises(ArgumentError, match="unknown ISA"):
            _gemm.has_isa(bad)


def test_blocking_with_default_isa():
    for dt in (np.float32, np.float64):
        assert _gemm.blocking(None, dt) == _gemm.blocking(_gemm.best_isa(), dt)


def test_gemm_out_overlap_and_shape():
    a = np.ones((4, 4))
    with pytest.raises(ArgumentError, match="out overlaps a"):
        _gemm.gemm(a, np.ones((4, 4)), out=a)
    big = np.ones((4, 8))
    with pytest.raises(ArgumentError, match="out overlaps b"):
        _gemm.gemm(np.ones((4, 4)), big[:, 2:6], out=big[:, :4])
    with pytest.raises(ArgumentError, match="out overlaps bias"):
        _gemm.gemm(np.ones((4, 4)), np.ones((4, 4)), out=big[:, :4], bias=big[0, :4])
    with pytest.raises(ShapeError, match=r"out must have shape \(4, 4\)"):
        _gemm.gemm(a, a, out=np.ones((4, 4, 1)))
    with pytest.raises(ShapeError, match=r"out must have shape \(0, 4, 4\)"):
        _gemm.gemm(np.ones((1, 4, 4)), np.ones((0, 4, 4)), out=np.ones((1, 4, 4)))
    ro = np.ones((4, 4))
    ro.flags.writeable = False
    with pytest.raises(ArgumentError, match="out is read-only"):
        _gemm.gemm(a, a.copy(), out=ro)
