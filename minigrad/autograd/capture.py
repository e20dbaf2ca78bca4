"""Captured training steps: ``mg.compile(step)``. Layer: autograd.

# Note [Captured steps]
A small network's training step spends most of its time in the Python around
its ops: module calls, argument checks, the wrappers that pick a kernel.
``compile(step)`` returns a callable that runs ``step`` eagerly while recording
its *tape* (``_tape.py``): every op application (its Function, inputs, keyword
arguments and grad mode), every read of a ``.grad``, and every call that
changes state outside the graph, run whole: ``backward``, an optimizer's
``step`` and ``zero_grad``, a module's ``zero_grad``, a scheduler's ``step``,
in-place writes (``p -= lr * p.grad``), ``detach``. Once two consecutive calls
record the same tape, later calls with the same signature replay it:
``_core.replay``, a loop in C, applies each op to the new inputs through the
very ``apply`` functions the eager step used (so each op's forward and
backward are still the ones in ``minigrad/ops``, and the results are the eager
step's, bit for bit; no kernel's bits depend on the thread count, which
varies with the machine's load, Note [Weight gradient parts]) and runs the
calls; none of the step's own Python runs.

What a replay assumes, and how each assumption is checked:

* the same signature: tensor arguments of the same type, shape, dtype and
  ``requires_grad``, other arguments equal, the same grad mode, and every
  module called in the same train/eval mode. A new signature is recorded anew
  (up to ``max_signatures``);
* no data-dependent control flow: a step that reads a tensor's value into
  Python (``item()``, ``bool()``, ``float()``, ``tolist()``, ``numpy()``,
  printing) is never replayed; nor one whose first calls record different
  tapes (three tries, so that a first call that creates state may differ);
* nothing changes outside the tape: on the call that confirms the tape, every
  tensor from outside the step (parameters, buffers) is compared before and
  after; a change of its value that no recorded call explains (``p.data -=
  ...``, numpy writes, running statistics updated through ``.data``), or a
  ``.grad`` replaced without a recorded ``zero_grad`` (``p.grad = None``),
  means the tape would miss it;
* every tensor the ops use is an argument, from outside the step (the same
  object on every call), made by a recorded op or call (factories such as
  ``mg.zeros`` and ``mg.randn`` are recorded calls), or a constant: a tensor
  made inside the step by other means (a Python number an op wrapper turns
  into a tensor, ``mg.Tensor(array)``) that holds the same value on the calls
  that record the tape, and is kept as it is. One that changes between those
  calls is not replayed.

When an assumption fails the step runs eagerly, with a ``CaptureWarning`` that
names the reason (once per reason). What cannot be seen is not checked: Python
state the step changes (a counter), values read through ``.data``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, overload

import numpy as np

from minigrad._C import _core
from minigrad._C._core import TensorBase
from minigrad.autograd import _tape
from minigrad.autograd._tape import CALL, CONST, EXT, Call, Recorder, flatten, unflatten
from minigrad.autograd.grad_mode import GLOBAL_STATE, STATE

__all__ = ["CaptureWarning", "CompiledStep", "compile"]

F = TypeVar("F", bound=Callable[..., Any])

# Calls (step 1, 2, 3) that may record different tapes before the step is
# taken to branch on data: the first call may create state (an optimizer's).
_TRIES = 3
_CONTAINERS = (tuple, list, dict)


class CaptureWarning(UserWarning):
    """A compiled step runs eagerly; the message says why."""


class _Tape:
    """A confirmed tape, ready to replay."""

    def __init__(self, rec: Recorder) -> None:
        self.template: list[Any] = [
            o if k in (EXT, CONST) else None for o, k in zip(rec.objs, rec.kinds)
        ]
        # the tensor arguments: their slots, and where they are among the leaves
        self.arg_slots = [s for s, k in enumerate(rec.kinds) if k == _tape.ARG]
        self.arg_pos = rec.arg_pos
        assert rec.result is not None
        self.result = rec.result
        self.flat: tuple[Any, ...] | None = None
        self.entries = rec.entries  # sets flat

    @property
    def entries(self) -> list[tuple[Any, ...]]:
        return self._entries

    @entries.setter
    def entries(self, entries: list[tuple[Any, ...]]) -> None:
        # one returned value (the loss): _core.run_tape runs the whole call
        self._entries = entries
        tree, res_slots, consts = self.result
        if tree is None:
            self.flat = (entries, self.template, tuple(self.arg_slots),
                         tuple(self.arg_pos), res_slots[0], consts[0])  # fmt: skip

    def run(self, leaves: list[Any] | tuple[Any, ...]) -> Any:
        slots = self.template[:]
        for s, i in zip(self.arg_slots, self.arg_pos):
            slots[s] = leaves[i]
        _core.replay(self.entries, slots)
        tree, res_slots, consts = self.result
        if tree is None:  # one value (the loss)
            s = res_slots[0]
            return slots[s] if s >= 0 else consts[0]
        return unflatten(
            tree, iter([slots[s] if s >= 0 else c for s, c in zip(res_slots, consts)])
        )


class _Signature:
    """One signature's state: recording, replaying, or eager for a reason."""

    def __init__(self, tree: Any, sig: list[Any]) -> None:
        self.tree, self.sig = tree, sig
        self.modules: list[tuple[Any, bool]] | None = None  # (module, training)
        self.prev: Recorder | None = None  # the last recording
        self.tries = 0
        self.tape: _Tape | None = None
        self.reason: str | None = None

    def fast_guard(self) -> tuple[Any, ...] | None:
        """The arguments of ``_core.guard`` for this signature, when its
        arguments are flat and positional (``step(x, y)``), else None."""
        if type(self.tree) is not int or self.modules is None:
            return None
        expect = tuple(x if type(x) is tuple else (x,) for x in self.sig[2:])
        modules = tuple(m for m, _ in self.modules)
        return (expect, self.sig[0], modules, tuple(t for _, t in self.modules))

    def matches(self, tree: Any, sig: list[Any]) -> bool:
        if tree != self.tree or len(sig) != len(self.sig):
            return False
        try:
            same = sig == self.sig  # shapes, dtypes, numbers: compared in C
        except Exception:  # an argument whose == is not a truth value
            same = False
        if not same and not all(map(_same, sig, self.sig)):
            return False
        return self.modules is None or all(m.training is t for m, t in self.modules)


