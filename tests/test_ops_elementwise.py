"""Elementwise ops: forward against numpy and PyTorch, gradcheck and gradgradcheck
in float64, invariants, Python scalars on either side, numerical edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.ops import elementwise as E
from tests.helpers import assert_close, examples
from tests.strategies import arrays, away_from, broadcastable_shapes, shapes

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck
SMALL = shapes(max_dims=3, max_side=4)


def leaves(*arrs):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrs]


def check_invariants(fn, ts):
    """Output dtype, gradient shapes/dtypes, and zero upstream -> exactly zero."""
    out = fn(*ts)
    assert out.dtype == mg.float64
    zero = mg.zeros(out.shape, dtype=mg.float64)
    grads = mg.autograd.grad(out, ts, zero, allow_unused=True)
    for g, t in zip(grads, ts):
        if g is not None:
            assert g.shape == t.shape
            assert g.dtype == t.dtype
            assert np.all(g.data == 0)
    return out


def torch_compare(torch, fn, tfn, arrs, atol=1e-10):
    """Values and vector-Jacobian products against PyTorch (float64)."""
    ts = leaves(*arrs)
    tt = [torch.tensor(a, requires_grad=True) for a in arrs]
    out, tout = fn(*ts), tfn(*tt)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=atol)
    v = np.random.default_rng(0).standard_normal(out.shape)
    grads = mg.autograd.grad(out, ts, mg.tensor(v), allow_unused=True)
    tgrads = torch.autograd.grad(tout, tt, torch.tensor(v), allow_unused=True)
    for g, tg in zip(grads, tgrads):
        if tg is None:
            assert g is None or np.all(g.data == 0)
        else:
            np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-9, atol=atol)


# -- unary ops -----------------------------------------------------------------

# name: (minigrad fn, numpy reference, torch fn name/lambda, domain, kinks)
UNARY = {
    "neg": (lambda t: -t, np.negative, lambda t: -t, (-3, 3), ()),
    "exp": (mg.exp, np.exp, lambda t: t.exp(), (-3, 3), ()),
    "log": (mg.log, np.log, lambda t: t.log(), (0.1, 3), ()),
    "sqrt": (mg.sqrt, np.sqrt, lambda t: t.sqrt(), (0.1, 3), ()),
    "abs": (mg.abs, np.abs, lambda t: t.abs(), (-3, 3), (0.0,)),
    "square": (E.square, np.square, lambda t: t.square(), (-3, 3), ()),
    "pow3": (lambda t: t**3, lambda a: a**3, lambda t: t**3, (-2, 2), ()),
    "pow_half": (lambda t: t**0.5, np.sqrt, lambda t: t**0.5, (0.1, 3), ()),
    "pow_neg": (lambda t: t**-1.5, lambda a: a**-1.5, lambda t: t**-1.5, (0.2, 3), ()),
    "pow0": (lambda t: t**0, np.ones_like, lambda t: t**0, (-3, 3), ()),
    "pow1": (lambda t: t**1, lambda a: a, lambda t: t**1, (-3, 3), ()),
    "rpow": (lambda t: 2.0**t, lambda a: 2.0**a, lambda t: 2.0**t, (-3, 3), ()),
    "rpow_frac": (lambda t: 0.5**t, lambda a: 0.5**a, lambda t: 0.5**t, (-3, 3), ()),
    "clamp": (
        lambda t: t.clamp(-1.0, 1.5),
        lambda a: np.clip(a, -1.0, 1.5),
        lambda t: t.clamp(-1.0, 1.5),
        (-3, 3),
        (-1.0, 1.5),
    ),
    "clamp_min": (
        lambda t: mg.clamp(t, min=0.5),
        lambda a: np.maximum(a, 0.5),
        lambda t: t.clamp(min=0.5),
        (-3, 3),
        (0.5,),
    ),
    "clamp_max": (
        lambda t: t.clamp(max=-0.5),
        lambda a: np.minimum(a, -0.5),
        lambda t: t.clamp(max=-0.5),
        (-3, 3),
        (-0.5,),
    ),
    "div_scalar": (
        lambda t: t / 4.0,
        lambda a: a / 4.0,
        lambda t: t / 4.0,
        (-3, 3),
        (),
    ),
    "rdiv": (lambda t: 3.0 / t, lambda a: 3.0 / a, lambda t: 3.0 / t, (0.3, 3), ()),
    "rsub": (lambda t: 1 - t, lambda a: 1 - a, lambda t: 1 - t, (-3, 3), ()),
    "radd": (lambda t: 2 + t, lambda a: 2 + a, lambda t: 2 + t, (-3, 3), ()),
    "rmul": (lambda t: 2.5 * t, lambda a: 2.5 * a, lambda t: 2.5 * t, (-3, 3), ()),
}


def draw_unary(data, name, shape_strategy=SMALL):
    _, _, _, (lo, hi), kinks = UNARY[name]
    shape = data.draw(shape_strategy, label="shape")
    a = data.draw(arrays(shape, np.float64, lo, hi), label="a")
    return away_from(a, kinks, gap=1e-3) if kinks else a


@pytest.mark.parametrize("name", sorted(UNARY))
@examples(25)
@given(data=st.data())
def test_unary_forward_matches_numpy_and_gradcheck(name, data):
    fn, ref, _, _, _ = UNARY[name]
    a = draw_unary(data, name)
    ts = leaves(a)
    out = check_invariants(fn, ts)
    assert out.shape == a.shape
    assert_close(out, ref(a))
    assert gradcheck(fn, ts)


@pytest.mark.parametrize("name", sorted(UNARY))
@examples(10)
@given(data=st.data())
def test_unary_gradgradcheck(name, data):
    fn = UNARY[name][0]
    a = draw_unary(data, name, shapes(max_dims=2, max_side=3))
    assert gradgradcheck(fn, leaves(a))


@pytest.mark.parametrize("name", sorted(UNARY))
@examples(10)
@given(data=st.data())
def test_unary_matches_torch(name, data):
    torch = pytest.importorskip("torch")
    fn, _, tfn, _, _ = UNARY[name]
    a = draw_unary(data, name)
    torch_compare(torch, fn, tfn, [a])


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_unary_keep_float_dtype(dtype):
    x = mg.tensor([0.5, 1.0], dtype=dtype)
    for name, (fn, _, _, _, _) in UNARY.items():
        assert fn(x).dtype == dtype, name


# -- binary ops with broadcasting ----------------------------------------------

# name: (minigrad fn, numpy ref, torch fn, domain of a, domain of b)
BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: a + b, (-3, 3), (-3, 3)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: a - b, (-3, 3), (-3, 3)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: a * b, (-3, 3), (-3, 3)),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: a / b, (-3, 3), (0.3, 3)),
    "pow": (lambda a, b: a**b, np.power, lambda a, b: a**b, (0.2, 3), (-2, 2)),
    "maximum": (mg.maximum, np.maximum, lambda a, b: a.maximum(b), (-3, 3), (-3, 3)),
    "minimum": (mg.minimum, np.minimum, lambda a, b: a.minimum(b), (-3, 3), (-3, 3)),
}


def draw_binary(data, name, max_side=4):
    _, _, _, (alo, ahi), (blo, bhi) = BINARY[name]
    sa, sb = data.draw(broadcastable_shapes(2, max_side=max_side), label="shapes")
    a = data.draw(arrays(sa, np.float64, alo, ahi), label="a")
    b = data.draw(arrays(sb, np.float64, blo, bhi), label="b")
    if name in ("maximum", "minimum"):  # no ties: the kink
        assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))
    if name == "pow":  # dL/da is masked to 0 at b == 0 (PyTorch): a kink
        b = away_from(b, (0.0,))
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@examples(30)
@given(data=st.data())
def test_binary_broadcast_forward_and_gradcheck(name, data):
    fn, ref, _, _, _ = BINARY[name]
    a, b = draw_binary(data, name)
    ts = leaves(a, b)
    out = check_invariants(fn, ts)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    assert_close(out, ref(a, b))
    assert gradcheck(fn, ts)


@pytest.mark.parametrize("name", sorted(BINARY))
@examples(10)
@given(data=st.data())
def test_binary_gradgradcheck(name, data):
    a, b = draw_binary(data, name, max_side=3)
    assert gradgradcheck(BINARY[name][0], leaves(a, b))


@pytest.mark.parametrize("name", sorted(BINARY))
@examples(10)
@given(data=st.data())
def test_binary_matches_torch(name, data):
    torch = pytest.importorskip("torch")
    fn, _, tfn, _, _ = BINARY[name]
    torch_compare(torch, fn, tfn, list(draw_binary(data, name)))


@pytest.mark.parametrize("name", sorted(BINARY))
@examples(15)
@given(data=st.data())
def test_binary_backward_reduces_broadcast_itself(name, data):
    # Inputs are non-leaves, so the engine's leaf-level fallback (summing a
    # broadcast gradient down) cannot hide an op that forgets to reduce.
    fn = BINARY[name][0]
    a, b = draw_binary(data, name)
    xa, xb = leaves(a, b)
    seen = {}
    ha, hb = xa * 1.0, xb * 1.0
    ha.register_hook(lambda g: seen.__setitem__("a", g.shape))
    hb.register_hook(lambda g: seen.__setitem__("b", g.shape))
    out = fn(ha, hb)
    out.backward(mg.ones(out.shape, dtype=mg.float64))
    assert seen.get("a", a.shape) == a.shape
    assert seen.get("b", b.shape) == b.shape


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("scalar", [2, 0.5])
def test_binary_python_scalar_on_either_side(name, scalar):
    fn, ref = BINARY[name][0], BINARY[name][1]
    a = np.array([[0.5, 1.5, 2.5]])
    (x,) = leaves(a)
    for left in (True, False):
        f = (lambda t: fn(scalar, t)) if left else (lambda t: fn(t, scalar))
        expected = ref(scalar, a) if left else ref(a, scalar)
        out = f(x)
        assert out.dtype == mg.float64
        assert_close(out, expected)
        assert gradcheck(f, (x,))


def test_binary_float32_keeps_float32_with_scalars():
    x = mg.tensor([1.0, 2.0])
    for y in (x + 1, 1 + x, x - 1, 1 - x, x * 2, 2 * x, x / 2, 2 / x, x**2, 2**x):
        assert y.dtype == mg.float32


def test_binary_shape_mismatch_names_op_and_shapes():
    a, b = mg.zeros(2, 3), mg.zeros(4)
    for op, f in [
        ("add", lambda: a + b),
        ("sub", lambda: a - b),
        ("mul", lambda: a * b),
        ("div", lambda: a / b),
        ("maximum", lambda: mg.maximum(a, b)),
        ("pow", lambda: a**b),
    ]:
        with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\)"):
            f()
    with pytest.raises(TypeError, match="mul: unsupported operand type str"):
        a * "x"


def test_maximum_minimum_split_ties_evenly_like_torch():
    a, b = leaves([1.0, 2.0, 3.0], [1.0, 5.0, 0.0])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(b.grad.data, [0.5, 1.0, 0.0])
    a2, b2 = leaves([1.0, 2.0], [1.0, 5.0])
    mg.minimum(a2, b2).sum().backward()
    np.testing.assert_allclose(a2.grad.data, [0.5, 1.0])
    np.testing.assert_allclose(b2.grad.data, [0.5, 0.0])


def test_maximum_with_scalar_and_int_tensors():
    assert mg.maximum(mg.tensor([1, 5]), 3).tolist() == [3, 5]
    assert mg.maximum(mg.tensor([1, 5]), 3).dtype == mg.int64
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    mg.maximum(x, 0.0).sum().backward()  # a relu
    assert x.grad.tolist() == [0.0, 1.0]


# -- where ---------------------------------------------------------------------


@examples(30)
@given(data=st.data())
def test_where_broadcast_forward_and_gradcheck(data):
    sc, sa, sb = data.draw(broadcastable_shapes(3, max_side=4))
    cond = data.draw(arrays(sc, np.float64, -1, 1)) > 0
    a = data.draw(arrays(sa, np.float64))
    b = data.draw(arrays(sb, np.float64))
    ts = leaves(a, b)

    def fn(x, y):
        return mg.where(mg.tensor(cond), x, y)

    out = check_invariants(fn, ts)
    assert_close(out, np.where(cond, a, b))
    assert gradcheck(fn, ts)
    assert gradgradcheck(fn, ts)


def test_where_gradient_not_poisoned_by_branch_not_taken():
    x = leaf = mg.tensor([-1.0, 0.5, 2.0], dtype=mg.float64, requires_grad=True)
    inf = mg.full((3,), float("inf"), dtype=mg.float64)
    mg.where(x > 0, x, inf).sum().backward()
    np.testing.assert_array_equal(leaf.grad.data, [0.0, 1.0, 1.0])
    # The classic safe pattern: the inner where keeps sqrt away from x <= 0.
    x.grad = None
    safe = mg.where(x > 0, x, 1.0)
    mg.where(x > 0, safe.sqrt(), 0.0).sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5 / np.sqrt(0.5), 0.5 / np.sqrt(2)])
    # An inf flowing back from downstream lands only on the branch not taken:
    # selecting (not multiplying by a mask) keeps 0 * inf = nan out of x.grad.
    x.grad = None
    mg.where(x > 0, x, 0.0).log().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 0.5])
    # Division by zero in the untaken branch.
    x.grad = None
    mg.where(x > 0, 1.0 / x, x).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


def test_where_sqrt_of_negative_matches_torch():
    torch = pytest.importorskip("torch")
    v = np.array([-1.0, 0.0, 4.0])
    x = mg.tensor(v, requires_grad=True)
    xt = torch.tensor(v, requires_grad=True)
    mg.where(x > 0, x.sqrt(), 0.0).sum().backward()
    torch.where(xt > 0, xt.sqrt(), 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())  # nan where torch is


def test_where_validates_condition_and_shapes():
    x = mg.zeros(3)
    with pytest.raises(TypeError, match="where: condition must be bool"):
        mg.where(mg.tensor([1, 0, 1]), x, 0.0)
    with pytest.raises(ValueError, match=r"where:.*\(2,\).*\(3,\)"):
        mg.where(mg.tensor([True, False]), x, 0.0)
    assert mg.where(mg.tensor([True, False]), 1.0, 2.0).tolist() == [1.0, 2.0]


# -- numerical edge values -----------------------------------------------------


def test_pow_edge_values_match_torch():
    torch = pytest.importorskip("torch")
    base = np.array([0.0, 0.0, 2.0, -2.0, 0.0])
    expo = np.array([2.0, 0.0, 0.0, 3.0, 0.5])
    a, b = leaves(base, expo)
    at, bt = (torch.tensor(v, requires_grad=True) for v in (base, expo))
    (a**b).sum().backward()
    (at**bt).sum().backward()
    np.testing.assert_array_equal((a**b).data, (at**bt).detach().numpy())
    np.testing.assert_array_equal(a.grad.data, at.grad.numpy())
    np.testing.assert_array_equal(b.grad.data, bt.grad.numpy())


def test_pow_zero_base_gradient_wrt_exponent_is_zero():
    a, b = leaves([0.0, 0.0], [2.0, 3.0])
    (a**b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0])
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])


def test_log_sqrt_edge_values():
    with_warnings = np.geterr()
    x = mg.tensor([0.0, -1.0, 1.0], dtype=mg.float64, requires_grad=True)
    y = x.log()
    assert y.data[0] == -np.inf
    assert np.isnan(y.data[1])
    assert y.data[2] == 0.0
    y.sum().backward()
    assert x.grad.data[0] == np.inf
    assert x.grad.data[1] == -1.0
    z = mg.tensor([0.0, 4.0], dtype=mg.float64, requires_grad=True)
    z.sqrt().sum().backward()
    assert z.grad.data[0] == np.inf
    assert z.grad.data[1] == 0.25
    assert np.geterr() == with_warnings  # no global numpy state change


def test_abs_and_clamp_kinks_follow_pytorch():
    x = mg.tensor([0.0, -1.0, 1.0, 2.0], dtype=mg.float64, requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [0.0, -1.0, 1.0, 1.0]  # abs'(0) = 0
    x.grad = None
    x.clamp(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 0.0]  # bounds pass the gradient


def test_clamp_needs_a_bound_and_takes_tensor_bounds():
    with pytest.raises(ValueError, match="clamp: at least one"):
        mg.zeros(2).clamp()
    x = mg.tensor([-2.0, 0.0, 2.0])
    lo, hi = mg.tensor([-1.0, 0.5, -1.0]), mg.tensor([1.0])
    assert x.clamp(lo, hi).tolist() == [-1.0, 0.5, 1.0]
    assert mg.tensor([1, 5]).clamp(0.5, 2.5).tolist() == [1.0, 2.5]


def test_nan_flows_through_ops_without_error():
    x = mg.tensor([np.nan, 1.0], requires_grad=True)
    y = (x * 2.0 + 1.0).exp().log()
    assert np.isnan(y.data[0])
    assert y.data[1] == pytest.approx(3.0)
    y.sum().backward()
    assert np.isnan(x.grad.data[0])
    assert x.grad.data[1] == pytest.approx(2.0)


def test_exp_overflows_to_inf_quietly():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mg.tensor([1000.0, -1000.0]).exp()
        assert y.tolist() == [np.inf, 0.0]
        assert (mg.tensor([1.0, 0.0]) / mg.tensor([0.0, 0.0])).data[0] == np.inf


def test_sign_and_neg_of_bool():
    assert mg.tensor([-2.0, 0.0, 3.0]).sign().tolist() == [-1.0, 0.0, 1.0]
    with pytest.raises(TypeError, match="neg"):
        -mg.tensor([True])


def test_unary_math_of_non_tensor_raises():
    with pytest.raises(TypeError, match="exp: expected a Tensor"):
        mg.exp([1.0, 2.0])
