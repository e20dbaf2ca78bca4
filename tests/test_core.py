"""The compiled autograd core (minigrad/_C/_core.pyx, Note [Compiled core]).

Its fast paths must agree with the general ones they shortcut: ``apply1`` /
``apply2`` with ``_apply_arrays`` (any arity), and the engine's plain-node loop
with the route every non-plain node takes (``_run_special``: capture for
``autograd.grad``, hooks, several outputs), in values, gradients and gradients
of gradients; and they must keep the engine's errors.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad._C import _core
from minigrad.autograd.function import Function, _apply_arrays
from minigrad.ops import activation as act
from minigrad.ops import elementwise as ew
from tests.helpers import examples
from tests.strategies import arrays, broadcastable_shapes

BINARY = [ew.Add, ew.Sub, ew.Mul, ew.Div]
UNARY = [ew.Neg, ew.Exp, ew.Abs, act.Tanh, act.Sigmoid]
DTYPES = [np.float32, np.float64]


def _grads(y, xs, create_graph):
    """Gradients of sum(y * y) with respect to ``xs``."""
    return mg.autograd.grad((y * y).sum(), xs, create_graph=create_graph)


def _second(gs, xs):
    """Gradients of the sum of the first gradients: gradients of gradients."""
    total = sum(g.sum() for g in gs)
    return mg.autograd.grad(total, xs, allow_unused=True)


def _assert_same(fast, ref):
    assert len(fast) == len(ref)
    for f, r in zip(fast, ref):
        if r is None:
            assert f is None
            continue
        assert f.dtype == r.dtype
        assert f.shape == r.shape
        np.testing.assert_array_equal(f.data, r.data)


@st.composite
def _binary_case(draw):
    cls = draw(st.sampled_from(BINARY))
    dtype = draw(st.sampled_from(DTYPES))
    sa, sb = draw(broadcastable_shapes(2))
    a = draw(arrays(sa, dtype))
    b = draw(arrays(sb, dtype, lo=0.5, hi=3.0))  # away from 0 for Div
    which = draw(st.sampled_from(["both", "a", "b"]))
    return cls, a, b, which


@given(_binary_case())
@examples(40)
def test_apply2_agrees_with_general_path(case):
    cls, a, b, which = case
    results = []
    for path in ("fast", "ref"):
        ta = mg.tensor(a, requires_grad=which in ("both", "a"))
        tb = mg.tensor(b, requires_grad=which in ("both", "b"))
        y = (
            _core.apply2(cls, ta, tb)
            if path == "fast"
            else _apply_arrays(cls, (ta, tb), {})
        )
        xs = [t for t in (ta, tb) if t.requires_grad]
        assert y.requires_grad
        assert y.grad_fn.name() == f"{cls.__name__}Backward"
        assert y.grad_fn.needs_input_grad == (ta.requires_grad, tb.requires_grad)
        gs = _grads(y, xs, create_graph=True)
        results.append((y, gs, _second(gs, xs)))
    (yf, gf, ggf), (yr, gr, ggr) = results
    _assert_same([yf], [yr])
    _assert_same(gf, gr)
    _assert_same(ggf, ggr)


@given(
    st.sampled_from(UNARY),
    st.sampled_from(DTYPES),
    st.integers(0, 3).flatmap(
        lambda n: st.lists(st.integers(0, 4), min_size=n, max_size=n)
    ),
    st.data(),
)
@examples(30)
def test_apply1_agrees_with_general_path(cls, dtype, shape, data):
    a = data.draw(arrays(tuple(shape), dtype))
    results = []
    for path in ("fast", "ref"):
        ta = mg.tensor(a, requires_grad=True)
        y = _core.apply1(cls, ta) if path == "fast" else _apply_arrays(cls, (ta,), {})
        gs = _grads(y, [ta], create_graph=True)
        results.append((y, gs, _second(gs, [ta])))
    (yf, gf, ggf), (yr, gr, ggr) = results
    _assert_same([yf], [yr])
    _assert_same(gf, gr)
    _assert_same(ggf, ggr)


def test_no_record_without_grad():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        y = _core.apply2(ew.Mul, a, a)
        z = _core.apply1(ew.Exp, a)
    assert not y.requires_grad
    assert y.grad_fn is None
    assert not z.requires_grad
    assert z.grad_fn is None
    # a constant operand: only the tensor that requires grad gets an edge
    y = _core.apply2(ew.Mul, 2.0, a)
    assert y.grad_fn.needs_input_grad == (False, True)
    assert y.grad_fn.next_functions[0] == (None, 0)
    # integer results never require grad
    i = mg.tensor([1, 2])
    assert not _core.apply2(ew.Add, i, i).requires_grad


def test_sequence_numbers_grow_and_are_shared():
    a = mg.tensor([1.0], requires_grad=True)
    y = a * 2.0
    z = _apply_arrays(ew.Mul, (y, y), {})
    w = y.exp()
    assert y.grad_fn._seq < z.grad_fn._seq < w.grad_fn._seq
    assert _core.next_seq() > w.grad_fn._seq


def _chain(x, w):
    y = x
    for _ in range(5):
        y = y * w
        y = y + 0.5
        y = y.tanh()
        y = y - w
    return y


@given(st.sampled_from(DTYPES), broadcastable_shapes(2, min_side=1), st.data())
@examples(25)
def test_engine_fast_loop_agrees_with_general_path(dtype, shapes, data):
    a = data.draw(arrays(shapes[0], dtype))
    b = data.draw(arrays(shapes[1], dtype))
    # the fast path: backward_scalar and the plain-node loop
    x, w = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    _chain(x, w).sum().backward()
    fast = [x.grad, w.grad]
    # the general path: capture (autograd.grad) sends every node to _run_special
    x, w = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    ref = mg.autograd.grad(_chain(x, w).sum(), [x, w])
    _assert_same(fast, ref)
    # a hook on an intermediate node makes it non-plain: same gradients
    x, w = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    y = _chain(x, w)
    seen = []
    y.grad_fn.register_hook(lambda gs: seen.append(gs))
    y.sum().backward()
    assert len(seen) == 1
    _assert_same([x.grad, w.grad], ref)
    # gradients of gradients through the compiled loop (create_graph) agree
    # with those through autograd.grad
    x, w = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    (gx,) = mg.autograd.grad(_chain(x, w).sum(), [x], create_graph=True)
    gx.sum().backward()
    x2, w2 = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    (gx2,) = mg.autograd.grad(_chain(x2, w2).sum(), [x2], create_graph=True)
    ref2 = mg.autograd.grad(gx2.sum(), [x2, w2])
    _assert_same([gx], [gx2])
    _assert_same([x.grad, w.grad], ref2)


def test_version_counter_error_through_apply2():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y twice
    y.data[0] = 5.0
    y._version[0] += 1  # what an in-place op does
    with pytest.raises(RuntimeError, match=r"MulBackward.*modified by an in-place"):
        z.sum().backward()


def test_version_counter_error_saved_output():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"ExpBackward.*in-place"):
        y.sum().backward()


def test_retain_graph_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


class _TwoOut(Function):
    """A user Function of two outputs: (2a, a^2)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * 2.0, a * a

    @staticmethod
    def backward(ctx, g1, g2):
        (a,) = ctx.saved_tensors
        return g1 * 2.0 + g2 * 2.0 * a


