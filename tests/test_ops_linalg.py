"""matmul and linear as differentiable ops: forward against numpy (and torch),
gradients against finite differences (float64), the fused linear against its
composite twin, and the errors they raise."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, examples, leaf, to_torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.ops.linalg import _linear_composite, linear, matmul

ACTS = (None, "relu", "sigmoid", "tanh")


def _matmul_shapes():
    """Pairs of shapes that numpy's matmul accepts: 1-D, 2-D, batched with
    broadcasting (sides 0..5)."""

    @st.composite
    def pairs(draw):
        m, k, n = (draw(st.integers(0, 5)) for _ in range(3))
        batch = draw(st.lists(st.integers(1, 3), max_size=2))
        kind_a = draw(st.sampled_from(("vec", "mat", "batch")))
        kind_b = draw(st.sampled_from(("vec", "mat", "batch")))

        def shape(kind, r, c, vec_dim):
            if kind == "vec":
                return (vec_dim,)
            if kind == "mat":
                return (r, c)
            # broadcast: drop or set to 1 some batch dims
            dims = [draw(st.sampled_from((b, 1))) for b in batch]
            return (*dims[draw(st.integers(0, len(dims))) :], r, c)

        return shape(kind_a, m, k, k), shape(kind_b, k, n, k)

    return pairs()


@examples(40)
@given(shapes=_matmul_shapes(), dtype=st.sampled_from((np.float32, np.float64)))
def test_matmul_forward_matches_numpy(shapes, dtype):
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1, 1, s).astype(dtype) for s in shapes)
    y = matmul(mg.tensor(a), mg.tensor(b))
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert y.shape == want.shape
    assert y.dtype == dtype
    k = shapes[0][-1]
    assert_close(y, want, rtol=1e-5, atol=1e-6 * (k + 1))


@examples(15)
@given(shapes=_matmul_shapes(), seed=st.integers(0, 1000))
def test_matmul_grad_matches_numerical(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = (leaf(rng.uniform(-1, 1, s)) for s in shapes)
    assert gradcheck(matmul, (a, b))


def test_matmul_gradgrad_matches_numerical():
    rng = np.random.default_rng(1)
    for sa, sb in [((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((4,), (2, 4, 3))]:
        a, b = leaf(rng.standard_normal(sa)), leaf(rng.standard_normal(sb))
        assert gradgradcheck(matmul, (a, b))


def test_matmul_grad_through_transposed_and_sliced_views():
    rng = np.random.default_rng(2)
    a, b = leaf(rng.standard_normal((5, 3))), leaf(rng.standard_normal((10, 4)))
    assert gradcheck(lambda a, b: matmul(a.T, b[::2, 1:]), (a, b))
    assert gradcheck(lambda a, b: matmul(b[::2, 1:].T, a[::-1]), (a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_zero_upstream_gives_zero_grads(dtype):
    rng = np.random.default_rng(3)
    a = leaf(rng.standard_normal((2, 3, 4)), dtype)
    b = leaf(rng.standard_normal((4, 5)), dtype)
    y = matmul(a, b)
    y.backward(mg.zeros(*y.shape, dtype=dtype))
    assert a.grad.dtype == dtype
    assert a.grad.shape == a.shape
    assert b.grad.shape == b.shape
    assert not a.grad.numpy().any()
    assert not b.grad.numpy().any()


def test_matmul_int_dtypes_use_numpy_and_promote():
    a = mg.tensor(np.arange(6).reshape(2, 3))
    b = mg.tensor(np.arange(6).reshape(3, 2))
    y = matmul(a, b)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), a.numpy() @ b.numpy())
    z = matmul(a, mg.ones(3, 2, dtype=mg.float64))
    assert z.dtype == np.float64
    assert matmul(mg.ones(2, 3), mg.ones(3, dtype=mg.float64)).dtype == np.float64


def test_matmul_errors_name_the_shapes():
    with pytest.raises(
        ValueError, match=r"inner dimensions differ: \(2, 3\) @ \(4, 2\)"
    ):
        matmul(mg.ones(2, 3), mg.ones(4, 2))
    with pytest.raises(ValueError, match="batch dimensions do not broadcast"):
        matmul(mg.ones(2, 2, 3), mg.ones(3, 3, 2))
    with pytest.raises(ValueError, match="at least 1 dim"):
        matmul(mg.ones(2, 3), mg.tensor(1.0))
    with pytest.raises(TypeError, match="expected two Tensors"):
        matmul(mg.ones(2, 3), np.ones((3, 2)))
    with pytest.raises(TypeError, match="bool tensors"):
        matmul(mg.ones(2, 2) > 0, mg.ones(2, 2) > 0)


# ---- linear ----------------------------------------------------------------


def _linear_inputs(rng, x_shape, out_f, dtype=np.float64, with_bias=True):
    x = leaf(rng.uniform(-1, 1, x_shape), dtype)
    w = leaf(rng.uniform(-1, 1, (out_f, x_shape[-1])), dtype)
    b = leaf(rng.uniform(-1, 1, out_f), dtype) if with_bias else None
    return x, w, b


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("x_shape", [(4, 3), (2, 3, 3), (3,), (0, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear_matches_composite_forward_and_grads(act, x_shape, with_bias):
    rng = np.random.default_rng(4)
    x, w, b = _linear_inputs(rng, x_shape, 5, with_bias=with_bias)
    ins = (x, w) if b is None else (x, w, b)
    y = linear(*ins, activation=act)
    y_ref = _linear_composite(*ins, activation=act)
    assert y.shape == (*x_shape[:-1], 5)
    assert_close(y, y_ref.numpy())
    g = mg.tensor(rng.standard_normal(y.shape))
    grads = mg.autograd.grad(y, ins, g)
    grads_ref = mg.autograd.grad(y_ref, ins, g)
    for got, want, t in zip(grads, grads_ref, ins):
        assert got.shape == t.shape
        assert_close(got, want.numpy())


@pytest.mark.parametrize("act", ACTS)
def test_linear_grad_and_gradgrad_match_numerical(act):
    rng = np.random.default_rng(5)
    x, w, b = _linear_inputs(rng, (2, 3, 4), 3)
    fn = lambda x, w, b: linear(x, w, b, activation=act)  # noqa: E731
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_large_float32_and_64_match_numpy(dtype):
    rng = np.random.default_rng(6)
    x, w, b = _linear_inputs(rng, (70, 300), 130, dtype)
    y = linear(x, w, b, activation="tanh")
    want = np.tanh(
        x.numpy().astype(np.float64) @ w.numpy().T.astype(np.float64) + b.numpy()
    )
    assert y.dtype == dtype
    assert_close(y, want, rtol=1e-5, atol=1e-5)


def test_linear_promotes_dtypes_like_matmul():
    x = mg.ones(2, 3)
    w = mg.ones(4, 3, dtype=mg.float64)
    assert linear(x, w).dtype == np.float64
    assert linear(x, mg.ones(4, 3), mg.ones(4, dtype=mg.float64)).dtype == np.float64


def test_linear_errors_name_the_shapes():
    x, w = mg.ones(2, 3), mg.ones(4, 3)
    with pytest.raises(ValueError, match=r"last dim.*x \(2, 5\), weight \(4, 3\)"):
        linear(mg.ones(2, 5), w)
    with pytest.raises(ValueError, match=r"weight must be 2-D.*\(4, 3, 1\)"):
        linear(x, mg.ones(4, 3, 1))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\).*got \(3,\)"):
        linear(x, w, mg.ones(3))
    with pytest.raises(ValueError, match="activation must be one of"):
        linear(x, w, activation="gelu")
    with pytest.raises(TypeError, match="linear: weight must be a Tensor"):
        linear(x, np.ones((4, 3)))
    with pytest.raises(TypeError, match="bool tensors"):
        linear(x > 0, w > 0)


# ---- against torch ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sa", "sb"), [((3, 4), (4, 5)), ((2, 3, 4), (4,)), ((4,), (2, 4, 3))]
)
def test_matmul_matches_torch(sa, sb):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a, b = leaf(rng.standard_normal(sa)), leaf(rng.standard_normal(sb))
    ta, tb = to_torch(a, torch), to_torch(b, torch)
    y, ty = matmul(a, b), torch.matmul(ta, tb)
    g = rng.standard_normal(ty.shape)
    y.backward(mg.tensor(g, dtype=mg.float64))
    ty.backward(torch.from_numpy(g))
    assert_close(y, ty.detach().numpy())
    assert_close(a.grad, ta.grad.numpy())
    assert_close(b.grad, tb.grad.numpy())


@pytest.mark.parametrize("act", ACTS)
def test_linear_matches_torch(act):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, w, b = _linear_inputs(rng, (3, 2, 6), 4, np.float32)
    tx, tw, tb = (to_torch(t, torch) for t in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty = {None: ty, "relu": ty.relu(), "sigmoid": ty.sigmoid(), "tanh": ty.tanh()}[act]
    y = linear(x, w, b, activation=act)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    y.backward(mg.tensor(g))
    ty.backward(torch.from_numpy(g))
    assert_close(y, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    for t, tt in ((x, tx), (w, tw), (b, tb)):
        assert_close(t.grad, tt.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- linear's backward without create_graph (array path) -------------------


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize(
    ("n", "k", "m"), [(4, 2, 2), (70, 300, 130)], ids=["tiny-numpy", "large-gemm"]
)
@pytest.mark.parametrize("x_grad", [True, False])
def test_linear_backward_array_path_matches_recorded_path(act, n, k, m, x_grad):
    # A plain backward runs Linear's backward on arrays; with create_graph it is
    # built from ops. Both must give the same gradients, for tiny products
    # (numpy's dot) and large ones (the GEMM kernel).
    rng = np.random.default_rng(11)
    x, w, b = _linear_inputs(rng, (n, k), m, np.float32)
    x.requires_grad = x_grad
    ins = (x, w, b) if x_grad else (w, b)
    g = mg.tensor(rng.standard_normal((n, m)).astype(np.float32))
    y = linear(x, w, b, activation=act)
    fast = mg.autograd.grad(y, ins, g)
    y = linear(x, w, b, activation=act)
    slow = mg.autograd.grad(y, ins, g, create_graph=True)
    for f, s in zip(fast, slow):
        assert f.dtype == np.float32
        assert not f.requires_grad
        assert_close(f, s.detach().numpy(), rtol=1e-4, atol=1e-4)
    # and the leaves' .grad through Tensor.backward take the same route
    linear(x, w, b, activation=act).backward(g)
    assert_close(w.grad, slow[-2].detach().numpy(), rtol=1e-4, atol=1e-4)


def test_linear_backward_array_path_checks_saved_versions():
    x, w, b = _linear_inputs(np.random.default_rng(12), (4, 2), 3)
    y = linear(x, w, b, activation="sigmoid").sum()
    with mg.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_linear_backward_array_path_second_backward_raises():
    x, w, b = _linear_inputs(np.random.default_rng(13), (4, 2), 3)
    y = linear(x, w, b, activation="tanh").sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


@pytest.mark.parametrize(("shape_a", "shape_b"), [((4, 2), (2, 2)), ((1, 1), (1, 3))])
def test_small_matmul_matches_float64_and_keeps_dtype(shape_a, shape_b):
    rng = np.random.default_rng(14)
    for dtype in (np.float32, np.float64):
        a = rng.standard_normal(shape_a).astype(dtype)
        b = rng.standard_normal(shape_b).astype(dtype)
        y = matmul(mg.tensor(a), mg.tensor(b))
        assert y.dtype == dtype
        assert_close(y, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-6)


def test_linear_under_no_grad_records_nothing():
    x, w, b = _linear_inputs(np.random.default_rng(15), (4, 2), 3)
    with mg.no_grad():
        y = linear(x, w, b, activation="relu")
    assert y.grad_fn is None
    assert not y.requires_grad
    assert_close(y, np.maximum(x.numpy() @ w.numpy().T + b.numpy(), 0))
    y2 = linear(x.detach(), w.detach(), b.detach())  # no input requires grad
    assert y2.grad_fn is None
    assert not y2.requires_grad
