"""The GEMM kernel (minigrad._C._gemm) against numpy and its naive C oracle,
over sizes, layouts, dtypes, alpha/beta, epilogues, every ISA this CPU has,
and every validation branch of the Cython wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _gemm

ISAS = _gemm.available_isas()
DTYPES = (np.float32, np.float64)
LAYOUTS = ("C", "F", "T", "strided", "reversed")
# Sizes around every micro-tile edge (MR, NR of all kernels are <= 32), primes.
EDGE_SIZES = (0, 1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 17, 31, 32, 33, 37)


def _layout(x: np.ndarray, kind: str) -> np.ndarray:
    """A copy of ``x`` in the memory layout ``kind`` (same shape and values)."""
    if kind == "C":
        return np.array(x, order="C")
    if kind == "F":
        return np.array(x, order="F")
    if kind == "T":  # a transposed view of a C-ordered array
        return np.array(x.T, order="C").T
    if kind == "strided":  # a slice with steps in both dims
        big = np.zeros((2 * x.shape[0] + 1, 3 * x.shape[1] + 2), x.dtype)
        big[1::2, 2::3] = x
        return big[1::2, 2::3]
    if kind == "reversed":  # negative strides
        return np.array(x[::-1, ::-1], order="C")[::-1, ::-1]
    raise AssertionError(kind)


def _expected(a, b, alpha=1.0, beta=0.0, c=None, bias=None, act=None):
    """The result in float64 (an accurate reference for both dtypes)."""
    z = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    if beta != 0:
        z = z + beta * c.astype(np.float64)
    if bias is not None:
        z = z + bias.astype(np.float64)
    if act == "relu":
        z = np.maximum(z, 0)
    elif act == "sigmoid":
        z = 1 / (1 + np.exp(-z))
    elif act == "tanh":
        z = np.tanh(z)
    return z


def _tol(dtype, k: int) -> dict[str, float]:
    # Rounding error of a length-k dot product grows ~ k * eps (worst case);
    # inputs are O(1), so an absolute bound scaled by k is tight enough.
    eps = np.finfo(dtype).eps
    return {"rtol": 8 * eps, "atol": 4 * eps * (k + 4)}


def _rand(rng, shape, dtype):
    return rng.uniform(-1, 1, shape).astype(dtype)


@given(
    m=st.sampled_from(EDGE_SIZES),
    n=st.sampled_from(EDGE_SIZES),
    k=st.sampled_from(EDGE_SIZES),
    dtype=st.sampled_from(DTYPES),
    isa=st.sampled_from(ISAS),
    path=st.sampled_from(("auto", "packed", "direct")),
    lay=st.tuples(*[st.sampled_from(LAYOUTS)] * 3),
    ab=st.sampled_from(((1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (2.0, -0.75), (0.0, 0.5))),
    small_blocks=st.booleans(),
    threads=st.sampled_from((1, 2)),
    seed=st.integers(0, 2**16),
)
def test_gemm_matches_numpy_and_ref(
    m, n, k, dtype, isa, path, lay, ab, small_blocks, threads, seed
):
    rng = np.random.default_rng(seed)
    alpha, beta = ab
    a = _layout(_rand(rng, (m, k), dtype), lay[0])
    b = _layout(_rand(rng, (k, n), dtype), lay[1])
    c0 = _rand(rng, (m, n), dtype) if beta != 0 else np.full((m, n), np.nan, dtype)
    out = _layout(c0, lay[2])
    # Small cache blocks put block edges (MC, KC, NC) inside these small sizes.
    blocks = (8, 5, 16) if small_blocks else None
    res = _gemm.gemm(
        a, b, out=out, alpha=alpha, beta=beta, isa=isa, path=path,
        num_threads=threads, blocks=blocks,
    )  # fmt: skip
    assert res is out
    ref = _gemm.gemm(a, b, out=_layout(c0, "C"), alpha=alpha, beta=beta, path="ref")
    want = _expected(a, b, alpha, beta, c0)
    np.testing.assert_allclose(out, want, **_tol(dtype, k))
    np.testing.assert_allclose(out, ref, **_tol(dtype, k))
    assert not np.isnan(out).any()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("m", "n", "k"),
    # non-multiples of every default block (MC <= 320, KC <= 384) and tile
    [(331, 97, 401), (67, 531, 389), (257, 263, 769)],
)
def test_gemm_large_shapes_match_numpy(isa, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    a, b = _rand(rng, (m, k), dtype), _rand(rng, (k, n), dtype)
    for lay_a, lay_b in (("C", "C"), ("T", "F")):
        got = _gemm.gemm(_layout(a, lay_a), _layout(b, lay_b), isa=isa, num_threads=2)
        np.testing.assert_allclose(got, _expected(a, b), **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_threads_give_identical_results(isa, dtype):
    # Each tile of C is summed by one thread in a fixed order: the thread count
    # must not change a single bit.
    rng = np.random.default_rng(1)
    a, b = _rand(rng, (300, 500), dtype), _rand(rng, (500, 200), dtype)
    one = _gemm.gemm(a, b, isa=isa, num_threads=1)
    two = _gemm.gemm(a, b, isa=isa, num_threads=2)
    np.testing.assert_array_equal(one, two)
    # Small blocks: several NC panels, KC slices and MC blocks shared by threads.
    blocks = (64, 96, 48)
    two = _gemm.gemm(a, b, isa=isa, num_threads=2, blocks=blocks, bias=b[0])
    one = _gemm.gemm(a, b, isa=isa, num_threads=1, blocks=blocks, bias=b[0])
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(two, _expected(a, b, bias=b[0]), **_tol(dtype, 500))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [None, "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("path", ["auto", "packed", "direct", "ref"])
def test_gemm_epilogue_bias_activation(isa, dtype, act, path):
    rng = np.random.default_rng(2)
    x, w = _rand(rng, (45, 70), dtype), _rand(rng, (37, 70), dtype)
    bias = _rand(rng, (37,), dtype) * 3
    got = _gemm.gemm(x, w, trans_b=True, bias=bias, activation=act, isa=isa, path=path)
    want = _expected(x, w.T, bias=bias, act=act)
    np.testing.assert_allclose(got, want, **_tol(dtype, 70))
    # Column-major output puts the bias along the kernel's other axis.
    out = np.full((37, 45), np.nan, dtype).T
    _gemm.gemm(x, w, trans_b=True, bias=bias[::-1][::-1], activation=act, out=out)
    np.testing.assert_allclose(out, want, **_tol(dtype, 70))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_epilogue_is_stable_and_keeps_nan(dtype):
    a = np.array([[1000.0], [-1000.0], [np.nan]], dtype)
    b = np.ones((1, 1), dtype)
    sig = _gemm.gemm(a, b, activation="sigmoid")
    assert sig[0, 0] == 1
    assert sig[1, 0] == 0
    assert np.isnan(sig[2, 0])
    assert np.isnan(_gemm.gemm(a, b, activation="relu")[2, 0])
    np.testing.assert_array_equal(_gemm.gemm(a, b, activation="tanh")[:2, 0], [1, -1])


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("path", ["packed", "direct"])
def test_gemm_epilogue_sigmoid_tanh_within_few_ulp(isa, dtype, act, path):
    # The AVX-512 epilogue has its own exp/expm1; tanh must keep its relative
    # accuracy near 0 and sigmoid must not overflow at large |x|.
    x = np.concatenate(
        [np.linspace(-30, 30, 20001), np.logspace(-30, 2.5, 500)]
    ).astype(dtype)
    x = np.concatenate([x, -x])
    ref = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}[act]
    want = ref(x.astype(np.float64)).astype(dtype)
    got = _gemm.gemm(x[:, None], np.ones((1, 1), dtype), activation=act, isa=isa,
                     path=path)[:, 0]  # fmt: skip
    ulps = np.abs(got - want) / np.spacing(np.abs(want))
    assert ulps.max() <= 4


@pytest.mark.parametrize("path", ["auto", "packed", "direct", "ref"])
def test_gemm_alpha_zero_and_k_zero_do_not_read_a_b(path):
    a = np.full((4, 3), np.nan)
    b = np.full((3, 5), np.inf)
    c = np.ones((4, 5))
    _gemm.gemm(a, b, out=c, alpha=0.0, beta=2.0, path=path)
    np.testing.assert_array_equal(c, 2.0)
    bias = np.arange(5.0)
    got = _gemm.gemm(np.empty((4, 0)), np.empty((0, 5)), bias=bias, path=path)
    np.testing.assert_array_equal(got, np.broadcast_to(bias, (4, 5)))


def test_gemm_propagates_nan_from_inputs():
    a = np.ones((40, 40), np.float32)
    a[3, 7] = np.nan
    got = _gemm.gemm(a, np.ones((40, 40), np.float32))
    assert np.isnan(got[3]).all()
    assert not np.isnan(np.delete(got, 3, axis=0)).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_batched_broadcasts_a_batch_of_one(dtype):
    rng = np.random.default_rng(3)
    a, b = _rand(rng, (4, 30, 50), dtype), _rand(rng, (1, 50, 20), dtype)
    np.testing.assert_allclose(_gemm.gemm(a, b), a @ b, **_tol(dtype, 50))
    left = _rand(rng, (1, 20, 30), dtype)
    np.testing.assert_allclose(_gemm.gemm(left, a), left @ a, **_tol(dtype, 30))


def test_gemm_misaligned_and_odd_strides_are_handled():
    # C must never see data at an odd byte offset or byte strides that are not
    # whole elements: the wrapper copies inputs and computes into a temporary
    # for out.
    vals = np.arange(60, dtype=np.float32).reshape(6, 10)
    raw = np.zeros(42 * 6 + 40, np.uint8)
    for i in range(6):  # row i at byte 42 * i: rows alternate alignment
        raw[42 * i : 42 * i + 40] = vals[i].view(np.uint8)
    a = np.ndarray((6, 10), np.float32, raw.data, strides=(42, 4))
    np.testing.assert_array_equal(a, vals)
    assert not a.flags.aligned
    b = np.ones((10, 3), np.float32)
    np.testing.assert_allclose(_gemm.gemm(a, b), vals @ b)
    out_raw = np.zeros(4 * 18 + 1, np.uint8)
    out = np.frombuffer(out_raw.data, np.float32, 18, offset=1).reshape(6, 3)
    assert not out.flags.aligned
    assert out.flags.writeable
    _gemm.gemm(a, b, out=out)
    np.testing.assert_allclose(out, vals @ b)


def test_gemm_out_with_self_overlapping_layout_is_written_via_a_copy():
    base = np.zeros(8, np.float64)
    # Rows overlap each other (stride 1 element, 4 columns): not one-to-one.
    out = np.lib.stride_tricks.as_strided(base, (3, 4), (8, 8), writeable=True)
    a, b = np.ones((3, 2)), np.ones((2, 4))
    _gemm.gemm(a, b, out=out)  # numpy's assignment semantics, no crash
    np.testing.assert_array_equal(base[:6], 2.0)


# ---- validation: every branch names the problem --------------------------


def test_gemm_rejects_non_arrays():
    with pytest.raises(TypeError, match="gemm: a must be a numpy array, got list"):
        _gemm.gemm([[1.0]], np.ones((1, 1)))
    with pytest.raises(TypeError, match="gemm: b must be a numpy array"):
        _gemm.gemm(np.ones((1, 1)), 3.0)


@pytest.mark.parametrize(
    ("da", "db"),
    [(np.float32, np.float64), (np.int64, np.int64), (np.float16, np.float16)],
)
def test_gemm_rejects_dtypes(da, db):
    with pytest.raises(TypeError, match="a and b must both be float32 or both float64"):
        _gemm.gemm(np.ones((2, 2), da), np.ones((2, 2), db))


def test_gemm_rejects_shapes():
    with pytest.raises(
        ValueError, match=r"inner dimensions differ: \(2, 3\) @ \(4, 5\)"
    ):
        _gemm.gemm(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"\(3, 2\)ᵀ @ \(3, 5\)ᵀ"):
        _gemm.gemm(np.ones((3, 2)), np.ones((3, 5)), trans_a=True, trans_b=True)
    with pytest.raises(
        ValueError, match=r"two 2-D or two 3-D arrays, got shapes \(3,\)"
    ):
        _gemm.gemm(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="two 2-D or two 3-D"):
        _gemm.gemm(np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="batch sizes differ"):
        _gemm.gemm(np.ones((2, 3, 4)), np.ones((3, 4, 5)))


def test_gemm_rejects_bad_out():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(TypeError, match="out must be a numpy array"):
        _gemm.gemm(a, b, out=[0.0])
    with pytest.raises(TypeError, match="out dtype float32 differs"):
        _gemm.gemm(a, b, out=np.empty((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 4\).*got \(4, 2\)"):
        _gemm.gemm(a, b, out=np.empty((4, 2)))
    ro = np.empty((2, 4))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        _gemm.gemm(a, b, out=ro)
    sq = np.ones((3, 3))
    with pytest.raises(ValueError, match="out overlaps a"):
        _gemm.gemm(sq, sq.copy(), out=sq)
    with pytest.raises(ValueError, match="out overlaps b"):
        _gemm.gemm(sq.copy(), sq[:, ::-1], out=sq)
    bias = np.zeros(12)
    with pytest.raises(ValueError, match="out overlaps bias"):
        _gemm.gemm(a, b, bias=bias[4:8], out=bias.reshape(3, 4)[1:])


def test_gemm_rejects_bad_bias():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(TypeError, match="bias must be a numpy array"):
        _gemm.gemm(a, b, bias=[1.0] * 4)
    with pytest.raises(TypeError, match="bias dtype float32 differs"):
        _gemm.gemm(a, b, bias=np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\).*got \(3,\)"):
        _gemm.gemm(a, b, bias=np.ones(3))


def test_gemm_rejects_bad_options():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    with pytest.raises(TypeError, match="alpha must be a real number, got str"):
        _gemm.gemm(a, b, alpha="2")
    with pytest.raises(TypeError, match="beta must be a real number"):
        _gemm.gemm(a, b, beta=None)
    with pytest.raises(ValueError, match="activation must be one of"):
        _gemm.gemm(a, b, activation="gelu")
    with pytest.raises(ValueError, match="path must be one of"):
        _gemm.gemm(a, b, path="fast")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="num_threads must be a positive int"):
            _gemm.gemm(a, b, num_threads=bad)
    with pytest.raises(ValueError, match="blocks must be three positive ints"):
        _gemm.gemm(a, b, blocks=(8, 0, 8))
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        _gemm.gemm(a, b, isa="sse9")


def test_gemm_rejects_isa_the_cpu_lacks(monkeypatch):
    missing = [i for i in _gemm.ISAS if i not in ISAS]
    if not missing:
        pytest.skip("this CPU runs every kernel")
    with pytest.raises(RuntimeError, match=f"does not support the {missing[0]} kernel"):
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), isa=missing[0])


def test_gemm_empty_outputs_return_early():
    got = _gemm.gemm(np.ones((0, 3), np.float32), np.ones((3, 4), np.float32))
    assert got.shape == (0, 4)
    assert got.dtype == np.float32
    got = _gemm.gemm(np.ones((2, 3)), np.ones((3, 0)), bias=np.ones(0))
    assert got.shape == (2, 0)
    got = _gemm.gemm(np.ones((0, 2, 3)), np.ones((0, 3, 4)))
    assert got.shape == (0, 2, 4)


def test_gemm_info_functions():
    assert "generic" in ISAS
    assert _gemm.best_isa() == ISAS[-1]
    assert _gemm.has_isa("generic")
    mr, nr, mc, kc, nc = _gemm.blocking("generic", np.float64)
    assert mc % mr == 0
    assert nc % nr == 0
    assert kc > 0
    assert _gemm.compiler()
    with pytest.raises(TypeError, match="float32 or float64"):
        _gemm.blocking("generic", np.int32)


# ---- paths chosen by layout and shape (csrc/gemm/gemm_tmpl.h) --------------


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [None, "relu", "sigmoid"])
def test_gemm_edge_panels_use_narrow_kernels(isa, dtype, act):
    # For a row-major C the kernel computes C^T, so C's row count m is cut
    # into NR-column panels. m = NR / 3 and 2 * NR / 3 past a multiple of NR
    # end on a panel the narrow kernels fill exactly (written in place, with
    # the epilogue); the other remainders go through the scratch tile. Both
    # must give the same as the full path.
    mr, nr = _gemm.blocking(isa, dtype)[:2]
    rng = np.random.default_rng(4)
    for m in (nr // 3, 2 * nr // 3, nr + nr // 3, nr + 2 * nr // 3, nr + 1, 2 * nr - 1):
        n, k = 2 * mr, 29
        a, b = _rand(rng, (m, k), dtype), _rand(rng, (k, n), dtype)
        bias, c0 = _rand(rng, (n,), dtype), _rand(rng, (m, n), dtype)
        want = _expected(a, b, 0.5, -1.5, c0, bias, act)
        for order in ("C", "F"):
            out = np.array(c0, order=order)
            _gemm.gemm(a, b, out=out, alpha=0.5, beta=-1.5, bias=bias,
                       activation=act, isa=isa, path="packed")  # fmt: skip
            np.testing.assert_allclose(out, want, **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_gemm_b_read_in_place_and_packed(isa, dtype, threads):
    # For a row-major C the kernel computes C^T = B^T A^T and reads a
    # row-major A in place as its B (no transposing copy): rows k apart, a
    # slice with longer rows; rows 4 KiB apart (2 KiB for float64) are packed
    # (a transpose) instead, and 2 KiB apart in float32 read in place. An
    # F-ordered A is packed (a straight copy). Small blocks put KC and MC
    # edges inside.
    rng = np.random.default_rng(5)
    kk = 2048 // np.dtype(dtype).itemsize
    for k in (kk, 2 * kk, kk - 1, kk + 3):
        a, b = _rand(rng, (70, k), dtype), _rand(rng, (k, 45), dtype)
        want = _expected(a, b)
        wide = np.zeros((70, k + 5), dtype)
        wide[:, :k] = a
        for aa in (a, wide[:, :k], np.asfortranarray(a)):
            for blocks in (None, (64, 100, 24)):
                got = _gemm.gemm(aa, b, isa=isa, num_threads=threads,
                                 path="packed", blocks=blocks)  # fmt: skip
                np.testing.assert_allclose(got, want, **_tol(dtype, k))
        # Column-major C: B itself is the one read in place when its columns
        # are contiguous.
        out = np.full((45, 70), np.nan, dtype).T
        _gemm.gemm(a, np.asfortranarray(b), out=out, isa=isa, num_threads=threads)
        np.testing.assert_allclose(out, want, **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("x_order", ["C", "F"])
@pytest.mark.parametrize(
    ("m", "k", "n"),
    # the MLP shapes of the benchmark, n scaled down where the tests would be
    # slow
    [(64, 784, 128), (256, 784, 200), (96, 512, 300)],
)
def test_gemm_threads_split_mlp_shapes_identically(isa, x_order, m, k, n):
    # Two threads cut C into work items (row groups of W with x read in
    # place; with x F-ordered, and so packed, fewer and wider items) that one
    # thread does not, but each tile is still summed in the same order:
    # bit-identical.
    rng = np.random.default_rng(6)
    x = np.array(_rand(rng, (m, k), np.float32), order=x_order)
    w, bias = _rand(rng, (k, n), np.float32), _rand(rng, (n,), np.float32)
    one = _gemm.gemm(x, w, bias=bias, activation="relu", isa=isa, num_threads=1)
    two = _gemm.gemm(x, w, bias=bias, activation="relu", isa=isa, num_threads=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_allclose(
        one, _expected(x, w, bias=bias, act="relu"), **_tol(np.float32, k)
    )
