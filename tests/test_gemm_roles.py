"""The GEMM's operand roles: which operand the packed path reads in place.

Note [A in place] (csrc/gemm/gemm_tmpl.h): when the A of the computed product
has contiguous micro-panel columns (rs_a == 1: a row-major Y in C = X @ Y,
computed as C^T = Y^T X^T) and C has at most MG_GEMM_A_IN_PLACE_MAX_N columns,
the micro-kernels read A where it is instead of a packed copy, and only a last
panel of fewer than MR rows is packed. These tests drive that path (and its
neighbours: the same values packed) against the naive C oracle ("ref"), numpy,
and, bit for bit, the packed path.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _gemm
from tests.helpers import examples
from tests.test_gemm import _expected, _tol

ISAS = _gemm.available_isas()
DTYPES = (np.float32, np.float64)
# The threshold of mg_gemm.h (columns of C as computed, i.e. of C^T for a
# row-major C).
A_IN_PLACE_MAX_N = 384
ACTS = (None, "relu", "sigmoid", "tanh")


def _rand(rng, shape, dtype):
    return rng.uniform(-1, 1, shape).astype(dtype)


def _in_rows(x: np.ndarray, extra: int) -> np.ndarray:
    """``x`` (C-ordered values) as a view into rows ``extra`` elements longer:
    unit column stride, row stride x.shape[1] + extra."""
    wide = np.zeros((x.shape[0], x.shape[1] + extra), x.dtype)
    wide[:, : x.shape[1]] = x
    return wide[:, : x.shape[1]]


def _transposed_copy(x: np.ndarray) -> np.ndarray:
    """The same values, laid out as the transpose of a C-ordered array (unit
    row stride): the layout the packed path packs with a straight copy or
    a transpose, never reads in place as the A of C^T."""
    return np.array(x.T, order="C").T


@given(
    m=st.integers(2, 80),
    n=st.one_of(st.integers(2, 70), st.sampled_from((383, 384, 385))),
    k=st.integers(1, 90),
    extra=st.sampled_from((0, 1, 5)),
    dtype=st.sampled_from(DTYPES),
    isa=st.sampled_from(ISAS),
    threads=st.sampled_from((1, 2)),
    ab=st.sampled_from(((1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (2.0, -0.75))),
    bias=st.booleans(),
    act=st.sampled_from(ACTS),
    blocks=st.sampled_from((None, (32, 16, 24), (40, 7, 60))),
    seed=st.integers(0, 2**16),
)
@examples(60)
def test_row_major_y_read_in_place_matches_ref_and_numpy(
    m, n, k, extra, dtype, isa, threads, ab, bias, act, blocks, seed
):
    # C = X @ Y with C and Y row-major: computed as C^T = Y^T X^T, whose A =
    # Y^T has rs_a == 1 (read in place for n <= 384, rows of Y `extra`
    # elements longer than n); m off the micro-tile edges gives a last
    # panel the driver packs; small blocks put MC and KC edges inside (A in
    # place from a step pc > 0).
    rng = np.random.default_rng(seed)
    alpha, beta = ab
    x = _rand(rng, (m, k), dtype)
    y = _in_rows(_rand(rng, (k, n), dtype), extra)
    b = _rand(rng, (n,), dtype) if bias else None
    c0 = _rand(rng, (m, n), dtype)
    got, ref = c0.copy(), c0.copy()
    kw = dict(alpha=alpha, beta=beta, bias=b, activation=act, isa=isa)
    _gemm.gemm(x, y, out=got, num_threads=threads, path="packed",
               blocks=blocks, **kw)  # fmt: skip
    _gemm.gemm(x, y, out=ref, path="ref", **kw)
    want = _expected(x, y, alpha, beta, c0, b, act)
    np.testing.assert_allclose(got, ref, **_tol(dtype, k))
    np.testing.assert_allclose(got, want, **_tol(dtype, k))


@given(
    m=st.integers(2, 80),
    n=st.integers(2, 60),
    k=st.integers(1, 70),
    dtype=st.sampled_from(DTYPES),
    isa=st.sampled_from(ISAS),
    trans=st.booleans(),
    act=st.sampled_from(ACTS),
    bias=st.booleans(),
    blocks=st.sampled_from((None, (32, 16, 24))),
    seed=st.integers(0, 2**16),
)
@examples(40)
def test_in_place_a_is_bit_identical_to_packed_a(
    m, n, k, dtype, isa, trans, act, bias, blocks, seed
):
    # The same values of Y, once row-major (the A of C^T read in place) and
    # once as a transposed copy (packed): the kernel sums every element in
    # the same order either way, so the results agree bit for bit. With
    # trans, the weight-gradient form g^T @ x of a Linear layer.
    rng = np.random.default_rng(seed)
    y = _rand(rng, (k, n), dtype)
    b = _rand(rng, (n,), dtype) if bias else None
    x = _rand(rng, (k, m) if trans else (m, k), dtype)
    kw = dict(trans_a=trans, bias=b, activation=act, isa=isa, path="packed",
              blocks=blocks)  # fmt: skip
    in_place = _gemm.gemm(x, y, **kw)
    packed = _gemm.gemm(x, _transposed_copy(y), **kw)
    np.testing.assert_array_equal(in_place, packed)
    np.testing.assert_allclose(
        in_place, _expected(x.T if trans else x, y, bias=b, act=act), **_tol(dtype, k)
    )


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_column_major_c_reads_a_in_place(isa, dtype):
    # No role swap for a column-major C: A itself is read in place when it
    # is F-ordered (rs_a == 1); against a C-ordered copy of A (packed with a
    # transpose), bit for bit, with beta, alpha, a per-column bias and edges.
    rng = np.random.default_rng(3)
    for m, n, k in ((70, 45, 33), (33, 384, 17), (96, 13, 100)):
        a = _rand(rng, (m, k), dtype)
        b = _rand(rng, (k, n), dtype)
        bias = _rand(rng, (n,), dtype)
        c0 = np.asfortranarray(_rand(rng, (m, n), dtype))
        outs = []
        for aa in (np.asfortranarray(a), np.ascontiguousarray(a)):
            out = c0.copy(order="F")
            _gemm.gemm(aa, b, out=out, alpha=-1.5, beta=0.5, bias=bias,
                       activation="relu", isa=isa, path="packed")  # fmt: skip
            outs.append(out)
        np.testing.assert_array_equal(outs[0], outs[1])
        want = _expected(a, b, -1.5, 0.5, c0, bias, "relu")
        np.testing.assert_allclose(outs[0], want, **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_mlp_step_shapes_read_in_place(isa, dtype, threads):
    # The products of a 784-128-64-10 batch-64 training step (forward
    # x @ W^T, weight gradient g^T @ x, input gradient g @ W): the backward
    # ones read x^T / W^T in place. Against ref and numpy; two threads agree
    # with one bit for bit.
    rng = np.random.default_rng(4)
    sizes, batch = (784, 128, 64, 10), 64
    for fi, fo in itertools.pairwise(sizes):
        x = _rand(rng, (batch, fi), dtype)
        w = _rand(rng, (fo, fi), dtype)
        g = _rand(rng, (batch, fo), dtype)
        bias = _rand(rng, (fo,), dtype)
        cases = [
            ((x, w), dict(trans_b=True, bias=bias, activation="relu"), fi),
            ((g, x), dict(trans_a=True), batch),
            ((g, w), {}, fo),
        ]
        for (a, b), kw, k in cases:
            got = _gemm.gemm(a, b, isa=isa, num_threads=threads, **kw)
            one = _gemm.gemm(a, b, isa=isa, num_threads=1, **kw)
            ref = _gemm.gemm(a, b, isa=isa, path="ref", **kw)
            np.testing.assert_array_equal(got, one)
            np.testing.assert_allclose(got, ref, **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_a_steps_a_multiple_of_4_kib_apart_are_packed_and_correct(isa, dtype):
    # Rows of Y 4 KiB apart (2 KiB for float64) are packed, not read in
    # place (their columns would share L1 sets); either way the values are
    # right, and equal to the transposed-copy (packed) result bit for bit.
    rng = np.random.default_rng(7)
    period = (4096 if dtype == np.float32 else 2048) // np.dtype(dtype).itemsize
    for n in (period // 8, period // 8 + 3):
        y = _in_rows(_rand(rng, (40, n), dtype), period - n)
        assert y.strides[0] // y.itemsize == period
        x = _rand(rng, (37, 40), dtype)
        got = _gemm.gemm(x, y, isa=isa, path="packed")
        np.testing.assert_array_equal(
            got, _gemm.gemm(x, _transposed_copy(y), isa=isa, path="packed")
        )
        np.testing.assert_allclose(got, _expected(x, y), **_tol(dtype, 40))


@pytest.mark.parametrize("dtype", DTYPES)
def test_in_place_a_reads_nothing_past_the_matrix(dtype):
    # The last panel of fewer than MR rows is packed: read in place, the
    # kernel would load MR rows of the last step, past the end of Y's
    # buffer (only the sanitizer build sees that: the extra rows of the tile
    # are discarded). Y is its own, exactly sized allocation.
    rng = np.random.default_rng(8)
    for isa in ISAS:
        for k, n in ((1, 3), (5, 33), (40, 47), (3, 70)):
            y = np.ascontiguousarray(_rand(rng, (k, n), dtype))
            x = _rand(rng, (9, k), dtype)
            got = _gemm.gemm(x, y, isa=isa, path="packed")
            np.testing.assert_allclose(got, _expected(x, y), **_tol(dtype, k))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [None, "relu"])
def test_edge_tiles_of_contiguous_columns_store_like_the_general_loop(isa, dtype, act):
    # Edge tiles go through a scratch tile; with contiguous columns of C
    # their epilogue runs as one vectorised loop per step, elsewhere as the
    # general one-element loop. A column-major C (fast store on the edges,
    # the kernel's own store inside) and a strided C (the general loop for
    # every tile) agree bit for bit: beta = 0, so both round alpha * AB +
    # bias the same way.
    rng = np.random.default_rng(9)
    for m, n, k in ((70, 45, 33), (33, 13, 17), (5, 70, 40)):
        a, b = _rand(rng, (m, k), dtype), _rand(rng, (k, n), dtype)
        bias = _rand(rng, (n,), dtype)
        col = np.empty((n, m), dtype).T
        strided = np.empty((2 * m, 3 * n), dtype)[::2, ::3]
        for out in (col, strided):
            _gemm.gemm(a, b, out=out, alpha=-1.25, bias=bias, activation=act,
                       isa=isa, path="packed")  # fmt: skip
        np.testing.assert_array_equal(col, strided)
        want = _expected(a, b, -1.25, bias=bias, act=act)
        np.testing.assert_allclose(col, want, **_tol(dtype, k))
