# cython: language_level=3
"""The compiled autograd core: the op-call path and the backward engine's loop.

# Note [Compiled core]
On small tensors an op's cost is the bookkeeping around its numpy call: checking
grad mode, computing the graph edges, wrapping the result in a Tensor, saving
inputs with their versions; and in backward, popping nodes, calling their
backward, and summing the gradients each node receives. That bookkeeping lives
here, compiled, and nothing else does:

* ``binary_op``: the functional form of ``+ - * /`` (its dtype fast path; the
  rest is ``_binary_general`` in ``ops/elementwise.py``);
* ``apply1`` / ``apply2`` / ``apply_n``: ``Function.apply`` for built-in ops
  of one, two or any number of inputs (Note [Per-op overhead] in
  ``autograd/function.py``);
* ``TensorBase``: the fields of a Tensor (``data``, ``grad``, ``grad_fn``...),
  so that the core reads and writes them in C; ``minigrad.tensor.Tensor``
  subclasses it and holds every other method, and ``wrap`` (``Tensor._wrap``)
  is one allocation; and the operators ``+ - * /`` and unary ``-``, which call
  the functional forms from C (Note [Compiled dunders] in ``_dunders.pxi``);
* ``loop`` / ``push`` / ``backward_scalar`` / ``accumulate_plain``
  (``_engine.pxi``): the backward engine's traversal and accumulation (Note
  [Engine order] in ``autograd/engine.py``);
* ``set_tape`` / ``replay`` / ``guard`` (``_replay.pxi``): recording a step's
  tape and running it again (Note [Captured steps] in ``autograd/capture.py``);
* ``small_binary`` (``_small.pxi``): ``+ - *`` of small float arrays without
  numpy's per-call cost, called by the ops' ``forward`` (Note [Small arrays]);
* ``next_seq``: the nodes' sequence numbers;
* ``STATE`` / ``GLOBAL_STATE`` (``autograd/grad_mode.py``): the grad mode, a C
  thread-local flag (per thread, as in PyTorch), and the anomaly flag, read by
  the core without a Python attribute lookup.

What an op computes is not here: each op's ``forward`` and ``backward`` stay
defined once, in Python, in ``minigrad/ops/``; this module only calls them
(``cls.forward(ctx, ...)``, ``node._fn.backward(node, g)``). The rare cases stay
in Python too and are called from here: outputs that are not one array
(``_finish_general``), saved items that are not a plain input or output
(``_saved_entry``), nodes that are not plain (``_run_special``: hooks, capture
for ``autograd.grad``, several outputs, freed graphs), anomaly checks and leaf
accumulation. Those Python functions are handed over once, by ``bind``, when
``minigrad.autograd`` is imported (this module cannot import them: they import it).

There is no pure-Python fallback: the package always builds its extensions.

What each part bought, in instructions per op of benchmarks/bench_overhead.py's
``mixed`` chain (forward + backward, callgrind, PYTHONHASHSEED=0): the Python
hot path 39.9k; compiled functions over the Python objects 33.3k (attribute
access from C on a plain Python object is no cheaper than the interpreter's
specialised bytecode, so this alone buys little); Tensor's fields in
``TensorBase`` (``wrap`` is one allocation, reads are C reads) 30.0k; the node's
in ``NodeBase`` 27.6k; ``save_for_backward`` / ``saved_tensors`` as its C methods
25.6k; the grad mode as a C thread-local flag 24.4k; the operators in
``TensorBase`` (no Python frame for ``Tensor.__mul__``) 24.5k -> 24.0k (that
pair measured as Ir(12 chains) - Ir(2 chains), OPENBLAS_NUM_THREADS=1: the
idle BLAS threads' spinning otherwise varies by +-1k). What remains is mostly
the ops' own Python (``forward``/``backward``), numpy's ufunc dispatch and the
cyclic GC, which must keep tracking tensors and nodes (a user's ``ctx``
attribute can close a cycle through them). Since then, measured as
Ir(1200 runs) - Ir(200 runs) of 40 such ops + sum + backward, per op: 26.5k;
``small_binary`` for ``+ - *`` on small arrays (Note [Small arrays]) 21.6k;
Add/Sub keeping ``ctx.shapes`` only when broadcast (Note [Broadcasting]) and
Mul's backward without a ``_sum_to`` frame 19.4k; Mul too 18.8k.
"""

import heapq

from cpython.ref cimport Py_REFCNT, Py_XDECREF, Py_XINCREF, PyObject

import numpy as np
from minigrad._C._layout import c_order_copy

