"""The compiled operators of TensorBase (Note [Compiled dunders] in
minigrad/_C/_dunders.pxi) against the general path: ``+ - * /`` and unary ``-``
give the values, dtypes, gradients and gradients of gradients that the
functional forms' general path (``_binary_general``, ``Function.apply``)
gives, with the same errors, for tensors, Python and numpy scalars and numpy
arrays on either side, and for subclasses."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad._C import _core
from minigrad.dtypes import DTypeError
from minigrad.errors import ShapeError
from minigrad.ops import elementwise as ew
from tests.helpers import assert_close, examples
from tests.strategies import arrays, broadcastable_shapes

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck

# operator -> (Function, op name, numpy reference)
BINARY = {
    "add": (operator.add, ew.Add, np.add),
    "sub": (operator.sub, ew.Sub, np.subtract),
    "mul": (operator.mul, ew.Mul, np.multiply),
    "div": (operator.truediv, ew.Div, np.true_divide),
}
NAMES = sorted(BINARY)
DTYPES = [np.float32, np.float64, np.int64, np.bool_]
# scalars of each kind the operators take on either side
SCALARS = [
    2,
    -3,
    2.5,
    True,
    np.float32(1.5),
    np.float64(-0.75),
    np.int64(4),
    np.int8(-2),
    np.bool_(True),
    np.array(1.25),
    np.array(3, np.int64),
]


def general(name: str, a, b) -> mg.Tensor:
    """The reference: the functional form's general path (no fast path)."""
    _, cls, _ = BINARY[name]
    return ew._binary_general(cls, a, b, name)


def outcome(fn):
    """The result of ``fn()`` as (Tensor or exception type, message)."""
    try:
        return fn(), None
    except Exception as e:  # compared between the two paths
        return type(e), str(e)


def assert_same(got, want) -> None:
    (g, gmsg), (w, wmsg) = got, want
    if gmsg is not None or wmsg is not None:
        assert (g, gmsg) == (w, wmsg)
        return
    assert type(g) is mg.Tensor
    assert g.dtype == w.dtype
    assert g.shape == w.shape
    np.testing.assert_array_equal(g.data, w.data)


def test_tensor_inherits_the_compiled_operators():
    # a Python __mul__ in tensor.py would shadow the compiled one
    for name in (
        "__add__",
        "__radd__",
        "__sub__",
        "__rsub__",
        "__mul__",
        "__rmul__",
        "__truediv__",
        "__rtruediv__",
        "__neg__",
    ):
        assert name not in mg.Tensor.__dict__, name
        assert getattr(mg.Tensor, name) is getattr(_core.TensorBase, name)


