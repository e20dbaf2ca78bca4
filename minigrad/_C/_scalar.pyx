"""Value: micrograd's scalar autodiff node as a compiled extension type.

Layer: _C. Imports only the standard library and csrc/mg_scalar.h; the public
home of :class:`Value` is :mod:`minigrad.scalar`.

# Note [Value layout]
A Value is one Python object holding one C struct, ``mg_scalar_node`` (value,
gradient, two child pointers, the two local derivatives, an op code): 80 bytes
per node, against ~680 for micrograd's Python object, its ``__dict__``, its
``_prev`` set and its ``_backward`` closure. The local derivatives are computed
when the node is made, so backward is a C loop with no per-op code and no
Python call (``mg_scalar_backward``).

The child pointers point at the children's structs, and the Value owns a
reference to each child's object (found from the struct by a fixed offset).
Children are set once, when a node is made, and always exist before it, so the
graph is acyclic: no reference cycle can form, the type need not take part in
the cyclic garbage collector (micrograd's closures make a cycle per node, which
is where most of its time goes), and ``__dealloc__`` releases a long chain
iteratively instead of recursing once per node.

An operand that is a Python number is not made into a node: ``x * 2.0`` is a
one-child node that keeps 2.0 (see ``d1`` in mg_scalar.h).

A fused neuron's weighted sum is one n-ary node (Note [Fused neurons]): its
children and their local derivatives sit in one PyMem block (``many``, 24 +
16 bytes per child) that the Value owns, with a reference to each child; the
same acyclicity and iterative release apply.

Freed Values go to a free list of up to 65536 objects (5 MB), reused before
the allocator is asked: a training step frees a graph and builds one of the
same size, and without the list the allocator hands its memory back to the
OS and takes it again each step (~750 page faults per step of micrograd's
demo, 20-40% of the step; measured in benchmarks/bench_scalar.py).
"""

cimport cython
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.dict cimport PyDict_GetItem
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_INCREF, PyObject, Py_XDECREF, _Py_REFCNT
from libc.math cimport floor
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcpy

import numbers
from minigrad.errors import ArgumentError

cdef extern from "Python.h":
    dict PyObject_GenericGetDict(object o, void *context)
    # The macros themselves, on a borrowed pointer (no temporary reference).
    void _incref "Py_INCREF"(PyObject *o) noexcept
    void _decref "Py_DECREF"(PyObject *o) noexcept
    ctypedef struct PyListObject:
        PyObject **ob_item

cdef extern from "mg_scalar.h" nogil:
    ctypedef Py_ssize_t mg_index_t
    ctypedef struct mg_scalar_many:
        mg_index_t n
        mg_index_t inner
        mg_scalar_node **c
        double *d
    ctypedef struct mg_scalar_node:
        double data
        double grad
        double d0
        double d1
        mg_scalar_node *c0
        mg_scalar_node *c1
        mg_scalar_many *many  # shares c1's storage (a union in C)
        uint64_t mark
        uint32_t op
        uint32_t flags
    mg_index_t mg_scalar_backward(mg_scalar_node *root,
                                  uint64_t epoch) noexcept
    mg_index_t mg_scalar_topo(mg_scalar_node *root, uint64_t epoch,
                              mg_scalar_node **order, mg_index_t cap) noexcept
    double mg_scalar_relu(double x, double *d) noexcept
    uint32_t MG_SCALAR_MANY
    double mg_scalar_tanh(double x, double *d) noexcept
    double mg_scalar_sigmoid(double x, double *d) noexcept
    double mg_scalar_exp(double x, double *d) noexcept
    double mg_scalar_log(double x, double *d) noexcept
    double mg_scalar_powc(double x, double k, double *d) noexcept
    double mg_scalar_pow(double a, double b, double *da, double *db) noexcept

__all__ = ["Value"]

# Op codes (mg_scalar_node.op). Codes from CUSTOM on index _custom_ops: the op
# strings given to the low-level constructor.
cdef enum:
    LEAF, ADD, SUB, MUL, DIV, POW, NEG, RELU, TANH, EXP, LOG, SIGMOID
    ADDC, SUBC, RSUBC, MULC, DIVC, RDIVC, POWC, RPOWC, DOT, DOT_RELU
    CUSTOM = 32