def test_multi_output_nodes_through_the_compiled_loop():
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    p, q = _TwoOut.apply(x)
    (p * 3.0 + q).sum().backward()
    np.testing.assert_allclose(x.grad.data, 6.0 + 2.0 * x.data)
    # one output unused: its gradient is materialized as zeros
    x.grad = None
    p, q = _TwoOut.apply(x)
    q.sum().backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * x.data)


def test_anomaly_trace_names_the_caller():
    x = mg.tensor([1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = x * 0.0
        z = (y / y).sum()  # nan
        with pytest.raises(RuntimeError, match="nan") as info:
            z.backward()
    assert "test_anomaly_trace_names_the_caller" in str(info.value)


def test_leaf_gradient_buffer_is_taken_not_copied():
    # Note [Taking the gradient buffer]: the sole reference is taken
    x = mg.tensor(np.ones(3), requires_grad=True)
    (x * 2.0).sum().backward()
    first = x.grad.data
    assert first.flags.owndata
    # a gradient someone else holds is copied
    x.grad = None
    w = mg.tensor(np.ones(3), requires_grad=True)
    (x + w).sum().backward()
    assert not np.shares_memory(x.grad.data, w.grad.data)


def test_tensor_fields_live_in_the_compiled_base():
    import copy
    import pickle
    import weakref

    t = mg.tensor([1.0, 2.0], requires_grad=True)
    assert isinstance(t, _core.TensorBase)
    assert t._out_idx == 0
    assert t._version == [0]
    for u in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t), copy.copy(t)):
        assert type(u) is mg.Tensor
        assert u.requires_grad
        np.testing.assert_array_equal(u.data, t.data)
    assert weakref.ref(t)() is t
    p = mg.nn.Parameter(mg.tensor([3.0]))
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is mg.nn.Parameter
    assert q.requires_grad
    # a node: compiled fields, and any other attribute in its __dict__
    y = t * 2.0
    assert isinstance(y.grad_fn, _core.NodeBase)
    y.grad_fn.anything = 5
    assert y.grad_fn.anything == 5
    assert y.grad_fn._plain
    assert y.grad_fn.needs_input_grad == (True, False)


@given(broadcastable_shapes(2, min_side=1), st.data())
@examples(10)
def test_fast_paths_against_finite_differences(shapes, data):
    # the paths above share the loop's accumulation: finite differences do not
    a = mg.tensor(data.draw(arrays(shapes[0])), requires_grad=True)
    b = mg.tensor(data.draw(arrays(shapes[1])), requires_grad=True)

    def f(x, w):
        y = _chain(x, w)
        return y * y + x  # fan-out: y twice, x at both ends

    assert mg.autograd.gradcheck(f, (a, b))
    assert mg.autograd.gradgradcheck(f, (a, b))
    # backward() (backward_scalar and the plain loop) against the same numbers
    f(a, b).sum().backward()
    (ga, gb) = mg.autograd.grad(f(a, b).sum(), [a, b])
    np.testing.assert_allclose(a.grad.data, ga.data, rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, gb.data, rtol=1e-12)


class _Keeps(Function):
    """y = 2x; backward returns a new Tensor and keeps it (a user holds it)."""

    kept: ClassVar[list] = []

    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, g):
        out = g * 2.0
        _Keeps.kept.append(out)
        return out


def test_gradient_a_user_still_holds_is_copied_on_the_scalar_path():
    # backward() of a scalar runs the compiled backward_scalar; the leaf must not
    # take a buffer a user still holds (Note [Taking the gradient buffer])
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    _Keeps.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])
    assert not np.shares_memory(x.grad.data, _Keeps.kept[-1].data)
