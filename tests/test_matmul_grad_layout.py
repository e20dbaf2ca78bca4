"""MatMul's backward gives an operand stored with its last two axes swapped
(``w.T``) its gradient in that layout (Note [Gradients in the operand's
layout] in ops/linalg.py): the same values, and a C-contiguous gradient once
it is turned back to the stored tensor."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F


def _leaf(a: np.ndarray) -> mg.Tensor:
    return mg.tensor(a, requires_grad=True)


def _ref_grads(fn, *arrays):
    """Gradients of fn over C-contiguous copies of the operands (no
    transposed view among them)."""
    ts = [_leaf(np.ascontiguousarray(a)) for a in arrays]
    fn(*ts).backward()
    return [t.grad.data for t in ts]


def test_weight_transposed_in_a_product():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    g = rng.standard_normal((5, 3))
    xt, wt = _leaf(x), _leaf(w)
    seen = []
    v = wt.T
    v.register_hook(seen.append)
    (xt @ v).backward(mg.tensor(g))
    # The gradient of w.T is w.T's layout; w's own is C-contiguous.
    assert seen[0].data.strides == (8, 32)
    assert wt.grad.data.flags.c_contiguous
    np.testing.assert_allclose(wt.grad.data, g.T @ x, rtol=1e-13)
    np.testing.assert_allclose(xt.grad.data, g @ w, rtol=1e-13)


def test_left_operand_transposed():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    at, bt = _leaf(a), _leaf(b)
    (at.T @ bt).sum().backward()
    assert at.grad.data.flags.c_contiguous
    ga, gb = _ref_grads(lambda p, q: (p @ q).sum(), a.T, b)
    np.testing.assert_allclose(at.grad.data, ga.T, rtol=1e-13)
    np.testing.assert_allclose(bt.grad.data, gb, rtol=1e-13)


@pytest.mark.parametrize("bshape", [(2, 3, 6, 5), (3, 6, 5), (6, 5)])
def test_batched_keys_transposed(bshape):
    # q @ k.transpose(-1, -2), attention's scores: k's gradient in its own
    # layout where its batch is g's, the batch sum otherwise.
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal(bshape)
    w = rng.standard_normal((2, 3, 4, 6))
    qt, kt = _leaf(q), _leaf(k)
    (qt @ kt.transpose(-1, -2) * mg.tensor(w)).sum().backward()
    gq, gk = _ref_grads(
        lambda p, r: (p @ r * mg.tensor(w)).sum(), q, np.swapaxes(k, -1, -2)
    )
    np.testing.assert_allclose(qt.grad.data, gq, rtol=1e-12)
    np.testing.assert_allclose(kt.grad.data, np.swapaxes(gk, -1, -2), rtol=1e-12)
    assert kt.grad.shape == bshape


def test_softmax_used_transposed_gets_its_gradient_in_its_layout():
    # y.T @ v: the gradient reaching the softmax is laid out as y, so its
    # backward reads both in order (not the mixed-layout path).
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal((7, 5)), rng.standard_normal((7, 2))
    xt = _leaf(x)
    y = F.softmax(xt, -1)
    seen = []
    y.register_hook(seen.append)
    (y.T @ mg.tensor(v)).sum().backward()
    assert seen[0].data.flags.c_contiguous
    (ref,) = _ref_grads(lambda p: (F.softmax(p, -1).T @ mg.tensor(v)).sum(), x)
    np.testing.assert_allclose(xt.grad.data, ref, rtol=1e-12)


@pytest.mark.parametrize("side", ["left", "right"])
def test_gradcheck_and_gradgradcheck_transposed_operand(side):
    rng = np.random.default_rng(4)
    a = _leaf(rng.standard_normal((3, 4)))
    b = _leaf(rng.standard_normal((3, 2) if side == "left" else (2, 3)))

    def fn(p, q):
        return p.T @ q if side == "left" else (p.T @ q.T).T

    assert mg.autograd.gradcheck(fn, (a, b))
    assert mg.autograd.gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("case", ["vector right", "vector left"])
def test_transposed_matrix_with_a_vector(case):
    # A vector operand reaches MatMul as a one-column (one-row) matrix.
    rng = np.random.default_rng(5)
    m, v = rng.standard_normal((4, 3)), rng.standard_normal(4)
    mt, vt = _leaf(m), _leaf(v)
    if case == "vector right":
        (mt.T @ vt).sum().backward()
        np.testing.assert_allclose(mt.grad.data, np.outer(v, np.ones(3)), rtol=1e-13)
        np.testing.assert_allclose(vt.grad.data, m.sum(axis=1), rtol=1e-13)
    else:
        (vt @ mt.T.T).sum().backward()
        np.testing.assert_allclose(mt.grad.data, np.outer(v, np.ones(3)), rtol=1e-13)
        w = _leaf(rng.standard_normal((3, 4)))
        (vt @ w.T).sum().backward()
        np.testing.assert_allclose(w.grad.data, np.outer(np.ones(3), v), rtol=1e-13)