# mg_scalar_node.flags
cdef enum:
    # Initialised, or already some node's child: __init__ may not (re)define
    # its children, which is what keeps the graph acyclic.
    F_INIT = 1
    F_CONST_INT = 2  # the constant operand was an int (shown as one, micrograd)
    F_LABEL = 4  # has a label in _labels

# Labels (micrograd's ``label``), by node address. Few nodes carry one (the
# named leaves of an exercise), so they live here rather than in every node's
# struct: a Value stays 80 bytes and only a labelled one pays a dict entry,
# removed when it dies (F_LABEL tells __dealloc__ to look).
cdef dict _labels = {}

_OP_NAMES = ("", "+", "-", "*", "/", "**", "neg", "ReLU", "tanh", "exp", "log",
             "sigmoid", "+", "-", "-", "*", "/", "/", "**", "**", "dot",
             "ReLU(dot)")
cdef list _custom_ops = []
cdef dict _custom_index = {}

# Where a Value's struct sits in its object (set once, at the end of the module).
cdef Py_ssize_t _NODE_OFFSET = 0
# Stamps for mg_scalar_backward / mg_scalar_topo: one fresh value per call.
cdef uint64_t _epoch = 0
_Real = numbers.Real
_Integral = numbers.Integral


cdef inline PyObject *_owner(mg_scalar_node *x) noexcept nogil:
    """The Value object whose struct is ``x`` (see Note [Value layout])."""
    return <PyObject *>(<char *>x - _NODE_OFFSET)


cdef int _number(object x, double *out) except -1:
    """Stores float(x) and returns 1 when x is a real number, else returns 0."""
    if type(x) is float:
        out[0] = PyFloat_AS_DOUBLE(x)
        return 1
    if type(x) is int or isinstance(x, float) or isinstance(x, _Real):
        out[0] = float(x)
        return 1
    return 0


cdef inline uint32_t _int_flag(object x):
    return F_CONST_INT if isinstance(x, _Integral) else 0


cdef double _real_arg(str where, object x) except? -1.0:
    """float(x) for a real number (or a 0-d real array), else TypeError."""
    cdef double v
    if _number(x, &v):
        return v
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if getattr(x, "ndim", None) == 0 and kind in ("b", "i", "u", "f"):
        return float(x)
    hint = "; use its .data" if isinstance(x, Value) else ""
    raise TypeError(f"{where} must be a real number (int or float), got "
                    f"{type(x).__name__} {x!r}"[:200] + hint)


cdef inline Value _node1(double data, uint32_t op, Value a, double da,
                         double const):
    """A node with one child ``a``; ``const`` is the op's constant operand."""
    cdef Value out = Value.__new__(Value)
    out.n.data = data
    out.n.d0 = da
    out.n.d1 = const
    out.n.op = op
    out.n.flags = F_INIT
    a.n.flags |= F_INIT
    Py_INCREF(a)
    out.n.c0 = &a.n
    return out


cdef inline Value _node2(double data, uint32_t op, Value a, double da, Value b,
                         double db):
    cdef Value out = Value.__new__(Value)
    out.n.data = data
    out.n.d0 = da
    out.n.d1 = db
    out.n.op = op
    out.n.flags = F_INIT
    a.n.flags |= F_INIT
    b.n.flags |= F_INIT
    Py_INCREF(a)
    out.n.c0 = &a.n
    Py_INCREF(b)
    out.n.c1 = &b.n
    return out


cdef bint _reserve(mg_scalar_node ***stack, Py_ssize_t *cap,
                   mg_scalar_node **local, Py_ssize_t need) noexcept:
    """Grows ``stack`` (``local`` until it is first grown) to hold ``need``."""
    cdef Py_ssize_t new_cap = cap[0]
    cdef mg_scalar_node **grown
    if need <= cap[0]:
        return True
    while new_cap < need:
        new_cap *= 2
    if stack[0] == local:
        grown = <mg_scalar_node **>malloc(new_cap * sizeof(grown[0]))
        if grown != NULL:
            memcpy(grown, local, cap[0] * sizeof(grown[0]))
    else:
        grown = <mg_scalar_node **>realloc(stack[0], new_cap * sizeof(grown[0]))
    if grown == NULL:
        return False
    stack[0] = grown
    cap[0] = new_cap
    return True


