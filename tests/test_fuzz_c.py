"""The fuzzer of minigrad._C (tests/fuzz/fuzz_c.py), briefly, in the normal
suite: every entry point with odd shapes, strides, byte orders, alignments,
`out` aliasing, dtypes and thread counts must give a clean error or the
numpy reference's answer. tools/sanitize.sh runs it at length under ASan and
UBSan; known open bugs are avoided by category (fuzz_c.DEFAULT_SKIP)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from tests.fuzz import fuzz_c
from tests.helpers import examples


def _no_findings(res):
    assert not res["findings"], "\n".join(
        f"[{i}] {target}: {what}\n    {desc}"
        for i, target, what, desc in res["findings"]
    )


@pytest.mark.parametrize("target", sorted(fuzz_c.TARGETS))
def test_fuzz_target_seeded(target):
    # A fixed stretch of calls of each target: the same calls on every run.
    res = fuzz_c.run(1000, seed=12345, only=[target], out=None)
    assert res["calls"] == 1000
    _no_findings(res)


@examples(60, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(0, 2**20))
def test_fuzz_random_seeds(seed, start):
    # Fresh calls each run (hypothesis picks the seeds), all targets.
    _no_findings(fuzz_c.run(20, seed=seed, start=start, out=None))


def _sig(x):
    """A comparable fingerprint of an argument (values and layout)."""
    if isinstance(x, np.ndarray):
        return (x.shape, x.dtype.str, x.strides, x.tobytes())
    if isinstance(x, np.generic):
        return (type(x).__name__, repr(x.item()))
    r = repr(x)
    return type(x).__name__ if " at 0x" in r else r  # object(): no address


@pytest.mark.parametrize("index", [0, 4242, 99_999])
def test_fuzz_replays_a_call_exactly(index):
    # A finding's replay command must make the very same call.
    fz = fuzz_c.Fuzzer(7, fuzz_c.DEFAULT_SKIP)
    calls = []
    for _ in range(2):
        fz.start(index)
        target = fuzz_c.pick(fz.r, list(fuzz_c.TARGETS))
        with np.errstate(all="ignore"):
            c = fuzz_c.TARGETS[target][0](fz)
        calls.append(
            (c.name, c.expect, [_sig(a) for a in c.args],
             {k: _sig(v) for k, v in c.kwargs.items()})
        )  # fmt: skip
    assert calls[0] == calls[1]


def test_fuzz_judge_flags_wrong_results_and_missing_errors():
    # The oracle itself: a wrong value, a missing error and an unexpected
    # exception type are findings; a clean error for bad input is not.
    from tests.fuzz.cases import Call

    def wrong_check(res):
        assert res == 2, "wrong"

    assert fuzz_c.judge(Call("f", lambda: 1, check=wrong_check)).startswith("wrong")
    assert fuzz_c.judge(Call("f", lambda: 1, expect="error")).startswith("no error")
    assert fuzz_c.judge(Call("f", lambda: [][1], expect="error")) is None
    assert fuzz_c.judge(Call("f", lambda: 1 / "x", expect="ok")).startswith("spurious")

    def boom():
        raise SystemError("a C-API error")

    assert fuzz_c.judge(Call("f", boom, expect="either")).startswith("unexpected")
