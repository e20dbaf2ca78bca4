"""The checker: loads a learner's file and says whether it is right, or what is
wrong and where.

Layer: exercises. Uses ``minigrad.autograd`` (gradcheck's Jacobians and the
diagnosis) and the catalog; the by-hand exercises are checked in
``minigrad.exercises.by_hand``.

A Function exercise is run on each case (seeded float64 inputs): the forward is
compared with the formula, then the backward with central differences, in
gradcheck's strict mode (the backward is also called directly, so a gradient of
the wrong shape or one that ignores ``grad_out`` is caught even where the engine
would hide it). The first failing case is reported with the diagnosis and the
worst elements.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from minigrad.autograd.diagnose import Finding, apply_probe, diagnose, probe_backward
from minigrad.autograd.gradcheck import JacobianCheck, compute_checks, format_failure
from minigrad.exercises.catalog import Exercise, get, make_inputs

__all__ = [
    "CheckResult",
    "ExerciseFileError",
    "check_file",
    "check_module",
    "load_file",
]

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
_counter = itertools.count()


class ExerciseFileError(ValueError):
    """The file is not an exercise file: missing, or without a known EXERCISE."""


@dataclass
class CheckResult:
    """The outcome of checking one exercise file.

    ``status`` is ``"passed"``, ``"failed"``, ``"not implemented"`` or
    ``"error"`` (the file could not be imported); ``lines`` is the report and
    ``findings`` the diagnosis of the failing case.
    """

    exercise: str
    status: str
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def report(self) -> str:
        return "\n".join(self.lines)

    def kinds(self) -> set[str]:
        """The kinds of mistake found (``"sign"``, ``"factor"``, ...)."""
        return {f.kind for f in self.findings}


def load_file(path: str | Path) -> ModuleType:
    """Imports a learner's file by path, under a private module name.

    Raises
    ------
    ExerciseFileError
        The path does not exist or is not a ``.py`` file.
    Exception
        Whatever the file raises on import (a SyntaxError, say).
    """
    p = Path(path)
    if not p.is_file():
        raise ExerciseFileError(f"no such file: {p}")
    if p.suffix != ".py":
        raise ExerciseFileError(f"not a Python file: {p}")
    name = f"_minigrad_exercise_{next(_counter)}_{p.stem}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise ExerciseFileError(f"cannot import {p}")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs (dataclasses look their module up there), with its
    # folder on the path so that it can import its own helper modules.
    sys.modules[name] = module
    sys.path.insert(0, str(p.resolve().parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
        sys.path.remove(str(p.resolve().parent))
    return module


def check_file(path: str | Path) -> CheckResult:
    """Checks the exercise file at ``path`` (its ``EXERCISE`` names the exercise).

    Returns
    -------
    CheckResult

    Raises
    ------
    ExerciseFileError
        Missing file, no ``EXERCISE = "..."``, or an unknown exercise name.
    """
    p = Path(path)
    name = _declared_exercise(p)
    try:
        module = load_file(p)
    except ExerciseFileError:
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the learner's code (even sys.exit): report it
        lines = [f"{name}: cannot import {p}:", *_trace(exc, str(p))]
        return CheckResult(name, "error", lines)
    return check_module(module, name)


def _declared_exercise(p: Path) -> str:
    """The EXERCISE name, read from the source without running it."""
    import ast

    if not p.is_file():
        raise ExerciseFileError(f"no such file: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text, str(p))
    except SyntaxError:  # still say which exercise it is, then report the error
        tree = None
        found = re.search(r"""^EXERCISE\s*=\s*["'](\w+)["']""", text, re.MULTILINE)
        if found:
            return _known(found.group(1), p)
    if tree is not None:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id == "EXERCISE" for t in node.targets
                )
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                return _known(node.value.value, p)
    raise ExerciseFileError(
        f'{p} is not an exercise file: it has no module-level EXERCISE = "<name>" '
        "(start one with: python -m minigrad exercises start NAME)"
    )


def _known(name: str, p: Path) -> str:
    try:
        get(name)
    except KeyError as exc:
        raise ExerciseFileError(f"{p}: {exc.args[0]}") from None
    return name


