# The arithmetic operators of TensorBase (included by _core.pyx).
#
# Note [Compiled dunders]
# ``a * b`` on Tensors used to run a Python method, ``Tensor.__mul__``, whose
# only work was to call ``ops.mul(a, b)``: a Python frame, a global and an
# attribute lookup per op. ``TensorBase`` now defines ``+ - * /`` (with their
# reflected forms) and unary ``-`` itself, as C functions that call the
# functional forms: the ``binary_op`` functions (whose fast path calls
# ``apply2``) and ``ops.neg``. What an operator computes is thus still defined
# once, in ``minigrad/ops/elementwise.py``; a method here only says which
# function, with the operands in which order (``__rsub__`` is ``sub(other,
# self)``). ``tensor.py`` must not define these names again: a Python
# ``__mul__`` there would take the operator back.
#
# The semantics are those of the former Python methods, since the same
# functions run: Python and numpy scalars and numpy arrays on either side
# (numpy defers to ``Tensor`` because of its ``__array_priority__``, then
# ``__rmul__`` runs), promotion, errors (an unsupported operand raises the
# functional form's TypeError naming the op, as before, rather than returning
# NotImplemented). Cython 3 keeps ``__add__`` and ``__radd__`` apart, as Python
# does. A Python subclass that defines an operator (or its reflected form)
# wins, as for any class.
#
# Cost: Cython also lists these methods in ``TensorBase.__dict__``, so CPython
# gives the Python subclass ``Tensor`` its generic slot, which finds the
# method by a cached lookup (about 200 instructions per op) instead of calling
# it directly. Copying TensorBase's slots into Tensor's type would save that
# (measured: 24.0k -> 23.8k instructions per op of the ``mixed`` chain) at the
# price of writing CPython type internals; not done.
#
# The functions are handed over by ``bind_dunders`` when ``ops/elementwise.py``
# has defined them (this module cannot import it: it imports this module).

cdef object _add = None
cdef object _sub = None
cdef object _mul = None
cdef object _div = None
cdef object _neg = None


def bind_dunders(*, add, sub, mul, div, neg):
    """Receives the functional forms the operators call (Note [Compiled dunders])."""
    global _add, _sub, _mul, _div, _neg
    _add, _sub, _mul, _div, _neg = add, sub, mul, div, neg
