# Fused neurons: micrograd's Neuron/Layer/MLP forward as n-ary nodes.
#
# Included by _scalar.pyx (a textual include: the same extension module, so it
# uses Value's fields, _node1, _number and the op codes directly); kept apart
# to keep each file readable.

# -- fused neurons (see Note [Fused neurons]) ------------------------------------
# Note [Fused neurons]
# micrograd's neuron ``sum((wi*xi for wi, xi in zip(w, x)), b)`` makes 2n
# nodes (n products, n sums) that user code never looks at. ``_dot`` makes one
# n-ary node instead (op 'dot', children b, w0, x0, w1, x1, ... with local
# derivatives 1, x0, w0, x1, w1, ...; a number input adds no child). Its value
# is summed in the same order as micrograd's chain, so it is the same double
# (the build has no FMA contraction: setup.py's flags are the portable
# x86-64 baseline), and backward gives every w, x and b the same gradient:
# each product's and sum's local derivative multiplies by 1 exactly.
# A ReLU neuron's activation is folded in too (op 'ReLU(dot)'): the node's
# value is relu(sum) and its d0 is relu'(sum), which backward applies to the
# incoming gradient first, exactly as the separate ReLU node did.
# The children that have children of their own (in a hidden layer, the
# inputs) are stored first, so that backward's ordering pass walks only them
# (mg_scalar_many.inner), never the weights.

cdef Py_ssize_t _inputs(list xl, mg_scalar_node **xn, double *xc) except -1:
    """Reads a neuron's inputs: xn[i] is x_i's node, or NULL with the number in
    xc[i]. Returns the index of the first input that is neither (or len)."""
    cdef Py_ssize_t i, nx = len(xl)
    for i in range(nx):
        x = xl[i]
        if type(x) is Value or isinstance(x, Value):
            xn[i] = &(<Value>x).n
        elif _number(x, &xc[i]):
            xn[i] = NULL
        else:
            return i
    return nx


cdef inline mg_scalar_node *_node_of(PyObject *v) noexcept:
    """The struct inside the Value object ``v`` (see Note [Value layout])."""
    return <mg_scalar_node *>(<char *>v + _NODE_OFFSET)


cdef inline bint _is_leaf(mg_scalar_node *x) noexcept:
    return x.c0 == NULL and not (x.flags & MG_SCALAR_MANY)


cdef inline void _add_child(mg_scalar_many *m, Py_ssize_t *front,
                            Py_ssize_t *back, mg_scalar_node *c,
                            double d) noexcept:
    """Stores child ``c`` (interior ones in front, leaves behind them: see
    mg_scalar_many) and takes a reference to it."""
    cdef Py_ssize_t j
    if _is_leaf(c):
        j = back[0]
        back[0] += 1
    else:
        j = front[0]
        front[0] += 1
    m.c[j] = c
    m.d[j] = d
    _incref(_owner(c))
    c.flags |= F_INIT


cdef Value _dot(Value b, list ws, Py_ssize_t k, mg_scalar_node **xn,
                double *xc, bint relu):
    """``b + w0*x0 + ... + w_{k-1}*x_{k-1}`` as one node, or its relu with
    ``relu``. Requires 1 <= k <= len(ws)."""
    cdef Py_ssize_t i, n = 1, inner = 0, front = 0, back
    cdef PyObject **wp = (<PyListObject *>ws).ob_item
    cdef mg_scalar_node *w
    cdef mg_scalar_node *x
    cdef double acc, xd
    cdef mg_scalar_many *m
    cdef Value out
    inner = not _is_leaf(&b.n)
    for i in range(k):
        if (type(<object>wp[i]) is not Value
                and not isinstance(<object>wp[i], Value)):
            raise TypeError(f"Neuron: weights must be Values, got "
                            f"{type(<object>wp[i]).__name__}")
        inner += not _is_leaf(_node_of(wp[i]))
        if xn[i] != NULL:
            n += 2
            inner += not _is_leaf(xn[i])
        else:
            n += 1
    m = <mg_scalar_many *>PyMem_Malloc(
        sizeof(mg_scalar_many) + n * (sizeof(double) + sizeof(xn[0])))
    if m == NULL:
        raise MemoryError("Neuron: out of memory")
    m.n = n
    m.inner = inner
    m.d = <double *>(<char *>m + sizeof(mg_scalar_many))
    m.c = <mg_scalar_node **>(m.d + n)
    back = inner
    _add_child(m, &front, &back, &b.n, 1.0)
    acc = b.n.data
    for i in range(k):
        w = _node_of(wp[i])
        x = xn[i]
        xd = x.data if x != NULL else xc[i]
        acc = acc + w.data * xd  # micrograd's order: ((b + w0*x0) + w1*x1)...
        _add_child(m, &front, &back, w, xd)
        if x != NULL:
            _add_child(m, &front, &back, x, w.data)
    out = Value.__new__(Value)
    if relu:
        out.n.data = mg_scalar_relu(acc, &out.n.d0)
        out.n.op = DOT_RELU
    else:
        out.n.data = acc
        out.n.d0 = 1.0
        out.n.op = DOT
    out.n.flags = F_INIT | MG_SCALAR_MANY
    out.n.many = m
    return out