cimport numpy as cnp

cnp.import_array()

# The grad mode of the calling thread: 0 while enabled (every thread starts so).
cdef extern from *:
    """
    #if defined(_MSC_VER)
    static __declspec(thread) int mg_no_grad = 0;
    #else
    static _Thread_local int mg_no_grad = 0;
    #endif
    """
    int mg_no_grad


cdef class GradState:
    """``grad_mode.STATE``: ``grad_enabled`` is the calling thread's grad mode
    (a ``no_grad`` block in one thread does not stop another's recording)."""

    @property
    def grad_enabled(self):
        return not mg_no_grad

    @grad_enabled.setter
    def grad_enabled(self, value):
        global mg_no_grad
        mg_no_grad = not value


cdef class GlobalState:
    """``grad_mode.GLOBAL_STATE``: process-wide switches (anomaly detection)."""

    cdef public bint anomaly


STATE = GradState()
cdef GlobalState _GLOBAL = GlobalState()
GLOBAL_STATE = _GLOBAL

# The Python half, set by bind() (see the Note).
cdef object Tensor = None
cdef object _FREED = None
cdef object _saved_output = None
cdef object _saved_entry = None
cdef object _finish_general = None
cdef object _run_special = None
cdef object _fix_arity = None
cdef object _check_anomaly = None
cdef object _accumulate_all = None
cdef object _format_stack = None

cdef object _F32 = np.dtype(np.float32)
cdef object _F64 = np.dtype(np.float64)
cdef object _I64 = np.dtype(np.int64)
cdef object _ndarray = np.ndarray
cdef object _generic = np.generic
cdef object _asarray = np.asarray
cdef object _array = np.array
cdef object _heappush = heapq.heappush
cdef object _heappop = heapq.heappop
cdef object _np_add = np.add

# The kinds of saved items (Note [Saved tensors] in function.py uses the same codes).
DEF SAVED_INPUT = 0
DEF SAVED_OUTPUT = 1

# needs_input_grad tuples, shared instead of built per op.
cdef tuple NEEDS1 = (True,)
cdef tuple NEEDS2_TT = (True, True)
cdef tuple NEEDS2_TF = (True, False)
cdef tuple NEEDS2_FT = (False, True)

cdef long long _seq = 0

# The recorder of the step the calling thread is capturing (Note [Captured
# steps] in autograd/capture.py), or NULL: the ops' one extra check. A
# thread-local owned reference, so that another thread's ops are not recorded.
cdef extern from *:
    """
    #if defined(_MSC_VER)
    static __declspec(thread) PyObject *mg_tape = NULL;
    #else
    static _Thread_local PyObject *mg_tape = NULL;
    #endif
    """
    PyObject *mg_tape
# Its entry kinds (capture.py uses the same codes).
DEF OP1 = 1
DEF OP2 = 2
DEF OPN = 3
DEF CALL = 4
DEF GRAD = 5
DEF DATA = 6


def bind(**parts):
    """Receives the Python half of the core (see Note [Compiled core])."""
    global Tensor, _FREED, _saved_output
    global _saved_entry, _finish_general, _run_special, _fix_arity
    global _check_anomaly, _accumulate_all, _format_stack
    Tensor = parts.pop("Tensor", Tensor)
    _FREED = parts.pop("FREED", _FREED)
    _saved_output = parts.pop("saved_output", _saved_output)
    _saved_entry = parts.pop("saved_entry", _saved_entry)
    _finish_general = parts.pop("finish_general", _finish_general)
    _run_special = parts.pop("run_special", _run_special)
    _fix_arity = parts.pop("fix_arity", _fix_arity)
    _check_anomaly = parts.pop("check_anomaly", _check_anomaly)
    _accumulate_all = parts.pop("accumulate_all", _accumulate_all)
    _format_stack = parts.pop("format_stack", _format_stack)
    if parts:
        raise TypeError(f"bind: unknown parts {sorted(parts)}")