def check_module(module: ModuleType, name: str | None = None) -> CheckResult:
    """Checks an already imported exercise module (``name`` defaults to its
    ``EXERCISE``)."""
    name = name or getattr(module, "EXERCISE", None)
    if not isinstance(name, str):
        raise ExerciseFileError('the module has no EXERCISE = "<name>"')
    ex = get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if ex.kind == "function":
            return _check_function(ex, module)
        from minigrad.exercises.by_hand import check_by_hand

        return check_by_hand(ex, module)


# -- Function exercises ----------------------------------------------------------------


def _check_function(ex: Exercise, module: ModuleType) -> CheckResult:
    from minigrad.autograd.function import Function

    cls = getattr(module, ex.cls, None)
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        return CheckResult(
            ex.name,
            "failed",
            [
                f"{ex.name}: the file must define class {ex.cls}"
                "(mg.autograd.Function) with forward and backward"
            ],
        )
    assert ex.cases is not None
    cases = ex.cases(np.random.default_rng(ex.seed))
    for number, arrays in enumerate(cases, 1):
        where = f"case {number} of {len(cases)} ({_describe(ex, arrays)})"
        result = _check_case(ex, cls, arrays, where, getattr(module, "__file__", ""))
        if result is not None:
            return result
    lines = [
        f"{ex.name}: passed. {ex.cls}.forward matches the formula and "
        f"{ex.cls}.backward matches finite differences on {len(cases)} cases "
        f"({'; '.join(_describe(ex, a) for a in cases)})."
    ]
    lines += _conventions(ex, cls)
    return CheckResult(ex.name, "passed", lines)


def _describe(ex: Exercise, arrays: tuple[np.ndarray, ...]) -> str:
    return ", ".join(f"{n} {a.shape}" for n, a in zip(ex.args, arrays))


def _check_case(
    ex: Exercise, cls: Any, arrays: tuple[np.ndarray, ...], where: str, path: str
) -> CheckResult | None:
    inputs = make_inputs(ex, arrays)
    fail = _check_forward(ex, cls, inputs, arrays, where, path)
    if fail is not None:
        return fail

    def fn(*xs: Any) -> Any:
        return cls.apply(*xs)

    probe = probe_backward(fn, inputs, positions=list(range(len(inputs))))
    try:
        checks = compute_checks(fn, inputs, EPS, ATOL, RTOL)
    except Exception as exc:
        return _raised(ex, f"{ex.cls}.backward", exc, where, path)
    if probe is not None and isinstance(probe.error, NotImplementedError):
        return _not_implemented(ex, f"{ex.cls}.backward", probe.error)
    for c in checks:
        c.name = ex.args[c.index]
    apply_probe(checks, probe, strict=True)
    failed = [c for c in checks if not c.passed]
    if not failed:
        return None
    findings = diagnose(checks, probe, sizes=ex.sizes(arrays))
    findings = _explained(ex, arrays, checks, findings)
    return _failure(ex, f"{ex.cls}.backward", where, failed, findings)


def _explained(
    ex: Exercise,
    arrays: tuple[np.ndarray, ...],
    checks: list[JacobianCheck],
    findings: list[Finding],
) -> list[Finding]:
    """The exercise's own diagnosis (``ex.explain``) in place of a mismatch."""
    c = checks[0]
    if ex.explain is None or c.passed or c.analytical.shape[1] != 1:
        return findings
    shape = tuple(c.input_shape)
    try:
        yours = c.analytical[:, 0].reshape(shape)
        found = ex.explain(arrays, yours, c.numerical[:, 0].reshape(shape))
    except Exception:  # an explanation must never break the report
        return findings
    if found is None:
        return findings
    kept = [f for f in findings if not (f.index == c.index and f.kind == "mismatch")]
    return [Finding(found[0], c.index, f"{c.label}: {found[1]}"), *kept]


