"""Recording a step's tape (Note [Captured steps] in ``capture.py``). Layer:
autograd; imports only the compiled core and the grad mode, so that ``tensor``,
``nn`` and ``optim`` can import it.

A tape is a list of entries over *slots*: slot ``s`` holds, while the step
runs, one tensor (an argument of the step, a tensor from outside, the output
of an earlier entry, the ``.grad`` of a slot) or one constant. An entry is the
tuple that ``_core.replay`` runs: ``(kind, target, inputs, kwargs, outputs,
no_grad)`` with ``inputs`` and ``outputs`` slot numbers.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from minigrad._C._core import TensorBase, current_tape, set_tape
from minigrad.autograd.grad_mode import STATE

__all__ = ["Call", "Recorder", "flatten", "note_read", "recorded", "unflatten"]

# Entry kinds: the codes of _core.replay.
OP1, OP2, OPN, CALL, GRAD, DATA = 1, 2, 3, 4, 5, 6
# Where a slot's value comes from.
ARG, EXT, CONST, OUT = "argument", "outside", "constant", "output"

F = TypeVar("F", bound=Callable[..., Any])


def flatten(obj: Any, leaves: list[Any]) -> Any:
    """Appends the leaves of nested tuples, lists and dicts to ``leaves``;
    returns the structure, for ``unflatten``."""
    t = type(obj)
    if t is tuple or t is list:
        return (t, tuple([flatten(o, leaves) for o in obj]))
    if t is dict:
        return (dict, tuple(obj), tuple([flatten(v, leaves) for v in obj.values()]))
    leaves.append(obj)
    return None


def unflatten(tree: Any, leaves: Any) -> Any:
    """The inverse of ``flatten``: ``leaves`` is an iterator."""
    if tree is None:
        return next(leaves)
    if tree[0] is dict:
        return {k: unflatten(c, leaves) for k, c in zip(tree[1], tree[2], strict=True)}
    return tree[0]([unflatten(c, leaves) for c in tree[1]])


class Call:
    """A ``CALL`` entry: a function the tape runs whole (``backward``, an
    optimizer's ``step``, an in-place write...), with its arguments rebuilt
    from the slots and its tensor results written back to them."""

    __slots__ = ("consts", "fn", "ins", "keys", "mutates", "n_args", "outs", "tree")

    def __init__(
        self,
        fn: Callable[..., Any],
        ins: tuple[int, ...],
        consts: tuple[Any, ...],
        tree: Any,
        outs: tuple[int, ...],
        mutates: str | None,
    ) -> None:
        self.fn, self.ins, self.consts, self.tree = fn, ins, consts, tree
        self.outs, self.mutates = outs, mutates
        # Flat arguments (``f(a, b, k=c)``, the usual case) are rebuilt
        # without unflatten: n_args positional leaves, then the keywords.
        (_, ((t_args, args), (_, keys, kws))) = tree
        flat = t_args is tuple and all(a is None for a in args + kws)
        self.n_args = len(args) if flat else -1
        self.keys = keys

    def arguments(self, slots: list[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        leaves = [slots[i] if i >= 0 else c for i, c in zip(self.ins, self.consts)]
        args, kwargs = unflatten(self.tree, iter(leaves))
        return args, kwargs

    def __call__(self, slots: list[Any]) -> None:
        args, kwargs = self.arguments(slots)
        res = self.fn(*args, **kwargs)
        if self.outs:
            leaves: list[Any] = []
            flatten(res, leaves)
            for s, v in zip(self.outs, leaves):
                if s >= 0:
                    slots[s] = v

    def name(self) -> str:
        return getattr(self.fn, "__qualname__", repr(self.fn))


class Recorder:
    """The tape of one eager run of a step, recorded as it runs."""

    def __init__(self, leaves: list[Any]) -> None:
        self.entries: list[tuple[Any, ...]] = []
        self.objs: list[Any] = []  # slot -> what it held while recording
        self.kinds: list[str] = []  # slot -> ARG, EXT, CONST or OUT
        self.slot_of: dict[int, int] = {}  # id(tensor) -> slot
        self.modules: list[Any] = []  # the Modules called, for their mode
        self.reason: str | None = None  # why the tape cannot be replayed
        self.result: tuple[Any, list[int], list[Any]] | None = None
        self.arg_pos = [i for i, x in enumerate(leaves) if isinstance(x, TensorBase)]
        for i in self.arg_pos:
            self._add(leaves[i], ARG)

    def _add(self, x: Any, kind: str) -> int:
        s = len(self.objs)
        self.objs.append(x)
        self.kinds.append(kind)
        if isinstance(x, TensorBase):
            self.slot_of[id(x)] = s
        return s

    def slot(self, x: Any) -> int:
        """The slot of an input: known, the ``.grad`` of a known tensor, or new
        (a tensor from outside the step, or a constant)."""
        if not isinstance(x, TensorBase):
            s = self._data_slot(x)
            return self._add(x, CONST) if s is None else s
        s = self.slot_of.get(id(x))
        if s is not None:
            return s
        s = self._attribute_slot(x, "grad", GRAD)
        return self._add(x, EXT) if s is None else s

    def _data_slot(self, x: Any) -> int | None:
        """For an array that is the ``.data`` of a known tensor (an op's
        wrapper hands the op a tensor's array, e.g. the targets of a loss), a
        slot that reads it on each run; else None (the array is a constant)."""
        if type(x) is not np.ndarray:
            return None
        return self._attribute_slot(x, "data", DATA)

    def _attribute_slot(self, x: Any, attr: str, kind: int) -> int | None:
        """A slot that reads ``attr`` (``grad`` or ``data``) of the known
        tensor whose ``attr`` is ``x`` on each run (entry ``kind``); None when
        no known tensor's is."""
        for i, o in enumerate(self.objs):
            if isinstance(o, TensorBase) and getattr(o, attr) is x:
                s = self._add(x, OUT)
                self.entries.append((kind, None, (i,), None, (s,), _no_grad()))
                return s
        return None

    def op(
        self, kind: int, cls: Any, args: tuple[Any, ...], kwargs: Any, out: Any
    ) -> None:
        """An op application (called by the core's ``apply`` functions)."""
        ins = tuple([self.slot(a) for a in args])
        outs = tuple(
            [self._add(o, OUT) for o in (out if type(out) is tuple else (out,))]
        )
        binds = None
        if kwargs:
            pairs = [(k, self._data_slot(v)) for k, v in kwargs.items()]
            binds = tuple([(k, s) for k, s in pairs if s is not None]) or None
            if binds is not None:  # the bound values are read from the slots
                kwargs = {k: None if s is not None else kwargs[k] for k, s in pairs}
        self.entries.append((kind, cls, ins, kwargs, outs, _no_grad(), binds))

    def call(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        mutates: str | None,
    ) -> Any:
        """Runs ``fn`` unrecorded and records it as one ``CALL`` entry."""
        leaves: list[Any] = []
        tree = flatten((args, kwargs), leaves)
        tensor = [isinstance(x, TensorBase) for x in leaves]
        ins = tuple([self.slot(x) if t else -1 for x, t in zip(leaves, tensor)])
        consts = tuple([None if t else x for x, t in zip(leaves, tensor)])
        no_grad = _no_grad()
        set_tape(None)
        try:
            res = fn(*args, **kwargs)
        finally:
            set_tape(self)
        out_leaves: list[Any] = []
        out_tree = flatten(res, out_leaves)
        outs = tuple(
            [
                self._add(r, OUT)
                if isinstance(r, TensorBase) and id(r) not in self.slot_of
                else -1
                for r in out_leaves
            ]
        )
        call = Call(
            fn, ins, consts, tree, outs if any(s >= 0 for s in outs) else (), mutates
        )
        flat_res = out_tree is None or (
            out_tree[0] is tuple and all(c is None for c in out_tree[1])
        )
        if call.n_args >= 0 and (flat_res or not call.outs):
            # flat: _core.replay rebuilds the arguments itself
            names = call.keys or None
            self.entries.append(
                (CALL, call, ins, names, call.outs, no_grad, fn, consts)
            )
        else:
            self.entries.append((CALL, call, (), None, (), no_grad, None, None))
        return res

    def finish(self, res: Any) -> None:
        """Records what the step returned: slots for tensors, values otherwise."""
        leaves: list[Any] = []
        tree = flatten(res, leaves)
        slots = []
        for x in leaves:
            s = self.slot_of.get(id(x)) if isinstance(x, TensorBase) else None
            if isinstance(x, TensorBase) and s is None and self.reason is None:
                self.reason = (
                    f"it returns a tensor of shape {tuple(x.data.shape)} that no "
                    "recorded op made"
                )
            slots.append(-1 if s is None else s)
        self.result = (
            tree,
            slots,
            [None if s >= 0 else x for s, x in zip(slots, leaves)],
        )


def _no_grad() -> bool:
    return not STATE.grad_enabled


def note_read(what: str) -> None:
    """A tensor's value was read into Python: a step being captured that does
    this may branch on it, so its tape is not replayed."""
    tape = current_tape()
    if tape is not None and tape.reason is None:
        f = sys._getframe(2)
        tape.reason = (
            f"it reads a tensor's value into Python ({what} at "
            f"{f.f_code.co_filename}:{f.f_lineno})"
        )


def note_module(module: Any) -> None:
    """A Module was called: its train/eval mode is part of the tape's guard."""
    tape = current_tape()
    if tape is not None:
        tape.modules.append(module)


def recorded(mutates: str | None = None) -> Callable[[F], F]:
    """Makes a function one ``CALL`` entry of a tape being recorded (it runs
    whole on replay). ``mutates`` says what it may change, for the check that
    every change a step makes is on its tape: ``"self"`` (in-place write into
    the first argument), ``"optimizer"`` (its parameters), ``"zero_grad"`` (the
    ``.grad`` of the first argument's parameters), ``"grads"`` (backward)."""

    def deco(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            tape = current_tape()
            if tape is None:
                return fn(*args, **kwargs)
            return tape.call(fn, args, kwargs, mutates)

        return wrapper  # type: ignore[return-value]

    return deco
