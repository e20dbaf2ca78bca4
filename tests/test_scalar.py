"""minigrad.scalar.Value: micrograd's API and semantics, compiled."""

from __future__ import annotations

import copy
import gc
import math
import pickle
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck
from minigrad.scalar import Value
from tests.helpers import examples

try:
    import micrograd.engine as micrograd_engine
except ImportError:
    micrograd_engine = None


def readme_example(V: Callable[[float], Any]) -> tuple[Any, Any, Any]:
    """micrograd's README example, verbatim apart from the class."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


# -- micrograd's documented behaviour -------------------------------------------


def test_value_readme_example_numbers():
    a, b, g = readme_example(Value)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_value_readme_example_matches_micrograd():
    engine = pytest.importorskip("micrograd.engine")
    ours, theirs = readme_example(Value), readme_example(engine.Value)
    for x, y in zip(ours, theirs):
        assert x.data == pytest.approx(y.data, rel=1e-12)
        assert x.grad == pytest.approx(y.grad, rel=1e-12)


def test_value_repr_prev_and_op_like_micrograd():
    a, b = Value(2.0), Value(-3)
    assert repr(a) == "Value(data=2.0, grad=0.0)"
    assert b.data == -3.0
    assert isinstance(b.data, float)
    c = a * b
    assert c._prev == {a, b}
    assert c._op == "*"
    assert (a + b)._op == "+"
    assert (a**2)._op == "**2"
    assert (a**-1)._op == "**-1"
    assert (a**0.5)._op == "**0.5"
    assert a.relu()._op == "ReLU"
    assert a._prev == set()
    assert a._op == ""
    assert (a * a)._prev == {a}


def test_value_backward_accumulates_like_micrograd():
    # micrograd's backward sets the root's grad to 1 and accumulates
    # everywhere else, interior nodes included: a second call without
    # zero_grad therefore more than doubles a deep leaf's gradient.
    def run(V: Any) -> list[float]:
        x = V(3.0)
        h = x * x
        y = h * 2.0
        y.backward()
        first = [x.grad, h.grad, y.grad]
        y.backward()
        return [*first, x.grad, h.grad, y.grad]

    assert run(Value) == [12.0, 2.0, 1.0, 36.0, 4.0, 1.0]
    engine = pytest.importorskip("micrograd.engine")
    assert run(engine.Value) == run(Value)


def test_value_grad_and_data_are_writable():
    v = Value(1.5)
    v.grad = 0
    assert v.grad == 0.0
    v.data -= 0.5 * 2
    assert v.data == 0.5
    v.data = np.float32(2.0)
    assert v.data == 2.0
    with pytest.raises(TypeError, match=r"Value.grad must be a real number"):
        v.grad = "x"


def test_value_manual_backward_step_like_micrograd():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    c.grad = 1.0
    c._backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)


# -- each op: value and local derivative ---------------------------------------

UNARY = [
    ("relu", lambda x: max(x, 0.0), lambda x: float(x > 0)),
    ("tanh", math.tanh, lambda x: 1 - math.tanh(x) ** 2),
    (
        "sigmoid",
        lambda x: 1 / (1 + math.exp(-x)),
        lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2,
    ),
    ("exp", math.exp, math.exp),
    ("log", math.log, lambda x: 1 / x),
]


@pytest.mark.parametrize(("name", "f", "df"), UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("x", [0.3, 1.7, -0.8, 4.0])
def test_value_unary_op_value_and_grad(name, f, df, x):
    if name == "log" and x <= 0:
        x = -x
    v = Value(x)
    y = getattr(v, name)()
    y.backward()
    assert y.data == pytest.approx(f(x), rel=1e-12)
    assert v.grad == pytest.approx(df(x), rel=1e-12)
    assert y._op == {"relu": "ReLU"}.get(name, name)


BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    ("sub", lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    ("mul", lambda a, b: a * b, lambda a, b: (b, a)),
    ("div", lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2)),
    ("pow", lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * math.log(a))),
]


@pytest.mark.parametrize(("name", "f", "df"), BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize(("x", "y"), [(1.5, 2.0), (0.7, -1.3), (3, 2)])
def test_value_binary_op_all_operand_kinds(name, f, df, x, y):
    expected, (da, db) = f(x, y), df(x, y)
    # Value op Value
    a, b = Value(x), Value(y)
    out = f(a, b)
    out.backward()
    assert out.data == pytest.approx(expected, rel=1e-12)
    assert (a.grad, b.grad) == pytest.approx((da, db), rel=1e-12)
    # Value op number, number op Value (ints and floats)
    for const in (y, float(y)):
        a = Value(x)
        out = f(a, const)
        out.backward()
        assert out.data == pytest.approx(expected, rel=1e-12)
        assert a.grad == pytest.approx(da, rel=1e-12)
        assert out._prev == {a}
    for const in (x, float(x)):
        b = Value(y)
        out = f(const, b)
        out.backward()
        assert out.data == pytest.approx(expected, rel=1e-12)
        assert b.grad == pytest.approx(db, rel=1e-12)


def test_value_neg_and_labels():
    a = Value(2.0)
    n = -a
    n.backward()
    assert (n.data, a.grad) == (-2.0, -1.0)
    assert (2 * a)._label == "* 2"
    assert (2 / a)._label == "2 /"
    assert (a - 1.5)._label == "- 1.5"
    assert (1 - a)._label == "1 -"
    assert (2**a)._label == "2 **"
    assert (a**3)._label == "**3"


def test_value_numpy_scalars_defer_to_value():
    a = Value(3.0)
    for out in (np.float64(2.0) * a, np.float32(2.0) * a, np.int64(2) * a):
        assert type(out) is Value
        assert out.data == 6.0


def test_value_same_operand_twice_counts_twice():
    a = Value(3.0)
    (a * a + a).backward()
    assert a.grad == 7.0


def test_value_pow_edge_cases():
    z = Value(0.0)
    y = z**0
    y.backward()
    assert (y.data, z.grad) == (1.0, 0.0)
    base, e = Value(0.0), Value(2.0)
    y = base**e
    y.backward()
    assert (y.data, base.grad, e.grad) == (0.0, 0.0, 0.0)
    neg = Value(-2.0)
    y = neg**3
    y.backward()
    assert (y.data, neg.grad) == (-8.0, 12.0)


# -- numerics at large magnitudes ---------------------------------------------


@pytest.mark.parametrize("x", [-1000.0, -50.0, 50.0, 1000.0])
def test_value_tanh_sigmoid_stable_at_large_magnitude(x):
    for name, limit in (("tanh", math.copysign(1.0, x)), ("sigmoid", float(x > 0))):
        v = Value(x)
        y = getattr(v, name)()
        y.backward()
        assert y.data == pytest.approx(limit, abs=1e-15)
        assert v.grad == pytest.approx(0.0, abs=1e-15)
        assert not math.isnan(y.data)
        assert not math.isnan(v.grad)


def test_value_exp_overflows_to_inf_not_nan():
    v = Value(1000.0)
    y = v.exp()
    y.backward()
    assert y.data == math.inf
    assert v.grad == math.inf
    w = Value(-1000.0)
    y = w.exp()
    y.backward()
    assert y.data == 0.0
    assert w.grad == 0.0


# -- graph size, depth and memory ---------------------------------------------


def test_value_million_deep_chain_backward_and_free():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0
    assert y.data == 1_000_000.5
    del y  # freeing a million-node chain must not recurse


def test_value_is_compact_and_untracked_by_gc():
    v = Value(1.0) * 2.0
    assert sys.getsizeof(v) <= 96  # micrograd's node is ~680 bytes in total
    assert not gc.is_tracked(v)
    assert not hasattr(v, "__dict__")


def test_value_subclass_works():
    class Named(Value):
        pass

    a = Named(2.0)
    a.label = "a"
    out = a * Value(3.0)
    out.backward()
    assert type(out) is Value
    assert a.grad == 3.0


# -- the low-level constructor -------------------------------------------------


def test_value_custom_node_with_local_grads():
    a, b = Value(2.0), Value(5.0)
    out = Value(a.data * b.data, (a, b), "mymul", _local_grads=(b.data, a.data))
    out.backward()
    assert (a.grad, b.grad) == (5.0, 2.0)
    assert out._op == "mymul"
    assert out._prev == {a, b}
    assert out._local_grads == (5.0, 2.0)
    # micrograd's default: no _backward closure, so no gradient flows.
    c = Value(1.0, (a,), "opaque")
    c.backward()
    assert a.grad == 5.0


# -- bad input -------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1.0", b"1", [1.0], None, 1j, {1: 2}])
def test_value_rejects_non_real_data(bad):
    with pytest.raises(TypeError, match="Value: data must be a real number"):
        Value(bad)


def test_value_of_value_is_rejected_with_hint():
    with pytest.raises(TypeError, match=r"use its \.data"):
        Value(Value(1.0))


def test_value_unsupported_operand_is_type_error():
    with pytest.raises(TypeError, match="unsupported operand"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="unsupported operand"):
        Value(1.0) / [1]
    with pytest.raises(TypeError, match="unsupported operand"):
        None - Value(1.0)


@pytest.mark.parametrize("x", [0.0, -1.0, -math.inf])
def test_value_log_of_non_positive_raises(x):
    with pytest.raises(
        ValueError, match=r"Value.log: log is only defined for positive"
    ):
        Value(x).log()


def test_value_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError, match=r"Value.__truediv__: division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match=r"Value.__truediv__: division by zero"):
        Value(1.0) / Value(0.0)
    with pytest.raises(
        ZeroDivisionError, match=r"Value.__rtruediv__: division by zero"
    ):
        1.0 / Value(0.0)


def test_value_pow_domain_errors():
    with pytest.raises(ValueError, match=r"negative base .* non-integer power"):
        Value(-2.0) ** 0.5
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match=r"Value.__pow__: the base is negative"):
        Value(-2.0) ** Value(2.0)
    with pytest.raises(ValueError, match=r"Value.__rpow__: the base is negative"):
        (-2.0) ** Value(2.0)
    with pytest.raises(ZeroDivisionError, match="negative power"):
        0.0 ** Value(-1.0)
    with pytest.raises(TypeError, match="three-argument pow"):
        pow(Value(2.0), 2, 3)


def test_value_low_level_constructor_validation():
    a = Value(1.0)
    with pytest.raises(ValueError, match="at most 2 children, got 3"):
        Value(1.0, (a, a, a))
    with pytest.raises(TypeError, match="_children must be Values, got float"):
        Value(1.0, (1.0,))
    with pytest.raises(ValueError, match="one derivative per child"):
        Value(1.0, (a,), "f", _local_grads=(1.0, 2.0))
    with pytest.raises(RuntimeError, match="already initialised"):
        a.__init__(2.0)
    with pytest.raises(AttributeError, match="_local_grads"):
        a._backward = lambda: None


def test_value_init_cannot_make_a_cycle():
    # A Value made without __init__ and then used in an op must not get
    # children afterwards: v -> w -> v would be a cycle.
    v = Value.__new__(Value)
    w = v * 2.0
    with pytest.raises(RuntimeError, match="initialised or in use"):
        v.__init__(1.0, (w,), "loop")
    u = Value.__new__(Value)
    with pytest.raises(ValueError, match="its own child"):
        u.__init__(1.0, (u,), "self")


def test_value_internal_helpers_reject_none():
    # Typed Value arguments accept None in Cython unless told otherwise:
    # _topo(None) dereferenced NULL, and _neuron(None, ...) read (and its
    # backward wrote) a Value's fields inside the None object.
    from minigrad._C._scalar import _neuron, _topo

    with pytest.raises(TypeError):
        _topo(None)
    with pytest.raises(TypeError):
        _neuron(None, [Value(1.0)], [2.0])
    with pytest.raises(TypeError):
        _neuron(None, [], [])


def test_value_leaves_pickle_and_deepcopy():
    a = Value(1.5)
    a.grad = 0.25
    b = pickle.loads(pickle.dumps(a))
    assert (type(b), b.data, b.grad) == (Value, 1.5, 0.25)
    assert b is not a
    c = copy.deepcopy([a, a])
    assert c[0] is c[1]
    assert c[0] is not a
    with pytest.raises(TypeError, match="only leaf Values"):
        pickle.dumps(a * 2)


# -- random expression graphs -----------------------------------------------

# Each op maps two pool entries (and a constant) to a new entry. The forms keep
# values finite and inside the ops' domains: divisors and log arguments are
# 1 + x², bases of a Value exponent are 1 + x².
OPS: dict[str, Callable[[Any, Any, float], Any]] = {
    "add": lambda a, b, c: a + b,
    "sub": lambda a, b, c: a - b,
    "mul": lambda a, b, c: a * b,
    "div": lambda a, b, c: a / (b * b + 1),
    "radd": lambda a, b, c: c + a,
    "rsub": lambda a, b, c: c - a,
    "rmul": lambda a, b, c: c * a,
    "rdiv": lambda a, b, c: c / (a * a + 1),
    "powc": lambda a, b, c: (a * a + 1) ** c,
    "powi": lambda a, b, c: a**2,
    "neg": lambda a, b, c: -a,
    "relu": lambda a, b, c: (a + c).relu(),
    "tanh": lambda a, b, c: a.tanh(),
    "sigmoid": lambda a, b, c: (a * c).sigmoid(),
    "exp": lambda a, b, c: (a.tanh() * c).exp(),
    "log": lambda a, b, c: (a * a + 1).log(),
    "powv": lambda a, b, c: (a * a + 1) ** b.tanh(),
    "rpow": lambda a, b, c: 1.5 ** a.tanh(),
}
MICROGRAD_OPS = [
    "add",
    "sub",
    "mul",
    "div",
    "radd",
    "rsub",
    "rmul",
    "rdiv",
    "powc",
    "powi",
    "neg",
    "relu",
]


@st.composite
def programs(draw: Any, ops: list[str]) -> tuple[list[float], list[tuple[Any, ...]]]:
    n_leaves = draw(st.integers(1, 4))
    leaves = draw(
        st.lists(
            st.floats(-2, 2, allow_nan=False).filter(lambda x: abs(x) > 1e-3),
            min_size=n_leaves,
            max_size=n_leaves,
        )
    )
    steps = []
    for k in range(draw(st.integers(1, 10))):
        pool = n_leaves + k
        steps.append(
            (
                draw(st.sampled_from(ops)),
                draw(st.integers(0, pool - 1)),
                draw(st.integers(0, pool - 1)),
                draw(st.sampled_from([-1.5, -0.5, 0.5, 1.0, 2.0, 3.0])),
            )
        )
    return leaves, steps


def run_program(leaves: list[Any], steps: list[tuple[Any, ...]]) -> Any:
    """The last value of the program, plus every earlier one summed in, so
    every step contributes to the output."""
    pool = list(leaves)
    for op, i, j, c in steps:
        pool.append(OPS[op](pool[i], pool[j], c))
    out = pool[-1]
    for v in pool[len(leaves) : -1]:
        out = out + v * 0.25
    return out


def relu_inputs_clear_of_kink(
    leaves: list[float], steps: list[tuple[Any, ...]]
) -> bool:
    pool: list[Any] = [Value(x) for x in leaves]
    for op, i, j, c in steps:
        if op == "relu" and abs(pool[i].data + c) < 1e-3:
            return False
        pool.append(OPS[op](pool[i], pool[j], c))
    return True


@examples(200)
@given(programs(list(OPS)))
def test_value_random_graph_grad_matches_numerical(prog):
    leaves, steps = prog
    assume(relu_inputs_clear_of_kink(leaves, steps))
    xs = [Value(x) for x in leaves]
    out = run_program(xs, steps)
    assume(math.isfinite(out.data) and abs(out.data) < 1e4)
    assert gradcheck(lambda *v: run_program(list(v), steps), xs, atol=1e-5, rtol=1e-3)


@examples(200)
@given(programs(list(OPS)))
def test_value_random_graph_matches_tensor_engine(prog):
    leaves, steps = prog
    xs = [Value(x) for x in leaves]
    out = run_program(xs, steps)
    out.backward()
    ts = [mg.tensor(x, dtype=mg.float64, requires_grad=True) for x in leaves]
    t_out = run_program(ts, steps)
    t_out.backward()
    assert out.data == pytest.approx(float(t_out.item()), rel=1e-9, abs=1e-12)
    for x, t in zip(xs, ts):
        expected = 0.0 if t.grad is None else float(t.grad.item())
        assert x.grad == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.skipif(micrograd_engine is None, reason="micrograd is not installed")
@examples(200)
@given(programs(MICROGRAD_OPS))
def test_value_random_graph_matches_micrograd(prog):
    engine = micrograd_engine
    leaves, steps = prog
    xs = [Value(x) for x in leaves]
    ms = [engine.Value(x) for x in leaves]
    out, ref = run_program(xs, steps), run_program(ms, steps)
    out.backward()
    ref.backward()
    assert out.data == pytest.approx(ref.data, rel=1e-9, abs=1e-12)
    for x, m in zip(xs, ms):
        assert x.grad == pytest.approx(m.grad, rel=1e-9, abs=1e-12)
