"""Function and its Context: how an op records itself in the graph.

Layer: autograd. Imports the grad-mode state and ``minigrad.tensor`` (at the
bottom of this module, to break the import cycle); nothing above.

An op subclasses :class:`Function` and writes ``forward`` and ``backward`` side by
side. Built-in ops set ``_array_forward = True``: their ``forward`` receives numpy
arrays (static parameters keyword-only) and returns arrays. User-defined Functions
keep PyTorch's convention: ``forward`` receives the Tensors and runs under
``no_grad``. In both, ``backward(ctx, *grad_outputs)`` receives Tensors and returns
one gradient per positional input (``None`` where none is needed). Backward is
written with Tensor ops so that ``create_graph=True`` records it (double backward).

# Note [Graph nodes]
Each Function class gets its own node class, ``<Name>Backward``, a subclass of
:class:`Context` (PyTorch's ``grad_fn`` names). One instance is created per op
application; it is the ``ctx`` that forward and backward see, and it is the node
in the graph. What recording an op stores (the edges to the inputs,
``needs_input_grad``, a sequence number, what forward saved) are C fields of the
compiled base ``_core.NodeBase`` (Note [Compiled core] in
``minigrad/_C/_core.pyx``); the other fields are class-level defaults, and
anything an op keeps for backward (``ctx.shapes = ...``) lands in the instance's
``__dict__``. An edge is ``None`` (no gradient needed), a leaf Tensor
(accumulate into its ``.grad``), a node with one output, or ``(node, index)``.

Sequence numbers grow with creation, and an op is always created after the ops
that made its inputs, so running nodes from the highest number down is a
topological order of any graph (PyTorch's engine uses the same fact); see
Note [Engine order] in ``engine.py``.

# Note [Saved tensors]
``save_for_backward`` takes arrays (built-in ops) or Tensors (user Functions): an
input, an output, or anything else (kept as a constant). Inputs and outputs are
saved with the version of their counter, and ``saved_tensors`` raises, naming the
op, if one was modified in place since: the gradient would be silently wrong.
A saved output comes back as a Tensor bound to this node, so that a backward
that uses it can itself be differentiated.
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np

from minigrad._C import _core
from minigrad._C._core import apply1, apply2
from minigrad._C._core import apply_n as _apply_arrays
from minigrad._C._core import current_tape as _current_tape
from minigrad._C._core import edge as _edge
from minigrad._C._core import next_seq as _next_seq
from minigrad._C._core import share_version as _share_version
from minigrad.autograd.grad_mode import GLOBAL_STATE, STATE

__all__ = ["Context", "Function", "apply1", "apply2"]

# Kinds of saved items (the compiled core writes _SAVED_INPUT entries too).
_SAVED_INPUT, _SAVED_OUTPUT, _SAVED_CONST = 0, 1, 2
_FREED: tuple[Any, ...] = ("freed",)  # ctx._saved after backward freed the node

_ndarray = np.ndarray


class Context(_core.NodeBase):
    """The record of one op application: ``t.grad_fn``, and the ``ctx`` of the op.

    ``save_for_backward`` keeps what backward needs; ``saved_tensors`` returns it
    after checking that no saved tensor was modified in place since. Other values
    for backward are stored as attributes (``ctx.mask = ...``).
    """

    # The fields the compiled core reads (needs_input_grad, _edges, _seq, _n_out,
    # _plain, _to_save, _saved) are those of its base, _core.NodeBase. The rest
    # are class-level defaults; an instance stores only what differs (Note
    # [Graph nodes]).
    _fn: Any = None
    _is_node = True
    materialize_grads = True
    _out_meta: tuple[tuple[tuple[int, ...], Any], ...] | None = None
    _non_diff: tuple[Any, ...] = ()
    _nd_idx: tuple[int, ...] = ()
    _out_hooks: dict[int, list[Any]] | None = None
    _retained: dict[int, Any] | None = None
    _node_hooks: list[Any] | None = None
    _trace: list[str] | None = None
    _in_meta: tuple[Any, ...] = ()  # (shape, dtype) per input, user Functions only
    # Operand shapes a broadcasting op keeps for backward (Note [Broadcasting]
    # in ops/elementwise.py); None: nothing was broadcast.
    shapes: tuple[Any, ...] | None = None

    # save_for_backward, saved_tensors and _saved_arrays are compiled methods of
    # the base (Note [Saved tensors]): one call each per op on the hot path.

    # -- what forward calls -------------------------------------------------
    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Outputs (e.g. indices) that never require grad."""
        self._non_diff = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None for outputs that got no gradient."""
        self.materialize_grads = value

    # -- what backward calls ------------------------------------------------
    def _raise_modified(self, shape: tuple[int, ...], now: int, then: int) -> None:
        raise RuntimeError(
            f"{self.name()}: one of the tensors it saved for backward (shape "
            f"{tuple(shape)}) was modified by an in-place operation (its version is "
            f"{now}, expected {then}). Compute out of place, or clone the tensor "
            "before modifying it."
        )

    # -- introspection (PyTorch's grad_fn API) ------------------------------
    def name(self) -> str:
        """``<Op>Backward``, e.g. ``MulBackward``."""
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """``(node, output index)`` per input; a leaf stands for its accumulator."""
        res: list[tuple[Any, int]] = []
        for e in self._edges:
            if e is None:
                res.append((None, 0))
            elif type(e) is tuple:
                res.append(e)
            else:
                res.append((e, 0))
        return tuple(res)

    def register_hook(self, fn: Any) -> None:
        """``fn(grad_outputs)`` is called with this node's output gradients."""
        self._plain = False
        if self._node_hooks is None:
            self._node_hooks = []
        self._node_hooks.append(fn)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class Function:
    """Base class of every differentiable op (built-in or user-defined).

    Subclass with ``@staticmethod forward(ctx, ...)`` and
    ``@staticmethod backward(ctx, *grad_outputs)``, then call ``MyFn.apply(...)``.
    """

    # Built-in ops: forward takes and returns numpy arrays.
    _array_forward = False
    # The output may be a view of input 0: it shares its version counter, so an
    # in-place change through either is seen by ops that saved the other.
    _view = False
    # The node class of this Function (Note [Graph nodes]).
    _Node: type[Context] = Context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._Node = type(
            f"{cls.__name__}Backward",
            (Context,),
            {
                "_fn": cls,
                "__module__": cls.__module__,
                "__qualname__": f"{cls.__name__}Backward",
            },
        )

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement forward")

    @staticmethod
    def backward(ctx: Context, *grad_outputs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement backward")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Runs forward and, when an input requires grad, records the op."""
        if not cls._array_forward:
            return _apply_user(cls, args, kwargs)
        n = len(args)
        if n == 2:
            return apply2(cls, args[0], args[1], kwargs)
        if n == 1:
            return apply1(cls, args[0], kwargs)
        return _apply_arrays(cls, args, kwargs)


# Note [Per-op overhead]
# ``apply1`` / ``apply2`` (compiled, minigrad/_C/_core.pyx, Note [Compiled core])
# are ``Function.apply`` for built-in ops of one or two inputs: on small tensors
# the bookkeeping around the numpy call, not numpy, is the cost of an op, so the
# functional forms of the hot ops call them directly. They do what ``apply_n``
# (``_apply_arrays`` here) does for any arity; tests/test_core.py checks they
# agree.


def _finish_general(
    cls: type[Function], ctx: Context, args: tuple[Any, ...], out: Any, rec: bool
) -> Any:
    """Wraps forward's output(s) and records the op (any number of outputs)."""
    outs = out if type(out) is tuple else (out,)
    results = tuple(_wrap(_as_array(o, cls)) for o in outs)
    if rec:
        _record_outputs(ctx, args, outs, results)
    if cls._view and len(results) == 1:
        _share_version(results[0], args[0])
    return results if type(out) is tuple else results[0]


def _as_array(o: Any, cls: type) -> np.ndarray:
    if isinstance(o, Tensor):
        return o.data
    if isinstance(o, np.ndarray):
        return o
    if isinstance(o, np.generic):
        return np.asarray(o)
    raise TypeError(
        f"{cls.__name__}.forward must return arrays or Tensors, got {type(o).__name__}"
    )


def _apply_user(cls: type[Function], args: tuple[Any, ...], kwargs: Any) -> Any:
    """PyTorch's convention: forward gets Tensors and runs under no_grad."""
    tape = _current_tape()
    if tape is not None:  # one entry: the ops of forward are not recorded
        return tape.call(_apply_user, (cls, args, kwargs), {}, None)
    ctx = cls._Node()
    grad_on = STATE.grad_enabled
    needs = tuple(grad_on and isinstance(a, Tensor) and a.requires_grad for a in args)
    rec = True in needs
    if rec:
        ctx.needs_input_grad = needs
        ctx._edges = tuple(_edge(a) if n else None for a, n in zip(args, needs))
        ctx._in_meta = tuple(
            (a.data.shape, a.data.dtype) if n else None for a, n in zip(args, needs)
        )
    else:
        ctx.needs_input_grad = (False,) * len(args)
    STATE.grad_enabled = False
    try:
        out = cls.forward(ctx, *args, **kwargs)
    finally:
        STATE.grad_enabled = grad_on
    outs = out if type(out) is tuple else (out,)
    results = tuple(_wrap(_as_array(o, cls)) for o in outs)
    if rec:
        _record_outputs(ctx, args, outs, results)
    return results if type(out) is tuple else results[0]


def _record_outputs(
    ctx: Context, args: tuple[Any, ...], outs: tuple[Any, ...], results: tuple[Any, ...]
) -> None:
    """Binds the outputs of a recorded op to its node (the general case)."""
    ctx._seq = _next_seq()
    n = len(results)
    if n > 1:
        ctx._n_out = n
        ctx._plain = False
        ctx._out_meta = tuple((t.data.shape, t.data.dtype) for t in results)
    if ctx._non_diff:
        ctx._nd_idx = tuple(
            j
            for j, o in enumerate(outs)
            if any(
                o is m or (isinstance(m, (Tensor, np.ndarray)) and _data(m) is _data(o))
                for m in ctx._non_diff
            )
        )
        ctx._non_diff = ()
    for j, t in enumerate(results):
        if j not in ctx._nd_idx and t.data.dtype.kind == "f":
            t.requires_grad = True
            t.grad_fn = ctx
            t._out_idx = j
    if ctx._to_save:
        ctx._saved = _saved_entries(ctx._to_save, args, outs, results)
        ctx._to_save = ()
    if GLOBAL_STATE.anomaly:
        ctx._trace = traceback.format_stack()[:-3]


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _saved_entries(
    items: tuple[Any, ...],
    args: tuple[Any, ...],
    outs: tuple[Any, ...],
    results: tuple[Any, ...],
) -> tuple[tuple[int, Any, int], ...]:
    """(kind, value, version) per saved item (Note [Saved tensors])."""
    return tuple([_saved_entry(item, args, outs, results) for item in items])


def _saved_entry(
    item: Any, args: tuple[Any, ...], outs: tuple[Any, ...], results: tuple[Any, ...]
) -> tuple[int, Any, int]:
    if type(item) is _ndarray:  # built-in ops save arrays
        for a in args:
            if isinstance(a, Tensor) and a.data is item:
                vc = a._vc
                return (_SAVED_INPUT, a, 0 if vc is None else vc[0])
        for j, t in enumerate(results):
            if t.data is item or outs[j] is item:
                return _saved_output(t, j)
        return (_SAVED_CONST, _wrap(item), 0)
    if isinstance(item, Tensor):  # user Functions save Tensors
        for a in args:
            if a is item:
                vc = a._vc
                return (_SAVED_INPUT, a, 0 if vc is None else vc[0])
        for j, o in enumerate(outs):
            if o is item:
                return _saved_output(results[j], j)
        return (_SAVED_CONST, item, 0)
    # numpy ufuncs return scalars for 0-d input; forward's return identifies them.
    if isinstance(item, np.generic):
        for j, o in enumerate(outs):
            if o is item:
                return _saved_output(results[j], j)
    return (_SAVED_CONST, item, 0)


def _saved_output(t: Any, j: int) -> tuple[int, Any, int]:
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return (_SAVED_OUTPUT, (t.data, j, vc), vc[0])


# Bound last: tensor imports ops, ops import us. ``_wrap`` is Tensor._wrap
# without the classmethod call.
from minigrad.tensor import Tensor, _wrap  # noqa: E402

_core.bind(
    FREED=_FREED,
    saved_output=_saved_output,
    saved_entry=_saved_entry,
    finish_general=_finish_general,
    format_stack=traceback.format_stack,
)
