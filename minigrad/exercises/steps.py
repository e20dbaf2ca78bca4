"""Multi-step backprop: finds the first wrong step of a learner's backward pass.

Layer: exercises. The learner's function runs under a tracer that records every
numpy array its local variables take, in order, with the line that assigned it
(:func:`trace_call`). The exercise lists the steps of the backward pass in the
order autograd takes them (error at the output, dW2, db2, error at the hidden
layer, dW1, db1, then the updates), each with the engine's value and the values
the common mistakes would give (:class:`Step`, :class:`Variant`).
:func:`first_wrong_step` finds the first step that none of the learner's
variables holds, names the variable that tried it (in the learner's own words)
and says what is wrong with it: a known mistake of that step, else the
single-step diagnosis of ``minigrad.autograd.diagnose`` (sign, factor,
transpose, unsummed broadcast dimension, zero).

A step the learner computed inline (no variable of its own) is not a mistake:
it counts as right when the steps computed from it are right.
"""

from __future__ import annotations

import linecache
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.autograd.diagnose import BackwardProbe, Finding, RawGrad, diagnose
from minigrad.autograd.gradcheck import JacobianCheck

__all__ = [
    "Event",
    "Step",
    "Variant",
    "checked_names",
    "first_wrong_step",
    "trace_call",
]

ATOL, RTOL = 1e-8, 1e-6


@dataclass
class Event:
    """One value a learner's variable took: its name, a copy of the array, the
    line that assigned it and its text."""

    name: str
    value: np.ndarray
    line: int
    text: str
    order: int

    @property
    def where(self) -> str:
        return (
            f"{self.name} (line {self.line}: {self.text})" if self.text else self.name
        )


@dataclass
class Variant:
    """What a step's value would be after a known mistake: ``kind`` names it,
    ``explain`` says it (after the variable's name) and how to fix it."""

    kind: str
    value: np.ndarray
    explain: str


@dataclass
class Step:
    """One step of the backward pass.

    ``key`` identifies it in tests, ``what`` says what it is ("dL/dz2, the error
    at the output"), ``value`` is the engine's. ``returned`` labels the value the
    learner returns for it (``grads["W2"]``), ``yours`` is that value (None for
    an intermediate step); ``feeds`` are the keys of the steps computed from it.
    """

    key: str
    what: str
    value: np.ndarray
    variants: list[Variant] = field(default_factory=list)
    returned: str | None = None
    yours: Any = None
    feeds: tuple[str, ...] = ()


def trace_call(
    fn: Callable[..., Any], kwargs: dict[str, Any]
) -> tuple[Any, list[Event]]:
    """Calls ``fn(**kwargs)`` and records the arrays its variables take.

    Every frame of code from fn's file is watched (helpers the learner wrote
    there too); the arguments' first values are not events, their later ones
    (an in-place update, a reassignment) are.
    """
    filename = fn.__code__.co_filename
    events: list[Event] = []
    seen: dict[int, dict[str, np.ndarray]] = {}
    last_line: dict[int, int] = {}

    def record(frame: Any, first: bool) -> None:
        key = id(frame)
        known = seen.setdefault(key, {})
        for name, v in list(frame.f_locals.items()):
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiub":
                continue
            old = known.get(name)
            if old is not None and old.shape == v.shape and np.array_equal(old, v):
                continue
            known[name] = np.array(v, dtype=np.float64)
            if first:
                continue
            line = last_line.get(key, frame.f_lineno)
            text = linecache.getline(filename, line).strip()
            events.append(Event(name, known[name], line, text, len(events)))

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event in ("line", "return"):
            record(frame, first=False)
            if event == "line":
                last_line[id(frame)] = frame.f_lineno
            else:
                seen.pop(id(frame), None)
        return local

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_filename == filename:
            record(frame, first=True)
            return local
        return None

    old = sys.gettrace()
    linecache.checkcache(filename)
    sys.settrace(global_trace)
    try:
        result = fn(**kwargs)
    finally:
        sys.settrace(old)
    return result, events


def _same(a: Any, b: np.ndarray) -> bool:
    try:
        a = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _informative(v: np.ndarray) -> bool:
    return bool(np.any(np.abs(v) > ATOL))


@dataclass
class StepReport:
    """What :func:`first_wrong_step` found: the wrong step, the finding, the
    report lines, and the steps found right before it."""

    step: Step
    finding: Finding
    lines: list[str]
    right: list[str]