cdef void _release(mg_scalar_node **kids, Py_ssize_t k) noexcept:
    """Drops the references a dying Value held to its children ``kids[:k]``
    (NULL entries skipped).

    A child whose last reference this is would free its own children in turn,
    one C frame per node: a long chain would overflow the stack. Instead its
    children are taken over here, so every dealloc below is shallow.
    """
    cdef mg_scalar_node *local[64]
    cdef mg_scalar_node **stack = local
    cdef Py_ssize_t cap = 64
    cdef Py_ssize_t sp, i, j
    cdef mg_scalar_node *x
    cdef mg_scalar_many *m
    cdef PyObject *obj
    for i in range(k):
        if kids[i] == NULL:
            continue
        stack[0] = kids[i]
        sp = 1
        while sp > 0:
            sp -= 1
            x = stack[sp]
            obj = _owner(x)
            if _Py_REFCNT(obj) == 1:
                if x.flags & MG_SCALAR_MANY:
                    m = x.many
                    if _reserve(&stack, &cap, local, sp + m.n):
                        for j in range(m.n):
                            # A child kept alive by others (a weight) is
                            # released right away instead of via the stack.
                            if _Py_REFCNT(_owner(m.c[j])) > 1:
                                _decref(_owner(m.c[j]))
                            else:
                                stack[sp] = m.c[j]
                                sp += 1
                        x.many = NULL
                        x.flags &= ~MG_SCALAR_MANY
                        PyMem_Free(m)
                elif (x.c0 != NULL or x.c1 != NULL) and _reserve(
                        &stack, &cap, local, sp + 2):
                    if x.c0 != NULL:
                        stack[sp] = x.c0
                        sp += 1
                    if x.c1 != NULL:
                        stack[sp] = x.c1
                        sp += 1
                    x.c0 = NULL
                    x.c1 = NULL
                # Out of memory: the plain (recursive) release below still
                # frees everything, only with deeper C recursion.
            Py_XDECREF(obj)
    if stack != local:
        free(stack)


cdef int _check_pow_const(double x, double k) except -1:
    """The domain checks of x ** k for a constant exponent k."""
    if x < 0 and floor(k) != k:
        raise ArgumentError(f"Value.__pow__: a negative base ({x!r}) to a "
                            f"non-integer power ({k!r}) is not a real number")
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"Value.__pow__: 0.0 cannot be raised to a "
                                f"negative power ({k!r})")
    return 0


cdef int _check_pow_values(str where, double a, double b) except -1:
    """The domain checks of a ** b when the exponent b is differentiated."""
    if a < 0:
        raise ArgumentError(
               f"{where}: the base is negative ({a!r}); the gradient with respect "
               "to a Value exponent needs log(base). Use a number as the exponent "
               "(v ** 2) for a negative base.")
    if a == 0 and b < 0:
        raise ZeroDivisionError(f"{where}: 0.0 cannot be raised to a negative "
                                f"power ({b!r})")
    return 0


cdef object _format_const(double c, uint32_t flags):
    return int(c) if flags & F_CONST_INT and c == floor(c) else c


