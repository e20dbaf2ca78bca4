"""softmax / log_softmax give the same values and gradients whatever the
operands' layout: transposed (read in place, Note [Permuted operands] in
_softmax.pyx), sliced (rows gathered by the forward, copied by the backward),
and the broadcast (zero-stride) gradient that ``.sum().backward()`` sends
down; through the kernels on every instruction set and through the Tensor API
(gradients and gradients of gradients)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _act
from minigrad._C import _softmax as S
from tests.helpers import examples
from tests.strategies import arrays, shapes

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]
# Contiguous rows and blocks of inner positions sum in different orders.
TOL = {
    np.float32: {"rtol": 1e-5, "atol": 1e-6},
    np.float64: {"rtol": 1e-12, "atol": 1e-14},
}


def _layout(a: np.ndarray, perm: list[int]) -> np.ndarray:
    """a's values, stored with its axes in the order ``perm`` (a transposed
    view of a C-contiguous block)."""
    inv = list(np.argsort(perm))
    return np.ascontiguousarray(a.transpose(perm)).transpose(inv)


def _sliced(a: np.ndarray) -> np.ndarray:
    """a's values in every other element of a larger array (strided)."""
    big = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


@st.composite
def _case(draw, min_dims: int = 2, max_side: int = 6):
    """(x, g, perm, dim, dtype): values, an upstream gradient, an axis order
    to lay them out in and the softmax axis."""
    shape = draw(shapes(min_dims=min_dims, max_dims=4, max_side=max_side))
    perm = draw(st.permutations(range(len(shape))))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = draw(arrays(shape, dtype, -20, 20))
    g = draw(arrays(shape, dtype, -3, 3))
    return x, g, list(perm), dim, dtype


@pytest.mark.parametrize("isa", ISAS)
@examples(40, deadline=None)
@given(case=_case(), log=st.booleans())
def test_kernels_same_result_any_layout(isa, case, log):
    x, g, perm, dim, dtype = case
    y = S.softmax_fwd(x, dim, log=log, isa=isa)
    gx = S.softmax_bwd(y, g, dim, log=log, isa=isa)
    for xl in (_layout(x, perm), _sliced(x)):
        yl = S.softmax_fwd(xl, dim, log=log, isa=isa)
        assert yl.shape == x.shape
        assert yl.dtype == dtype
        np.testing.assert_allclose(yl, y, **TOL[dtype])
    yt = S.softmax_fwd(_layout(x, perm), dim, log=log, isa=isa)
    if x.size and min(x.shape) > 1:  # the result is laid out as the input
        assert (
            np.argsort(yt.strides, kind="stable").tolist()
            == np.argsort(_layout(x, perm).strides, kind="stable").tolist()
        )
    g0 = np.broadcast_to(dtype(1.5), x.shape)
    want0 = S.softmax_bwd(y, np.ascontiguousarray(g0), dim, log=log, isa=isa)
    for yl, gl, want in (
        (_layout(y, perm), _layout(g, perm), gx),  # as autograd hands them
        (_layout(y, perm), g, gx),  # y transposed, g not
        (y, _layout(g, perm), gx),
        (_sliced(y), _sliced(g), gx),
        (y, g0, want0),  # from .sum().backward()
        (_layout(y, perm), g0, want0),
    ):
        got = S.softmax_bwd(yl, gl, dim, log=log, isa=isa)
        assert got.shape == x.shape
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, **TOL[dtype])


def test_permuted_errors_name_the_callers_dims():
    x = _layout(np.ones((2, 3, 4), np.float32), [2, 0, 1])
    with pytest.raises(mg.errors.ShapeError, match=r"dim 3 .*\(2, 3, 4\)"):
        S.softmax_fwd(x, 3)
    with pytest.raises(mg.errors.ShapeError, match="grad_out"):
        S.softmax_bwd(x, np.ones((2, 3, 5), np.float32), 0)
    with pytest.raises(TypeError, match="dtype"):
        S.softmax_bwd(x, np.ones((2, 3, 4), np.float64), 0)


@examples(30, deadline=None)
@given(case=_case(), log=st.booleans())
def test_tensor_api_same_values_and_grads_any_layout(case, log):
    x, g, perm, dim, dtype = case
    fn = F.log_softmax if log else F.softmax
    results = []
    for xl in (x, _layout(x, perm), _sliced(x)):
        for gl in (g, _layout(g, perm)):
            xm = mg.tensor(xl, requires_grad=True)
            y = fn(xm, dim)
            (y * mg.tensor(gl)).sum().backward()
            results.append((y.numpy(), xm.grad.numpy()))
        xm = mg.tensor(xl, requires_grad=True)
        fn(xm, dim).sum().backward()  # the broadcast gradient
        results.append((None, xm.grad.numpy()))
    # Per input layout: upstream g contiguous, g transposed, broadcast g.
    for k, (y, gx) in enumerate(results):
        ref_gx = results[k % 3][1]
        if y is not None:
            np.testing.assert_allclose(y, results[0][0], **TOL[dtype])
        np.testing.assert_allclose(gx, ref_gx, **TOL[dtype])


@examples(15, deadline=None)
@given(
    shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    data=st.data(),
    log=st.booleans(),
)
def test_gradcheck_gradgradcheck_transposed(shape, data, log):
    perm = list(data.draw(st.permutations(range(len(shape)))))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    base = data.draw(arrays(tuple(shape[p] for p in perm), np.float64, -3, 3))
    x = mg.tensor(base, requires_grad=True)
    fn = F.log_softmax if log else F.softmax
    inv = [int(i) for i in np.argsort(perm)]
    w = mg.tensor(np.linspace(-1.0, 2.0, int(np.prod(shape))).reshape(shape))

    def f(a):
        # a.permute(inv) is a transposed view: the kernel reads it in place.
        return fn(a.permute(*inv), dim) * w

    def f_sum(a):
        # .sum() sends a broadcast gradient to the transposed y.
        return (fn(a.permute(*inv), dim) * 1.5).sum()

    for fun in (f, f_sum):
        assert mg.autograd.gradcheck(fun, (x,))
        assert mg.autograd.gradgradcheck(fun, (x,))


@examples(20, deadline=None)
@given(case=_case(), log=st.booleans())
def test_matches_torch_any_layout(case, log):
    torch = pytest.importorskip("torch")
    x, g, perm, dim, dtype = case
    xl = _layout(x, perm)
    xm = mg.tensor(xl, requires_grad=True)
    xt = torch.from_numpy(xl.copy()).requires_grad_(True)
    fm = F.log_softmax if log else F.softmax
    ft = torch.log_softmax if log else torch.softmax
    ym, yt = fm(xm, dim), ft(xt, dim)
    (ym * mg.tensor(g)).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    assert ym.numpy().dtype == yt.detach().numpy().dtype
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), **TOL[dtype])
