"""``python -m minigrad demo --cnn``: the switch reaches the demo, and the CNN
part (quick mode) trains and prints its test accuracy and time."""

from __future__ import annotations

import re

import pytest

from minigrad import __main__ as cli
from minigrad import demo


@pytest.mark.parametrize(
    ("argv", "cnn"), [(["demo"], False), (["demo", "--cnn"], True)]
)
def test_cnn_switch_reaches_run(argv, cnn, monkeypatch):
    seen = {}
    monkeypatch.setattr(demo, "run", lambda **kw: seen.update(kw) or 0)
    assert cli.main(argv) == 0
    assert seen == {"cnn": cnn}


def test_cnn_switch_is_documented(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    assert "--cnn" in capsys.readouterr().out


def test_quick_cnn_part_trains_and_reports(monkeypatch, capsys):
    pytest.importorskip("sklearn")
    for part in ("logic_gates", "xor_mlp", "exam_scores", "digits"):
        monkeypatch.setattr(demo, part, lambda quick=False: True)
    assert demo.run(quick=True, cnn=True) == 0
    out = capsys.readouterr().out
    assert "5. A convolutional network" in out
    acc = re.search(r"test accuracy (\d+\.\d)% on 359 images", out)
    assert acc is not None
    # One epoch already beats chance by far.
    assert float(acc.group(1)) > 50
    assert re.search(r"trained in \d+\.\d s", out)
    assert re.search(r"digits CNN\s+(as expected|NOT as expected)", out)


def test_cnn_part_without_run_flag_is_not_trained(monkeypatch, capsys):
    for part in ("logic_gates", "xor_mlp", "exam_scores", "digits"):
        monkeypatch.setattr(demo, part, lambda quick=False: True)
    monkeypatch.setattr(demo, "digits_cnn", lambda quick=False: pytest.fail("ran"))
    assert demo.run(quick=True) == 0
    assert "digits CNN" not in capsys.readouterr().out


def test_cnn_keeps_its_promise(capsys):
    # The full part (15 epochs, about 10 s on two cores): >= 98.5 % on test.
    pytest.importorskip("sklearn")
    assert demo.digits_cnn() is True
    acc = re.search(r"test accuracy (\d+\.\d)%", capsys.readouterr().out)
    assert float(acc.group(1)) >= 98.5