@cython.freelist(65536)
@cython.auto_pickle(False)
cdef class Value:
    """A scalar that records the operations applied to it (micrograd's API).

    Parameters
    ----------
    data : int or float
        The value (stored as a C double; ``.data`` is a float).
    _children : tuple of Value, optional
        Low-level constructor, as in micrograd: the node's inputs (at most 2).
    _op : str, optional
        The op that made the node (shown by ``_op`` and :mod:`minigrad.viz`).
    label : str, optional
        A name for the node, shown by ``draw_dot`` (micrograd's notebook).
    _local_grads : tuple of float, optional
        d data / d child for each child. micrograd sets gradient flow through a
        ``_backward`` closure instead; a node built without local gradients
        passes no gradient to its children (like micrograd's default closure).

    Raises
    ------
    TypeError
        ``data`` is not a real number (a string, a list, a Value...).

    Notes
    -----
    ``backward()`` sets this node's grad to 1 and accumulates into every node
    below it, interior ones included, exactly as micrograd does; call
    ``zero_grad`` (or set ``.grad = 0``) between steps.
    """

    cdef mg_scalar_node n

    # numpy scalars defer to Value's reflected operators (np.float64(2) * v).
    __array_ufunc__ = None

    def __init__(self, data, _children=(), str _op="", label="",
                 _local_grads=()):
        if self.n.flags & F_INIT:
            raise RuntimeError("Value.__init__: this Value is already "
                               "initialised or in use; make a new Value instead")
        self.n.data = _real_arg("Value: data", data)
        if (_children is () and _local_grads is () and not _op
                and type(label) is str and not label):
            self.n.flags = F_INIT  # a plain leaf, Value(x): the common case
            return
        children = tuple(_children)
        grads = tuple(_local_grads)
        _check_children(self, children, grads)
        if children or grads or _op:
            self.n.op = _custom_code(_op)
        if grads:
            self.n.d0 = _real_arg("Value: _local_grads", grads[0])
            if len(grads) == 2:
                self.n.d1 = _real_arg("Value: _local_grads", grads[1])
        if children:
            Py_INCREF(children[0])
            self.n.c0 = &(<Value>children[0]).n
            (<Value>children[0]).n.flags |= F_INIT
            if len(children) == 2:
                Py_INCREF(children[1])
                self.n.c1 = &(<Value>children[1]).n
                (<Value>children[1]).n.flags |= F_INIT
        self.n.flags = F_INIT
        if not (type(label) is str and not label):
            self.label = label

    def __dealloc__(self):
        cdef mg_scalar_node *kids[2]
        cdef mg_scalar_many *m
        if self.n.flags & F_LABEL and _labels is not None:
            _labels.pop(<size_t>&self.n, None)
        if self.n.flags & MG_SCALAR_MANY:
            m = self.n.many
            self.n.many = NULL
            self.n.flags &= ~MG_SCALAR_MANY
            _release(m.c, m.n)
            PyMem_Free(m)
        elif self.n.c0 != NULL or self.n.c1 != NULL:
            kids[0] = self.n.c0
            kids[1] = self.n.c1
            self.n.c0 = NULL
            self.n.c1 = NULL
            _release(kids, 2)

    # -- attributes -------------------------------------------------------------
    @property
    def data(self):
        """The value, a float."""
        return self.n.data

    @data.setter
    def data(self, value):
        self.n.data = _real_arg("Value.data", value)

    @property
    def grad(self):
        """d(root)/d(this node) accumulated by ``backward``, a float."""
        return self.n.grad

    @grad.setter
    def grad(self, value):
        self.n.grad = _real_arg("Value.grad", value)

    @property
    def label(self):
        """The node's name ('' unless given), shown by ``draw_dot``."""
        if self.n.flags & F_LABEL:
            return _labels[<size_t>&self.n]
        return ""

    @label.setter
    def label(self, value):
        if type(value) is str and not value:
            if self.n.flags & F_LABEL:
                del _labels[<size_t>&self.n]
                self.n.flags &= ~F_LABEL
            return
        _labels[<size_t>&self.n] = value
        self.n.flags |= F_LABEL

    @property
    def _prev(self):
        """The set of child Values (micrograd's ``_prev``)."""
        return set(self._children)

    @property
    def _children(self):
        """The children in operand order, a tuple of 0 to 2 Values; for a
        fused neuron's 'dot' node any number, in the order b, w0, x0, w1, x1,
        ... except that the children that have children come first."""
        cdef mg_scalar_many *m
        if self.n.flags & MG_SCALAR_MANY:
            m = self.n.many
            return tuple([<object>_owner(m.c[i]) for i in range(m.n)])
        if self.n.c0 == NULL:
            return ()
        if self.n.c1 == NULL:
            return (<object>_owner(self.n.c0),)
        return (<object>_owner(self.n.c0), <object>_owner(self.n.c1))

    @property
    def _local_grads(self):
        """d data / d child for each of ``_children``."""
        cdef mg_scalar_many *m
        if self.n.flags & MG_SCALAR_MANY:
            m = self.n.many
            return tuple([self.n.d0 * m.d[i] for i in range(m.n)])
        if self.n.c0 == NULL:
            return ()
        if self.n.c1 == NULL:
            return (self.n.d0,)
        return (self.n.d0, self.n.d1)

    @property
    def _op(self):
        """The op that made this node: '+', '*', '**2', 'ReLU', ... ('' for a
        leaf), as micrograd names them."""
        cdef uint32_t op = self.n.op
        if op >= CUSTOM:
            return _custom_ops[op - CUSTOM]
        if op == POWC:
            return f"**{_format_const(self.n.d1, self.n.flags)}"
        return _OP_NAMES[op]

    @property
    def _label(self):
        """The op with its constant operand, as written: '+ 3', '2 /', '**2'."""
        cdef uint32_t op = self.n.op
        if op < ADDC or op > RPOWC or op == POWC:
            return self._op
        c = _format_const(self.n.d1, self.n.flags)
        if op == RSUBC or op == RDIVC or op == RPOWC:
            return f"{c} {_OP_NAMES[op]}"
        return f"{_OP_NAMES[op]} {c}"

    @property
    def _backward(self):
        """Applies this node's chain rule once (micrograd's ``_backward``)."""
        return self._propagate

    @_backward.setter
    def _backward(self, fn):
        raise AttributeError(
            "Value._backward cannot be set: minigrad's Value keeps local "
            "derivatives instead of closures. Build a custom op as "
            "Value(data, (a, b), 'op', _local_grads=(d_data/d_a, d_data/d_b)).")

    def _propagate(self):
        cdef mg_scalar_many *m
        if self.n.flags & MG_SCALAR_MANY:
            m = self.n.many
            g = self.n.d0 * self.n.grad
            for i in range(m.n):
                m.c[i].grad += m.d[i] * g
            return
        if self.n.c0 != NULL:
            self.n.c0.grad += self.n.d0 * self.n.grad
        if self.n.c1 != NULL:
            self.n.c1.grad += self.n.d1 * self.n.grad

    def __repr__(self):
        return f"Value(data={self.n.data}, grad={self.n.grad})"

    def __reduce__(self):
        # Leaves only (parameters: enough for copy.deepcopy(model) and
        # pickling a model); a graph would need a recursive format.
        if self.n.c0 != NULL or self.n.flags & MG_SCALAR_MANY:
            raise TypeError("Value: only leaf Values (without children) can "
                            "be pickled or copied")
        return _leaf, (self.n.data, self.n.grad, self._op, self.label)

    # -- arithmetic ---------------------------------------------------------------
    def __add__(self, other):
        cdef double c
        if type(other) is Value or isinstance(other, Value):
            return _node2(self.n.data + (<Value>other).n.data, ADD, self, 1.0,
                          <Value>other, 1.0)
        if _number(other, &c):
            return _const_node(self.n.data + c, ADDC, self, 1.0, c, other)
        return NotImplemented

    def __radd__(self, other):
        cdef double c
        if _number(other, &c):
            return _const_node(c + self.n.data, ADDC, self, 1.0, c, other)
        return NotImplemented

    def __sub__(self, other):
        cdef double c
        if type(other) is Value or isinstance(other, Value):
            return _node2(self.n.data - (<Value>other).n.data, SUB, self, 1.0,
                          <Value>other, -1.0)
        if _number(other, &c):
            return _const_node(self.n.data - c, SUBC, self, 1.0, c, other)
        return NotImplemented

    def __rsub__(self, other):
        cdef double c
        if _number(other, &c):
            return _const_node(c - self.n.data, RSUBC, self, -1.0, c, other)
        return NotImplemented

    def __mul__(self, other):
        cdef double c
        cdef Value o
        if type(other) is Value or isinstance(other, Value):
            o = <Value>other
            return _node2(self.n.data * o.n.data, MUL, self, o.n.data, o,
                          self.n.data)
        if _number(other, &c):
            return _const_node(self.n.data * c, MULC, self, c, c, other)
        return NotImplemented

    def __rmul__(self, other):
        cdef double c
        if _number(other, &c):
            return _const_node(c * self.n.data, MULC, self, c, c, other)
        return NotImplemented

    def __truediv__(self, other):
        cdef double c, b
        if type(other) is Value or isinstance(other, Value):
            b = (<Value>other).n.data
            if b == 0:
                raise ZeroDivisionError(
                    f"Value.__truediv__: division by zero ({self.n.data!r} / "
                    f"{b!r})")
            return _node2(self.n.data / b, DIV, self, 1.0 / b, <Value>other,
                          -self.n.data / (b * b))
        if _number(other, &c):
            if c == 0:
                raise ZeroDivisionError(
                    f"Value.__truediv__: division by zero ({self.n.data!r} / "
                    f"{other!r})")
            return _const_node(self.n.data / c, DIVC, self, 1.0 / c, c, other)
        return NotImplemented

    def __rtruediv__(self, other):
        cdef double c, x = self.n.data
        if _number(other, &c):
            if x == 0:
                raise ZeroDivisionError(
                    f"Value.__rtruediv__: division by zero ({other!r} / {x!r})")
            return _const_node(c / x, RDIVC, self, -c / (x * x), c, other)
        return NotImplemented

    def __pow__(self, other, mod):
        cdef double k, d, y
        cdef Value o
        cdef double da, db
        if mod is not None:
            raise TypeError("Value.__pow__: the three-argument pow() is not "
                            "supported")
        if type(other) is Value or isinstance(other, Value):
            o = <Value>other
            _check_pow_values("Value.__pow__", self.n.data, o.n.data)
            y = mg_scalar_pow(self.n.data, o.n.data, &da, &db)
            return _node2(y, POW, self, da, o, db)
        if _number(other, &k):
            _check_pow_const(self.n.data, k)
            y = mg_scalar_powc(self.n.data, k, &d)
            return _const_node(y, POWC, self, d, k, other)
        return NotImplemented

    def __rpow__(self, other, mod):
        cdef double c, y, dc, dx
        if mod is not None:
            raise TypeError("Value.__rpow__: the three-argument pow() is not "
                            "supported")
        if _number(other, &c):
            _check_pow_values("Value.__rpow__", c, self.n.data)
            y = mg_scalar_pow(c, self.n.data, &dc, &dx)
            return _const_node(y, RPOWC, self, dx, c, other)
        return NotImplemented

    def __neg__(self):
        return _node1(-self.n.data, NEG, self, -1.0, 0.0)

    # -- functions ----------------------------------------------------------------
    def relu(self):
        """max(x, 0), micrograd's way: relu'(0) = 0."""
        cdef double d
        cdef double y = mg_scalar_relu(self.n.data, &d)
        return _node1(y, RELU, self, d, 0.0)

    def tanh(self):
        """tanh(x); saturates to ±1 with a zero derivative, never NaN."""
        cdef double d
        cdef double y = mg_scalar_tanh(self.n.data, &d)
        return _node1(y, TANH, self, d, 0.0)

    def sigmoid(self):
        """1 / (1 + e^-x), computed stably (sigmoid(-1000) == 0)."""
        cdef double d
        cdef double y = mg_scalar_sigmoid(self.n.data, &d)
        return _node1(y, SIGMOID, self, d, 0.0)

    def exp(self):
        """e^x (+inf past x ~ 709.78, as the math says)."""
        cdef double d
        cdef double y = mg_scalar_exp(self.n.data, &d)
        return _node1(y, EXP, self, d, 0.0)

    def log(self):
        """Natural logarithm.

        Raises
        ------
        ValueError
            The value is not positive.
        """
        cdef double d, y
        if self.n.data <= 0:
            raise ArgumentError(f"Value.log: log is only defined for positive "
                                f"numbers, got {self.n.data!r}")
        y = mg_scalar_log(self.n.data, &d)
        return _node1(y, LOG, self, d, 0.0)

    # -- autograd -----------------------------------------------------------------
    def backward(self):
        """Sets this node's grad to 1 and backpropagates into every node it
        depends on (accumulating into ``.grad``, as micrograd does).

        Runs in C without the GIL, over an iterative topological order: depth
        is limited only by memory.
        """
        global _epoch
        _epoch += 1
        cdef uint64_t epoch = _epoch
        cdef mg_index_t n
        with nogil:
            n = mg_scalar_backward(&self.n, epoch)
        if n < 0:
            raise MemoryError("Value.backward: out of memory while ordering "
                              "the graph")


