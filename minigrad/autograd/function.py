"""Function and its Context: how an op records itself in the graph.

Layer: autograd. Imports ``minigrad.tensor`` (lazily, to break the cycle) and the
grad-mode state; nothing above.

An op subclasses :class:`Function` and writes ``forward`` and ``backward`` side by
side. Built-in ops set ``_array_forward = True``: their ``forward`` receives numpy
arrays (static parameters keyword-only) and returns arrays. User-defined Functions
keep PyTorch's convention: ``forward`` receives the Tensors and runs under
``no_grad``. In both, ``backward(ctx, *grad_outputs)`` receives Tensors and returns
one gradient per positional input (``None`` where none is needed). Backward is
written with Tensor ops so that ``create_graph=True`` records it (double backward).
"""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.autograd.grad_mode import STATE

if TYPE_CHECKING:
    pass

__all__ = ["Context", "Function"]

_Tensor: Any = None  # minigrad.tensor.Tensor, bound on first use


def _tensor_cls() -> Any:
    global _Tensor
    if _Tensor is None:
        from minigrad.tensor import Tensor

        _Tensor = Tensor
    return _Tensor


_SAVED_INPUT, _SAVED_OUTPUT, _SAVED_CONST = 0, 1, 2


class Context:
    """The record of one op application, i.e. the graph node behind ``t.grad_fn``.

    ``save_for_backward`` keeps what backward needs; ``saved_tensors`` returns it
    after checking that no saved tensor was modified in place since.
    """

    __slots__ = (
        "__dict__",
        "_edges",
        "_fn",
        "_freed",
        "_n_out",
        "_non_diff",
        "_out_hooks",
        "_out_meta",
        "_retained",
        "_saved",
        "_to_save",
        "_trace",
        "materialize_grads",
        "needs_input_grad",
    )

    def __init__(self, fn: type[Function], needs_input_grad: tuple[bool, ...]) -> None:
        self._fn = fn
        self.needs_input_grad = needs_input_grad
        self._edges: tuple[Any, ...] = ()
        self._to_save: tuple[Any, ...] = ()
        self._saved: list[Any] | None = None
        self._freed = False
        self._n_out = 1
        self._out_meta: list[tuple[tuple[int, ...], Any]] = []
        self._non_diff: tuple[Any, ...] = ()
        self._out_hooks: dict[int, list[Any]] | None = None
        self._retained: dict[int, Any] | None = None
        self._trace: list[str] | None = None
        self.materialize_grads = True

    # -- what forward calls -------------------------------------------------
    def save_for_backward(self, *items: Any) -> None:
        """Keep inputs, outputs or other arrays/Tensors for backward."""
        self._to_save = items

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """Outputs (e.g. indices) that never require grad."""
        self._non_diff = outputs

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None for outputs that got no gradient."""
        self.materialize_grads = value

    # -- what backward calls ------------------------------------------------
    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        if self._freed:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time "
                "(or to access saved tensors after they were freed). Saved values "
                "are freed after backward; pass retain_graph=True to backward the "
                "first time if you need to backward through it again."
            )
        if self._saved is None:
            return ()
        Tensor = _tensor_cls()
        out = []
        for kind, val, counter, version in self._saved:
            if kind != _SAVED_CONST and counter[0] != version:
                shape = val.shape if kind == _SAVED_INPUT else val[0].shape
                raise RuntimeError(
                    f"{self.name()}: one of the tensors it saved for backward "
                    f"(shape {tuple(shape)}) was modified by an in-place operation "
                    f"(its version is {counter[0]}, expected {version}). Compute "
                    "out of place, or clone the tensor before modifying it."
                )
            if kind == _SAVED_OUTPUT:
                arr, idx = val
                t = Tensor._wrap(arr)
                t._version = counter
                if idx not in self._non_diff_idx():
                    t.requires_grad = True
                    t.grad_fn = self
                    t._out_idx = idx
                out.append(t)
            else:
                out.append(val)
        return tuple(out)

    def _non_diff_idx(self) -> tuple[int, ...]:
        return self.__dict__.get("_nd_idx", ())

    # -- introspection (PyTorch's grad_fn API) ------------------------------
    def name(self) -> str:
        return f"{self._fn.__name__}Backward"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        res = []
        for e in self._edges:
            if e is None:
                res.append((None, 0))
            elif type(e) is tuple:
                res.append(e)
            else:
                res.append((e, 0))  # a leaf tensor stands for its AccumulateGrad
        return tuple(res)

    def register_hook(self, fn: Any) -> None:
        """Hook called with the gradients of this node's outputs."""
        self.__dict__.setdefault("_node_hooks", []).append(fn)

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class Function:
    """Base class of every differentiable op (built-in or user-defined).

    Subclass with ``@staticmethod forward(ctx, ...)`` and ``backward(ctx, grad_out)``,
    then call ``MyFn.apply(...)``.
    """

    _array_forward = False

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement forward")

    @staticmethod
    def backward(ctx: Context, *grad_outputs: Any) -> Any:
        raise NotImplementedError("Function subclasses must implement backward")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        Tensor = _tensor_cls()
        grad_on = STATE.grad_enabled
        needs = tuple(
            grad_on and isinstance(a, Tensor) and a.requires_grad for a in args
        )
        any_req = True in needs
        ctx = Context(cls, needs)
        if cls._array_forward:
            raw = [a.data if isinstance(a, Tensor) else a for a in args]
            out = cls.forward(ctx, *raw, **kwargs)
        else:
            STATE.grad_enabled = False
            try:
                out = cls.forward(ctx, *args, **kwargs)
            finally:
                STATE.grad_enabled = grad_on
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        arrays = [_as_array(o, cls) for o in outs]
        results = [Tensor._wrap(a) for a in arrays]
        if any_req:
            _record(ctx, cls, args, needs, arrays, outs, results)
        return results[0] if single else tuple(results)


