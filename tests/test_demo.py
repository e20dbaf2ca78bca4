"""The demo (quick mode) and the example scripts run end to end."""

from __future__ import annotations

import builtins
import importlib.util
import math
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad import demo
from minigrad.data import datasets

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _summary(out: str) -> dict[str, str]:
    """The verdict of each part, from the Summary block run() prints."""
    block = out.split("== Summary", 1)[1].splitlines()[1:]
    return {
        name.strip(): verdict
        for name, verdict in (
            (li[:12], li[12:].strip()) for li in block if li and "total time" not in li
        )
    }


def _percent_after(out: str, section: str, key: str) -> float:
    """The first ``<key> 97.5%`` figure printed after ``section``'s header."""
    m = re.search(rf"{key} ([0-9.]+)%", out.split(section, 1)[1])
    assert m, f"no {key!r} figure after {section!r}"
    return float(m.group(1))


def test_demo_quick_runs_every_part(capsys):
    # Quick mode does not judge the claims (run returns 0), but prints every
    # part; the cheap parts hold their claims even in a few epochs.
    assert demo.run(quick=True) == 0
    out = capsys.readouterr().out
    for title in ("logic gates", "solves XOR", "exam scores", "handwritten digits"):
        assert title in out
    assert f"stuck at ln 2 = {math.log(2):.4f}" in out
    assert "XOR predictions [0, 1, 1, 0]" in out
    assert "predicted" in out  # a confusion matrix was printed
    verdicts = _summary(out)
    assert set(verdicts) == {"logic gates", "XOR network", "exam scores", "digits"}
    for part in ("logic gates", "XOR network", "exam scores"):
        assert verdicts[part] == "as expected"


def test_demo_keeps_its_promises(capsys):
    # The full run (about two seconds): AND, OR, NAND learned, XOR stuck at
    # ln 2 for one neuron and solved by the hidden layer, exam scores >= 85 %
    # and digits >= 97 % test accuracy (when scikit-learn is there: CI has it).
    has_sklearn = importlib.util.find_spec("sklearn") is not None
    assert demo.run() == 0
    out = capsys.readouterr().out
    assert _summary(out) == {
        "logic gates": "as expected",
        "XOR network": "as expected",
        "exam scores": "as expected",
        "digits": "as expected" if has_sklearn else "skipped",
    }
    lines = out.splitlines()
    for gate in ("AND", "OR", "NAND"):
        line = next(li for li in lines if li.startswith(f"{gate} "))
        assert line.split()[2] == "100%"
    xor = next(li for li in lines if li.startswith("XOR "))
    assert float(xor.split()[1]) == pytest.approx(math.log(2), abs=1e-3)
    assert "XOR predictions [0, 1, 1, 0]" in out
    assert _percent_after(out, "3. One sigmoid neuron", "accuracy") >= 85.0
    if has_sklearn:
        assert _percent_after(out, "4. An MLP", "test set:\naccuracy") >= 97.0


def test_demo_run_fails_when_a_claim_does_not_hold(monkeypatch, capsys):
    for part in ("logic_gates", "exam_scores", "digits"):
        monkeypatch.setattr(demo, part, lambda quick=False: True)
    monkeypatch.setattr(demo, "xor_mlp", lambda quick=False: False)
    assert demo.run() == 1
    assert _summary(capsys.readouterr().out)["XOR network"] == "NOT as expected"
    monkeypatch.setattr(demo, "digits", lambda quick=False: None)  # skipped
    monkeypatch.setattr(demo, "xor_mlp", lambda quick=False: True)
    assert demo.run() == 0


def test_demo_without_sklearn_skips_digits_and_names_the_extra(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    # Not installed: load_digits finds no data file either, and has no cache.
    monkeypatch.setattr(datasets, "_digits_path", lambda: None)
    monkeypatch.setattr(datasets, "_digits_cache", None)
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
