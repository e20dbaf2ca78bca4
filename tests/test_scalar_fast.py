"""The scalar engine's fused neurons (one n-ary 'dot' node per weighted sum)
against the unfused formulation (micrograd's 2n nodes, ``Neuron.fused =
False``) and against micrograd itself: values and gradients of every
parameter and input, graph shape, release of long graphs, backward's
reused scratch memory across threads."""

from __future__ import annotations

import gc
import random
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad._C._scalar import _fused_layer, _fused_neuron, _topo
from minigrad.scalar import Value
from minigrad.scalar.nn import MLP, Layer, Neuron
from tests.helpers import examples


@contextmanager
def unfused() -> Iterator[None]:
    """Every Neuron records micrograd's graph node for node."""
    Neuron.fused = False
    try:
        yield
    finally:
        Neuron.fused = True


finite = st.floats(-3.0, 3.0, allow_nan=False)


@st.composite
def networks(draw: Any) -> tuple[int, int, list[int], list[list[Any]], int]:
    """(seed, nin, nouts, batch of inputs, how many inputs are plain numbers)."""
    nin = draw(st.integers(1, 4))
    # A width-1 layer returns a bare Value, which a next layer cannot read
    # (micrograd's too): only the last layer may be 1 wide.
    nouts = [*draw(st.lists(st.integers(2, 5), max_size=2)), draw(st.integers(1, 5))]
    batch = draw(
        st.lists(st.lists(finite, min_size=nin, max_size=nin), min_size=1, max_size=4)
    )
    return draw(st.integers(0, 2**16)), nin, nouts, batch, draw(st.integers(0, nin))


def run_model(
    V: Any, model: Any, batch: list[list[float]], n_numbers: int
) -> tuple[list[float], list[float], list[float], float]:
    """A hinge + L2 loss over ``batch`` (its first ``n_numbers`` features
    given as plain numbers): (parameter data, parameter grads, input grads,
    loss)."""
    inputs = [
        [x if i < n_numbers else V(x) for i, x in enumerate(row)] for row in batch
    ]
    outs = []
    for row in inputs:
        out = model(row)
        outs.extend(out if isinstance(out, list) else [out])
    loss = sum((1 + -o).relu() * (0.5 + k % 3) for k, o in enumerate(outs))
    loss = loss + 1e-3 * sum(p * p for p in model.parameters())
    model.zero_grad()
    loss.backward()
    params = model.parameters()
    grads_in = [x.grad for row in inputs for x in row if not isinstance(x, float)]
    return [p.data for p in params], [p.grad for p in params], grads_in, loss.data


def assert_same(a: list[float], b: list[float]) -> None:
    # Equal to round-off: backward may add a node's contributions in another
    # order than the unfused graph does.
    assert a == pytest.approx(b, rel=1e-12, abs=1e-12)


@examples(40)
@given(networks())
def test_fused_mlp_matches_unfused(net: Any) -> None:
    seed, nin, nouts, batch, n_numbers = net
    random.seed(seed)
    fused = MLP(nin, nouts)
    random.seed(seed)
    with unfused():
        reference = MLP(nin, nouts)
        ref = run_model(Value, reference, batch, n_numbers)
    got = run_model(Value, fused, batch, n_numbers)
    assert got[0] == ref[0]
    assert got[3] == ref[3]  # the forward is the same double, not just close
    assert_same(got[1], ref[1])
    assert_same(got[2], ref[2])


@examples(20)
@given(networks())
def test_fused_mlp_matches_micrograd(net: Any) -> None:
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    seed, nin, nouts, batch, n_numbers = net
    random.seed(seed)
    ours = MLP(nin, nouts)
    random.seed(seed)
    theirs = nn.MLP(nin, nouts)
    got = run_model(Value, ours, batch, n_numbers)
    ref = run_model(engine.Value, theirs, batch, n_numbers)
    assert got[0] == ref[0]
    assert got[3] == ref[3]
    assert_same(got[1], [float(g) for g in ref[1]])
    assert_same(got[2], [float(g) for g in ref[2]])


