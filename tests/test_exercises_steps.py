"""The by-hand (multi-step) exercises: the checker names the first wrong step of
the backward pass, in the learner's variable names, with what is wrong with it;
and the wording of the reports (ASCII, "all N entries match", no relative error
against a reference near zero)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad.autograd.diagnose import diagnose
from minigrad.autograd.gradcheck import JacobianCheck, format_failure
from minigrad.exercises import EXERCISES, check_file
from minigrad.exercises.steps import trace_call, value_table

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
sys.path.insert(0, str(SOLUTIONS))
from wrong import WRONG  # noqa: E402
from wrong_steps import WRONG_STEPS  # noqa: E402

sys.path.remove(str(SOLUTIONS))

BY_HAND = sorted(n for n, e in EXERCISES.items() if e.kind == "by_hand")
ISSUE_MISTAKES = {
    "updated_weights",  # the hidden error through the weights after the update
    "transpose_missing",  # no transpose when the error flows back through W2
    "activation_derivative",  # missing, or taken of the pre-activation
    "broadcast",  # a bias gradient not summed over the batch
    "factor",  # not averaged over the batch (off by N)
    "ce_target",  # cross-entropy's -1 at the target class missing
    "update_sign",  # the learning-rate step with the wrong sign
}


def _edited(tmp_path: Path, exercise: str, old: str, new: str) -> Path:
    src = (SOLUTIONS / f"{exercise}.py").read_text()
    assert src.count(old) == 1, f"{exercise}: {old!r} must occur once"
    path = tmp_path / f"{exercise}.py"
    path.write_text(src.replace(old, new))
    return path


def test_multi_step_exercises_exist():
    assert set(BY_HAND) >= {
        "backprop_222",
        "xor_numpy",
        "mlp_batch",
        "softmax_classifier",
        "mlp_relu",
    }


def test_every_issue_mistake_has_a_wrong_solution():
    assert {w[4] for w in WRONG_STEPS} >= ISSUE_MISTAKES
    for name in BY_HAND:
        assert len([w for w in WRONG_STEPS if w[0] == name]) >= 4, name


@pytest.mark.parametrize(
    ("exercise", "mistake", "old", "new", "kind", "step", "variable"),
    WRONG_STEPS,
    ids=[f"{w[0]}-{w[1]}" for w in WRONG_STEPS],
)
def test_first_wrong_step_is_named_with_its_mistake(
    tmp_path, exercise, mistake, old, new, kind, step, variable
):
    result = check_file(_edited(tmp_path, exercise, old, new))
    assert result.status == "failed", result.report
    first = result.findings[0]
    assert (first.kind, first.evidence["step"], first.evidence["variable"]) == (
        kind,
        step,
        variable,
    ), result.report
    assert first.message.startswith(f"{variable}: "), result.report
    assert f"The first wrong step is {variable} (line " in result.report
    assert result.report.isascii(), result.report


def test_a_wrong_step_without_a_pattern_is_named_where_it_is(tmp_path):
    path = _edited(
        tmp_path,
        "xor_numpy",
        "grad_z2 = grad_p * p * (1 - p)",
        "grad_z2 = grad_p * p * (1 - p) + 0.01 * p",
    )
    result = check_file(path)
    first = result.findings[0]
    assert (first.kind, first.evidence["step"], first.evidence["variable"]) == (
        "mismatch",
        "d_z2",
        "grad_z2",
    ), result.report
    assert "Right before it: grad_p." in result.report


def test_the_line_of_the_wrong_step_is_quoted(tmp_path):
    path = _edited(tmp_path, "mlp_batch", "dh = delta2 @ W2.T", "dh = delta2 @ W2")
    line = 1 + path.read_text().splitlines().index("    dh = delta2 @ W2")
    report = check_file(path).report
    assert f"The first wrong step is dh (line {line}: dh = delta2 @ W2)" in report
    assert "the transpose of W2 is missing" in report
    assert "Right before it: delta2, dW2, db2." in report


def test_cross_entropy_without_the_minus_one_is_wrong_by_one_over_n(tmp_path):
    path = _edited(tmp_path, "mlp_relu", "dz2 = (p - onehot) / N", "dz2 = p / N")
    report = check_file(path).report
    # The first case has N = 6.
    assert "exactly 1/N = 0.1667 too large at each row's target class" in report


def test_weights_updated_in_place_before_the_hidden_error(tmp_path):
    path = _edited(
        tmp_path,
        "mlp_batch",
        "    dh = delta2 @ W2.T\n",
        "    W2 -= lr * dW2\n    dh = delta2 @ W2.T\n",
    )
    result = check_file(path)
    first = result.findings[0]
    assert (first.kind, first.evidence["variable"]) == ("updated_weights", "dh")
    assert "it uses W2 after the update" in result.report


def test_steps_written_inline_are_not_mistakes(tmp_path):
    src = (SOLUTIONS / "xor_numpy.py").read_text()
    src = src.replace("    grad_z2 = grad_p * p * (1 - p)\n", "")
    src = src.replace("grad_z2", "(grad_p * p * (1 - p))")
    path = tmp_path / "xor_numpy.py"
    path.write_text(src)
    result = check_file(path)
    assert result.passed, result.report


def test_a_wrong_step_written_inline_is_found_downstream(tmp_path):
    # No variable for dL/dh: the missing transpose shows in delta1.
    path = _edited(
        tmp_path,
        "mlp_batch",
        "delta1 = dh * h * (1 - h)",
        "delta1 = (delta2 @ W2) * h * (1 - h)",
    )
    first = check_file(path).findings[0]
    assert (first.kind, first.evidence["variable"]) == ("transpose_missing", "delta1")


HELPER_STYLE = """
import numpy as np

