# The backward engine's loop (Note [Engine order] in engine.py), part of the
# compiled core: included by _core.pyx (Note [Compiled core]).

# How a stack entry of minigrad's own files starts: 'File ".../minigrad/'.
cdef str _OWN_FRAME = 'File "' + __file__[: __file__.rindex("_C")]


cdef list _caller_stack():
    """The Python stack of the op's call, for anomaly reports: without the
    innermost frame when it is ours (a functional form's such as ``exp``; the
    operators, ``binary_op``'s functions and the ``apply``s have none)."""
    stack = _format_stack()
    if stack and _OWN_FRAME in stack[len(stack) - 1]:
        return stack[: len(stack) - 1]
    return stack


cpdef void push(
    dict buffers, list heap, NodeBase node, object idx, object g
) except *:
    """Adds ``g`` to the gradient of output ``idx`` of ``node``; schedules it."""
    cdef list buf
    if node._n_out == 1:
        prev = buffers.get(node)
        if prev is None:
            buffers[node] = g
            _heappush(heap, (-node._seq, node))
        else:
            buffers[node] = prev + g
        return
    b = buffers.get(node)
    if b is None:
        b = buffers[node] = [None] * node._n_out
        _heappush(heap, (-node._seq, node))
    buf = b
    buf[idx] = g if buf[idx] is None else buf[idx] + g


def loop(
    dict buffers, list heap, dict leaves, bint retain_graph, capture, captured
):
    """Runs the nodes scheduled in ``heap`` until none is left.

    Note [Plain nodes] in engine.py: plain nodes take the short path here;
    any other goes through ``_run_special``. ``nxt`` short-cuts the heap for
    chains: a node scheduled while the heap is empty, and alone, is necessarily
    the next one to run.
    """
    cdef bint anomaly = _GLOBAL.anomaly
    cdef bint fast = capture is None
    cdef tuple edges, grads_in
    cdef Py_ssize_t i, n
    cdef NodeBase node, nxt, en
    if not heap:
        return
    node = _heappop(heap)[1]
    while True:
        grads = buffers.pop(node)
        if fast and node._plain:
            r = node._fn.backward(node, grads)
            grads_in = r if type(r) is tuple else (r,)
        else:
            grads_in = _run_special(node, grads, capture, captured)
        edges = node._edges
        n = len(edges)
        if len(grads_in) != n:
            grads_in = _fix_arity(node, grads_in)
        if anomaly:
            _check_anomaly(node, grads_in)
        if not retain_graph:
            node._saved = _FREED
            node._plain = False
        nxt = None
        for i in range(n):
            e = edges[i]
            g = grads_in[i]
            if e is None or g is None:
                continue
            if type(e) is tuple:
                if nxt is not None:
                    _heappush(heap, (-nxt._seq, nxt))
                    nxt = None
                push(buffers, heap, (<tuple>e)[0], (<tuple>e)[1], g)
            elif isinstance(e, NodeBase):
                en = <NodeBase>e
                prev = buffers.get(en)
                if prev is not None:
                    buffers[en] = prev + g
                    continue
                buffers[en] = g
                if nxt is None and not heap:
                    nxt = en
                    continue
                if nxt is not None:
                    _heappush(heap, (-nxt._seq, nxt))
                    nxt = None
                _heappush(heap, (-en._seq, en))
            else:
                prev = leaves.get(e)
                leaves[e] = g if prev is None else prev + g
        if nxt is not None:
            node = nxt
        elif heap:
            node = _heappop(heap)[1]
        else:
            return


def backward_scalar(root, bint retain_graph, bint create_graph):
    """``root.backward()`` for the common case: a one-element non-leaf ``root``
    of a single-output node, seeded with 1. Returns False, doing nothing, when
    that is not the case (the caller takes the general path)."""
    n = (<TensorBase?>root).grad_fn
    data = (<TensorBase>root).data
    if n is None or (<NodeBase?>n)._n_out != 1 or data.size != 1:
        return False
    cdef NodeBase node = <NodeBase>n
    seed = _array(1, data.dtype)  # np.ones, without its Python-level wrapper
    if data.ndim:
        seed = seed.reshape(data.shape)
    cdef dict buffers = {node: wrap(seed)}
    cdef dict leaves = {}
    global mg_no_grad
    cdef int prev_mode = mg_no_grad
    mg_no_grad = not create_graph
    try:
        loop(buffers, [(-node._seq, node)], leaves, retain_graph, None, [])
    finally:
        mg_no_grad = prev_mode
    if create_graph or not accumulate_plain(leaves):
        _accumulate_all(leaves, create_graph)
    return True


