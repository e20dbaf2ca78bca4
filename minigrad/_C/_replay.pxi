# Captured steps' tape, part of the compiled core: included by _core.pyx (Note
# [Compiled core]; Note [Captured steps] in autograd/capture.py).

def set_tape(tape):
    """Starts (a recorder) or stops (None) recording the calling thread's ops."""
    global mg_tape
    cdef PyObject *old = mg_tape
    if tape is None:
        mg_tape = NULL
    else:
        Py_XINCREF(<PyObject *>tape)
        mg_tape = <PyObject *>tape
    Py_XDECREF(old)


cpdef object current_tape():
    """The recorder of the step the calling thread is capturing, or None."""
    return None if mg_tape == NULL else <object>mg_tape


def guard(tuple args, tuple expect, bint grad_enabled, tuple modules, tuple modes):
    """Whether a captured step's replay applies to ``args``: for each, ``expect``
    holds ``(type, shape, dtype, requires_grad)`` (a tensor) or ``(value,)``;
    the grad mode is ``grad_enabled``, anomaly detection off, and each module
    in ``modules`` in its mode of ``modes`` (its ``training`` flag)."""
    cdef Py_ssize_t i, n = len(args)
    cdef tuple ex
    if mg_no_grad == grad_enabled or _GLOBAL.anomaly or n != len(expect):
        return False
    for i in range(n):
        a = args[i]
        ex = expect[i]
        if len(ex) == 4:
            if type(a) is not ex[0] or (<TensorBase>a).requires_grad != ex[3]:
                return False
            d = (<TensorBase>a).data
            if d.dtype is not ex[2] or d.shape != ex[1]:
                return False
        elif a is not ex[0]:
            try:
                if not (a == ex[0]):
                    return False
            except Exception:  # an array: left to the general check
                return False
    for i in range(len(modules)):
        if modules[i].training is not modes[i]:
            return False
    return True


cpdef object replay(list entries, list slots):
    """Runs a captured step's tape: each entry reads its inputs from ``slots``
    and writes its outputs there. An entry is ``(kind, target, inputs,
    kwargs, outputs, no_grad, ...)``: an op applied with the grad mode it was
    recorded in (``OP1``/``OP2``/``OPN``: ``target`` is its Function; a
    seventh field binds keyword arguments to slots), the ``.grad`` or ``.data``
    of a slot (``GRAD``, ``DATA``), or a call run whole (``CALL``). A call of
    flat arguments has two more fields, the function and the constants among
    its arguments (input -1), and ``kwargs`` holds its keyword names; any other
    call is ``target(slots)``, which rebuilds its arguments itself."""
    global mg_no_grad
    cdef tuple e, ins, outs
    cdef int kind
    cdef Py_ssize_t i
    cdef int prev_mode = mg_no_grad
    try:
        for e in entries:
            kind = e[0]
            ins = e[2]
            mg_no_grad = e[5]
            if kind <= OPN:
                kw = e[3] if e[6] is None else _bind(e[3], e[6], slots)
                if kind == OP2:
                    out = _apply2(e[1], slots[ins[0]], slots[ins[1]], kw)
                elif kind == OP1:
                    out = _apply1(e[1], slots[ins[0]], kw)
                else:
                    out = _applyn(e[1], tuple([slots[i] for i in ins]), kw)
            elif kind == GRAD:
                slots[e[4][0]] = (<TensorBase>slots[ins[0]]).grad
                continue
            elif kind == DATA:
                slots[e[4][0]] = (<TensorBase>slots[ins[0]]).data
                continue
            elif e[6] is None:
                e[1](slots)
                continue
            else:
                out = _call_flat(e, ins, slots)
            outs = e[4]
            if not outs:
                continue
            if type(out) is tuple:
                for i in range(len(outs)):
                    if outs[i] >= 0:
                        slots[outs[i]] = out[i]
            else:
                slots[outs[0]] = out
    finally:
        mg_no_grad = prev_mode


def run_tape(tuple tape, tuple args):
    """A confirmed tape run on the step's arguments ``args``, for a step that
    returns one value (``_Tape.run``'s common case, in C: ~2k instructions of
    a 220k XOR step were its Python). ``tape`` is ``(entries, template,
    arg_slots, arg_pos, result_slot, result_constant)``: the slots start as
    ``template``, slot ``arg_slots[i]`` takes ``args[arg_pos[i]]``; the value
    is slot ``result_slot``, or ``result_constant`` when that is -1."""
    if len(tape) != 6:
        raise TypeError(f"run_tape: expected a tape of 6 fields, got {len(tape)}")
    cdef list slots = list(<list?>tape[1])
    cdef tuple arg_slots = tape[2], arg_pos = tape[3]
    cdef Py_ssize_t i, j, k, n = len(slots), m = len(args)
    if len(arg_pos) != len(arg_slots):
        raise TypeError("run_tape: arg_slots and arg_pos differ in length")
    for i in range(len(arg_slots)):
        j = arg_slots[i]
        k = arg_pos[i]
        if not (0 <= j < n and 0 <= k < m):  # (built without bounds checks)
            raise IndexError(f"run_tape: slot {j} or argument {k} out of range")
        slots[j] = args[k]
    replay(tape[0], slots)
    cdef Py_ssize_t s = tape[4]
    if s >= n:
        raise IndexError(f"run_tape: result slot {s} out of range")
    return slots[s] if s >= 0 else tape[5]


cdef dict _bind(dict kwargs, tuple binds, list slots):
    """An op's keyword arguments with the arrays it read from tensors
    (``binds``: ``(name, slot)`` pairs) taken from this run's slots."""
    kw = dict(kwargs)
    for name, s in binds:
        kw[name] = slots[s]
    return kw


cdef object _call_flat(tuple e, tuple ins, list slots):
    cdef tuple consts = e[7]
    cdef Py_ssize_t i, n = len(ins)
    cdef list args = [None] * n
    for i in range(n):
        j = ins[i]
        args[i] = slots[j] if j >= 0 else consts[i]
    names = e[3]
    if names is None:
        return e[6](*args)
    n -= len(names)
    return e[6](*args[:n], **dict(zip(names, args[n:])))
