"""Small GEMMs and the threading policy (issue 16): the wrapper's fast path,
the direct / packed / threaded choice around each measured threshold, and the
GEMM's own worker team (csrc/gemm/team.c), all against the naive C oracle
(``path="ref"``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _gemm
from tests.helpers import examples

ISAS = _gemm.available_isas()
DTYPES = (np.float32, np.float64)
# Each side of every crossover: micro-tile edges (MR, NR <= 32), the direct
# path's 4096 multiply-adds (16^3), the second thread's 2 * 655360 (~109^3),
# and the MLP shape's k = 784.
SIZES = (0, 1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 108, 109, 110, 128, 129)
LAYOUTS = ("C", "F", "strided", "reversed")


def _layout(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "C":
        return np.array(x, order="C")
    if kind == "F":
        return np.array(x, order="F")
    if kind == "strided":
        big = np.zeros((2 * x.shape[0] + 1, 3 * x.shape[1] + 2), x.dtype)
        big[1::2, 2::3] = x
        return big[1::2, 2::3]
    return np.array(x[::-1, ::-1], order="C")[::-1, ::-1]


def _oracle(a, b, *, trans_a, trans_b, **kw):
    return _gemm.gemm(
        np.ascontiguousarray(a),
        np.ascontiguousarray(b),
        trans_a=trans_a,
        trans_b=trans_b,
        path="ref",
        **kw,
    )


def _tol(dtype, k):
    eps = np.finfo(dtype).eps
    return {"rtol": 16 * eps, "atol": 8 * eps * (k + 4)}


@examples(60)
@given(
    m=st.sampled_from(SIZES),
    n=st.sampled_from(SIZES),
    k=st.sampled_from((*SIZES, 784)),
    dtype=st.sampled_from(DTYPES),
    isa=st.sampled_from(ISAS),
    threads=st.sampled_from((1, 2)),
    path=st.sampled_from(("auto", "auto", "packed", "direct")),
    trans=st.tuples(st.booleans(), st.booleans()),
    lay=st.tuples(*[st.sampled_from(LAYOUTS)] * 2),
    out_kind=st.sampled_from((None, "C", "F")),
    ab=st.sampled_from(((1.0, 0.0), (-0.5, 0.0), (2.0, -0.75))),
    with_bias=st.booleans(),
    act=st.sampled_from((None, "relu", "sigmoid", "tanh")),
    seed=st.integers(0, 2**16),
)
def test_fast_path_matches_ref(
    m, n, k, dtype, isa, threads, path, trans, lay, out_kind, ab, with_bias, act, seed
):
    rng = np.random.default_rng(seed)
    ta, tb = trans
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(dtype)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(dtype)
    bias = rng.uniform(-1, 1, n).astype(dtype) if with_bias else None
    alpha, beta = ab
    c0 = rng.uniform(-1, 1, (m, n)).astype(dtype)
    if out_kind is None and beta != 0:
        beta = 0.0  # a fresh out is zero: beta would multiply nothing
    kw = {"alpha": alpha, "beta": beta, "bias": bias, "activation": act}
    want = _oracle(a, b, trans_a=ta, trans_b=tb, out=c0.copy(), **kw)
    out = None if out_kind is None else np.array(c0, order=out_kind)
    got = _gemm.gemm(
        _layout(a, lay[0]),
        _layout(b, lay[1]),
        out=out,
        trans_a=ta,
        trans_b=tb,
        isa=isa,
        num_threads=threads,
        path=path,
        **kw,
    )
    if out is not None:
        assert got is out
    assert got.dtype == dtype
    assert got.shape == (m, n)
    np.testing.assert_allclose(got, want, **_tol(dtype, k))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2])
def test_mlp_and_square_shapes(dtype, threads):
    """The benchmark's shapes, each side of the thread threshold."""
    rng = np.random.default_rng(0)
    for m, k, n in [(64, 64, 64), (96, 96, 96), (128, 128, 128), (64, 784, 128)]:
        a = rng.uniform(-1, 1, (m, k)).astype(dtype)
        b = rng.uniform(-1, 1, (k, n)).astype(dtype)
        got = _gemm.gemm(a, b, num_threads=threads)
        want = _gemm.gemm(a, b, path="ref")
        np.testing.assert_allclose(got, want, **_tol(dtype, k))