cdef class TensorBase:
    """The fields of :class:`minigrad.Tensor` (see its docstring for their use).

    ``_vc`` is the version counter ``[n]`` or None (created lazily), ``_out_idx``
    the output index in ``grad_fn``, ``_hooks`` the gradient hooks, ``_base``
    the tensor a view was taken from.
    """

    cdef public object data
    cdef public object grad
    cdef public object grad_fn
    cdef public bint requires_grad
    cdef public Py_ssize_t _out_idx
    cdef public object _vc
    cdef public object _hooks
    cdef public object _base
    cdef object __weakref__

    # The arithmetic operators call the functional forms of minigrad.ops
    # from C (Note [Compiled dunders] in _dunders.pxi).
    def __add__(self, other):
        return _add(self, other)

    def __radd__(self, other):
        return _add(other, self)

    def __sub__(self, other):
        return _sub(self, other)

    def __rsub__(self, other):
        return _sub(other, self)

    def __mul__(self, other):
        return _mul(self, other)

    def __rmul__(self, other):
        return _mul(other, self)

    def __truediv__(self, other):
        return _div(self, other)

    def __rtruediv__(self, other):
        return _div(other, self)

    def __neg__(self):
        return _neg(self)


include "_dunders.pxi"


cdef tuple _EMPTY = ()


cdef class NodeBase:
    """The fields of a graph node (:class:`minigrad.autograd.function.Context`)
    that the core reads and writes: Note [Graph nodes] in ``function.py``.
    ``_plain`` (Note [Plain nodes] in ``engine.py``) starts False: the paths of
    built-in ops set it when they create a node."""

    cdef public object needs_input_grad
    cdef public object _edges
    cdef public long long _seq
    cdef public Py_ssize_t _n_out
    cdef public bint _plain
    cdef public object _to_save
    cdef public object _saved

    def __cinit__(self):
        self.needs_input_grad = _EMPTY
        self._edges = _EMPTY
        self._to_save = _EMPTY
        self._n_out = 1

    def save_for_backward(self, *items):
        """Keeps inputs, outputs or other arrays/Tensors for backward."""
        self._to_save = items

    @property
    def saved_tensors(self):
        """What forward saved, as Tensors (Note [Saved tensors] in function.py).

        Raises
        ------
        RuntimeError
            After the graph was freed, or when a saved tensor was modified in
            place since it was saved.
        """
        cdef TensorBase t
        saved = self._saved
        if saved is None:
            return ()
        if saved is _FREED:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second "
                "time (or to access saved tensors after they were freed). Saved "
                "values are freed after backward; pass retain_graph=True to "
                "backward the first time if you need to backward through it "
                "again."
            )
        out = []
        for kind, val, ver in saved:
            self._check_version(kind, val, ver)
            if kind == SAVED_OUTPUT:
                arr, idx, vc = val
                t = wrap(arr)
                t._vc = vc
                if idx not in self._nd_idx:
                    t.requires_grad = True
                    t.grad_fn = self
                    t._out_idx = idx
                out.append(t)
            else:
                out.append(val)
        return tuple(out)

    def _saved_arrays(self):
        """What forward saved, as arrays, after the checks of ``saved_tensors``:
        for a built-in backward that does not record (no ``create_graph``) and
        so needs no Tensor bound to this node."""
        saved = self._saved
        if saved is None or saved is _FREED:
            return [_array_of(t) for t in self.saved_tensors]
        out = []
        for kind, val, ver in saved:
            self._check_version(kind, val, ver)
            if kind == SAVED_INPUT:
                out.append((<TensorBase>val).data)
            elif kind == SAVED_OUTPUT:
                out.append(val[0])
            else:
                out.append(_array_of(val))
        return out

    cdef int _check_version(self, object kind, object val, object ver) except -1:
        """Raises, naming the op, if the saved input or output ``val`` was
        modified in place since it was saved (Note [Saved tensors])."""
        if kind == SAVED_INPUT:
            vc = (<TensorBase>val)._vc
            if vc is not None and vc[0] != ver:
                self._raise_modified(val.data.shape, vc[0], ver)
        elif kind == SAVED_OUTPUT:
            vc = val[2]
            if vc[0] != ver:
                self._raise_modified(val[0].shape, vc[0], ver)
        return 0


cdef object _array_of(object x):
    return (<TensorBase>x).data if isinstance(x, TensorBase) else x


cpdef TensorBase wrap(object arr):
    """A Tensor around ``arr``: no copy, no checks, no graph (the ops' fast path)."""
    cdef TensorBase t = TensorBase.__new__(Tensor)
    t.data = arr
    return t


