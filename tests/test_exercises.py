"""minigrad.exercises: the command line (list, start, check and its exit codes),
the starter files, the reference solutions (they pass) and the typical wrong
solutions (each is caught with the right diagnosis)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.__main__ import main as minigrad_main
from minigrad.exercises import (
    EXERCISES,
    ExerciseFileError,
    check_file,
    starter_source,
    write_starter,
)
from minigrad.exercises.cli import main

SOLUTIONS = Path(__file__).parent / "exercise_solutions"
sys.path.insert(0, str(SOLUTIONS))
from wrong import WRONG  # noqa: E402
from wrong_steps import WRONG_STEPS  # noqa: E402

sys.path.remove(str(SOLUTIONS))


# -- list / start -------------------------------------------------------------------


def test_cli_list_names_every_exercise(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in EXERCISES:
        assert name in out
    assert minigrad_main(["exercises", "list"]) == 0


def test_exercises_cover_the_introductory_course():
    assert set(EXERCISES) >= {
        "neuron",
        "sigmoid",
        "tanh",
        "relu",
        "mse",
        "bce",
        "softmax_cross_entropy",
        "matmul",
        "linear",
        "backprop_222",
        "xor_numpy",
        "mlp_batch",
        "softmax_classifier",
        "mlp_relu",
    }


def test_cli_start_writes_the_starter_and_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "work" / "sub"
    assert main(["start", "sigmoid", str(target)]) == 0
    path = target / "sigmoid.py"
    assert path.read_text() == starter_source("sigmoid")
    path.write_text(path.read_text() + "\n# my work\n")
    assert main(["start", "sigmoid", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert path.read_text().endswith("# my work\n")
    assert main(["start", "sigmoid", str(target), "--force"]) == 0
    assert path.read_text() == starter_source("sigmoid")


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["start", "no_such_exercise", str(tmp_path)]) == 2
    assert "the exercises are" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["check"]) == 2
    assert main(["check", str(tmp_path / "missing.py")]) == 2
    plain = tmp_path / "plain.py"
    plain.write_text("x = 1\n")
    assert main(["check", str(plain)]) == 2
    assert "EXERCISE" in capsys.readouterr().err
    unknown = tmp_path / "unknown.py"
    unknown.write_text('EXERCISE = "no_such_exercise"\n')
    assert main(["check", str(unknown)]) == 2
    with pytest.raises(ExerciseFileError):
        check_file(unknown)
    write_starter("relu", tmp_path)
    with pytest.raises(FileExistsError):
        write_starter("relu", tmp_path)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_starter_is_documented_and_not_implemented(name, tmp_path, capsys):
    src = starter_source(name)
    tree = ast.parse(src)
    doc = ast.get_docstring(tree)
    assert doc
    assert f"python -m minigrad exercises check {name}.py" in doc
    assert f'EXERCISE = "{name}"' in src
    assert "raise NotImplementedError(" in src
    path = write_starter(name, tmp_path)
    result = check_file(path)
    assert result.status == "not implemented"
    assert "not implemented yet" in result.report
    assert main(["check", str(path)]) == 1
    assert "not implemented yet" in capsys.readouterr().out


def test_starters_hold_no_solution():
    # The starters ship with the package; the solutions live in the tests.
    for name in EXERCISES:
        src = starter_source(name)
        assert "grad_out @ b.T" not in src.split('"""')[-1]
        assert (SOLUTIONS / f"{name}.py").read_text() != src


# -- check: reference solutions pass -------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_reference_solution_passes(name, capsys):
    path = SOLUTIONS / f"{name}.py"
    result = check_file(path)
    assert result.passed, result.report
    assert result.findings == []
    assert main(["check", str(path)]) == 0
    assert "passed" in capsys.readouterr().out


def test_backprop_222_reproduces_the_worked_example():
    report = check_file(SOLUTIONS / "backprop_222.py").report
    assert "w5 = 0.35891648" in report