EXERCISE = "mlp_relu"


def backward(X, cache, W2, target):
    z1, h, p = cache
    N = len(X)
    g = p.copy()
    g[np.arange(N), target] -= 1
    g /= N
    grads = {}
    grads["W2"] = h.T @ g
    grads["b2"] = g.sum(0)
    g = g @ W2.T
    g = g * (z1 > 0)
    grads["W1"] = X.T @ g
    grads["b1"] = g.sum(0)
    return grads


def forward_backward(X, target, W1, b1, W2, b2):
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0)
    z = h @ W2 + b2
    e = np.exp(z - z.max(1, keepdims=True))
    p = e / e.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(X)), target]).mean()
    return loss, backward(X, (z1, h, p), W2, target)
"""


@pytest.mark.parametrize(
    ("old", "new", "kind", "variable"),
    [
        (None, None, None, None),
        ("g = g @ W2.T", "g = g @ W2", "transpose_missing", "g"),
        ("g = g * (z1 > 0)", "g = g * (z1 > 0) * 2", "factor", "g"),
        ('grads["b1"] = g.sum(0)', 'grads["b1"] = g', "broadcast", 'grads["b1"]'),
    ],
)
def test_a_helper_function_one_reused_variable_and_a_dict(
    tmp_path, old, new, kind, variable
):
    # The backward in a helper, one variable g reused for every error, the
    # gradients stored straight into a dict.
    src = HELPER_STYLE if old is None else HELPER_STYLE.replace(old, new)
    path = tmp_path / "mlp_relu.py"
    path.write_text(src)
    result = check_file(path)
    if old is None:
        assert result.passed, result.report
        return
    first = result.findings[0]
    assert (first.kind, first.evidence["variable"]) == (kind, variable), result.report


def test_missing_transpose_with_non_fitting_shapes_gets_a_hint(tmp_path):
    path = _edited(
        tmp_path, "xor_numpy", "grad_h = grad_z2 @ W2.T", "grad_h = grad_z2 @ W2"
    )
    result = check_file(path)
    assert result.kinds() == {"error"}
    assert "grad_h = grad_z2 @ W2" in result.report
    assert "it goes through the transpose" in result.report


def test_wrong_loss_is_reported_as_the_forward_pass(tmp_path):
    path = _edited(
        tmp_path,
        "softmax_classifier",
        "loss = -np.mean(np.log(p[np.arange(N), target]))",
        "loss = -np.sum(np.log(p[np.arange(N), target]))",
    )
    result = check_file(path)
    assert result.findings[0].kind == "forward"
    assert "The forward pass is wrong: your loss is" in result.report
    assert "5 times too large, and 5 is the batch size N" in result.report


def test_a_wrong_forward_pass_names_its_first_wrong_value(tmp_path):
    path = _edited(tmp_path, "xor_numpy", "h = np.tanh(z1)", "h = np.tanh(z1) * 1.1")
    result = check_file(path)
    first = result.findings[0]
    assert (first.kind, first.evidence["step"], first.evidence["variable"]) == (
        "forward",
        "h",
        "h",
    ), result.report
    assert "The forward pass is wrong" in result.report
    assert "The first wrong step is h (line " in result.report
    assert "h: the value is off by a constant factor" in result.report
    assert "Right before it: z1." in result.report


def test_cli_names_the_first_wrong_step(tmp_path):
    path = _edited(tmp_path, "mlp_relu", "dz1 = dh * (z1 > 0)", "dz1 = dh")
    proc = subprocess.run(
        [sys.executable, "-m", "minigrad", "exercises", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "The first wrong step is dz1" in proc.stdout
    assert "the relu's derivative is missing" in proc.stdout


def test_trace_call_records_each_value_with_its_line(tmp_path):
    src = "def f(a):\n    b = a * 2\n    b = b + 1\n    a += 1\n    return b\n"
    path = tmp_path / "mod.py"
    path.write_text(src)
    ns: dict = {}
    exec(compile(src, str(path), "exec"), ns)
    before = sys.gettrace()
    res, events = trace_call(ns["f"], {"a": np.ones(2)})
    assert sys.gettrace() is before
    assert res.tolist() == [3.0, 3.0]
    assert [(e.name, e.line, e.value.tolist()) for e in events] == [
        ("b", 2, [2.0, 2.0]),
        ("b", 3, [3.0, 3.0]),
        ("a", 4, [2.0, 2.0]),
    ]
    assert events[0].text == "b = a * 2"


# -- wording ----------------------------------------------------------------------


def test_a_check_failing_for_a_note_says_all_entries_match():
    n = np.diag([1.0, 2.0, 3.0, 4.0])
    c = JacobianCheck(
        0, (4,), (4,), n.copy(), n, 1e-5, 1e-3, notes=["ignores grad_out"]
    )
    text = format_failure([c], diagnose([c]))
    assert "all 16 Jacobian entries match" in text
    assert "0 of 16" not in text


def test_no_relative_error_against_a_reference_near_zero():
    a = np.array([[1.0, 0.5]])
    n = np.array([[1.0, 0.0]])
    c = JacobianCheck(0, (1,), (2,), a, n, 1e-5, 1e-3)
    text = format_failure([c])
    row = next(line for line in text.splitlines() if line.strip().startswith("(0,)"))
    assert row.split()[-1] == "-", text
    assert not any("e+" in line for line in text.splitlines())
    lines = value_table(np.array([0.5, 2.0]), np.array([0.0, 1.0]))
    assert "0.5 (absolute)" in lines[1] or "0.5 (absolute)" in lines[2]
    assert any("(1 relative)" in line for line in lines)
    assert not any("e+" in line for line in lines)


def test_reports_are_plain_ascii(tmp_path):
    for exercise, _, old, new, *_ in WRONG:
        result = check_file(_edited(tmp_path, exercise, old, new))
        assert result.report.isascii(), result.report
    for name in EXERCISES:
        assert check_file(SOLUTIONS / f"{name}.py").report.isascii()