cpdef bint accumulate_plain(dict leaves) except -1:
    """Delivers each leaf's total gradient into its ``.grad`` when every leaf
    is plain: no hooks, a gradient of its shape and dtype, and a ``.grad``
    that is None or does not require grad. Returns False, changing nothing,
    otherwise (``engine._accumulate_all`` then does it). Note [Taking the
    gradient buffer] in engine.py: a gradient only the engine can see becomes
    ``.grad`` as it is."""
    for t, g in leaves.items():
        if (<TensorBase?>t)._hooks:
            return False
        gd = (<TensorBase?>g).data
        td = (<TensorBase>t).data
        if type(gd) is not _ndarray or gd.shape != td.shape or gd.dtype != td.dtype:
            return False
        cur = (<TensorBase>t).grad
        if cur is not None and (
            not isinstance(cur, TensorBase) or (<TensorBase>cur).requires_grad
        ):
            return False
    for t, g in leaves.items():
        gd = (<TensorBase>g).data
        cur = (<TensorBase>t).grad
        if cur is not None:
            cd = (<TensorBase>cur).data
            _np_add(cd, gd, out=cd, casting="unsafe")
        elif _sole(g, gd):
            (<TensorBase>t).grad = g
        else:
            # In C order; a transposed gd through the tiled copy (the call
            # costs ~0.15 us more than gd.copy(), so only when it can help)
            (<TensorBase>t).grad = wrap(
                gd.copy() if cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>gd)
                else c_order_copy(gd))
    return True


cdef extern from "Python.h":
    # On a borrowed pointer: no temporary reference to count.
    Py_ssize_t _raw_refcnt "Py_REFCNT"(PyObject *)
    PyObject *_raw_type "(PyObject *)Py_TYPE"(PyObject *)


cdef inline bint _sole(object g, object gd):
    """Whether only the caller's loop sees the gradient ``g`` and its array:
    ``g`` is referenced by the leaves dict and the loop variable, ``gd`` by
    ``g.data`` and the loop's local; and the array owns its writeable memory,
    or is a C-contiguous view spanning the whole writeable memory of an array
    that nothing outside ``g`` holds (a kernel's transposed result turned back
    by a view op: Note [Sum's unrecorded backward] in ops/reduce.py)."""
    # (no typed local for gd: it would hold one more reference)
    if (Py_REFCNT(g) > 2 or Py_REFCNT(gd) > 2
            or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>gd)):
        return False
    cdef PyObject *own = <PyObject *>cnp.PyArray_BASE(<cnp.ndarray>gd)
    if own == NULL:
        return cnp.PyArray_CHKFLAGS(<cnp.ndarray>gd, cnp.NPY_ARRAY_OWNDATA)
    if _raw_type(own) != <PyObject *>_ndarray:
        return False
    # gd's base pointer, and (share_version) the Tensor g viewed, when only g
    # holds it, by its array or that array's base pointer.
    cdef Py_ssize_t refs = 1
    cdef PyObject *bt = <PyObject *>(<TensorBase>g)._base
    cdef PyObject *bd
    if bt != <PyObject *>None and _raw_refcnt(bt) == 1:
        bd = <PyObject *>(<TensorBase>bt).data
        if bd == own or (_raw_type(bd) == <PyObject *>_ndarray
                         and _raw_refcnt(bd) == 1
                         and <PyObject *>cnp.PyArray_BASE(<cnp.ndarray>bd) == own):
            refs = 2
    if _raw_refcnt(own) != refs:
        return False
    return (
        cnp.PyArray_CHKFLAGS(<cnp.ndarray>own, cnp.NPY_ARRAY_OWNDATA)
        and cnp.PyArray_ISWRITEABLE(<cnp.ndarray>own)
        and cnp.PyArray_SIZE(<cnp.ndarray>own) == cnp.PyArray_SIZE(<cnp.ndarray>gd)
        and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>gd)
    )
