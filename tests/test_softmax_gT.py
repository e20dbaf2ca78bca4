"""softmax / log_softmax backward with y and its gradient laid out differently
(issue 16): both are read in place by the row kernel (Note [Transposed
gradient] in csrc/softmax/softmax_impl.h), the strided one gathered a block of
rows at a time through in-register tile transposes. The row kernel runs on
the same values in the same order, so the result has the bits of the
contiguous rows (the axis last), on every instruction set, at every tile edge,
for every layout the wrapper takes in place; the others are copied as before
and agree to rounding."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _softmax as S
from tests.helpers import examples
from tests.test_softmax_layouts import ISAS, _case, _layout

TOL = {
    np.float32: {"rtol": 2e-5, "atol": 2e-6},
    np.float64: {"rtol": 1e-12, "atol": 1e-14},
}
# Tile edges: AVX-512 tiles are 16 (float32) / 8 (float64) wide, AVX2's 8 / 4,
# the row blocks 16 / 8 rows.
SIDES = [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40]


def _rows_ref(y, g, dim, log, isa):
    """The backward of C-contiguous rows (the axis moved last), moved back."""
    yc = np.ascontiguousarray(np.moveaxis(y, dim, -1))
    gc = np.ascontiguousarray(np.moveaxis(g, dim, -1))
    return np.moveaxis(S.softmax_bwd(yc, gc, -1, log=log, isa=isa), -1, dim)


def _yg(shape, dtype, dim, log, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    return S.softmax_fwd(x, dim, log=log), g


def _same_bits(got, want):
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_2d_transposes_same_bits_at_tile_edges(isa, dtype, log):
    for n in SIDES:
        for d in SIDES:
            y, g = _yg((n, d), dtype, -1, log, seed=n * 100 + d)
            want = _rows_ref(y, g, -1, log, isa)
            yt, gt = _layout(y, [1, 0]), _layout(g, [1, 0])
            for yl, gl in ((y, gt), (yt, g)):  # either one transposed
                if min(n, d) > 1:
                    assert S.bwd_reads_in_place(yl, gl, -1)
                _same_bits(S.softmax_bwd(yl, gl, -1, log=log, isa=isa), want)
            # The axis first: the operand whose axis is contiguous leads.
            want0 = _rows_ref(y.T, g.T, 0, log, isa)
            for yl, gl in ((yt.T, g.T), (y.T, gt.T)):
                _same_bits(S.softmax_bwd(yl, gl, 0, log=log, isa=isa), want0)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_layout_same_bits(isa, dtype):
    """(B, H, T, T) with the last two axes of the gradient swapped: y.T @ v's
    gradient. Batches of rows, each block gathered by tiles."""
    for t in (5, 16, 17, 33):
        for dim in (-1, 3):
            for log in (False, True):
                y, g = _yg((2, 3, t, t), dtype, dim, log, seed=t)
                gl = _layout(g, [0, 1, 3, 2])
                assert S.bwd_reads_in_place(y, gl, dim)
                got = S.softmax_bwd(y, gl, dim, log=log, isa=isa)
                _same_bits(got, _rows_ref(y, g, dim, log, isa))


@pytest.mark.parametrize("isa", ISAS)
@examples(60, deadline=None)
@given(case=_case(max_side=20), perm_y=st.data(), log=st.booleans())
def test_any_two_layouts_match_contiguous_rows(isa, case, perm_y, log):
    """Every pair of layouts of y and g (3-D and 4-D permutations, negative
    dims, size-1 and zero-size axes): bits of the contiguous rows when read
    in place, else (copied) the same to rounding."""
    x, g, perm, dim, dtype = case
    py = list(perm_y.draw(st.permutations(range(x.ndim))))
    y = S.softmax_fwd(x, dim, log=log)
    want = _rows_ref(y, g, dim, log, isa)
    for yl, gl in (
        (y, _layout(g, perm)),
        (_layout(y, py), g),
        (_layout(y, py), _layout(g, perm)),
    ):
        got = S.softmax_bwd(yl, gl, dim, log=log, isa=isa)
        assert got.shape == x.shape
        assert got.dtype == dtype
        if S.bwd_reads_in_place(yl, gl, dim):
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize(
    ("shape", "perm_y", "perm_g", "dim"),
    [
        ((6, 7, 9), [0, 1, 2], [2, 0, 1], -1),  # rows of two axes merge
        ((6, 7, 9), [0, 1, 2], [1, 0, 2], 2),  # rows contiguous, batches not
        ((6, 7, 9), [0, 1, 2], [1, 2, 0], -1),  # no (batch, row) split
        ((6, 7, 9), [2, 0, 1], [0, 1, 2], -1),
        ((6, 7, 9), [0, 1, 2], [2, 1, 0], 1),  # axis in the middle
        ((1, 7, 1, 9), [0, 1, 2, 3], [3, 2, 1, 0], -1),  # size-1 axes
        ((4, 5, 6, 7), [0, 1, 2, 3], [3, 1, 2, 0], -3),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_3d_4d_layouts(shape, perm_y, perm_g, dim, dtype):
    for log in (False, True):
        y, g = _yg(shape, dtype, dim, log)
        yl, gl = _layout(y, perm_y), _layout(g, perm_g)
        got = S.softmax_bwd(yl, gl, dim, log=log)
        want = _rows_ref(y, g, dim, log, None)
        if S.bwd_reads_in_place(yl, gl, dim):
            _same_bits(got, want)
        else:
            np.testing.assert_allclose(got, want, **TOL[dtype])


def test_in_place_plan_covers_the_common_layouts():
    y = np.ones((6, 7, 9), np.float32)
    g = np.ones((6, 7, 9), np.float32)
    assert S.bwd_reads_in_place(y, _layout(g, [2, 0, 1]), -1)
    assert S.bwd_reads_in_place(y, _layout(g, [1, 0, 2]), -1)
    assert S.bwd_reads_in_place(_layout(y, [2, 1, 0]), g, -1)
    assert S.bwd_reads_in_place(y, _layout(g, [0, 2, 1]), 1)
    # Laid out alike, broadcast, or neither rows nor axis contiguous: no.
    assert not S.bwd_reads_in_place(y, g, -1)
    assert not S.bwd_reads_in_place(y, np.broadcast_to(np.float32(1), y.shape), -1)
    assert not S.bwd_reads_in_place(y, g[:, :, ::1].repeat(2, 2)[:, :, ::2], -1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0), (2, 0, 3)])
def test_zero_size(dtype, shape):
    y = np.zeros(shape, dtype)
    g = _layout(np.zeros(shape, dtype), list(range(len(shape)))[::-1])
    for log in (False, True):
        got = S.softmax_bwd(y, g, -1, log=log)
        assert got.shape == shape
        assert got.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_same_bits(dtype):
    y, g = _yg((300, 301), dtype, -1, False)
    gt = _layout(g, [1, 0])
    one = S.softmax_bwd(y, gt, -1, nthreads=1)
    for nt in (2, 3):
        _same_bits(S.softmax_bwd(y, gt, -1, nthreads=nt), one)
    _same_bits(one, _rows_ref(y, g, -1, False, None))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values(dtype):
    y, g = _yg((20, 17), dtype, -1, True)
    y[3, 4] = np.nan
    y[5, 2] = 200.0  # a log_softmax output no forward gives: e^y = inf
    g[7, 1] = np.inf
    for log in (False, True):
        with np.errstate(all="ignore"):
            got = S.softmax_bwd(y, _layout(g, [1, 0]), -1, log=log)
            _same_bits(got, _rows_ref(y, g, -1, log, None))


def test_errors():
    y = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="dtype"):
        S.softmax_bwd(y, _layout(np.ones((3, 4), np.float64), [1, 0]), -1)
    with pytest.raises(mg.errors.ShapeError, match="grad_out"):
        S.softmax_bwd(y, _layout(np.ones((4, 3), np.float32), [1, 0]), -1)
    with pytest.raises(mg.errors.ShapeError, match="dim 2"):
        S.softmax_bwd(y, _layout(np.ones((3, 4), np.float32), [1, 0]), 2)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tensor_api_transposed_gradient_same_bits(log, dtype):
    """y = softmax(x) used as y.T sends y a transposed gradient; x.grad has
    the bits of the contiguous rows of the same gradient."""
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((37, 21)).astype(dtype), requires_grad=True)
    fn = F.log_softmax if log else F.softmax
    y = fn(x, -1)
    w = rng.standard_normal((21, 37)).astype(dtype)
    (y.T * mg.tensor(w)).sum().backward()
    want = _rows_ref(y.numpy(), np.ascontiguousarray(w.T), -1, log, None)
    _same_bits(x.grad.numpy(), want)


@examples(15, deadline=None)
@given(n=st.integers(1, 5), d=st.integers(1, 5), log=st.booleans())
def test_gradcheck_gradgradcheck_transposed_gradient(n, d, log):
    rng = np.random.default_rng(n * 10 + d)
    x = mg.tensor(rng.standard_normal((n, d)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((d, n)))
    fn = F.log_softmax if log else F.softmax

    def f(a):
        return fn(a, -1).T * w  # the gradient reaching softmax is transposed

    def f3(a):  # 3-D, the last two axes swapped, dim negative
        return fn(a.reshape(1, n, d), -1).transpose(1, 2) * w

    for fun in (f, f3):
        assert mg.autograd.gradcheck(fun, (x,))
        assert mg.autograd.gradgradcheck(fun, (x,))


@examples(20, deadline=None)
@given(case=_case(max_side=20), log=st.booleans())
def test_matches_torch_transposed_gradient(case, log):
    torch = pytest.importorskip("torch")
    x, g, perm, dim, dtype = case
    y = S.softmax_fwd(x, dim, log=log)
    gl = _layout(g, perm)
    got = S.softmax_bwd(y, gl, dim, log=log)
    tb = torch._log_softmax_backward_data if log else torch._softmax_backward_data
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    want = tb(torch.from_numpy(gl.copy()), torch.from_numpy(y), dim % x.ndim, tdt)
    assert got.dtype == want.numpy().dtype
    np.testing.assert_allclose(got, want.numpy(), **TOL[dtype])
