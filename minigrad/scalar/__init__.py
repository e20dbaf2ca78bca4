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

``draw_dot`` (micrograd's notebook function, from :mod:`minigrad.viz`) is
importable from here too, loaded on first use.
"""

from minigrad._C._scalar import Value

__all__ = ["Value", "draw_dot"]


def __getattr__(name: str):
    # Lazily: minigrad.viz imports this module.
    if name == "draw_dot":
        from minigrad.viz import draw_dot

        return draw_dot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