def test_training_steps_match_micrograd() -> None:
    """Ten SGD steps of micrograd's demo recipe stay equal to round-off."""
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    rng = random.Random(3)
    batch = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(12)]
    random.seed(11)
    ours = MLP(2, [8, 8, 1])
    random.seed(11)
    theirs = nn.MLP(2, [8, 8, 1])
    for _ in range(10):
        a = run_model(Value, ours, batch, 0)
        b = run_model(engine.Value, theirs, batch, 0)
        assert a[3] == pytest.approx(b[3], rel=1e-12)
        for model in (ours, theirs):
            for p in model.parameters():
                p.data -= 0.1 * p.grad
    assert [p.data for p in ours.parameters()] == pytest.approx(
        [p.data for p in theirs.parameters()], rel=1e-10, abs=1e-12
    )


@examples(30)
@given(
    st.lists(finite, min_size=1, max_size=6),
    st.lists(finite, min_size=1, max_size=6),
    finite,
    st.booleans(),
)
def test_fused_neuron_gradcheck(
    w: list[float], x: list[float], b: float, nonlin: bool
) -> None:
    ws = [Value(v) for v in w]
    xs = [Value(v) if i % 2 == 0 else v for i, v in enumerate(x)]
    bias = Value(b)
    pre = b + sum(
        wi * float(xi if isinstance(xi, float) else xi.data) for wi, xi in zip(w, x)
    )
    if nonlin and abs(pre) < 1e-4:
        return  # relu's kink: central differences straddle it

    def fn(*vals: Any) -> Value:
        return _fused_neuron(
            vals[0], list(vals[1 : 1 + len(ws)]), list(vals[1 + len(ws) :]), nonlin
        )

    assert mg.autograd.gradcheck(fn, [bias, *ws, *xs], eps=1e-6, atol=1e-6, rtol=1e-5)


def test_dot_node_shape_and_local_grads() -> None:
    w = [Value(0.5), Value(-2.0), Value(4.0)]
    b = Value(0.25)
    x0 = Value(3.0)
    out = _fused_neuron(b, w, [x0, 1.5, x0], False)
    assert out._op == "dot"
    assert out._label == "dot"
    assert out._children == (b, w[0], x0, w[1], w[2], x0)
    assert out._local_grads == (1.0, 3.0, 0.5, 1.5, 3.0, 4.0)
    assert out._prev == {b, x0, *w}
    assert out.data == ((0.25 + 0.5 * 3.0) + -2.0 * 1.5) + 4.0 * 3.0
    out.backward()
    # x0 appears twice: both contributions add up.
    assert (x0.grad, w[0].grad, w[1].grad, w[2].grad, b.grad) == (
        4.5,
        3.0,
        1.5,
        3.0,
        1.0,
    )
    assert len(_topo(out)) == 6
    assert "dot" in repr(out._op)
    with pytest.raises(TypeError, match="only leaf"):
        out.__reduce__()
    # micrograd's _backward, on the node alone.
    for v in (x0, *w, b):
        v.grad = 0.0
    out.grad = 2.0
    out._backward()
    assert (x0.grad, w[1].grad, b.grad) == (9.0, 3.0, 2.0)


def test_relu_neuron_is_one_relu_dot_node() -> None:
    n = Neuron(3)
    n.w[0].data, n.w[1].data, n.w[2].data = 0.5, -1.0, 2.0
    out = n([1.0, 2.0, 3.0])
    assert out._op == "ReLU(dot)"
    assert out._children == (n.b, *n.w)  # number inputs add no child
    assert out._local_grads == (1.0, 1.0, 2.0, 3.0)
    assert out.data == 4.5
    n.b.data = -10.0
    dead = n([1.0, 2.0, 3.0])
    assert dead.data == 0.0
    assert dead._local_grads == (0.0, 0.0, 0.0, 0.0)
    dead.backward()
    assert [w.grad for w in n.w] == [0.0, 0.0, 0.0]
    dead.grad = 1.0
    dead._backward()  # micrograd's per-node step: relu' = 0 passes nothing
    assert n.b.grad == 0.0


