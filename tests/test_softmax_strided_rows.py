"""softmax / log_softmax over the last axis of a strided x (Note [Strided
rows] in csrc/softmax/softmax_impl.h): the rows are gathered in place rather
than copied to C order first, and give the bits of the contiguous copy, on
every instruction set, with one thread or two, for short and long rows and
for every element and row step (negative, zero, nested leading axes)."""

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

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]


def _views(x: np.ndarray) -> dict[str, np.ndarray]:
    """x's values in strided views of larger arrays."""
    n, d = x.shape[-2], x.shape[-1]
    lead = x.shape[:-2]
    out = {}
    for step in (2, 3, -1, -2):
        big = np.zeros((*lead, n, abs(step) * d + 1), x.dtype)
        if step > 0:
            big[..., : step * d : step] = x
            out[f"[..., ::{step}]"] = big[..., : step * d : step]
        else:
            v = big[..., ::step][..., :d]
            v[...] = x
            out[f"[..., ::{step}]"] = v
    wide = np.zeros((*lead, n, d + 7), x.dtype)
    wide[..., :d] = x
    out["[..., :d] of wider rows"] = wide[..., :d]
    tall = np.zeros((*lead, 2 * n, d), x.dtype)
    tall[..., ::2, :] = x
    out["[..., ::2, :] (every other row)"] = tall[..., ::2, :]
    both = np.zeros((*lead, 2 * n, 2 * d), x.dtype)
    both[..., ::-2, ::2] = x
    out["[..., ::-2, ::2]"] = both[..., ::-2, ::2]
    return out


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5), (7, 40), (2, 3, 33), (20, 1000), (1, 64)])
@pytest.mark.parametrize("log", [False, True])
def test_strided_rows_give_the_bits_of_a_contiguous_copy(isa, dtype, shape, log):
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 8).astype(dtype)
    for name, v in _views(x).items():
        np.testing.assert_array_equal(v, x)
        want = S.softmax_fwd(np.ascontiguousarray(v), -1, log=log, isa=isa)
        for nt in (1, 2):
            got = S.softmax_fwd(v, -1, log=log, isa=isa, nthreads=nt)
            assert got.flags.c_contiguous, name
            assert got.dtype == dtype, name
            np.testing.assert_array_equal(got, want, err_msg=f"{name}, {nt}T")


def test_broadcast_and_non_nesting_layouts():
    # Zero steps (every row the same, every element the same), and leading
    # axes that do not nest into one row step (copied, as before).
    row = np.linspace(-3.0, 3.0, 50)
    rows = np.broadcast_to(row, (4, 50))
    want = S.softmax_fwd(np.ascontiguousarray(rows), -1)
    np.testing.assert_array_equal(S.softmax_fwd(rows, -1), want)
    flat = np.broadcast_to(np.float32(2.5), (3, 40))
    np.testing.assert_array_equal(
        S.softmax_fwd(flat, -1), np.full((3, 40), 1 / 40, np.float32)
    )
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 50))
    v = x[::2, :, :, ::2]  # axis 0 steps over two blocks of axis 1
    np.testing.assert_array_equal(
        S.softmax_fwd(v, -1), S.softmax_fwd(np.ascontiguousarray(v), -1)
    )
    with pytest.raises(
        mg.errors.ShapeError, match=r"dim 4 is out of range for shape \(4, 3, 2, 25\)"
    ):
        S.softmax_fwd(x[:, :, :, ::2], 4)


@examples(30, deadline=None)
@given(
    n=st.integers(1, 40),
    d=st.integers(1, 70),
    step=st.sampled_from([-3, -1, 2, 3, 5]),
    log=st.booleans(),
)
def test_strided_rows_any_size(n, d, step, log):
    x = np.random.default_rng(n * 100 + d).standard_normal((n, d)).astype(np.float32)
    big = np.zeros((n, abs(step) * d), np.float32)
    v = big[:, ::step][:, :d]
    v[...] = x
    want = S.softmax_fwd(x, -1, log=log)
    np.testing.assert_array_equal(S.softmax_fwd(v, -1, log=log), want)


@pytest.mark.parametrize("log", [False, True])
def test_tensor_api_sliced_values_and_grads(log):
    # F.softmax(x[:, ::2]) through autograd: the same values and gradients as
    # over the contiguous copy, the gradient scattered back to every other
    # column of x.
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((6, 80)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((6, 40)))
    f = F.log_softmax if log else F.softmax
    (f(x[:, ::2], -1) * w).sum().backward()
    ref = mg.tensor(x.data[:, ::2].copy(), requires_grad=True)
    (f(ref, -1) * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data[:, ::2], ref.grad.data)
    np.testing.assert_array_equal(x.grad.data[:, 1::2], 0.0)
    small = mg.tensor(x.data[:2, :10].copy(), requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: f(t[:, ::2], -1), (small,))
    assert mg.autograd.gradgradcheck(lambda t: f(t[:, ::2], -1), (small,))
