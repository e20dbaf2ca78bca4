"""micrograd's neural-network library over the compiled :class:`Value`.

Layer: scalar. Imports only :mod:`minigrad.scalar` (and ``random``).

Same classes, constructor arguments, initialisation and reprs as
``micrograd.nn``: weights are drawn with ``random.uniform(-1, 1)`` from Python's
global ``random``, so ``random.seed(n)`` reproduces micrograd's model exactly.
A neuron's weighted sum ``sum((wi * xi for wi, xi in zip(self.w, x)), self.b)``
is recorded as one n-ary 'dot' node (children b, w0, x0, w1, x1, ..., those
with children of their own first; a ReLU neuron's activation folded in, op
'ReLU(dot)') by a compiled loop, with the same value and the same gradients
for every w, x and b as micrograd's 2n + 1 nodes. A layer
builds all its neurons in one call, an MLP all its layers (while
``Neuron.__call__`` and ``Layer.__call__`` are the ones defined here; patched
ones are called). Set ``Neuron.fused = False`` (on the class or one neuron)
to record micrograd's graph node for node instead.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from minigrad._C._scalar import _fused_layer, _fused_mlp, _fused_neuron, _neuron
from minigrad.scalar import Value

__all__ = ["MLP", "Layer", "Module", "Neuron"]


class Module:
    """Base class: a bag of parameters (micrograd's ``Module``)."""

    def zero_grad(self) -> None:
        """Sets every parameter's ``.grad`` to 0."""
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        """The Values that training updates."""
        return []


class Neuron(Module):
    """``relu(w·x + b)`` (or ``w·x + b`` with ``nonlin=False``).

    Parameters
    ----------
    nin : int
        Number of inputs; the weights start uniform in [-1, 1], the bias at 0.
    nonlin : bool
        Apply ReLU to the weighted sum.
    """

    #: Record the weighted sum as one 'dot' node (False: micrograd's
    #: ``w*x`` and ``+`` nodes, same values and parameter gradients).
    fused: bool = True

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Iterable[Any]) -> Value:
        """x : sequence of Values or numbers, length nin -> a Value."""
        if self.fused:
            return _fused_neuron(self.b, self.w, x, self.nonlin)
        act = _neuron(self.b, self.w, x)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs.

    Parameters
    ----------
    nin, nout : int
        Inputs per neuron and number of neurons.
    **kwargs
        Passed to each :class:`Neuron` (``nonlin``).
    """

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Iterable[Any]) -> Value | list[Value]:
        """A list of nout Values, or a single Value when nout == 1 (micrograd)."""
        fast = Neuron if Neuron.__call__ is _NEURON_CALL else None
        out = _fused_layer(self.neurons, x, fast)
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: ReLU layers and a linear last layer.

    Parameters
    ----------
    nin : int
        Number of inputs.
    nouts : list of int
        Width of each layer, the last one being the output size.
    """

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin, *nouts]
        self.layers = [
            Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Any) -> Any:
        """x : sequence of nin Values or numbers -> a Value or a list of them."""
        # ``for layer in self.layers: x = layer(x)``, in one compiled call.
        layer = Layer if Layer.__call__ is _LAYER_CALL else None
        fast = Neuron if Neuron.__call__ is _NEURON_CALL else None
        return _fused_mlp(self.layers, x, layer, fast)

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


# The compiled layer and MLP paths stand for these; a class whose __call__ was
# replaced afterwards is called instead.
_NEURON_CALL = Neuron.__call__
_LAYER_CALL = Layer.__call__
