"""The 2-thread MLP training step (issue 16's MLP 784-1024-1024-10 row): the
load check that picks each kernel's thread count, and the step's fast paths
against their references."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from minigrad import backend
from minigrad._C import _gemm


def _fake_loadavg(monkeypatch, *running: int) -> list[int]:
    """/proc/loadavg as backend reads it, with ``running[i]`` runnable tasks
    at the i-th read (the last one repeated); returns the reads' counts."""
    real = open
    reads: list[int] = []

    def fake(path, *args, **kw):
        if path == "/proc/loadavg":
            now = running[min(len(reads), len(running) - 1)]
            reads.append(now)
            return io.BytesIO(f"0.50 0.40 0.30 {now}/123 4567\n".encode())
        return real(path, *args, **kw)

    monkeypatch.setattr(backend, "open", fake, raising=False)
    return reads


@pytest.mark.parametrize(
    ("running", "awake", "want"),
    [(1, 0, 0), (2, 1, 0), (2, 0, 1), (3, 1, 1), (1, 1, 0), (4, 0, 3)],
)
def test_load_check_leaves_out_the_gemm_team(monkeypatch, running, awake, want):
    # Note [Own workers in the load]: the caller and the GEMM's awake
    # workers are this process, not a neighbour.
    _fake_loadavg(monkeypatch, running)
    monkeypatch.setattr(_gemm, "team_awake", lambda: awake)
    assert backend._runnable_elsewhere() == want


def test_load_check_takes_the_smaller_awake_count(monkeypatch):
    # A worker that falls asleep while /proc/loadavg is read may or may not
    # be in the count: one reading does not subtract it.
    _fake_loadavg(monkeypatch, 2)
    counts = iter([1, 0])
    monkeypatch.setattr(_gemm, "team_awake", lambda: next(counts))
    assert backend._runnable_once() == 1


def test_load_check_reads_a_transient_again(monkeypatch):
    # The worker that was falling asleep at the first reading is asleep at
    # the second, which finds no neighbour: the core is free.
    reads = _fake_loadavg(monkeypatch, 2, 1)
    counts = iter([1, 0, 0, 0])
    monkeypatch.setattr(_gemm, "team_awake", lambda: next(counts))
    assert backend._runnable_elsewhere() == 0
    assert reads == [2, 1]


def test_load_check_keeps_a_neighbour_that_stays(monkeypatch):
    # A neighbour that holds its core is in every reading (three, the
    # smallest count taken), and one that leaves after the first is gone.
    reads = _fake_loadavg(monkeypatch, 4, 3)
    monkeypatch.setattr(_gemm, "team_awake", lambda: 1)
    assert backend._runnable_elsewhere() == 1
    assert reads == [4, 3, 3]


def test_load_check_reads_once_when_the_cores_are_free(monkeypatch):
    reads = _fake_loadavg(monkeypatch, 2)
    monkeypatch.setattr(_gemm, "team_awake", lambda: 1)
    assert backend._runnable_elsewhere() == 0
    assert reads == [2]


def test_team_awake_counts_the_spinning_worker():
    a = np.ones((512, 512), np.float32)
    # Just after a 2-thread product the worker spins (100 us): awake. On a
    # busy machine a worker woken for the call may not have run yet (still
    # counted asleep), hence a few tries.
    seen = []
    deadline = time.monotonic() + 10
    while not seen or (seen[-1] == 0 and time.monotonic() < deadline):
        _gemm.gemm(a, a, num_threads=2)
        seen.append(_gemm.team_awake())
    assert seen[-1] == 1, seen[-10:]
    assert max(seen) == 1, seen  # one worker for two threads
    # Then it sleeps (given a core to notice its time is up).
    deadline = time.monotonic() + 5
    while _gemm.team_awake() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _gemm.team_awake() == 0