def test_zip_semantics_and_empty_neuron() -> None:
    w = [Value(1.0), Value(2.0)]
    b = Value(0.5)
    assert _fused_neuron(b, w, [3.0], False).data == 3.5  # zip stops at x
    assert _fused_neuron(b, w, [3.0, 4.0, "unused"], False).data == 11.5
    assert _fused_neuron(b, [], [1.0], False) is b  # sum([], b) is b
    assert _fused_neuron(b, w, [], False) is b
    assert _fused_neuron(Value(-1.0), [], [], True).data == 0.0


def test_bad_arguments() -> None:
    w = [Value(1.0), Value(2.0)]
    refs = [sys.getrefcount(v) for v in w]
    with pytest.raises(
        TypeError, match="Neuron: inputs must be Values or numbers, got str"
    ):
        _fused_neuron(Value(0.0), w, [1.0, "a"], True)
    with pytest.raises(TypeError, match="weights must be Values, got float"):
        _fused_neuron(Value(0.0), [Value(1.0), 2.0], [1.0, 1.0], True)
    with pytest.raises(TypeError, match="bias must be a Value, got NoneType"):
        _fused_neuron(None, w, [1.0, 1.0], True)
    with pytest.raises(TypeError, match="bias must be a Value"):
        _fused_neuron(1.0, w, [1.0, 1.0], True)
    with pytest.raises(TypeError):
        _fused_layer([Neuron(2)], 5, Neuron)  # not iterable
    assert [sys.getrefcount(v) for v in w] == refs  # nothing leaked


def test_layer_calls_other_neurons_as_written() -> None:
    class Doubled(Neuron):
        def __call__(self, x: Any) -> Value:
            return super().__call__(x) * 2

    layer = Layer(2, 3)
    layer.neurons[1] = Doubled(2, nonlin=False)
    layer.neurons[2].fused = False  # one neuron unfused
    outs = layer([1.0, -1.0])
    assert outs[1]._op == "*"
    assert outs[2]._op == "ReLU"
    assert outs[2]._children[0]._op == "+"
    assert outs[0]._op == "ReLU(dot)"
    with unfused():
        ref = layer([1.0, -1.0])
    assert [o.data for o in outs] == [o.data for o in ref]


def test_neuron_params_may_be_replaced() -> None:
    n = Neuron(2, nonlin=False)
    n.w = (Value(1.0), Value(2.0))  # any sequence of Values
    n.b = Value(3.0)
    layer = Layer(2, 1)
    layer.neurons = [n]
    assert layer(iter([1.0, 1.0])).data == 6.0


def test_long_chains_of_dot_nodes_release_and_backward() -> None:
    w = Value(1.0)
    b = Value(0.0)
    x = Value(0.5)
    y = x
    for _ in range(200_000):
        y = _fused_neuron(b, [w], [y], False)
    y.backward()
    assert x.grad == 1.0
    assert w.grad == 200_000 * 0.5
    before = sys.getrefcount(w)
    del y  # iterative release: no C recursion per node
    gc.collect()
    assert sys.getrefcount(w) == before - 200_000
    assert sys.getrefcount(x) == 2


def test_wide_dot_nodes_release() -> None:
    xs = [Value(float(i)) for i in range(5000)]
    ws = [Value(1.0) for _ in range(5000)]
    outs = [_fused_neuron(Value(0.0), ws, xs, True) for _ in range(3)]
    top = sum(outs)
    top.backward()
    assert ws[7].grad == 3 * 7.0
    del outs, top
    assert sys.getrefcount(ws[0]) == sys.getrefcount(xs[0]) == 3


