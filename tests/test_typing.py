"""The typed API: mypy sees Tensor's methods with their signatures.

tests/typing/tensor_api.py is checked with mypy's API (skipped without mypy):
each line marked ``# E: text`` must get an error containing ``text``, and no
other line any. The whole package's check (``python -m mypy``) and the stubs of
the compiled modules (stubtest) run in .ci/run: they take tens of seconds.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "tests" / "typing" / "tensor_api.py"


def _expected(path: Path) -> dict[int, str]:
    """Line number -> the text its ``# E:`` comment expects in the error."""
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"\S.*  # E: (.+)$", line)  # code, then the marker
        if m:
            out[n] = m.group(1).strip()
    return out


def test_the_api_file_marks_some_errors():
    # The wrong calls are what proves Tensor is typed (not Any) to mypy.
    assert len(_expected(API)) >= 5


def test_mypy_sees_tensor_methods(tmp_path):
    api = pytest.importorskip("mypy.api")
    stdout, stderr, _ = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy_cache"),
            "--show-error-codes",
            "--no-error-summary",
            "--hide-error-context",
            str(API),
        ]
    )
    assert not stderr, stderr
    got: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        m = re.match(r"(.+?):(\d+): error: (.*)$", line)
        assert m, f"unexpected mypy output: {line}"
        assert Path(m.group(1)).resolve() == API, f"an error outside the file: {line}"
        got.setdefault(int(m.group(2)), []).append(m.group(3))
    want = _expected(API)
    unexpected = {n: e for n, e in got.items() if n not in want}
    assert not unexpected, f"mypy errors on lines without '# E:': {unexpected}"
    for n, text in want.items():
        errors = got.get(n, [])
        assert any(text in e for e in errors), (
            f"line {n}: expected an error containing {text!r}, got {errors}"
        )


def test_keras_layer_used_before_build_says_so():
    # Layer._made narrows a sublayer made by build() (None before): Keras's
    # ValueError, not an AttributeError / TypeError on None.
    import minigrad as mg
    from minigrad.keras import layers

    x = mg.zeros(2, 3)
    for call in (
        lambda: layers.Dense(4).kernel,
        lambda: layers.Dense(4).forward(x),
        lambda: layers.BatchNormalization().forward(x),
        lambda: layers.Conv2D(2, 3).kernel,
    ):
        with pytest.raises(ValueError, match="has not yet been built"):
            call()
    assert layers.Dense(4)(x).shape == (2, 4)  # __call__ builds first
