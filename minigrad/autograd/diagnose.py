"""What is wrong with a backward: the diagnosis behind gradcheck's failures.

Layer: autograd. Works on :class:`~minigrad.autograd.gradcheck.JacobianCheck`
objects from either engine (tensor or scalar); imports ``minigrad.tensor`` and
the grad modes lazily (for :func:`probe_backward`); nothing above.

A failing check compares an analytical Jacobian ``A`` (what backward computed)
with a reference ``N`` (central differences, or autograd when the learner wrote
backprop by hand). :func:`diagnose` looks for the mistakes learners make, each
recognised from the numbers alone:

- ``sign``: ``A = -N`` (everywhere, or at some entries);
- ``factor``: ``A = c*N`` for a constant ``c``, named when it is a common one
  (the 2 of a square, the N of a mean, a broadcast count);
- ``transposed``: ``A`` matches ``N`` once the input-shaped gradient is
  transposed;
- ``broadcast``: the gradient has the broadcast (output) shape instead of the
  input's: a dimension was not summed;
- ``swapped``: the gradient of input i matches the reference of input j;
- ``zero``: ``A`` is zero (or backward returned None) where ``N`` is not;
  ``spurious`` is the mirror image (nonzero where ``N`` is zero);
- ``kink``: the mismatches all sit where fn is not differentiable (the
  one-sided differences disagree: relu at 0, ties in max), and ``A`` is one of
  the one-sided derivatives there;
- ``not_linear``: backward ignores ``grad_out`` (found by :func:`probe_backward`);
- ``error`` / ``not_implemented`` / ``arity`` / ``shape``: backward failed.

The engine sums a broadcast-shaped gradient down to the input's shape (as
PyTorch does), so an unsummed broadcast dimension never shows in ``A``.
:func:`probe_backward` sees it: it calls the backward of the user-defined
Function that produced fn's outputs directly and keeps the raw gradients it
returns, shapes included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minigrad.autograd.gradcheck import JacobianCheck

__all__ = [
    "BackwardProbe",
    "Finding",
    "RawGrad",
    "apply_probe",
    "diagnose",
    "name_factor",
    "probe_backward",
]


@dataclass
class Finding:
    """One recognised mistake: ``kind`` (see the module docstring), the check
    index it concerns (None: the whole backward), a plain-words ``message`` with
    the evidence, and the evidence as data."""

    kind: str
    index: int | None
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawGrad:
    """What a backward returned for one input before the engine conformed it.

    ``shape`` is None when it returned None; ``jacobian[k, j]`` is element k
    (row-major in ``shape``) of the gradient returned for one-hot output j.
    """

    shape: tuple[int, ...] | None
    jacobian: np.ndarray | None
    source: str


@dataclass
class BackwardProbe:
    """The result of calling a Function's backward directly (see
    :func:`probe_backward`): raw gradients by check index, and what went wrong."""

    source: str
    raw: dict[int, RawGrad] = field(default_factory=dict)
    error: BaseException | None = None
    arity: str | None = None
    linear: bool | None = None


# -- probing a user-defined Function ---------------------------------------------


def probe_backward(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    positions: Sequence[int | None] | None = None,
) -> BackwardProbe | None:
    """Calls the backward of the Function behind ``fn``'s outputs directly.

    Applies when every floating output of ``fn(*inputs)`` comes from one node
    of a user-defined Function (one not defined in the minigrad package) whose
    inputs include some of ``inputs`` themselves. Its backward is called under
    ``no_grad`` once per output element with a one-hot ``grad_out`` (the raw
    Jacobian) and twice with a random ``g`` and ``2*g`` (linearity).

    Parameters
    ----------
    fn : callable
    inputs : the gradcheck inputs
    positions : optional
        ``positions[p]`` is the index in ``inputs`` of the Function's input p
        (None: not a gradcheck input). Found from the graph when omitted.

    Returns
    -------
    BackwardProbe, or None when fn is not a single user-defined Function.
    """
    try:
        return _probe(fn, tuple(inputs), positions)
    except Exception:  # the probe only adds evidence; it must never mask the check
        return None


def _probe(
    fn: Callable[..., Any],
    inputs: tuple[Any, ...],
    positions: Sequence[int | None] | None,
) -> BackwardProbe | None:
    from minigrad.autograd.grad_mode import enable_grad
    from minigrad.tensor import Tensor

    with enable_grad():
        res = fn(*inputs)
    outs = [
        o
        for o in (res if isinstance(res, (tuple, list)) else (res,))
        if isinstance(o, Tensor) and o.dtype.kind == "f"
    ]
    if not outs or outs[0].grad_fn is None:
        return None
    ctx = outs[0].grad_fn
    if any(o.grad_fn is not ctx for o in outs):
        return None
    cls = getattr(ctx, "_fn", None)
    if cls is None or str(getattr(cls, "__module__", "")).startswith("minigrad."):
        return None
    if positions is None:
        positions = [
            next((i for i, x in enumerate(inputs) if x is e), None)
            for e in getattr(ctx, "_edges", ())
        ]
    if not any(p is not None for p in positions):
        return None
    probe = BackwardProbe(source=f"{cls.__name__}.backward")

    def call(seeds: list[np.ndarray]) -> tuple[Any, ...] | None:
        from minigrad.autograd.grad_mode import no_grad

        with no_grad():
            r = cls.backward(ctx, *(Tensor._wrap(s) for s in seeds))
        r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        if len(r) < len(positions) and all(
            inputs[p].requires_grad is False if p is not None else True
            for p in positions[len(r) :]
        ):
            r = r + (None,) * (len(positions) - len(r))
        if len(r) != len(positions):
            probe.arity = (
                f"{probe.source} returned {len(r)} gradient(s), but forward takes "
                f"{len(positions)} input(s): return one per input, in order "
                "(None for an input that needs none)"
            )
            return None
        return r

    try:
        _raw_jacobians(call, outs, inputs, positions, probe)
        _check_linear(call, outs, probe)
    except Exception as exc:
        probe.error = exc
    return probe


def _as_raw(g: Any) -> np.ndarray | None:
    if g is None:
        return None
    return np.asarray(getattr(g, "data", g), dtype=np.float64)


def _raw_jacobians(
    call: Callable[[list[np.ndarray]], tuple[Any, ...] | None],
    outs: list[Any],
    inputs: tuple[Any, ...],
    positions: Sequence[int | None],
    probe: BackwardProbe,
) -> None:
    n_out = sum(o.numel() for o in outs)
    cols: dict[int, list[np.ndarray | None]] = {
        p: [] for p, i in enumerate(positions) if i is not None
    }
    for oi, o in enumerate(outs):
        for j in range(o.numel()):
            seeds = [np.zeros(t.shape, t.dtype) for t in outs]
            seeds[oi].reshape(-1)[j] = 1
            r = call(seeds)
            if r is None:
                return
            for p in cols:
                cols[p].append(_as_raw(r[p]))
    for p, col in cols.items():
        i = positions[p]
        assert i is not None
        if not inputs[i].requires_grad:
            continue
        if not col or col[0] is None:
            shape = None if col else tuple(inputs[i].shape)
            probe.raw[i] = RawGrad(shape, None, probe.source)
            continue
        shape = col[0].shape
        arrs = [c for c in col if c is not None and c.shape == shape]
        if len(arrs) != len(col):
            continue
        jac = np.stack([c.ravel() for c in arrs], axis=1).reshape(-1, n_out)
        probe.raw[i] = RawGrad(tuple(shape), jac, probe.source)


def _check_linear(
    call: Callable[[list[np.ndarray]], tuple[Any, ...] | None],
    outs: list[Any],
    probe: BackwardProbe,
) -> None:
    rng = np.random.default_rng(1234)
    g = [rng.standard_normal(o.shape).astype(o.dtype) + 0.5 for o in outs]
    r1, r2 = call(g), call([2 * x for x in g])
    if r1 is None or r2 is None:
        return
    linear = True
    for a, b in zip(r1, r2):
        a, b = _as_raw(a), _as_raw(b)
        if a is None or b is None:
            linear &= a is None and b is None
        elif a.shape != b.shape or not np.allclose(b, 2 * a, rtol=1e-7, atol=1e-9):
            linear = False
    probe.linear = linear


def apply_probe(
    checks: Sequence[JacobianCheck], probe: BackwardProbe | None, strict: bool
) -> None:
    """Folds what the probe saw into the checks (in place).

    When the engine refused what backward returned (a gradient of a shape it
    cannot sum down), every analytical Jacobian is NaN; a raw gradient of the
    right shape then stands in for it, and the engine's error is left to the
    finding that explains it. With ``strict``, what the probe found wrong
    becomes notes, which fail the checks they concern (every check for a
    problem of the whole backward); otherwise only checks that fail anyway
    get them.
    """
    if probe is None:
        return
    explained = probe.error is None and (
        probe.arity is not None
        or any(
            r.shape is not None and r.shape != tuple(c.input_shape)
            for c in checks
            if (r := probe.raw.get(c.index)) is not None
        )
    )
    for c in checks:
        raw = probe.raw.get(c.index)
        if not np.all(np.isfinite(c.analytical)) and explained:
            c.notes[:] = [n for n in c.notes if not n.startswith("backward raised")]
            if (
                raw is not None
                and raw.jacobian is not None
                and raw.shape == tuple(c.input_shape)
            ):
                c.analytical = raw.jacobian.copy()
    by_index = {c.index: c for c in checks}
    for f in _probe_findings(checks, probe):
        if f.kind in ("error", "not_implemented"):
            # What the engine's own backward raised is noted by compute_checks;
            # a probe call alone failing (a backward that runs only once) is not.
            continue
        targets = checks if f.index is None else [by_index[f.index]]
        for c in targets:
            if (strict or not c.passed) and f.message not in c.notes:
                c.notes.append(f.message)


def _probe_findings(
    checks: Sequence[JacobianCheck], probe: BackwardProbe, w: _Words | None = None
) -> list[Finding]:
    out = []
    if probe.error is not None:
        e = probe.error
        kind = "not_implemented" if isinstance(e, NotImplementedError) else "error"
        what = "is not implemented yet" if kind == "not_implemented" else "raised"
        out.append(
            Finding(
                kind,
                None,
                f"{probe.source} {what}: {type(e).__name__}: {e}",
                {"exception": e},
            )
        )
    if probe.arity is not None:
        out.append(Finding("arity", None, probe.arity))
    if probe.linear is False:
        out.append(
            Finding(
                "not_linear",
                None,
                f"{probe.source} ignores grad_out: backward(2*g) is not "
                "2*backward(g). By the chain rule the gradient of an input is "
                "grad_out times the local derivative; multiply by grad_out",
            )
        )
    for c in checks:
        raw = probe.raw.get(c.index)
        if raw is None:
            continue
        if raw.shape is None:
            out.append(_none_finding(c, raw))
        elif raw.shape != tuple(c.input_shape):
            out.append(_shape_finding(c, raw, checks, w)[0])
    return out


def _none_finding(c: JacobianCheck, raw: RawGrad) -> Finding:
    return Finding(
        "zero",
        c.index,
        f"{c.label}: {raw.source} returned None for it, but it requires grad: "
        "return its gradient (None only where ctx.needs_input_grad is False)",
        {"returned": None},
    )


# -- the diagnosis -----------------------------------------------------------------


def diagnose(
    checks: Sequence[JacobianCheck],
    probe: BackwardProbe | None = None,
    *,
    ours: str = "analytical",
    ref: str = "numerical",
    sizes: dict[str, int] | None = None,
) -> list[Finding]:
    """Recognises the common mistakes behind the failed checks.

    Parameters
    ----------
    checks : every JacobianCheck of one gradcheck (passed ones help to spot
        swapped inputs)
    probe : optional, from :func:`probe_backward` (raw shapes, errors, linearity)
    ours, ref : how messages name the two Jacobians
    sizes : optional named sizes for naming a constant factor, e.g.
        ``{"the batch size N": 4}``

    Returns
    -------
    list of Finding, the problems of the whole backward first, then per check.
    """
    words = _Words(ours, ref, sizes or {})
    found = _probe_findings(checks, probe, words) if probe is not None else []
    # Ignoring grad_out garbles every entry; the numbers add nothing to that.
    root_cause = any(f.kind == "not_linear" for f in found)
    for c in checks:
        if c.passed or root_cause:
            continue
        raw = probe.raw.get(c.index) if probe is not None else None
        mine = _check_findings(c, checks, raw, words)
        if not mine and not any(f.index in (None, c.index) for f in found):
            bad = c.bad_mask()
            mine = _note_findings(c) or (
                [_mismatch(c, bad, words)] if bad.any() else []
            )
        found.extend(mine)
    unique: dict[tuple[Any, str], Finding] = {}
    for f in found:
        unique.setdefault((f.index, f.message), f)
    return list(unique.values())


def _note_findings(c: JacobianCheck) -> list[Finding]:
    """The notes of a check that fails for them, or whose Jacobian cannot be
    compared (NaN)."""
    if np.all(np.isfinite(c.analytical)) and c.bad_mask().any():
        return []
    return [
        Finding(
            "error" if note.startswith("backward raised") else "note",
            c.index,
            f"{c.label}: {note}",
        )
        for note in c.notes
    ]


@dataclass
class _Words:
    ours: str
    ref: str
    sizes: dict[str, int]


def _check_findings(
    c: JacobianCheck,
    checks: Sequence[JacobianCheck],
    raw: RawGrad | None,
    w: _Words,
) -> list[Finding]:
    a = c.analytical
    out: list[Finding] = []
    if raw is not None and raw.shape is None:
        return [_none_finding(c, raw)]
    if raw is not None and raw.jacobian is not None:
        if raw.shape != tuple(c.input_shape):
            f, candidate = _shape_finding(c, raw, checks, w)
            out.append(f)
            if candidate is None or f.evidence.get("matches"):
                return out
            a = candidate
        elif not np.all(np.isfinite(a)):
            a = raw.jacobian
    if not np.all(np.isfinite(a)):
        return out
    return out + _numeric_findings(c, a, checks, w)


def _tol(c: JacobianCheck, n: np.ndarray) -> np.ndarray:
    # Twice gradcheck's tolerance: a pattern is matched as loosely as it is checked.
    return 2 * (c.atol + c.rtol * np.abs(n))


def _close(c: JacobianCheck, a: np.ndarray, n: np.ndarray, mask: Any = None) -> bool:
    ok = np.abs(a - n) <= _tol(c, n)
    return bool(np.all(ok if mask is None else ok[mask]))


def _numeric_findings(
    c: JacobianCheck, a: np.ndarray, checks: Sequence[JacobianCheck], w: _Words
) -> list[Finding]:
    n = c.numerical
    bad = np.abs(a - n) > c.atol + c.rtol * np.abs(n)
    if not bad.any():
        return []
    kink = _kink_mask(c, a)
    real = bad & ~kink
    if not real.any():
        return [_kink_finding(c, bad, w)]
    valid = ~kink
    informative = (np.abs(n) > c.atol) & valid
    for test in (_zero, _sign, _factor, _transposed, _swapped):
        f = test(c, a, n, valid, informative, checks, w)
        if f is not None:
            return [f]
    found = _partial(c, a, n, real, informative, w)
    if (bad & kink).any():
        found.append(_kink_finding(c, bad & kink, w, partial=True))
    return found


def _zero(c, a, n, valid, informative, checks, w) -> Finding | None:
    if not informative.any() or np.any(np.abs(a[valid]) > 1e-3 * c.atol):
        return None
    k = int(informative.sum())
    return Finding(
        "zero",
        c.index,
        f"{c.label}: the gradient is zero at all {a.size} entries, but the "
        f"{w.ref} gradient is not ({k} nonzero entries): backward returns zeros "
        "or None for it, or the output was computed from it without recording "
        "the op (through .data or numpy)",
        {"nonzero_reference": k},
    )


def _sign(c, a, n, valid, informative, checks, w) -> Finding | None:
    if not informative.any() or not _close(c, a, -n, valid):
        return None
    k = int(informative.sum())
    return Finding(
        "sign",
        c.index,
        f"{c.label}: the gradient has the wrong sign at all {k} entries "
        f"({w.ours} = -{w.ref} within tolerance)",
        {"count": k, "total": k},
    )


def _factor(c, a, n, valid, informative, checks, w) -> Finding | None:
    if not informative.any():
        return None
    nn, aa = n[informative], a[informative]
    k = float(np.dot(aa, nn) / np.dot(nn, nn))
    if abs(k) < 1e-3 or abs(k - 1) < 4 * c.rtol or abs(k + 1) < 4 * c.rtol:
        return None
    if not _close(c, a, k * n, valid):
        return None
    sizes = _named_sizes(c, w.sizes)
    what = name_factor(k, sizes)
    if int(informative.sum()) < 2 and what.endswith("not a common one"):
        return None  # one entry fits any factor: that says nothing
    return Finding(
        "factor",
        c.index,
        f"{c.label}: the gradient is off by a constant factor: {w.ours} = "
        f"{k:.6g} * {w.ref} at all {int(informative.sum())} nonzero entries; "
        f"{what}",
        {"factor": k, "explanation": what},
    )


def _named_sizes(c: JacobianCheck, extra: dict[str, int]) -> dict[str, int]:
    """The sizes a constant factor may come from, most telling first."""
    sizes = dict(extra)
    shape, out = tuple(c.input_shape), tuple(c.output_shape)
    n_in, n_out = int(np.prod(shape)), int(np.prod(out))
    if n_in and n_out > n_in and n_out % n_in == 0:
        sizes.setdefault(f"the number of times {c.label} is broadcast", n_out // n_in)
    if n_in > 1:
        sizes.setdefault(f"the number of elements of {c.label}", n_in)
    for d, s in enumerate(shape):
        sizes.setdefault(f"the size of dimension {d} of {c.label}", s)
    if n_out > 1:
        sizes.setdefault("the number of output elements", n_out)
    for d, s in enumerate(out):
        sizes.setdefault(f"the size of output dimension {d}", s)
    return {k: v for k, v in sizes.items() if v > 1}


def name_factor(k: float, sizes: dict[str, int]) -> str:
    """Plain words for a constant factor ``k`` between a gradient and the true one.

    Parameters
    ----------
    k : the factor (gradient = k * true gradient)
    sizes : named sizes that a mean or a broadcast could have introduced

    Returns
    -------
    str
    """

    def near(x: float, y: float) -> bool:
        return abs(x - y) <= 1e-3 * abs(y)

    sign = ""
    if k < 0:
        sign = "the sign is flipped too, and "
        k = -k
    if near(k, 2):
        return sign + (
            "it is twice the true gradient: a factor 2 too many (the derivative "
            "of 1/2 u^2 is u, not 2u; or a gradient added twice)"
        )
    if near(k, 0.5):
        return sign + (
            "it is half the true gradient: the 2 from differentiating a square "
            "is missing (d(u^2)/du = 2u)"
        )
    for label, s in sizes.items():
        if near(k, s):
            return sign + (
                f"it is {s} times too large, and {s} is {label}: the 1/{s} of a "
                f"mean over {s} elements is missing (or a sum is used where the "
                "forward takes a mean)"
            )
        if near(k, 1 / s):
            return sign + (
                f"it is {s} times too small, and {s} is {label}: it is divided by "
                f"{s} once too often (or a mean is used where the forward takes a "
                "sum)"
            )
    for label, s in sizes.items():
        if near(k, 2 * s) or near(k, 1 / (2 * s)):
            big = near(k, 2 * s)
            return sign + (
                f"it is {2 * s} times too {'large' if big else 'small'}: 2 * {s}, "
                f"and {s} is {label} (the 2 of a square and a 1/{s} mean together)"
            )
    return sign + f"the factor {k:.4g} is not a common one"


def _permutations(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    nd = len(shape)
    perms = []
    if nd >= 2:
        swap = (*range(nd - 2), nd - 1, nd - 2)
        perms.append(swap)
        rev = tuple(range(nd - 1, -1, -1))
        if rev != swap:
            perms.append(rev)
    return perms


def _permute_rows(
    jac: np.ndarray, shape: tuple[int, ...], perm: tuple[int, ...]
) -> np.ndarray:
    """Rows of a Jacobian whose gradient has ``shape``, with the gradient
    transposed by ``perm`` (its rows follow the transposed shape)."""
    m = jac.shape[1]
    nd = len(shape)
    return jac.reshape(*shape, m).transpose(*perm, nd).reshape(-1, m)


def _transposed(c, a, n, valid, informative, checks, w) -> Finding | None:
    shape = tuple(c.input_shape)
    for perm in _permutations(shape):
        if tuple(shape[p] for p in perm) != shape:
            continue
        if informative.any() and _close(c, _permute_rows(a, shape, perm), n, valid):
            return Finding(
                "transposed",
                c.index,
                f"{c.label}: the gradient is transposed: transposed (axes "
                f"{perm}), {w.ours} matches {w.ref}",
                {"perm": perm},
            )
    return None


def _swapped(c, a, n, valid, informative, checks, w) -> Finding | None:
    for d in checks:
        if d.index == c.index or d.numerical.shape != a.shape:
            continue
        dn = d.numerical
        if np.any(np.abs(dn) > d.atol) and _close(d, a, dn) and not _close(c, dn, n):
            return Finding(
                "swapped",
                c.index,
                f"{c.label}: its gradient is the one of {d.label}: {w.ours} of "
                f"{c.label} matches the {w.ref} gradient of {d.label}. Backward "
                "returns the gradients in the order of forward's inputs",
                {"other": d.index},
            )
    return None


def _shape_finding(
    c: JacobianCheck,
    raw: RawGrad,
    checks: Sequence[JacobianCheck],
    w: _Words | None = None,
) -> tuple[Finding, np.ndarray | None]:
    """What a wrong-shaped raw gradient is, and a Jacobian of the input's
    shape to go on checking (None when there is no sensible one)."""
    w = w or _Words("analytical", "numerical", {})
    shape, rs, jac = tuple(c.input_shape), tuple(raw.shape or ()), raw.jacobian
    head = f"{c.label}: {raw.source} returns a gradient of shape {rs} for it"
    head += f", but it has shape {shape}"
    if _broadcastable(shape, rs):
        dims = _broadcast_dims(shape, rs)
        summed = _sum_rows_to(jac, rs, shape) if jac is not None else None
        ok = summed is not None and _close(c, summed, c.numerical)
        tail = (
            f"summed, it matches the {w.ref} gradient"
            if ok
            else f"even summed, it differs from the {w.ref} gradient"
        )
        return (
            Finding(
                "broadcast",
                c.index,
                f"{head}: the broadcast dimension(s) {dims} were not "
                f"summed. Sum the gradient over them (e.g. grad.sum(axis="
                f"{dims[0] if len(dims) == 1 else dims})) so that it has the "
                f"input's shape; {tail}",
                {"dims": dims, "matches": ok, "returned": rs},
            ),
            summed,
        )
    if jac is not None:
        for perm in _permutations(shape):
            if tuple(shape[p] for p in perm) == rs:
                back = _permute_rows(jac, rs, perm)
                if _close(c, back, c.numerical):
                    msg = (
                        f"{head}: the gradient is transposed; transposed back, "
                        f"it matches the {w.ref} gradient"
                    )
                    return (
                        Finding("transposed", c.index, msg, {"matches": True}),
                        back,
                    )
        for d in checks:
            if (
                d.index != c.index
                and tuple(d.input_shape) == rs
                and _close(d, jac, d.numerical)
            ):
                msg = (
                    f"{head}, which is the shape of {d.label}: it is the "
                    f"gradient of {d.label} (it matches its {w.ref} "
                    "gradient). Backward returns the gradients in the "
                    "order of forward's inputs"
                )
                return (
                    Finding(
                        "swapped", c.index, msg, {"other": d.index, "matches": True}
                    ),
                    None,
                )
    if rs == tuple(reversed(shape)):
        msg = f"{head}: the transposed shape (is a matmul's operand order swapped?)"
        rows = (
            _permute_rows(jac, rs, _permutations(shape)[-1])
            if jac is not None
            else None
        )
        return Finding("transposed", c.index, msg, {"matches": False}), rows
    return Finding("shape", c.index, f"{head}: return the input's shape"), None


def _broadcastable(target: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    if len(target) > len(shape):
        return False
    tail = shape[len(shape) - len(target) :]
    return all(t == s or t == 1 for t, s in zip(target, tail))


def _broadcast_dims(target: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    lead = len(shape) - len(target)
    dims = list(range(lead))
    dims += [lead + d for d, t in enumerate(target) if t == 1 and shape[lead + d] != 1]
    return tuple(dims)


def _sum_rows_to(
    jac: np.ndarray, shape: tuple[int, ...], target: tuple[int, ...]
) -> np.ndarray:
    """Rows of a Jacobian whose gradient has the broadcast ``shape``, summed
    down to ``target`` (what the engine does to such a gradient)."""
    m = jac.shape[1]
    dims = _broadcast_dims(target, shape)
    g = jac.reshape(*shape, m).sum(axis=dims, keepdims=True)
    return g.reshape(-1, m)


def _kink_mask(c: JacobianCheck, a: np.ndarray) -> np.ndarray:
    """Entries at a point where fn is not differentiable and ``a`` lies between
    the one-sided derivatives (a legitimate choice of subgradient)."""
    left, right = c.numerical_left, c.numerical_right
    if left is None or right is None or left.shape != a.shape:
        return np.zeros(a.shape, bool)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    tol = c.atol + c.rtol * np.maximum(np.abs(lo), np.abs(hi))
    return (hi - lo > tol) & (a >= lo - tol) & (a <= hi + tol)


def _kink_finding(
    c: JacobianCheck, mask: np.ndarray, w: _Words, partial: bool = False
) -> Finding:
    rows = np.unique(np.nonzero(mask)[0])
    i, j = np.argwhere(mask)[0]
    left = c.numerical_left[i, j] if c.numerical_left is not None else np.nan
    right = c.numerical_right[i, j] if c.numerical_right is not None else np.nan
    where = _describe_kinks(c, rows)
    k = int(mask.sum())
    if partial:
        msg = (
            f"{c.label}: besides, {k} mismatching entries are at kinks (where fn "
            f"is not differentiable: {where}); they are not errors"
        )
    else:
        msg = (
            f"{c.label}: right only away from a kink: all {k} mismatching entries "
            f"are where fn is not differentiable ({where}): the one-sided "
            f"differences disagree there (left {left:.4g}, right {right:.4g}) and "
            f"{w.ours} is one of them. Elsewhere the gradient matches; check with "
            "inputs away from kinks (relu at 0, ties in max)"
        )
    return Finding("kink", c.index, msg, {"rows": rows.tolist(), "partial": partial})


def _describe_kinks(c: JacobianCheck, rows: np.ndarray) -> str:
    vals = c.input_values
    parts = []
    for r in rows[:4]:
        idx = _unravel(int(r), tuple(c.input_shape))
        if vals is None:
            parts.append(f"element {idx}")
            continue
        v = float(vals[r])
        ties = [
            _unravel(int(q), tuple(c.input_shape))
            for q in np.nonzero(np.abs(vals - v) <= 1e-6 * max(1.0, abs(v)))[0]
            if q != r
        ]
        what = (
            "at 0" if abs(v) <= 1e-6 else f"a tie with {ties[0]}" if ties else "a kink"
        )
        parts.append(f"element {idx} = {v:.3g}, {what}")
    more = f" and {len(rows) - 4} more" if len(rows) > 4 else ""
    return "; ".join(parts) + more


def _unravel(i: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(x) for x in np.unravel_index(i, shape)) if shape else ()


def _where(c: JacobianCheck, mask: np.ndarray) -> str:
    """The input elements (rows) that ``mask`` touches, with their values."""
    rows = np.unique(np.nonzero(mask)[0])
    shape = tuple(c.input_shape)
    vals = c.input_values
    parts = [
        f"{_unravel(int(r), shape)}" + (f" = {vals[r]:.3g}" if vals is not None else "")
        for r in rows[:4]
    ]
    text = ", ".join(parts) + (f" and {len(rows) - 4} more" if len(rows) > 4 else "")
    text = f"at elements {text} of {c.label}"
    if vals is not None and len(rows):
        v = vals[rows]
        if np.all(v < 0):
            text += f" (all where {c.label} is negative)"
        elif np.all(v > 0):
            text += f" (all where {c.label} is positive)"
    return text


def _partial(
    c: JacobianCheck,
    a: np.ndarray,
    n: np.ndarray,
    bad: np.ndarray,
    informative: np.ndarray,
    w: _Words,
) -> list[Finding]:
    tol = _tol(c, n)
    zero_a = bad & (np.abs(a) <= 1e-3 * c.atol)
    zero_n = bad & (np.abs(n) <= c.atol) & ~zero_a
    negated = bad & informative & (np.abs(a + n) <= tol) & ~zero_a
    other = bad & ~(zero_a | zero_n | negated)
    if other.any():
        return [_mismatch(c, bad, w)]
    n_inf = int(informative.sum())
    out = []
    if zero_a.any():
        out.append(
            Finding(
                "zero",
                c.index,
                f"{c.label}: the gradient is zero at {int(zero_a.sum())} of {n_inf} "
                f"entries where the {w.ref} gradient is not, "
                f"{_where(c, zero_a)}; elsewhere it matches",
                {"count": int(zero_a.sum()), "partial": True},
            )
        )
    if zero_n.any():
        out.append(
            Finding(
                "spurious",
                c.index,
                f"{c.label}: the gradient is nonzero at {int(zero_n.sum())} entries "
                f"where the {w.ref} gradient is zero, {_where(c, zero_n)}; "
                "elsewhere it matches",
                {"count": int(zero_n.sum())},
            )
        )
    if negated.any():
        out.append(
            Finding(
                "sign",
                c.index,
                f"{c.label}: the gradient has the wrong sign at "
                f"{int(negated.sum())} of {n_inf} entries ({w.ours} = -{w.ref} "
                f"there), {_where(c, negated)}; elsewhere it matches",
                {"count": int(negated.sum()), "total": n_inf, "partial": True},
            )
        )
    return out


def _mismatch(c: JacobianCheck, bad: np.ndarray, w: _Words) -> Finding:
    k = int(bad.sum())
    rows = np.unique(np.nonzero(bad)[0])
    return Finding(
        "mismatch",
        c.index,
        f"{c.label}: {_count(k, bad.size)} entries differ with no simple pattern "
        f"(not a sign, a constant factor, a transpose or a swap), "
        f"{_where(c, bad)} ({_count(len(rows), bad.shape[0])} elements affected)",
        {"count": k},
    )


def _count(k: int, n: int) -> str:
    """'all 4' or '3 of 4': how many of n."""
    return f"all {n}" if k == n else f"{k} of {n}"