def test_xor_checker_trains_with_the_learners_gradients():
    report = check_file(SOLUTIONS / "xor_numpy.py").report
    assert "XOR solved" in report


def test_relu_reports_its_value_at_the_kink(tmp_path):
    src = (SOLUTIONS / "relu.py").read_text().replace("x.data > 0", "x.data >= 0")
    path = tmp_path / "relu.py"
    path.write_text(src)
    result = check_file(path)
    assert result.passed
    assert "at x = 0 your backward uses 1" in result.report


def test_check_through_python_m_minigrad(tmp_path):
    wrong = tmp_path / "sigmoid.py"
    wrong.write_text(
        (SOLUTIONS / "sigmoid.py").read_text().replace("y * (1 - y)", "y * (y - 1)")
    )
    for path, code in ((SOLUTIONS / "sigmoid.py", 0), (wrong, 1)):
        proc = subprocess.run(
            [sys.executable, "-m", "minigrad", "exercises", "check", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == code, proc.stdout + proc.stderr
    assert "wrong sign at all 12 entries" in proc.stdout


# -- check: wrong solutions are diagnosed --------------------------------------------


def _wrong_file(tmp_path: Path, exercise: str, old: str, new: str) -> Path:
    src = (SOLUTIONS / f"{exercise}.py").read_text()
    assert src.count(old) == 1, f"{exercise}: {old!r} must occur once"
    path = tmp_path / f"{exercise}.py"
    path.write_text(src.replace(old, new))
    return path


def test_every_exercise_has_three_diagnosed_mistakes():
    # The by-hand exercises' mistakes are in WRONG_STEPS (test_exercises_steps).
    for name in EXERCISES:
        kinds = [w[4] for w in WRONG if w[0] == name and w[4] != {"mismatch"}]
        kinds += [w[4] for w in WRONG_STEPS if w[0] == name]
        assert len(kinds) >= 3, name


@pytest.mark.parametrize(
    ("exercise", "mistake", "old", "new", "kinds", "where"),
    WRONG,
    ids=[f"{w[0]}-{w[1]}" for w in WRONG],
)
def test_wrong_solution_is_caught_with_the_right_diagnosis(
    tmp_path, exercise, mistake, old, new, kinds, where
):
    result = check_file(_wrong_file(tmp_path, exercise, old, new))
    assert result.status == "failed", result.report
    assert "FAILED" in result.report
    found = result.kinds()
    assert kinds <= found, result.report
    mine = [f for f in result.findings if f.kind in kinds]
    if where is None:
        assert any(f.index is None for f in mine), result.report
    else:
        assert any(f.message.startswith(f"{where}: ") for f in mine), result.report


def test_check_reports_import_errors_and_forward_mistakes(tmp_path, capsys):
    broken = tmp_path / "tanh.py"
    broken.write_text('EXERCISE = "tanh"\ndef oops(:\n')
    result = check_file(broken)
    assert result.status == "error"
    assert "SyntaxError" in result.report
    assert main(["check", str(broken)]) == 1
    capsys.readouterr()
    bad_forward = _wrong_file(
        tmp_path, "tanh", "y = np.tanh(x.data)", "y = np.sin(x.data)"
    )
    result = check_file(bad_forward)
    assert result.kinds() == {"forward"}
    assert "Tanh.forward is wrong" in result.report
    raising = _wrong_file(
        tmp_path, "tanh", "grad_x = grad_out * (1 - y * y)", "grad_x = grad_out.nope"
    )
    result = check_file(raising)
    assert result.kinds() == {"error"}
    src = (SOLUTIONS / "tanh.py").read_text().splitlines()
    line = 1 + next(i for i, t in enumerate(src) if "grad_x = grad_out *" in t)
    assert f"line {line}, in backward: grad_x = grad_out.nope" in result.report
    missing = tmp_path / "sigmoid.py"
    missing.write_text('EXERCISE = "sigmoid"\n')
    assert "must define class Sigmoid" in check_file(missing).report