class CompiledStep:
    """``step`` recorded once and replayed (Note [Captured steps]).

    Attributes
    ----------
    replays : int
        Calls that replayed a tape.
    eager_calls : int
        Calls that ran ``step`` itself (recording, or falling back).
    fallback_reason : str or None
        Why the last signature that fell back cannot be replayed.
    """

    def __init__(self, fn: Callable[..., Any], max_signatures: int = 8) -> None:
        self._fn = fn
        self._max = max_signatures
        self._sigs: list[_Signature] = []
        self._warned: set[str] = set()
        self.replays = 0
        self.eager_calls = 0
        self.fallback_reason: str | None = None
        self._hot: tuple[_Tape, tuple[Any, ...]] | None = None
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _core.current_tape() is not None:  # inside another capture
            return self._fn(*args, **kwargs)
        hot = self._hot  # the signature replayed last, if flat
        if hot is not None and not kwargs and _core.guard(args, *hot[1]):
            self.replays += 1
            flat = hot[0].flat
            return hot[0].run(args) if flat is None else _core.run_tape(flat, args)
        leaves: list[Any]
        if kwargs or any(type(a) in _CONTAINERS for a in args):
            leaves = []
            tree = flatten((args, kwargs), leaves)
        else:  # step(x, y): the common case, without flatten
            leaves, tree = list(args), len(args)
        sig = _signature(leaves)
        for s in self._sigs:
            if s.matches(tree, sig):
                break
        else:
            if len(self._sigs) >= self._max:
                self._fall_back(
                    f"more than {self._max} signatures (tensor shapes, dtypes, "
                    "requires_grad, other arguments, grad mode, module modes)"
                )
                return self._eager(args, kwargs)
            s = _Signature(tree, sig)
            self._sigs.append(s)
        if s.tape is not None:
            self.replays += 1
            g = s.fast_guard()
            self._hot = None if g is None else (s.tape, g)
            return s.tape.run(leaves)
        if s.reason is not None:
            return self._eager(args, kwargs)
        return self._record(s, args, kwargs, leaves)

    def _eager(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.eager_calls += 1
        return self._fn(*args, **kwargs)

    def _record(
        self,
        s: _Signature,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        leaves: list[Any],
    ) -> Any:
        before = _snapshot(s.prev) if s.prev is not None else None
        rec = Recorder(leaves)
        self.eager_calls += 1
        _core.set_tape(rec)
        try:
            res = self._fn(*args, **kwargs)
        finally:
            _core.set_tape(None)
        rec.finish(res)
        if s.modules is None:
            s.modules = [(m, m.training) for m in dict.fromkeys(rec.modules)]
        if rec.reason is not None:
            s.reason = rec.reason
        elif s.prev is None:
            s.prev, s.tries = rec, 1
        else:
            diff = _diff(s.prev, rec)
            if diff is not None:
                s.tries += 1
                s.prev = rec
                if s.tries >= _TRIES:
                    s.reason = f"its calls record different tapes ({diff})"
            else:
                assert before is not None
                s.reason = _unexplained(before, rec)
                if s.reason is None:
                    s.tape = _Tape(rec)
                s.prev = None
        if s.reason is not None:
            s.prev = None
            self._fall_back(s.reason)
        return res

    def _fall_back(self, reason: str) -> None:
        self.fallback_reason = reason
        if reason not in self._warned:
            self._warned.add(reason)
            name = getattr(self._fn, "__qualname__", repr(self._fn))
            warnings.warn(
                f"compile({name}): running eagerly: {reason}",
                CaptureWarning,
                stacklevel=4,
            )


@overload
def compile(fn: F, *, max_signatures: int = 8) -> F: ...
@overload
def compile(fn: None = None, *, max_signatures: int = 8) -> Callable[[F], F]: ...
def compile(fn: Any = None, *, max_signatures: int = 8) -> Any:
    """Captures a training step and replays it (Note [Captured steps]).

    ``step = mg.compile(step)`` (or ``@mg.compile``): the first calls run
    ``step`` eagerly and record its ops, its ``backward`` and its optimizer
    update; once two calls record the same tape, later calls with tensors of
    the same shapes and dtypes replay it without running ``step``'s Python.
    Results are those of the eager step, bit for bit. A step that cannot be
    replayed (it reads a tensor's value with ``item()``, changes tensors
    behind the tape's back, ...) runs eagerly, with a :class:`CaptureWarning`
    naming the reason. Return the loss tensor and call ``item()`` outside.

    Parameters
    ----------
    fn : callable
        The step; its tensor arguments may change between calls (new data),
        its other arguments are part of the signature.
    max_signatures : int
        Signatures (shapes, dtypes, other arguments...) recorded before new
        ones run eagerly.
    """
    if isinstance(max_signatures, bool) or not isinstance(max_signatures, int):
        raise TypeError(
            f"compile: max_signatures must be an int, got {max_signatures!r}"
        )
    if max_signatures < 1:
        raise ValueError(f"compile: max_signatures must be >= 1, got {max_signatures}")
    if fn is None:
        return lambda f: CompiledStep(f, max_signatures)
    if not callable(fn):
        raise TypeError(f"compile: expected a callable, got {type(fn).__name__}")
    return CompiledStep(fn, max_signatures)


# -- checks -----------------------------------------------------------------------


def _signature(leaves: list[Any]) -> list[Any]:
    sig: list[Any] = [STATE.grad_enabled, GLOBAL_STATE.anomaly]
    for x in leaves:
        if isinstance(x, TensorBase):
            d = x.data
            sig.append((type(x), d.shape, d.dtype, x.requires_grad))
        else:
            sig.append(x)
    return sig


def _same(a: Any, b: Any) -> bool:
    """Equal as constants of a tape (arrays by value, tensors by identity)."""
    if a is b:
        return True
    if type(a) is not type(b) or isinstance(a, TensorBase):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # an object whose == is not a truth value
        return False


def _describe(e: tuple[Any, ...]) -> str:
    if e[0] == CALL:
        return e[1].name()
    if e[0] in (_tape.GRAD, _tape.DATA):
        return ".grad" if e[0] == _tape.GRAD else ".data"
    return str(e[1].__name__)


def _same_entry(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] != b[0] or a[2] != b[2] or a[4] != b[4] or a[5] != b[5]:
        return False
    if a[0] != CALL:
        return a[1] is b[1] and _same(a[3], b[3]) and a[6:] == b[6:]
    ca, cb = a[1], b[1]
    return (
        ca.fn is cb.fn
        and ca.ins == cb.ins
        and ca.tree == cb.tree
        and ca.outs == cb.outs
        and all(map(_same, ca.consts, cb.consts))
    )


def _diff(a: Recorder, b: Recorder) -> str | None:
    """How two recordings differ, or None."""
    for i, (ea, eb) in enumerate(zip(a.entries, b.entries)):
        if not _same_entry(ea, eb):
            return f"step {i + 1} of the tape was {_describe(ea)}, then {_describe(eb)}"
    if len(a.entries) != len(b.entries):
        return f"{len(a.entries)} steps in one, {len(b.entries)} in the other"
    for s, (oa, ob) in enumerate(zip(a.objs, b.objs)):
        kind = a.kinds[s]
        if kind != b.kinds[s]:
            return "its tensors come from different places"
        if kind == EXT and oa is not ob and not _same_constant(oa, ob):
            return (
                f"a tensor of shape {tuple(ob.data.shape)} is made inside the step "
                "by something that is not a recorded op (create it outside the step, "
                "or pass it as an argument)"
            )
        if kind == CONST and not _same(oa, ob):
            return f"a constant changed ({oa!r} then {ob!r})"
    ra, rb = a.result, b.result
    assert ra is not None
    assert rb is not None
    if ra[0] != rb[0] or ra[1] != rb[1] or not all(map(_same, ra[2], rb[2])):
        return "it returned different things"
    return None


def _same_constant(a: Any, b: Any) -> bool:
    """Tensors made inside the step by no op (a Python number an op wrapper
    turned into a tensor, a zero initial state) that hold the same value on
    both calls: the tape keeps the later one as a constant."""
    if a.requires_grad or b.requires_grad or type(a) is not type(b):
        return False
    da, db = a.data, b.data
    return bool(
        da.dtype == db.dtype
        and da.shape == db.shape
        and np.array_equal(da, db, equal_nan=da.dtype.kind in "fc")
    )


_Snap = tuple[Any, Any, np.ndarray, Any]


def _snapshot(rec: Recorder) -> list[_Snap]:
    """The tensors from outside a step, their values and gradients."""
    return [
        (t, t.data, np.array(t.data, copy=True), t.grad)
        for t, k in zip(rec.objs, rec.kinds)
        if k == EXT
    ]


def _unexplained(before: list[_Snap], rec: Recorder) -> str | None:
    """A change to a tensor from outside the step that no recorded call
    explains (Note [Captured steps]), or None."""
    written: set[int] = set()  # tensors a recorded call may write
    regrad: set[int] = set()  # tensors whose .grad a recorded call may replace
    for e in rec.entries:
        if e[0] != CALL or e[1].mutates is None:
            continue
        call: Call = e[1]
        first = (
            call.consts[0] if call.ins and call.ins[0] < 0 else rec.objs[call.ins[0]]
        )
        if call.mutates == "self":
            written.add(id(first))
            if first._base is not None:
                written.add(id(first._base))
        elif call.mutates == "optimizer":
            written.update(id(p) for g in first.param_groups for p in g["params"])
        elif call.mutates == "zero_grad":
            params = first.parameters() if hasattr(first, "parameters") else None
            if params is None:
                params = (p for g in first.param_groups for p in g["params"])
            regrad.update(id(p) for p in params)
    for t, data, value, grad in before:
        changed = t.data is not data or not np.array_equal(
            t.data, value, equal_nan=True
        )
        if changed and id(t) not in written:
            return (
                f"a tensor of shape {tuple(t.data.shape)} from outside the step "
                "changes in a way the tape cannot see (through .data or numpy?); "
                "update it with an optimizer or an in-place Tensor op"
            )
        if (
            grad is not None
            and t.grad is not grad
            and id(t) not in regrad
            and not grad.requires_grad
        ):
            return (
                f"the .grad of a tensor of shape {tuple(t.data.shape)} is replaced "
                "by code the tape cannot see (p.grad = None?); use the optimizer's "
                "or the module's zero_grad()"
            )
    return None