def _as_array(o: Any, cls: type) -> np.ndarray:
    Tensor = _tensor_cls()
    if isinstance(o, Tensor):
        return o.data
    if isinstance(o, np.ndarray):
        return o
    if isinstance(o, np.generic):
        return np.asarray(o)
    raise TypeError(
        f"{cls.__name__}.forward must return arrays or Tensors, got {type(o).__name__}"
    )


def _record(
    ctx: Context,
    cls: type,
    args: tuple[Any, ...],
    needs: tuple[bool, ...],
    arrays: list[np.ndarray],
    outs: tuple[Any, ...],
    results: list[Any],
) -> None:
    """Links ctx into the graph: edges to the inputs, outputs bound to ctx."""
    ctx._edges = tuple(
        (a if a.grad_fn is None else (a.grad_fn, a._out_idx)) if n else None
        for a, n in zip(args, needs)
    )
    ctx._n_out = len(arrays)
    ctx._out_meta = [(a.shape, a.dtype) for a in arrays]
    nd_idx = tuple(
        j
        for j, o in enumerate(outs)
        if any(o is m or (hasattr(m, "data") and m.data is o) for m in ctx._non_diff)
    )
    if nd_idx:
        ctx.__dict__["_nd_idx"] = nd_idx
    for j, t in enumerate(results):
        if j not in nd_idx and t.data.dtype.kind == "f":
            t.requires_grad = True
            t.grad_fn = ctx
            t._out_idx = j
    if ctx._to_save:
        ctx._saved = [
            _describe_saved(it, args, outs, arrays, results) for it in ctx._to_save
        ]
        ctx._to_save = ()
    if STATE.anomaly:
        ctx._trace = traceback.format_stack()[:-3]


def _describe_saved(
    item: Any,
    args: tuple[Any, ...],
    outs: tuple[Any, ...],
    arrays: list[Any],
    results: list[Any],
) -> tuple[Any, Any, Any, int]:
    Tensor = _tensor_cls()
    if item is None:
        return (_SAVED_CONST, None, None, 0)
    arr = item.data if isinstance(item, Tensor) else item
    for a in args:
        if isinstance(a, Tensor) and (a is item or a.data is arr):
            return (_SAVED_INPUT, a, a._version, a._version[0])
    # Identity with what forward returned: numpy ufuncs return scalars for 0-d
    # input, which _as_array then wraps in a new array.
    for j, o in enumerate(arrays):
        if o is arr or outs[j] is item:
            ver = results[j]._version
            return (_SAVED_OUTPUT, (o, j), ver, ver[0])
    if isinstance(item, np.ndarray):
        item = Tensor._wrap(item)
    return (_SAVED_CONST, item, None, 0)
