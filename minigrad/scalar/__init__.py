"""The scalar engine: micrograd's ``Value``, compiled.

Layer: scalar (beside the tensor engine). Imports only ``minigrad._C._scalar``,
where :class:`Value` is defined as a Cython extension type (see Note [Value
layout] there); :mod:`minigrad.scalar.nn` holds micrograd's Neuron, Layer and
MLP on top of it.

Code written for micrograd runs after changing its import::

    from minigrad.scalar import Value
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    ...
    g.backward()
"""

from minigrad._C._scalar import Value

__all__ = ["Value"]
