"""softmax / log_softmax backward over the layouts autograd hands it (issue
16): a transposed y with its gradient laid out alike (wide blocks over the
inner axis, Note [Strided backward] in softmax_impl.h), the broadcast scalar
gradient of ``.sum()`` / ``.mean()`` (read as one row, never materialised),
and y and the gradient in different layouts. Each gives what the contiguous
path gives, to rounding: the layouts sum the axis in different orders, and an
element may fall in a vector body in one and a scalar remainder in the other
(float64's scalar exp is libm's, its vector exp libmvec's), so no test asks
for bits across layouts."""

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

# The contiguous row kernel and the blocks over inner positions sum the axis
# in different orders; SAME is for the same sums (the last ulp or two).
TOL = {
    np.float32: {"rtol": 2e-5, "atol": 2e-6},
    np.float64: {"rtol": 1e-12, "atol": 1e-14},
}
SAME = {
    np.float32: {"rtol": 1e-6, "atol": 1e-6},
    np.float64: {"rtol": 1e-14, "atol": 1e-14},
}


def _ref(y: np.ndarray, g: np.ndarray, dim: int, log: bool) -> np.ndarray:
    """The backward in float64 numpy."""
    y64, g64 = y.astype(np.float64), g.astype(np.float64)
    if log:
        return g64 - np.exp(y64) * g64.sum(dim, keepdims=True)
    return y64 * (g64 - (g64 * y64).sum(dim, keepdims=True))


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(case=_case(min_dims=1), log=st.booleans(), value=st.floats(-4, 4, width=32))
def test_broadcast_grad_is_the_materialised_one(isa, case, log, value):
    x, _, perm, dim, dtype = case
    y = S.softmax_fwd(x, dim, log=log, isa=isa)
    g0 = np.broadcast_to(dtype(value), x.shape)
    for yl in (y, _layout(y, perm)):
        got = S.softmax_bwd(yl, g0, dim, log=log, isa=isa)
        want = S.softmax_bwd(yl, np.ascontiguousarray(g0), dim, log=log, isa=isa)
        assert got.dtype == dtype
        assert got.shape == x.shape
        np.testing.assert_allclose(got, want, **SAME[dtype])
        np.testing.assert_allclose(got, _ref(y, g0, dim, log), **TOL[dtype])


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(case=_case(min_dims=1), log=st.booleans())
def test_transposed_and_mixed_layouts_match_contiguous(isa, case, log):
    x, g, perm, dim, dtype = case
    y = S.softmax_fwd(x, dim, log=log, isa=isa)
    want = S.softmax_bwd(y, g, dim, log=log, isa=isa)
    np.testing.assert_allclose(want, _ref(y, g, dim, log), **TOL[dtype])
    for yl, gl in (
        (_layout(y, perm), _layout(g, perm)),
        (_layout(y, perm), g),
        (y, _layout(g, perm)),
    ):
        got = S.softmax_bwd(yl, gl, dim, log=log, isa=isa)
        assert got.dtype == dtype
        assert got.shape == x.shape
        np.testing.assert_allclose(got, want, **TOL[dtype])


# Inner extents across the block width (1024) and the split of one outer
# index's blocks between threads (work >= MG_SOFTMAX_PAR_MIN = 65536).
@pytest.mark.parametrize(
    ("shape", "dim"),
    [((70, 1101), 0), ((2, 3, 2101), 1), ((300, 301), 0), ((5, 257, 61), -2)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("log", [False, True])
def test_wide_blocks_and_threads(shape, dim, dtype, log):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype) * 4
    g = rng.standard_normal(shape).astype(dtype)
    y = S.softmax_fwd(x, dim, log=log)
    ref = _ref(y, g, dim, log)
    # float32 sums of up to 2100 terms against float64 ones: looser.
    tol = {"rtol": 1e-4, "atol": 5e-5} if dtype == np.float32 else TOL[dtype]
    one = S.softmax_bwd(y, g, dim, log=log, nthreads=1)
    np.testing.assert_allclose(one, ref, **tol)
    for nt in (2, 3):  # the same sums, whatever the split
        np.testing.assert_allclose(
            S.softmax_bwd(y, g, dim, log=log, nthreads=nt), one, **SAME[dtype]
        )
    g0 = np.broadcast_to(dtype(0.75), shape)
    for nt in (1, 2):
        np.testing.assert_allclose(
            S.softmax_bwd(y, g0, dim, log=log, nthreads=nt),
            S.softmax_bwd(y, np.ascontiguousarray(g0), dim, log=log, nthreads=1),
            **SAME[dtype],
        )
    yt = _layout(y, list(range(y.ndim))[::-1])
    np.testing.assert_allclose(
        S.softmax_bwd(yt, _layout(g, list(range(y.ndim))[::-1]), dim, log=log),
        ref,
        **tol,
    )


def test_broadcast_grad_errors():
    y = np.full((2, 3), 1 / 3, np.float32)
    with pytest.raises(TypeError, match="grad_out has dtype float64"):
        S.softmax_bwd(y, np.broadcast_to(np.float64(1), (2, 3)), 1)
    with pytest.raises(mg.errors.ShapeError, match="grad_out"):
        S.softmax_bwd(y, np.broadcast_to(np.float32(1), (3, 3)), 1)
    out = np.empty((2, 3), np.float32)  # with out: the materialised path
    g0 = np.broadcast_to(np.float32(2), (2, 3))
    S.softmax_bwd(y, g0, 1, out=out)
    np.testing.assert_allclose(out, S.softmax_bwd(y, g0, 1), **SAME[np.float32])


@examples(25, deadline=None)
@given(case=_case(min_dims=1, max_side=5), log=st.booleans(), mean=st.booleans())
def test_tensor_api_sum_and_mean_backward(case, log, mean):
    x, _, perm, dim, dtype = case
    fn = F.log_softmax if log else F.softmax
    grads = []
    for xl in (x, _layout(x, perm)):
        xm = mg.tensor(xl, requires_grad=True)
        y = fn(xm, dim)
        (y.mean() if mean else y.sum()).backward()
        grads.append(xm.grad.numpy())
        xt = mg.tensor(np.ascontiguousarray(np.swapaxes(xl, 0, -1)), requires_grad=True)
        y = fn(xt.transpose(0, -1), dim)  # a transposed view of a leaf
        (y.mean() if mean else y.sum()).backward()
        grads.append(np.swapaxes(xt.grad.numpy(), 0, -1))
    for gx in grads[1:]:
        assert gx.dtype == dtype
        np.testing.assert_allclose(gx, grads[0], **TOL[dtype])


@examples(20, deadline=None)
@given(case=_case(min_dims=1), log=st.booleans(), mean=st.booleans())
def test_matches_torch(case, log, mean):
    torch = pytest.importorskip("torch")
    x, g, perm, dim, dtype = case
    xl = _layout(x, perm)
    fm = F.log_softmax if log else F.softmax
    ft = torch.log_softmax if log else torch.softmax
    for gl in (None, g, _layout(g, perm)):
        xm = mg.tensor(xl, requires_grad=True)
        xt = torch.from_numpy(xl.copy()).requires_grad_(True)
        ym, yt = fm(xm, dim), ft(xt, dim)
        if gl is None:
            (ym.mean() if mean else ym.sum()).backward()
            (yt.mean() if mean else yt.sum()).backward()
        else:
            (ym * mg.tensor(gl)).sum().backward()
            (yt * torch.from_numpy(gl.copy())).sum().backward()
        assert xm.grad.numpy().dtype == xt.grad.numpy().dtype
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[dtype])
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