cdef inline Value _const_node(double data, uint32_t op, Value a, double da,
                              double c, object const):
    cdef Value out = _node1(data, op, a, da, c)
    if type(const) is not float:
        out.n.flags |= _int_flag(const)
    return out


cdef int _check_children(Value self, tuple children, tuple grads) except -1:
    if len(children) > 2:
        raise ArgumentError(f"Value: a node has at most 2 children, got "
                            f"{len(children)}; build it from binary ops")
    for c in children:
        if not isinstance(c, Value):
            raise TypeError(f"Value: _children must be Values, got "
                            f"{type(c).__name__}")
        if c is self:
            raise ArgumentError("Value: a node cannot be its own child")
    if grads and len(grads) != len(children):
        raise ArgumentError(f"Value: _local_grads needs one derivative per child: "
                            f"{len(children)} children, {len(grads)} local grads")
    return 0


cdef uint32_t _custom_code(str op) except? 0:
    idx = _custom_index.get(op)
    if idx is None:
        idx = len(_custom_ops)
        if idx >= 0xFFFFFFFF - CUSTOM:
            raise ArgumentError("Value: too many distinct _op strings")
        _custom_ops.append(op)
        _custom_index[op] = idx
    return CUSTOM + <uint32_t>idx


def _leaf(double data, double grad, str op, label=""):
    """Rebuilds a leaf Value (see Value.__reduce__)."""
    cdef Value v = Value(data, (), op, label)
    v.n.grad = grad
    return v


