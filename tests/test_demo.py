"""The demo (quick mode) and the example scripts run end to end."""

from __future__ import annotations

import builtins
import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad import demo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_quick_runs_every_part(capsys):
    assert demo.run(quick=True) == 0
    out = capsys.readouterr().out
    for title in ("logic gates", "solves XOR", "exam scores", "handwritten digits"):
        assert title in out
    assert f"stuck at ln 2 = {math.log(2):.4f}" in out
    assert "XOR predictions [0, 1, 1, 0]" in out
    assert "predicted" in out  # a confusion matrix was printed
    assert "total time" in out


def test_demo_parts_hold_their_claims(capsys):
    # The full-length runs of the cheap parts; the digits claim (>= 97%) is checked
    # by running the demo itself (see the report), it takes a few seconds.
    assert demo.logic_gates()
    assert demo.xor_mlp()
    assert demo.exam_scores()
    out = capsys.readouterr().out
    for gate in ("AND", "OR", "NAND"):
        line = next(li for li in out.splitlines() if li.startswith(f"{gate} "))
        assert "100%" in line
    xor = next(li for li in out.splitlines() if li.startswith("XOR "))
    assert float(xor.split()[1]) == pytest.approx(math.log(2), abs=1e-3)


def test_demo_without_sklearn_skips_digits_and_names_the_extra(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    assert demo.digits(quick=True) is None
    out = capsys.readouterr().out
    assert "skipped" in out
    assert "minigrad[demo]" in out


def test_format_confusion():
    text = demo.format_confusion(np.array([[3, 1], [0, 12]]), [0, 1])
    lines = text.splitlines()
    assert lines[0].strip() == "predicted"
    assert lines[2].split() == ["true", "0", "3", "1"]
    assert lines[3].split() == ["true", "1", "0", "12"]


@pytest.mark.parametrize(
    ("script", "argv", "expect"),
    [
        ("logic_gates.py", [], "XOR   loss 0.6931"),
        ("xor_mlp.py", [], "XOR(1, 1) = "),
        ("exam_scores.py", [], "pass when"),
        ("digits_mlp.py", ["--epochs", "1"], "confusion matrix"),
    ],
)
def test_examples_run(script, argv, expect, monkeypatch, capsys):
    if script == "digits_mlp.py":
        pytest.importorskip("sklearn")
    monkeypatch.setattr(sys, "argv", [script, *argv])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert expect in capsys.readouterr().out
