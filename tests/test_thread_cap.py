"""Thread counts are validated and capped at 4 x os.cpu_count() everywhere
(backend.py, Note [Thread cap]): in ``set_num_threads``, in
``MINIGRAD_NUM_THREADS``, in every Cython wrapper's thread argument and in
the C kernels themselves (``mg_threads_clamp``), which are called here through
ctypes with counts no Python layer would pass on.

Issue 12: ``set_num_threads(65536)`` then a relu segfaulted inside libgomp,
and ``2**31 - 1`` made it abort the process. The calls that crashed run in a
subprocess, which must exit cleanly."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from minigrad._C import _act, _gemm, _softmax

CAP = 4 * (os.cpu_count() or 1)
TESTS = os.path.dirname(os.path.abspath(__file__))
HUGE = (65536, 2**31 - 1)


def _run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("MINIGRAD_NUM_THREADS", None)
    full_env["OPENBLAS_NUM_THREADS"] = "1"  # numpy's BLAS: no threads of its own
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def _assert_clean(proc: subprocess.CompletedProcess, requested: int) -> None:
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert f"{requested} threads requested, using {CAP}" in proc.stderr
    assert "RuntimeWarning" in proc.stderr


@pytest.mark.parametrize("n", HUGE)
def test_set_num_threads_huge_then_relu_exits_cleanly(n):
    proc = _run(f"""
        import minigrad as mg
        mg.set_num_threads({n})
        assert mg.get_num_threads() == {CAP}, mg.get_num_threads()
        y = mg.randn(1000, 1000).relu()
        assert y.shape == (1000, 1000)
        print("ok")
    """)
    _assert_clean(proc, n)
    assert proc.stdout.strip() == "ok"


@pytest.mark.parametrize("n", HUGE)
def test_set_num_threads_huge_then_every_kernel_family(n):
    # Bypasses Note [Sharing cores] (which would lower the count on a machine
    # that shows all its CPUs) by giving each kernel the count directly.
    proc = _run(f"""
        import numpy as np
        import minigrad as mg
        from minigrad import backend
        backend._Load.cpus = 0  # as in a container: the count is used as set
        mg.set_num_threads({n})
        x = mg.randn(600, 600)
        (x @ x).sigmoid().softmax(1).sum().item()
        print("ok")
    """)
    _assert_clean(proc, n)


@pytest.mark.parametrize("n", HUGE)
@pytest.mark.parametrize("family", ["act", "softmax", "gemm"])
def test_wrapper_thread_argument_is_capped(family, n):
    call = {
        "act": "_act.forward('relu', np.ones(10**6, np.float32), nthreads=N)",
        "softmax": "_softmax.softmax_fwd(np.ones((1000, 1000)), 1, nthreads=N)",
        "gemm": "_gemm.gemm(np.ones((600, 600)), np.ones((600, 600)), num_threads=N)",
    }[family]
    proc = _run(f"""
        import numpy as np
        from minigrad._C import _act, _gemm, _softmax
        N = {n}
        y = {call}
        print(float(y.sum()))
    """)
    _assert_clean(proc, n)
    want = {"act": 1e6, "softmax": 1000.0, "gemm": 600.0**3}[family]
    assert float(proc.stdout) == pytest.approx(want)


def test_wrapper_thread_argument_beyond_c_int_is_capped():
    x = np.ones(10, np.float32)
    with pytest.warns(RuntimeWarning, match=f"{2**70} threads requested"):
        y = _act.forward("relu", x, nthreads=2**70)
    np.testing.assert_array_equal(y, x)
    with pytest.warns(RuntimeWarning, match="threads requested"):
        _softmax.softmax_fwd(np.ones((3, 4)), 1, nthreads=2**70)
    with pytest.warns(RuntimeWarning, match=f"gemm: {2**70} threads requested"):
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), num_threads=2**70)


def test_wrapper_thread_argument_at_the_cap_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _act.forward("relu", np.ones(10, np.float32), nthreads=CAP)
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), num_threads=CAP)


# (None is not here: it means the backend's count for these wrappers.)
@pytest.mark.parametrize("bad", [0, -1, True, False, 1.5, "2"])
def test_wrapper_thread_argument_rejects_non_positive_ints(bad):
    with pytest.raises((TypeError, ValueError), match="nthreads must be"):
        _act.forward("relu", np.ones(3, np.float32), nthreads=bad)
    with pytest.raises((TypeError, ValueError), match="nthreads must be"):
        _softmax.softmax_fwd(np.ones((3, 4)), 1, nthreads=bad)
    with pytest.raises((TypeError, ValueError), match="num_threads must be"):
        _gemm.gemm(np.ones((2, 2)), np.ones((2, 2)), num_threads=bad)


def test_set_num_threads_caps_with_a_warning_naming_both_counts():
    old = mg.get_num_threads()
    try:
        with pytest.warns(
            RuntimeWarning,
            match=f"set_num_threads: {CAP + 1} threads requested, using {CAP}",
        ):
            mg.set_num_threads(CAP + 1)
        assert mg.get_num_threads() == CAP
        assert backend.max_threads() == CAP
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mg.set_num_threads(CAP)
        assert mg.get_num_threads() == CAP
    finally:
        mg.set_num_threads(old)


@pytest.mark.parametrize("bad", [0, -1, -(2**40), True, False, 1.5, "2", None])
def test_set_num_threads_rejects_non_positive_ints(bad):
    old = mg.get_num_threads()
    with pytest.raises((TypeError, ValueError), match="set_num_threads"):
        mg.set_num_threads(bad)
    assert mg.get_num_threads() == old


def test_set_num_threads_accepts_numpy_ints():
    old = mg.get_num_threads()
    try:
        mg.set_num_threads(np.int64(1))
        assert mg.get_num_threads() == 1
        assert type(mg.get_num_threads()) is int
    finally:
        mg.set_num_threads(old)


@pytest.mark.parametrize("n", HUGE)
def test_env_num_threads_is_capped(n):
    proc = _run(
        """
        import minigrad as mg
        print(mg.get_num_threads())
        y = mg.randn(1000, 1000).relu()
        """,
        {"MINIGRAD_NUM_THREADS": str(n)},
    )
    _assert_clean(proc, n)
    assert proc.stdout.strip() == str(CAP)


# -- the C guard, reached without any Python check -------------------------


def test_c_threads_clamp():
    lib = ctypes.CDLL(_act.__file__)
    assert lib.mg_threads_max() == CAP
    for req, want in [(-(2**31), 1), (-1, 1), (0, 1), (1, 1), (2, 2), (4, 4)]:
        assert lib.mg_threads_clamp(req) == want
    assert lib.mg_threads_clamp(CAP) == CAP
    assert lib.mg_threads_clamp(CAP + 1) == CAP
    assert lib.mg_threads_clamp(2**31 - 1) == CAP


_C_CALLS = {
    # Each calls a kernel entry point that opens a parallel region with a
    # work size above its threshold, with NT threads.
    "act": """
        lib = ctypes.CDLL(_act.__file__)
        x = np.ones(10**6, np.float32); y = np.empty_like(x)
        f = lib.mg_relu_fwd_f32
        f.argtypes = [ctypes.c_ssize_t, ctypes.c_void_p, ctypes.c_ssize_t,
                      ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_double,
                      ctypes.c_double, ctypes.c_int, ctypes.c_int]
        for inc in (1, 2):  # the contiguous and the strided region
            n = x.size // inc
            assert f(n, x.ctypes.data, inc, y.ctypes.data, inc, 0, 0, NT, -1) == 0
        print(float(y.sum()))
    """,
    "softmax": """
        lib = ctypes.CDLL(_softmax.__file__)
        x = np.zeros((1000, 1000), np.float32); y = np.empty_like(x)
        f = lib.mg_softmax_fwd_f32
        f.argtypes = [ctypes.c_ssize_t] * 3 + [ctypes.c_void_p] * 2 + [ctypes.c_int] * 3
        assert f(1000, 1000, 1, x.ctypes.data, y.ctypes.data, 0, NT, -1) == 0
        t = np.zeros(10**6, np.float32); loss = np.empty_like(t)
        g = lib.mg_bce_fwd_f32
        g.argtypes = [ctypes.c_ssize_t] + [ctypes.c_void_p] * 4 + [ctypes.c_int] * 2
        p_t, p_loss = t.ctypes.data, loss.ctypes.data
        assert g(t.size, p_t, p_t, None, p_loss, NT, -1) == 0
        print(float(y.sum()))
    """,
}


@pytest.mark.parametrize("n", HUGE)
@pytest.mark.parametrize("family", sorted(_C_CALLS))
def test_c_kernels_clamp_their_thread_argument(family, n):
    proc = _run(
        "import ctypes\nimport numpy as np\nfrom minigrad._C import _act, _softmax\n"
        f"NT = {n}\n" + textwrap.dedent(_C_CALLS[family])
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    want = {"act": 1e6, "softmax": 1000.0}[family]
    assert float(proc.stdout) == pytest.approx(want)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="Linux only")
@pytest.mark.parametrize("n", HUGE)
def test_c_gemm_clamps_its_thread_argument(n):
    proc = _run(f"""
        import os
        import sys
        sys.path.insert(0, {TESTS!r})
        import numpy as np
        import gemm_ctypes
        a = np.ones((600, 600)); c = np.empty_like(a)
        for path in ("packed", "auto"):
            status = gemm_ctypes.call_arrays(a, a, c, threads={n}, path=path)
        # libgomp keeps its team alive after the region: count it.
        print(status, float(c.sum()), len(os.listdir("/proc/self/task")))
    """)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    status, total, tasks = proc.stdout.split()
    assert (status, float(total)) == ("0", 600.0**3)
    # Without the C clamp the planner cut C into one work item per thread
    # asked for, up to ~950 here, and libgomp started as many threads.
    assert int(tasks) <= CAP + 1
