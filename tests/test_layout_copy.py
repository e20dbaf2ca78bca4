"""The C-order copy (``_layout.c_order_copy``, Note [Transposing copy] in
csrc/layout/transpose_copy.c) against numpy's, and the leaf gradients that
arrive transposed, which the backward engine copies with it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _act, _gemm, _layout
from minigrad.errors import ArgumentError
from tests.helpers import examples

ISAS = [None] + [i for i in _act.ISAS if _gemm.has_isa(i)]


def _same(got: np.ndarray, src: np.ndarray) -> None:
    want = np.array(src, order="C")
    assert got.flags.c_contiguous
    assert got.flags.owndata
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@examples(30, deadline=None)
@given(
    rows=st.integers(0, 70),
    cols=st.integers(0, 70),
    extra=st.sampled_from([0, 1, 3, 16]),
    seed=st.integers(0, 2**31),
)
def test_column_major_copies_bit_for_bit(isa, dtype, rows, cols, extra, seed):
    # Full tiles (16 / 8 / 4 wide) and both edges, ld = rows + extra.
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((cols, rows + extra)).astype(dtype)
    base.flat[:: max(1, base.size // 5)] = np.nan  # moved, never computed
    src = base[:, :rows].T
    _same(_layout.c_order_copy(src, isa=isa), src)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,  # C order
        lambda a: a[::-1].T,  # negative steps
        lambda a: a[:, ::2].T,  # rows not adjacent
        lambda a: a.T.astype(a.dtype.newbyteorder()),  # byte-swapped
        lambda a: np.broadcast_to(a[:1], a.shape).T,  # zero steps
        lambda a: a.reshape(-1),  # 1-D
        lambda a: np.stack([a.T, a.T]),  # 3-D
    ],
)
def test_other_layouts_are_copied_by_numpy(make):
    a = np.arange(600, dtype=np.float32).reshape(20, 30)
    src = make(a)
    _same(_layout.c_order_copy(src), src)


def test_misaligned_column_major():
    buf = bytearray(4 * 40 * 30 + 1)
    m = np.frombuffer(buf, np.float32, 40 * 30, offset=1).reshape(30, 40)
    m[...] = np.arange(1200).reshape(30, 40)
    _same(_layout.c_order_copy(m.T), m.T)


def test_large_transposed_copy():
    a = np.random.default_rng(0).standard_normal((1000, 999)).astype(np.float32)
    _same(_layout.c_order_copy(a.T), a.T)


def test_bad_arguments():
    with pytest.raises(TypeError, match="numpy array"):
        _layout.c_order_copy([[1.0]])
    with pytest.raises(ArgumentError, match="instruction set"):
        _layout.c_order_copy(np.ones((2, 2)), isa="sse")


def test_transposed_leaf_gradient_is_c_order():
    # softmax over x.T's rows is softmax over x's columns; the gradient comes
    # back through the transpose and is copied into x.grad in C order (by the
    # tiled kernel: over _TILED_MIN values).
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((100, 90)), requires_grad=True)
    w = rng.standard_normal((90, 100))
    (F.softmax(x.T, -1) * mg.tensor(w)).sum().backward()
    ref = mg.tensor(x.data.copy(), requires_grad=True)
    (F.softmax(ref, 0) * mg.tensor(w.T)).sum().backward()
    assert x.grad.data.flags.c_contiguous
    np.testing.assert_allclose(x.grad.data, ref.grad.data, rtol=1e-12, atol=1e-15)


def test_transposed_leaf_gradient_with_a_hook():
    # A hook sends the leaf through the Python engine's accumulation.
    w = np.arange(9000.0).reshape(90, 100)
    x = mg.tensor(np.zeros((100, 90)), requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g) or None)
    (x.T * mg.tensor(w)).sum().backward()
    assert seen
    assert x.grad.data.flags.c_contiguous
    np.testing.assert_array_equal(x.grad.data, w.T)


@pytest.mark.parametrize("n", [8, 200])
def test_small_and_large_transposed_copies_agree(n):
    # Under _TILED_MIN values numpy copies; over it the kernel does.
    a = np.random.default_rng(n).standard_normal((n, n + 1)).astype(np.float32)
    _same(_layout.c_order_copy(a.T), a.T)