def test_fast_path_refusals_take_the_general_path():
    """What the fast path does not take is still right (or still refused)."""
    rng = np.random.default_rng(1)
    a = rng.uniform(-1, 1, (8, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, (5, 6)).astype(np.float32)
    want = _gemm.gemm(a, b, path="ref")
    tol = _tol(np.float32, 5)
    # int alpha/beta, a strided out, a byte-swapped operand, numpy ints/bools
    np.testing.assert_allclose(_gemm.gemm(a, b, alpha=1, beta=0), want, **tol)
    big = np.zeros((16, 12), np.float32)
    out = big[::2, ::2]
    _gemm.gemm(a, b, out=out)
    np.testing.assert_allclose(out, want, **tol)
    np.testing.assert_allclose(_gemm.gemm(a.astype(">f4"), b), want, **tol)
    np.testing.assert_allclose(_gemm.gemm(a.T, b, trans_a=np.True_), want, **tol)
    # out sharing memory with an operand: refused, whichever path looks first
    buf = np.zeros(8 * 6 + 8 * 5, np.float32)
    a2 = buf[:40].reshape(8, 5)
    a2[...] = a
    with pytest.raises(ValueError, match="overlaps a"):
        _gemm.gemm(a2, b, out=buf[:48].reshape(8, 6))
    # out right next to an operand (spans touch, memory does not): fast path
    out2 = buf[40:88].reshape(8, 6)
    _gemm.gemm(a2, b, out=out2)
    np.testing.assert_allclose(out2, want, **tol)
    for bad in (
        {"activation": "gelu"},
        {"isa": "sse9"},
        {"path": "fast"},
        {"num_threads": 0},
    ):
        with pytest.raises(ValueError):
            _gemm.gemm(a, b, **bad)
    with pytest.raises(ValueError, match="inner dimensions"):
        _gemm.gemm(a, b, trans_b=True)
    with pytest.raises(ValueError, match="bias"):
        _gemm.gemm(a, b, bias=np.zeros(5, np.float32))


def test_concurrent_calls_share_the_team():
    """Python threads calling at once (the GIL released): one gets the team,
    the others run on OpenMP; every result is right."""
    rng = np.random.default_rng(2)
    a = rng.uniform(-1, 1, (200, 150)).astype(np.float32)
    b = rng.uniform(-1, 1, (150, 170)).astype(np.float32)
    want = _gemm.gemm(a, b, path="ref")
    errors = []

    def work():
        for _ in range(20):
            got = _gemm.gemm(a, b, num_threads=2)
            if not np.allclose(got, want, **_tol(np.float32, 150)):
                errors.append(float(np.abs(got - want).max()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from minigrad._C import _gemm

    def tasks():
        return len(os.listdir("/proc/self/task"))

    a = np.ones((256, 256), np.float32)
    want = 256.0
    before = tasks()
    for _ in range(3):
        assert (_gemm.gemm(a, a, num_threads=1) == want).all()
    one = tasks()
    assert (_gemm.gemm(a, a, num_threads=2) == want).all()
    two = tasks()
    print(before, one, two, flush=True)
    pid = os.fork()
    if pid == 0:
        ok = (_gemm.gemm(a, a, num_threads=2) == want).all()
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)
    """
)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc")
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_threads_spawned_only_when_asked_and_fork_safe():
    """num_threads=1 never starts a thread; 2 starts one team worker; a forked
    child (no workers there) starts its own instead of hanging."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split("\n")
    before, one, two = map(int, lines[0].split())
    assert one == before
    assert two == before + 1
    assert lines[1] == "child 0"
