"""The README's "Coming from PyTorch" and "Coming from Keras" programs run as
shown and print what their comments say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _program(heading: str) -> str:
    text = README.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Coming from PyTorch", "[0.0, 1.0, 1.0, 0.0]"),
        ("Coming from Keras", "[0. 1. 1. 0.]"),
    ],
)
def test_readme_program_runs(heading, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_program(heading), f"README: {heading}", "exec"), {})
    assert expected in capsys.readouterr().out
