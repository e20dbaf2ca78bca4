"""minigrad.scalar.nn: micrograd's Module, Neuron, Layer and MLP."""

from __future__ import annotations

import copy
import random
from typing import Any

import numpy as np
import pytest

from minigrad.scalar import Value
from minigrad.scalar.nn import MLP, Layer, Module, Neuron


def moons(n: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x, y], 1) + rng.normal(scale=0.1, size=(n, 2))
    return pts.tolist(), np.where(upper, -1.0, 1.0).tolist()


def svm_loss(model: Any, V: Any, X: list[list[float]], y: list[float]) -> Any:
    """micrograd's demo loss: max-margin hinge plus L2."""
    scores = [model(list(map(V, row))) for row in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + 1e-4 * sum(p * p for p in model.parameters())


def test_mlp_parameter_count_and_structure():
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == (2 + 1) * 16 + (16 + 1) * 16 + 16 + 1 == 337
    assert all(type(p) is Value for p in model.parameters())
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    assert [n.nonlin for layer in model.layers for n in layer.neurons[:1]] == [
        True,
        True,
        False,
    ]


def test_neuron_init_like_micrograd():
    random.seed(0)
    n = Neuron(3, nonlin=False)
    random.seed(0)
    assert [w.data for w in n.w] == [random.uniform(-1, 1) for _ in range(3)]
    assert n.b.data == 0.0
    assert n.parameters() == [*n.w, n.b]


def test_reprs_match_micrograd():
    nn = pytest.importorskip("micrograd.nn")
    assert repr(MLP(3, [4, 2])) == repr(nn.MLP(3, [4, 2]))
    assert repr(Layer(2, 2, nonlin=False)) == repr(nn.Layer(2, 2, nonlin=False))
    assert repr(Neuron(5)) == "ReLUNeuron(5)"


def test_neuron_forward_and_grad_by_hand():
    n = Neuron(2)
    n.w[0].data, n.w[1].data, n.b.data = 0.5, -2.0, 0.25
    x = [Value(3.0), 1.0]  # a Value and a plain number
    out = n(x)
    assert out.data == pytest.approx(max(0.0, 0.25 + 1.5 - 2.0))
    assert out.data == 0.0
    out = Neuron(2, nonlin=False)
    out.w[0].data, out.w[1].data = 0.5, -2.0
    y = out(x)
    y.backward()
    assert y.data == pytest.approx(1.5 - 2.0)
    assert [out.w[0].grad, out.w[1].grad, out.b.grad, x[0].grad] == [3.0, 1.0, 1.0, 0.5]


def test_neuron_builds_micrograds_graph():
    n = Neuron(3, nonlin=False)
    n.fused = False  # the default records one 'dot' node (tests/test_scalar_fast.py)
    x = [Value(1.0), Value(2.0), Value(3.0)]
    out = n(x)
    # ((b + w0*x0) + w1*x1) + w2*x2: the add chain ends in the bias.
    assert out._op == "+"
    node, depth = out, 0
    while node is not n.b:
        left, right = node._children
        assert right._op == "*"
        node, depth = left, depth + 1
    assert depth == 3


def test_layer_single_output_is_a_value_and_accepts_iterables():
    layer = Layer(2, 1)
    assert isinstance(layer(iter([1.0, 2.0])), Value)
    assert len(Layer(2, 3)((1.0, 2.0))) == 3


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [4, 1])
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
    assert Module().parameters() == []


def test_mlp_deepcopy_copies_parameters():
    model = MLP(2, [3, 1])
    clone = copy.deepcopy(model)
    assert [p.data for p in clone.parameters()] == [p.data for p in model.parameters()]
    clone.parameters()[0].data += 1.0
    assert clone.parameters()[0].data != model.parameters()[0].data
    assert clone([1.0, 2.0]).data == pytest.approx(clone([1.0, 2.0]).data)


def test_neuron_rejects_bad_inputs():
    with pytest.raises(TypeError, match="Neuron: inputs must be Values or numbers"):
        Neuron(2)(["a", 1.0])


def test_mlp_matches_micrograd_given_the_same_seed():
    nn = pytest.importorskip("micrograd.nn")
    engine = pytest.importorskip("micrograd.engine")
    X, y = moons(20)
    random.seed(7)
    ours = MLP(2, [8, 8, 1])
    random.seed(7)
    theirs = nn.MLP(2, [8, 8, 1])
    for _ in range(3):
        a, b = svm_loss(ours, Value, X, y), svm_loss(theirs, engine.Value, X, y)
        assert a.data == pytest.approx(b.data, rel=1e-12)
        for m in (ours, theirs):
            m.zero_grad()
        a.backward()
        b.backward()
        for p, q in zip(ours.parameters(), theirs.parameters()):
            assert p.grad == pytest.approx(q.grad, rel=1e-9, abs=1e-15)
            p.data -= 0.1 * p.grad
            q.data -= 0.1 * q.grad


def test_mlp_training_reduces_loss():
    X, y = moons(40, seed=1)
    random.seed(1337)
    model = MLP(2, [8, 8, 1])
    losses = []
    for _ in range(30):
        loss = svm_loss(model, Value, X, y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.6 * losses[0]
    scores = [model(row).data for row in X]
    accuracy = np.mean([(s > 0) == (t > 0) for s, t in zip(scores, y)])
    assert accuracy >= 0.8