def first_wrong_step(
    steps: list[Step],
    events: list[Event],
    sizes: dict[str, int],
    forward: list[np.ndarray] = (),  # type: ignore[assignment]
) -> StepReport | None:
    """The first step of ``steps`` that the learner got wrong, or None.

    ``forward`` holds the forward pass's values: a variable holding one of them
    is never taken for the learner's try at a backward step.
    """
    events, found, ok = _match(steps, events, forward)
    wrong = [s for s in steps if not ok[s.key]]
    if not wrong:
        return None
    # An intermediate step with no variable of its own and no recognised
    # mistake was perhaps written inline: the first step after it whose
    # mistake is recognised is the one to name (unless an earlier step has a
    # variable of its own that is wrong); if none is, the first one.
    tried = []
    for s in wrong:
        before = [found[t.key] for t in steps[: steps.index(s)]]
        after = max((e.order for e in before if e is not None), default=-1)
        taken = {e.order for e in found.values() if e is not None}
        finding, var, value = _diagnose_step(s, events, taken, after, sizes)
        tried.append((s, finding, var, value))
        if _recognised(finding):
            break
    firm = [t for t in tried if t[1].kind != "missing"]
    pick = tried[-1] if _recognised(tried[-1][1]) else firm[0] if firm else tried[0]
    for t in tried:
        if t is pick or (t[1].kind != "missing" and t[2] != pick[2]):
            pick = t
            break
    s, finding, var, value = pick
    lines = [f"The first wrong step is {var}: {s.what}."]
    lines.append(f"  {finding.message}.")
    if value is not None:
        lines += ["  " + t for t in value_table(value, s.value)]
    right = []
    for earlier in steps[: steps.index(s)]:
        e = found[earlier.key]
        name = e.name if e is not None else None
        if name is not None and name not in right:
            right.append(name)
    if right:
        lines.append("Right before it: " + ", ".join(right) + ".")
    later = [t.returned for t in wrong[wrong.index(s) + 1 :] if t.returned]
    if later:
        lines.append(f"Wrong after it (computed from it): {', '.join(later)}.")
    label = finding.message.split(": ")[0]
    finding.evidence.update({"step": s.key, "variable": label})
    return StepReport(s, finding, lines, right)


def _match(
    steps: list[Step], events: list[Event], forward: Any
) -> tuple[list[Event], dict[str, Event | None], dict[str, bool]]:
    """The events that are not forward values, the event holding each step
    (None: none does), and whether each step is right."""
    events = [e for e in events if not any(_same(e.value, f) for f in forward)]
    found: dict[str, Event | None] = {}
    ok: dict[str, bool] = {}
    for s in steps:
        if s.returned is not None:
            ok[s.key] = _same(s.yours, s.value)
            found[s.key] = _named(s.yours, events) if ok[s.key] else None
        else:
            match = [e for e in events if _same(e.value, s.value)]
            found[s.key] = match[0] if match else None
            ok[s.key] = bool(match)
    for s in reversed(steps):  # computed inline: right when what it feeds is right
        feeds = [k for k in s.feeds if k in ok]
        if not ok[s.key] and s.returned is None and feeds:
            ok[s.key] = all(ok[k] for k in feeds)
    return events, found, ok


def checked_names(
    steps: list[Step], events: list[Event], forward: Any = ()
) -> list[str]:
    """The learner's names of the steps they computed (each once, in order)."""
    _, found, _ = _match(steps, events, forward)
    names: list[str] = []
    for s in steps:
        e = found[s.key]
        name = e.name if e is not None else s.returned
        if name is not None and name not in names:
            names.append(name)
    return names


def _param_named(e: Event) -> bool:
    """Whether a variable's name ends in a parameter's (grad_b1, dW2, db)."""
    return re.search(r"(?:^|_|d)[Wb]\d*$", e.name) is not None


def _recognised(f: Finding) -> bool:
    if f.kind in ("mismatch", "missing", "shape"):
        return False
    return f.evidence.get("matches", True) is not False


def _named(value: Any, events: list[Event]) -> Event | None:
    """The last event holding exactly ``value`` (the learner's name for it)."""
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    for e in reversed(events):
        if e.value.shape == v.shape and np.array_equal(e.value, v):
            return e
    return None


def _diagnose_step(
    s: Step, events: list[Event], taken: set[int], after: int, sizes: dict[str, int]
) -> tuple[Finding, str, np.ndarray | None]:
    """The finding for wrong step ``s``, the learner's name for it, its value.

    ``taken`` are the events that hold right steps: a variable holding a
    known mistake of ``s`` may be one of them (``delta_h = W2.T @ delta``
    without the activation's derivative is the right dL/dh), but a variable of
    its own is preferred, and a variable named after a parameter
    (``grad_b1 = delta_h``) comes last.
    """
    if s.returned is not None:
        ev = _named(s.yours, events)
        if ev is not None and ev.order in taken:  # it holds a right step too
            var = f"{s.returned}, which holds {ev.name} from line {ev.line}"
            var += f" ({ev.text})" if ev.text else ""
            label = s.returned
        else:
            var = ev.where if ev is not None else s.returned
            label = ev.name if ev is not None else s.returned
        try:
            mine = np.asarray(s.yours, dtype=np.float64)
        except (TypeError, ValueError):
            msg = f"{label}: it is not an array ({type(s.yours).__name__})"
            return Finding("shape", None, msg), var, None
        for v in s.variants:
            if _same(mine, v.value):
                return Finding(v.kind, None, f"{label}: {v.explain}"), var, mine
        return _generic(s, label, mine, sizes), var, mine
    # An intermediate. First a variable of its own holding a known mistake of
    # this step, then one (of a fitting shape) with a recognised pattern, then
    # any variable holding a known mistake; else the first of the right shape.
    own = [e for e in events if not (_param_named(e) or e.order in taken)]
    hit = _variant_match(s, own, taken)
    if hit is not None:
        return hit
    shape = s.value.shape
    right = [e.value for e in events if e.order in taken]
    fits = [
        e
        for e in events
        if e.order > after
        and e.order not in taken
        and not any(_same(e.value, r) for r in right)
        and (
            e.value.shape in (shape, shape[::-1])
            or (e.value.ndim == len(shape) + 1 and e.value.shape[1:] == shape)
        )
    ]
    tried = [(e, _generic(s, e.name, e.value, sizes)) for e in fits]
    for e, f in tried:  # a zero array (np.zeros_like, filled later) is weak
        if _recognised(f) and f.kind not in ("zero", "spurious"):
            return f, e.where, e.value
    # The variable assigned right after the last right step, if it fits.
    nxt = next((e for e in events if e.order > after), None)
    for e, f in tried:
        if e is nxt and e.value.shape == shape and _informative(e.value):
            return f, e.where, e.value
    hit = _variant_match(s, events, taken)
    if hit is not None:
        return hit
    for e, f in tried:
        if _recognised(f) or (e.value.shape == shape and _informative(e.value)):
            return f, e.where, e.value
    what = s.what.split(",")[0]
    msg = (
        f"{what}: none of your variables holds it, and none holds one of the "
        "usual mistakes of this step; give it a variable of its own to see "
        "what is wrong with it"
    )
    return Finding("missing", None, msg), what, None


