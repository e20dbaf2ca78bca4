"""The hypothesis profiles of tests/conftest.py and the per-test example counts
of tests/helpers.py: counts scale with the profile instead of capping it."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import settings

from tests.helpers import DEV_MAX_EXAMPLES, example_count, examples

TESTS = Path(__file__).resolve().parent


def test_dev_is_the_unit_and_ci_scales_the_counts():
    assert settings.get_profile("dev").max_examples == DEV_MAX_EXAMPLES
    assert example_count(8, DEV_MAX_EXAMPLES) == 8
    ci = settings.get_profile("ci")
    assert ci.derandomize
    assert example_count(8, ci.max_examples) == 8 * ci.max_examples // 50
    assert example_count(200, ci.max_examples) == 200 * ci.max_examples // 50


def test_thorough_runs_every_property_at_least_500_times_at_random():
    thorough = settings.get_profile("thorough")
    assert thorough.max_examples >= 500
    assert not thorough.derandomize
    assert thorough.deadline is None
    for n in (1, 8, 50, 60, 200):
        assert example_count(n, thorough.max_examples) >= 500
    assert example_count(200, thorough.max_examples) >= 200 * 10


def test_examples_follow_the_loaded_profile():
    m = settings.default.max_examples
    s = examples(10, deadline=None)
    assert s.max_examples == example_count(10, m)
    assert s.deadline is None
    assert s.derandomize == settings.default.derandomize


def test_no_test_caps_max_examples_directly():
    # A literal settings(max_examples=...) would cap the thorough profile again.
    offenders = [
        f"{p.name}:{i}"
        for p in sorted(TESTS.glob("*.py"))
        if p.name not in ("helpers.py", "conftest.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if not line.lstrip().startswith("#")
        and re.search(r"settings\([^)]*max_examples", line)
    ]
    assert not offenders, f"use tests.helpers.examples(n) instead: {offenders}"
