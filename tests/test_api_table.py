"""docs/api.md (tools/api_table.py): current, every missing name explained, and
the table's claims about PyTorch true where PyTorch is installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("api_table", ROOT / "tools/api_table.py")
api_table = importlib.util.module_from_spec(spec)
sys.modules["api_table"] = api_table
spec.loader.exec_module(api_table)

ENTRIES = [e for entries in api_table.SECTIONS.values() for e in entries]


def test_docs_api_table_is_current():
    assert (ROOT / "docs/api.md").read_text() == api_table.render(), (
        "docs/api.md is out of date: run python tools/api_table.py"
    )


def test_every_missing_name_has_a_reason():
    missing = [
        name
        for name, places in ENTRIES
        if not all(api_table.has(name, places, 1).values())
        and name not in api_table.REASONS
    ]
    assert missing == []


def test_reasons_only_for_missing_names():
    present = {
        name for name, places in ENTRIES if all(api_table.has(name, places, 1).values())
    }
    assert sorted(present & set(api_table.REASONS)) == []


def test_pytorch_has_every_listed_name_where_the_table_says():
    pytest.importorskip("torch")
    wrong = [
        (name, p)
        for name, places in ENTRIES
        for p, ok in api_table.has(name, places, 0).items()
        if not ok
    ]
    assert wrong == []