def test_backward_from_threads() -> None:
    """backward keeps its scratch arrays per thread: concurrent calls on
    separate graphs give the single-threaded gradients."""
    random.seed(5)
    models = [MLP(2, [6, 6, 1]) for _ in range(4)]
    expected = []
    for m in models:
        out = sum(m([0.3 * k, -0.2 * k]) for k in range(20))
        m.zero_grad()
        out.backward()
        expected.append([p.grad for p in m.parameters()])
    errors: list[BaseException] = []

    def work(m: MLP, exp: list[float]) -> None:
        try:
            for _ in range(30):
                out = sum(m([0.3 * k, -0.2 * k]) for k in range(20))
                m.zero_grad()
                out.backward()
                assert [p.grad for p in m.parameters()] == exp
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=a) for a in zip(models, expected)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_mlp_runs_other_layers_as_written() -> None:
    class Shifted(Layer):
        def __call__(self, x: Any) -> Any:
            return [v + 1.0 for v in super().__call__(x)]

    random.seed(2)
    model = MLP(2, [3, 3, 1])
    model.layers[1].__class__ = Shifted
    out = model(iter([0.5, -1.5]))
    with unfused():
        ref = model([0.5, -1.5])
    assert out.data == ref.data
    assert isinstance(out, Value)
    assert model.layers[2].neurons[0](
        model.layers[1](model.layers[0]([0.5, -1.5]))
    ).data == (out.data)


def test_neuron_class_with_properties_is_read_through_them() -> None:
    class Scaled(Neuron):
        """A class that defines ``w`` itself: the instance dict is not read."""

        @property
        def w(self) -> list[Value]:
            return [v * 2.0 for v in self.__dict__["w"]]

        @w.setter
        def w(self, value: list[Value]) -> None:
            self.__dict__["w"] = value

    n = Scaled(2, nonlin=False)
    n.w = [Value(1.0), Value(3.0)]
    (out,) = _fused_layer([n], [1.0, 1.0], Scaled)
    assert out.data == 8.0


def test_dot_children_with_children_come_first() -> None:
    """Backward's ordering walks only a dot node's interior children; the
    gradients are the same whichever children are interior."""
    a, c = Value(2.0), Value(-1.0)
    w = [Value(0.5), a * 3.0, Value(1.5)]  # one weight is computed
    x = [Value(1.0), c.relu(), (a + c) * 2.0]
    b = c * 1.0
    out = _fused_neuron(b, w, x, False)
    assert out._children == (b, w[1], x[1], x[2], w[0], x[0], w[2])
    assert out._local_grads == (1.0, x[1].data, 6.0, 1.5, 1.0, 0.5, x[2].data)
    out.backward()
    ref_a, ref_c = Value(2.0), Value(-1.0)
    ref = (
        ref_c * 1.0
        + 0.5 * 1.0
        + (ref_a * 3.0) * ref_c.relu()
        + Value(1.5) * ((ref_a + ref_c) * 2.0)
    )
    ref.backward()
    assert out.data == ref.data
    assert (a.grad, c.grad) == (ref_a.grad, ref_c.grad)


def test_patched_call_methods_are_called(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    neuron_call, layer_call = Neuron.__call__, Layer.__call__

    def traced_neuron(self: Neuron, x: Any) -> Value:
        calls.append("neuron")
        return neuron_call(self, x)

    def traced_layer(self: Layer, x: Any) -> Any:
        calls.append("layer")
        return layer_call(self, x)

    random.seed(4)
    model = MLP(2, [3, 1])
    expected = model([1.0, 2.0]).data
    monkeypatch.setattr(Neuron, "__call__", traced_neuron)
    assert model([1.0, 2.0]).data == expected
    assert calls == ["neuron"] * 4
    calls.clear()
    monkeypatch.setattr(Layer, "__call__", traced_layer)
    assert model([1.0, 2.0]).data == expected
    assert calls == ["layer", "neuron", "neuron", "neuron", "layer", "neuron"]


def test_missing_neuron_attribute_raises_attribute_error() -> None:
    n = Neuron(2)
    del n.w
    layer = Layer(2, 1)
    layer.neurons = [n]
    with pytest.raises(AttributeError, match="'w'"):
        layer([1.0, 2.0])