def binary_op(cls, str op, str doc, general, check_broadcast):
    """The functional form ``fn(a, b)`` of the binary op ``cls``.

    Its fast path: two tensors of one dtype (float32, float64, or int64 unless
    ``cls`` is a division), or a float tensor and a Python number (Note [Python
    scalars] in ``ops/elementwise.py``). Anything else goes to
    ``general(cls, a, b, op)``; a broadcast error to ``check_broadcast``.
    """
    cdef bint int_ok = cls.__name__ != "Div"

    def fn(a, b):
        cdef object dt
        if isinstance(a, TensorBase):
            dt = (<TensorBase>a).data.dtype
            if isinstance(b, TensorBase):
                # int / int is true division (float32) and bool - bool an
                # error: both left to the general path
                if (<TensorBase>b).data.dtype is dt and (
                    dt is _F32 or dt is _F64 or (dt is _I64 and int_ok)
                ):
                    try:
                        return _rec2(cls, a, b, None)
                    except ValueError:
                        check_broadcast(op, a.shape, b.shape)
                        raise
            elif (type(b) is float or type(b) is int) and (dt is _F32 or dt is _F64):
                return _rec2(cls, a, b, None)
        elif isinstance(b, TensorBase) and (type(a) is float or type(a) is int):
            dt = (<TensorBase>b).data.dtype
            if dt is _F32 or dt is _F64:
                return _rec2(cls, a, b, None)
        return general(cls, a, b, op)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = doc
    return fn


def next_seq():
    """The next node sequence number (Note [Graph nodes] in function.py)."""
    global _seq
    _seq += 1
    return _seq


cpdef object version_of(object t):
    """The version a saved input is recorded with (Note [Saved tensors])."""
    vc = (<TensorBase?>t)._vc
    return 0 if vc is None else vc[0]


cpdef object edge(object t):
    """The graph edge to a tensor that requires grad (Note [Graph nodes])."""
    cdef TensorBase tt = <TensorBase?>t
    node = tt.grad_fn
    if node is None:
        return t
    return node if (<NodeBase?>node)._n_out == 1 else (node, tt._out_idx)


cdef inline void _bind_output(TensorBase t, NodeBase ctx) except *:
    global _seq
    t.requires_grad = True
    t.grad_fn = ctx
    _seq += 1
    ctx._seq = _seq


def apply1(cls, a, kwargs=None):
    """``cls.apply(a, **kwargs)`` for a built-in op (Note [Per-op overhead])."""
    out = _apply1(cls, a, kwargs)
    if mg_tape != NULL:
        (<object>mg_tape).op(OP1, cls, (a,), kwargs, out)
    return out


cdef object _apply1(cls, a, kwargs):
    cdef NodeBase ctx = cls._Node()
    ctx._plain = True
    cdef bint rec = False
    cdef TensorBase t
    if isinstance(a, TensorBase):
        ad = (<TensorBase>a).data
        if (<TensorBase>a).requires_grad and not mg_no_grad:
            rec = True
            ctx.needs_input_grad = NEEDS1
            ctx._edges = (edge(a),)
    else:
        ad = a
    res = out = cls.forward(ctx, ad, **kwargs) if kwargs else cls.forward(ctx, ad)
    if type(out) is not _ndarray:
        if not isinstance(out, _generic):
            return _finish_general(cls, ctx, (a,), out, rec)
        out = _asarray(out)  # numpy ufuncs return scalars for 0-d input
    t = wrap(out)
    if rec and cnp.PyArray_ISFLOAT(<cnp.ndarray>out):
        _bind_output(t, ctx)
        items = ctx._to_save
        if items:
            ctx._saved = tuple([_saved1(it, a, ad, res, t) for it in items])
            ctx._to_save = ()
        if _GLOBAL.anomaly:
            ctx._trace = _caller_stack()
    if cls._view:
        share_version(t, a)
    return t


cdef object _saved1(object it, object a, object ad, object res, object t):
    if it is ad:
        return (SAVED_INPUT, a, version_of(a))
    if it is res:
        return _saved_output(t, 0)
    return _saved_entry(it, (a,), (res,), (t,))


cpdef void share_version(object out, object base) except *:
    """A view shares its base's version counter and remembers the base."""
    cdef TensorBase o = <TensorBase?>out
    cdef TensorBase b
    if isinstance(base, TensorBase):
        b = <TensorBase>base
        if not np.may_share_memory(o.data, b.data):
            return
        if b._vc is None:
            b._vc = [0]
        o._vc = b._vc
        o._base = b._base if b._base is not None else b


def apply2(cls, a, b, kwargs=None):
    """``cls.apply(a, b, **kwargs)`` for a built-in op (Note [Per-op overhead])."""
    return _rec2(cls, a, b, kwargs)


cdef inline object _rec2(cls, a, b, kwargs):
    out = _apply2(cls, a, b, kwargs)
    if mg_tape != NULL:
        (<object>mg_tape).op(OP2, cls, (a, b), kwargs, out)
    return out