# -- values and dtypes -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@examples(30)
@given(
    data=st.data(),
    dts=st.tuples(st.sampled_from(DTYPES), st.sampled_from(DTYPES)),
)
def test_tensor_operands_match_the_general_path(name, data, dts):
    sa, sb = data.draw(broadcastable_shapes(), label="shapes")
    a = mg.tensor(data.draw(arrays(sa, np.float64, 0.5, 3.0)), dtype=dts[0])
    b = mg.tensor(data.draw(arrays(sb, np.float64, 0.5, 3.0)), dtype=dts[1])
    op = BINARY[name][0]
    with np.errstate(all="ignore"):
        assert_same(outcome(lambda: op(a, b)), outcome(lambda: general(name, a, b)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
def test_scalars_on_either_side_match_the_general_path(name, scalar, dt):
    t = mg.tensor([[1.0, 2.0, 3.0]], dtype=dt)
    op = BINARY[name][0]
    with np.errstate(all="ignore"):
        assert_same(
            outcome(lambda: op(t, scalar)), outcome(lambda: general(name, t, scalar))
        )
        assert_same(
            outcome(lambda: op(scalar, t)), outcome(lambda: general(name, scalar, t))
        )


@pytest.mark.parametrize("name", NAMES)
@examples(15)
@given(data=st.data(), dt=st.sampled_from([np.float32, np.float64, np.int64]))
def test_numpy_arrays_on_either_side_give_tensors(name, data, dt):
    # numpy defers to Tensor (__array_priority__): arr * t is t.__rmul__(arr)
    sa, sb = data.draw(broadcastable_shapes(), label="shapes")
    arr = data.draw(arrays(sa, np.float64, 0.5, 3.0)).astype(dt)
    t = mg.tensor(data.draw(arrays(sb, np.float64, 0.5, 3.0)))
    op = BINARY[name][0]
    assert_same(outcome(lambda: op(arr, t)), outcome(lambda: general(name, arr, t)))
    assert_same(outcome(lambda: op(t, arr)), outcome(lambda: general(name, t, arr)))


def test_python_sequences_on_either_side():
    t = mg.tensor([1.0, 2.0])
    assert_same(outcome(lambda: [3, 4] - t), outcome(lambda: general("sub", [3, 4], t)))
    assert_same(outcome(lambda: t / (2, 4)), outcome(lambda: general("div", t, (2, 4))))


@pytest.mark.parametrize("dt", DTYPES, ids=lambda d: np.dtype(d).name)
def test_neg_matches_the_general_path(dt):
    t = mg.tensor([[1.0, 0.0, 3.0]], dtype=dt, requires_grad=dt == np.float64)
    if dt is np.bool_:
        with pytest.raises(TypeError, match="neg: negation of a bool tensor"):
            -t
        return
    assert_same(outcome(lambda: -t), outcome(lambda: ew.Neg.apply(t)))
    if t.requires_grad:
        assert gradgradcheck(lambda x: -(-x * x), (t,))


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_errors_name_the_op(name):
    op = BINARY[name][0]
    a, b = mg.zeros(2, 3), mg.zeros(4, dtype=mg.float64)
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\)"):
        op(a, b)
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(4,\) and \(2, 3\)"):
        op(b, a)
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(2, 3\) and \(4,\)"):
        op(a, np.zeros(4))
    with pytest.raises(ShapeError, match=rf"{name}: shapes \(4,\) and \(2, 3\)"):
        op(np.zeros(4), a)
    for other in (object(), None, "x", b"x"):
        # as the functional form (and before): a TypeError naming the op
        with pytest.raises(TypeError, match=rf"{name}: unsupported operand type"):
            op(a, other)
        with pytest.raises(TypeError, match=rf"{name}: unsupported operand type"):
            op(other, a)
    with pytest.raises(DTypeError, match=rf"{name}: complex numbers"):
        op(1j, a)


def test_bool_errors():
    tb = mg.tensor([True, False])
    # -tb: test_neg_matches_the_general_path
    with pytest.raises(DTypeError, match="sub: subtraction with a bool"):
        tb - tb
    with pytest.raises(DTypeError, match="sub: subtraction with a bool"):
        1.0 - tb
    with pytest.raises(DTypeError, match="sub: subtraction with a bool"):
        mg.tensor([1.0]) - True


def test_other_types_reflected_operators_run():
    # a type whose own operator handles Tensors still gets the first go
    class Other:
        def __mul__(self, o):
            return "other.__mul__"

    assert Other() * mg.tensor([1.0]) == "other.__mul__"


# -- gradients ----------------------------------------------------------------------


def _grads(fn, *xs):
    for x in xs:
        x.grad = None
    fn(*xs).sum().backward()
    return [x.grad for x in xs]


@pytest.mark.parametrize("name", NAMES)
@examples(20)
@given(data=st.data(), dt=st.sampled_from([np.float32, np.float64]))
def test_gradients_match_the_general_path(name, data, dt):
    sa, sb = data.draw(broadcastable_shapes(), label="shapes")
    a = mg.tensor(
        data.draw(arrays(sa, np.float64, 0.5, 3.0)), dtype=dt, requires_grad=True
    )
    b = mg.tensor(
        data.draw(arrays(sb, np.float64, 0.5, 3.0)), dtype=dt, requires_grad=True
    )
    op = BINARY[name][0]
    got = _grads(op, a, b)
    want = _grads(lambda x, y: general(name, x, y), a, b)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        assert g.shape == w.shape
        assert_close(g, w.data)
    # scalars on either side
    got = _grads(lambda x: op(0.75, op(x, 1.5)), a)
    want = _grads(lambda x: general(name, 0.75, general(name, x, 1.5)), a)
    assert_close(got[0], want[0].data)


@pytest.mark.parametrize("name", NAMES)
@examples(15)
@given(data=st.data())
def test_gradcheck_and_gradgradcheck_through_the_operators(name, data):
    sa, sb = data.draw(broadcastable_shapes(max_side=3), label="shapes")
    a = mg.tensor(data.draw(arrays(sa, np.float64, 0.5, 3.0)), requires_grad=True)
    b = mg.tensor(data.draw(arrays(sb, np.float64, 0.5, 3.0)), requires_grad=True)
    op = BINARY[name][0]

    def fn(x, y):
        return -op(op(2.0, x), op(y, np.float64(0.5)))

    assert gradcheck(fn, (a, b))
    assert gradgradcheck(fn, (a, b))


def test_parameters_and_subclasses():
    p = mg.nn.Parameter(mg.tensor([1.0, 2.0]))
    y = 3.0 * p - p / 2.0
    assert type(y) is mg.Tensor
    assert y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(p.grad.data, [2.5, 2.5])

    class Plain(mg.Tensor):
        __slots__ = ()

    class Mine(mg.Tensor):
        __slots__ = ()

        def __add__(self, o):
            return "Mine.__add__"

        def __rmul__(self, o):
            return "Mine.__rmul__"

    t, q, m = mg.tensor([1.0, 2.0]), Plain([1.0, 2.0]), Mine([1.0, 2.0])
    assert_same(outcome(lambda: q * t), outcome(lambda: general("mul", q, t)))
    assert_same(outcome(lambda: 2 - q), outcome(lambda: general("sub", 2, q)))
    # a Python operator of a subclass wins, on either side
    assert m + t == "Mine.__add__"
    assert 2 * m == "Mine.__rmul__"
    assert t * m == "Mine.__rmul__"  # the subclass's reflected method first
    assert_same(outcome(lambda: m * t), outcome(lambda: general("mul", m, t)))
    assert_same(outcome(lambda: t + m), outcome(lambda: general("add", t, m)))


ANOMALY_CALLS = {
    "operator": lambda x: x * 0.5,
    "reflected": lambda x: 0.5 * x,
    "neg": lambda x: -x,
    "binary_op": lambda x: mg.mul(x, 0.5),
    "python form": lambda x: mg.exp(x),
}


@pytest.mark.parametrize("call", sorted(ANOMALY_CALLS))
def test_anomaly_trace_ends_at_the_callers_line(call):
    # the recorded stack ends at the line that called the op: an operator has
    # no Python frame of its own, a functional form written in Python (neg,
    # exp) has one, which is dropped
    x = mg.tensor([1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = ANOMALY_CALLS[call](x)
    last = y.grad_fn._trace[-1]
    assert "test_dunders_core.py" in last
    assert "lambda x:" in last


# -- against PyTorch -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", [2, 2.5, True, np.float64(-0.75)], ids=repr)
@pytest.mark.parametrize(
    "dt", [np.float32, np.float64, np.int64], ids=lambda d: np.dtype(d).name
)
def test_values_dtypes_and_gradients_match_torch(name, scalar, dt):
    torch = pytest.importorskip("torch")
    op = BINARY[name][0]
    base = np.array([[1.0, 2.0, 3.0]])
    floating = np.dtype(dt).kind == "f"
    t = mg.tensor(base, dtype=dt, requires_grad=floating)
    tt = torch.tensor(base.astype(dt), requires_grad=floating)
    for f in (lambda x: op(x, scalar), lambda x: op(scalar, x)):
        try:
            want = f(tt)
        except (RuntimeError, TypeError):
            with pytest.raises((RuntimeError, TypeError)):
                f(t)
            continue
        got = f(t)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        assert_close(got, want.detach().numpy())
        if floating:
            t.grad = tt.grad = None
            (-f(t)).sum().backward()
            (-f(tt)).sum().backward()
            assert_close(t.grad, tt.grad.numpy())