def _variant_match(
    s: Step, events: list[Event], taken: set[int]
) -> tuple[Finding, str, np.ndarray] | None:
    for v in s.variants:
        match = [e for e in events if _same(e.value, v.value)]
        if match:
            e = min(match, key=lambda e: (_param_named(e), e.order in taken, e.order))
            return Finding(v.kind, None, f"{e.name}: {v.explain}"), e.where, e.value
    return None


def _generic(s: Step, label: str, mine: np.ndarray, sizes: dict[str, int]) -> Finding:
    """The single-step diagnosis of ``mine`` against the engine's value."""
    ref = s.value
    same = mine.shape == ref.shape
    check = JacobianCheck(
        0,
        ref.shape,
        (),
        mine.reshape(-1, 1) if same else np.full((ref.size, 1), np.nan),
        ref.reshape(-1, 1),
        ATOL,
        RTOL,
        name=label,
    )
    raw = {} if same else {0: RawGrad(mine.shape, mine.reshape(-1, 1), label)}
    found = diagnose(
        [check], BackwardProbe(label, raw), ours="yours", ref="autograd", sizes=sizes
    )
    if not found:
        return Finding("mismatch", None, f"{label}: it differs from autograd's")
    f = found[0]
    f.index = None
    if f.kind == "transposed":
        f.message = (
            f"{label}: it has shape {mine.shape}, the transpose of the shape "
            f"{ref.shape} it must have: it is transposed"
            if not same
            else f"{label}: it is transposed"
        ) + (
            "; transposed back, it matches autograd's (the gradient of a "
            "weight matrix has the weight's shape: inp.T @ delta for "
            "inp @ W, np.outer(delta, inp) for W @ inp)"
            if f.evidence.get("matches", same)
            else ""
        )
    if f.kind == "broadcast":  # said for a backward; put it in a learner's words
        dims = f.evidence.get("dims", ())
        f.message = (
            f"{label}: it has shape {mine.shape}, but the gradient of a parameter has "
            f"the parameter's shape {ref.shape}: it was not summed over the batch "
            f"(the bias is added to every row). Sum it over axis "
            f"{dims[0] if len(dims) == 1 else dims}"
            + (
                "; summed, it matches autograd's"
                if f.evidence.get("matches")
                else "; even summed, it differs from autograd's"
            )
        )
    return f


def value_table(mine: np.ndarray, ref: np.ndarray, k: int = 4) -> list[str]:
    """The worst elements of ``mine`` against ``ref`` (same shape): the
    relative error only where the reference is not near zero."""
    if mine.shape != ref.shape:
        return []
    err = np.abs(mine - ref)
    bad = err > ATOL + RTOL * np.abs(ref)
    if not bad.any():
        return []
    order = np.argsort(-(err * bad), axis=None, kind="stable")[: min(k, int(bad.sum()))]
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    lines = [f"{'element':<10} {'yours':>12} {'autograd':>12} {'error':>24}"]
    for flat in order:
        idx = tuple(int(i) for i in np.unravel_index(flat, ref.shape))
        y, r = float(mine.ravel()[flat]), float(ref.ravel()[flat])
        e = abs(y - r)
        if abs(r) > max(1e-9, 1e-6 * scale):
            what = f"{e:.3g} ({e / abs(r):.3g} relative)"
        else:
            what = f"{e:.3g} (absolute)"
        lines.append(f"{idx!s:<10} {y:>12.6g} {r:>12.6g} {what:>24}")
    n = int(bad.sum())
    lines.append(
        f"{n} of {ref.size} elements differ"
        if n < ref.size
        else f"all {ref.size} elements differ"
    )
    return lines