cdef object _apply2(cls, a, b, kwargs):
    cdef NodeBase ctx = cls._Node()
    ctx._plain = True
    cdef bint ta = isinstance(a, TensorBase)
    cdef bint tb = isinstance(b, TensorBase)
    cdef bint ra = False, rb = False, rec = False
    cdef TensorBase t
    if ta:
        ad = (<TensorBase>a).data
        ra = (<TensorBase>a).requires_grad
    else:
        ad = a
    if tb:
        bd = (<TensorBase>b).data
        rb = (<TensorBase>b).requires_grad
    else:
        bd = b
    if (ra or rb) and not mg_no_grad:
        rec = True
        if ra:
            ctx.needs_input_grad = NEEDS2_TT if rb else NEEDS2_TF
            ctx._edges = (edge(a), edge(b) if rb else None)
        else:
            ctx.needs_input_grad = NEEDS2_FT
            ctx._edges = (None, edge(b))
    res = out = (
        cls.forward(ctx, ad, bd, **kwargs) if kwargs else cls.forward(ctx, ad, bd)
    )
    if type(out) is not _ndarray:
        if not isinstance(out, _generic):
            return _finish_general(cls, ctx, (a, b), out, rec)
        out = _asarray(out)
    t = wrap(out)
    if rec and cnp.PyArray_ISFLOAT(<cnp.ndarray>out):
        _bind_output(t, ctx)
        items = ctx._to_save
        if items:
            saved = []
            for it in items:
                if it is ad and ta:
                    saved.append((SAVED_INPUT, a, version_of(a)))
                elif it is bd and tb:
                    saved.append((SAVED_INPUT, b, version_of(b)))
                elif it is res:
                    saved.append(_saved_output(t, 0))
                else:
                    saved.append(_saved_entry(it, (a, b), (res,), (t,)))
            ctx._saved = tuple(saved)
            ctx._to_save = ()
        if _GLOBAL.anomaly:
            ctx._trace = _caller_stack()
    return t


def apply_n(cls, tuple args, kwargs=None):
    """``cls.apply(*args, **kwargs)`` for a built-in op of any arity (Note
    [Per-op overhead]): the one-array result of a recorded op is bound here,
    as in ``apply2``; anything else goes through ``_finish_general``."""
    out = _applyn(cls, args, kwargs)
    if mg_tape != NULL:
        (<object>mg_tape).op(OPN, cls, args, kwargs, out)
    return out


cdef object _applyn(cls, tuple args, kwargs):
    cdef NodeBase ctx = cls._Node()
    ctx._plain = True
    cdef Py_ssize_t i, n = len(args)
    cdef list raw = [None] * n
    cdef bint rec = False
    cdef TensorBase t
    cdef list needs = [False] * n
    for i in range(n):
        a = args[i]
        if isinstance(a, TensorBase):
            raw[i] = (<TensorBase>a).data
            if (<TensorBase>a).requires_grad and not mg_no_grad:
                rec = True
                needs[i] = True
        else:
            raw[i] = a
    if rec:
        ctx.needs_input_grad = tuple(needs)
        ctx._edges = tuple([edge(a) if nd else None for a, nd in zip(args, needs)])
    out = cls.forward(ctx, *raw, **kwargs) if kwargs else cls.forward(ctx, *raw)
    view = cls._view
    if type(out) is _ndarray and not view and not rec:
        return wrap(out)  # not recorded (no_grad, eval): nothing to bind
    if type(out) is not _ndarray or not rec or view:
        # A numpy scalar (0-d input) stays as forward returned it: that is how
        # _saved_entry recognises it as the saved output.
        return _finish_general(cls, ctx, args, out, rec)
    t = wrap(out)
    if cnp.PyArray_ISFLOAT(<cnp.ndarray>out) and not ctx._non_diff:
        _bind_output(t, ctx)
        items = ctx._to_save
        if items:
            ctx._saved = tuple([_saved_n(it, args, raw, out, t) for it in items])
            ctx._to_save = ()
        if _GLOBAL.anomaly:
            ctx._trace = _caller_stack()
    elif ctx._non_diff:
        return _finish_general(cls, ctx, args, out, rec)
    return t


cdef object _saved_n(object it, tuple args, list raw, object out, object t):
    for a, d in zip(args, raw):
        if it is d and isinstance(a, TensorBase):
            return (SAVED_INPUT, a, version_of(a))
    if it is out:
        return _saved_output(t, 0)
    return _saved_entry(it, args, (out,), (t,))


include "_small.pxi"
include "_engine.pxi"
include "_replay.pxi"