def _topo(Value root not None):
    """The Values ``root`` depends on (itself included), children before
    parents, without recursion."""
    global _epoch
    _epoch += 1
    cdef mg_index_t n = mg_scalar_topo(&root.n, _epoch, NULL, 0)
    if n < 0:
        raise MemoryError("Value: out of memory while ordering the graph")
    cdef mg_scalar_node **order = <mg_scalar_node **>malloc(
        (n + 1) * sizeof(mg_scalar_node *))
    if order == NULL:
        raise MemoryError("Value: out of memory while ordering the graph")
    try:
        _epoch += 1
        n = mg_scalar_topo(&root.n, _epoch, order, n)
        if n < 0:
            raise MemoryError("Value: out of memory while ordering the graph")
        return [<object>_owner(order[i]) for i in range(n)]
    finally:
        free(order)


def _neuron(Value b not None, ws, xs):
    """``b + w0*x0 + w1*x1 + ...`` built left to right, node for node the graph
    of micrograd's ``sum((wi*xi for wi, xi in zip(w, x)), b)`` (zip stops at
    the shorter list). Each ``w`` must be a Value; each ``x`` a Value or a
    real number.
    """
    cdef Value acc = b
    cdef Value w, term
    cdef double c
    cdef Py_ssize_t i, k
    if type(ws) is not list:
        ws = list(ws)
    if type(xs) is not list and type(xs) is not tuple:
        xs = list(xs)
    k = min(len(ws), len(xs))
    for i in range(k):
        w = <Value?>ws[i]
        x = xs[i]
        if type(x) is Value or isinstance(x, Value):
            term = _node2(w.n.data * (<Value>x).n.data, MUL, w,
                          (<Value>x).n.data, <Value>x, w.n.data)
        elif _number(x, &c):
            term = _const_node(w.n.data * c, MULC, w, c, c, x)
        else:
            raise TypeError(f"Neuron: inputs must be Values or numbers, got "
                            f"{type(x).__name__}")
        acc = _node2(acc.n.data + term.n.data, ADD, acc, 1.0, term, 1.0)
    return acc


# -- fused neurons: Note [Fused neurons] and _fused_neuron/_layer/_mlp --------
include "_scalar_fused.pxi"


cdef Py_ssize_t _node_offset():
    cdef Value probe = Value.__new__(Value)
    return <char *>&probe.n - <char *><PyObject *>probe


_NODE_OFFSET = _node_offset()


def _label_count():
    """How many live Values have a label (for tests: labels are released)."""
    return len(_labels)