def _check_forward(
    ex: Exercise,
    cls: Any,
    inputs: list[Any],
    arrays: tuple[np.ndarray, ...],
    where: str,
    path: str,
) -> CheckResult | None:
    from minigrad.tensor import Tensor

    try:
        out = cls.apply(*inputs)
    except NotImplementedError as exc:
        return _not_implemented(ex, f"{ex.cls}.forward", exc)
    except Exception as exc:
        return _raised(ex, f"{ex.cls}.forward", exc, where, path)
    assert ex.forward is not None
    expected = np.asarray(ex.forward(*arrays), dtype=np.float64)
    got = out.data if isinstance(out, Tensor) else None
    if got is None:
        msg = f"it returned {type(out).__name__}, expected one output"
    elif got.shape != expected.shape:
        msg = f"its output has shape {got.shape}, expected {expected.shape}"
    elif not np.allclose(got, expected, rtol=1e-7, atol=1e-10, equal_nan=True):
        err = np.abs(got - expected)
        k = int(np.argmax(err))
        idx = tuple(int(i) for i in np.unravel_index(k, got.shape)) if got.ndim else ()
        msg = (
            f"{int((err > 1e-10 + 1e-7 * np.abs(expected)).sum())} of {got.size} "
            f"output elements are wrong; the worst, at {idx}: got "
            f"{got.ravel()[k]:.6g}, expected {expected.ravel()[k]:.6g}"
        )
    else:
        return None
    return CheckResult(
        ex.name,
        "failed",
        [
            f"{ex.name}: FAILED on {where}.",
            f"{ex.cls}.forward is wrong: {msg}.",
            "(The backward is checked once the forward is right.)",
        ],
        [Finding("forward", None, f"{ex.cls}.forward is wrong: {msg}")],
    )


def _not_implemented(ex: Exercise, what: str, exc: BaseException) -> CheckResult:
    msg = (
        f"{what} is not implemented yet ({exc})"
        if str(exc)
        else f"{what} is not implemented yet"
    )
    return CheckResult(
        ex.name,
        "not implemented",
        [f"{ex.name}: {msg}. Fill in the body that raises NotImplementedError."],
        [Finding("not_implemented", None, msg)],
    )


def _raised(
    ex: Exercise, what: str, exc: BaseException, where: str, path: str
) -> CheckResult:
    lines = [f"{ex.name}: FAILED on {where}.", f"{what} raised an exception:"]
    lines += _trace(exc, path)
    msg = f"{what} raised {type(exc).__name__}: {exc}"
    return CheckResult(ex.name, "failed", lines, [Finding("error", None, msg)])


def _trace(exc: BaseException, path: str) -> list[str]:
    """The exception and the lines of the learner's file it went through."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if path and Path(f.filename).resolve() == Path(path).resolve()
    ]
    lines = [f"  line {f.lineno}, in {f.name}: {f.line}" for f in frames]
    if isinstance(exc, SyntaxError):
        lines.append(f"  line {exc.lineno}: {exc.text.strip() if exc.text else ''}")
    lines.append(f"  {type(exc).__name__}: {exc}")
    return lines


def _failure(
    ex: Exercise,
    what: str,
    where: str,
    failed: list[JacobianCheck],
    findings: list[Finding],
) -> CheckResult:
    lines = [f"{ex.name}: FAILED on {where}.", f"{what} is wrong:"]
    lines += ["  " + line for line in format_failure(failed, findings).splitlines()[1:]]
    return CheckResult(ex.name, "failed", lines, findings)


def _conventions(ex: Exercise, cls: Any) -> list[str]:
    """Remarks that do not fail the check: relu's value at the kink."""
    if ex.name != "relu":
        return []
    from minigrad.creation import tensor
    from minigrad.dtypes import float64

    x = tensor([-1.0, 0.0, 2.0], dtype=float64, requires_grad=True)
    try:
        cls.apply(x).sum().backward()
        at0 = float(x.grad.data[1]) if x.grad is not None else 0.0
    except Exception:
        return []
    if at0 == 0.0:
        return ["At x = 0 your backward uses 0, like PyTorch and minigrad."]
    return [
        f"Note: at x = 0 your backward uses {at0:g}; PyTorch and minigrad use 0 "
        "(any value in [0, 1] is a valid subgradient at the kink, so this is not "
        "an error)."
    ]