cdef inline Value _relu(Value a):
    cdef double d
    cdef double y = mg_scalar_relu(a.n.data, &d)
    return _node1(y, RELU, a, d, 0.0)


cdef class _Inputs:
    """A neuron's inputs read once: the list (which keeps them alive) and
    their nodes or numbers."""
    cdef list xl
    cdef Py_ssize_t nx, bad
    cdef mg_scalar_node **xn
    cdef double *xc

    def __cinit__(self, xs):
        self.xl = list(xs)
        self.nx = len(self.xl)
        self.xn = <mg_scalar_node **>PyMem_Malloc(
            (self.nx + 1) * (sizeof(self.xn[0]) + sizeof(double)))
        if self.xn == NULL:
            raise MemoryError("Neuron: out of memory")
        self.xc = <double *>(self.xn + self.nx + 1)
        self.bad = _inputs(self.xl, self.xn, self.xc)

    def __dealloc__(self):
        PyMem_Free(self.xn)

    cdef Value neuron(self, b, ws, bint nonlin):
        if not isinstance(b, Value):
            raise TypeError(f"Neuron: the bias must be a Value, got "
                            f"{type(b).__name__}")
        if type(ws) is not list:
            ws = list(ws)
        cdef Py_ssize_t k = min(len(<list>ws), self.nx)
        if k > self.bad:
            raise TypeError(f"Neuron: inputs must be Values or numbers, got "
                            f"{type(self.xl[self.bad]).__name__}")
        if k == 0:  # sum([], b) is b itself
            return _relu(<Value>b) if nonlin else <Value>b
        return _dot(<Value>b, <list>ws, k, self.xn, self.xc, nonlin)


def _fused_neuron(b, ws, xs, nonlin):
    """A neuron's output ``relu(b + w·x)`` (or ``b + w·x`` when not nonlin)
    as one 'ReLU(dot)' (or 'dot') node (Note [Fused neurons])."""
    return _Inputs(xs).neuron(b, ws, bool(nonlin))


cdef dict _instance_dict(obj):
    """obj's attribute dict (reading it directly skips the attribute protocol:
    ~4x cheaper per name, and a layer reads 4 names per neuron)."""
    return PyObject_GenericGetDict(obj, NULL)


cdef inline object _get(dict d, str name, object default):
    cdef PyObject *v = PyDict_GetItem(d, name)
    return <object>v if v != NULL else default


cdef bint _plain_attributes(type cls, tuple names) except -1:
    """No class in cls's MRO defines one of ``names`` (a property would take
    precedence over the instance dict): instance dicts can be read directly."""
    for base in cls.__mro__:
        for name in names:
            if name in base.__dict__:
                return False
    return True


cdef list _layer_forward(neurons, _Inputs inp, type neuron_type, bint plain):
    cdef list out = []
    cdef dict d
    if neuron_type is None:
        return [nrn(inp.xl) for nrn in neurons]
    class_fused = neuron_type.fused
    for nrn in neurons:
        if type(nrn) is neuron_type:
            if plain:
                d = _instance_dict(nrn)
                b = _get(d, "b", None)
                w = _get(d, "w", None)
                nonlin = _get(d, "nonlin", None)
                # (one missing: the attribute path below raises as Python would)
                if b is not None and w is not None and nonlin is not None:
                    if _get(d, "fused", class_fused):
                        out.append(inp.neuron(b, w, bool(nonlin)))
                    else:
                        out.append(nrn(inp.xl))
                    continue
            if nrn.fused:
                out.append(inp.neuron(nrn.b, nrn.w, bool(nrn.nonlin)))
                continue
        out.append(nrn(inp.xl))
    return out


def _fused_layer(neurons, xs, type neuron_type):
    """``[n(xs) for n in neurons]``, each neuron of exactly ``neuron_type``
    with a true ``fused`` attribute built here from its ``w``, ``b`` and
    ``nonlin`` (the inputs read once for all); any other is called (all of
    them when ``neuron_type`` is None)."""
    return _layer_forward(neurons, _Inputs(xs), neuron_type,
                          neuron_type is not None and _plain_attributes(
                              neuron_type, ("w", "b", "nonlin")))


def _fused_mlp(layers, x, type layer_type, type neuron_type):
    """``for layer in layers: x = layer(x)``, where a layer of exactly
    ``layer_type`` is run by _fused_layer (a 1-wide one gives its Value, not a
    list, as micrograd's Layer does); None: every layer is called."""
    cdef bint plain_layer = (layer_type is not None
                             and _plain_attributes(layer_type, ("neurons",)))
    cdef bint plain = (neuron_type is not None
                       and _plain_attributes(neuron_type, ("w", "b", "nonlin")))
    cdef list out
    for layer in layers:
        if type(layer) is layer_type and plain_layer:
            out = _layer_forward(_instance_dict(layer)["neurons"], _Inputs(x),
                                 neuron_type, plain)
            x = out[0] if len(out) == 1 else out
        else:
            x = layer(x)
    return x
