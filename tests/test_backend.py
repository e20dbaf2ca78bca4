"""minigrad.backend: thread count, ISA selection (MINIGRAD_ISA), the OpenMP
wait policy, fork safety and backend_info()."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from minigrad._C import _gemm


def _run(code: str, env: dict[str, str] | None = None) -> str:
    """Runs ``code`` in a fresh interpreter; returns its stdout."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))
    }
    full_env.pop("MINIGRAD_ISA", None)
    full_env.pop("MINIGRAD_NUM_THREADS", None)
    full_env.update(env or {})
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_backend_info_reports_isa_threads_compiler():
    info = mg.backend_info()
    assert info["isa"] in _gemm.available_isas()
    assert info["available_isas"] == _gemm.available_isas()
    assert info["num_threads"] == mg.get_num_threads()
    assert info["compiler"]
    assert isinstance(info["openmp"], int)
    assert "omp_wait_policy" in info


def test_set_num_threads_round_trips_and_validates():
    old = mg.get_num_threads()
    try:
        mg.set_num_threads(1)
        assert mg.get_num_threads() == 1
        assert mg.backend_info()["num_threads"] == 1
        for bad in (0, -2, 1.5, True, "2"):
            with pytest.raises(
                ValueError, match="set_num_threads: expected a positive"
            ):
                mg.set_num_threads(bad)
    finally:
        mg.set_num_threads(old)


def _quiet_machine(monkeypatch, cpus=4, others=0):
    """Pretend the machine has ``cpus`` CPUs, ``others`` busy elsewhere."""
    monkeypatch.setattr(backend._Load, "cpus", cpus)
    monkeypatch.setattr(backend._Load, "checked", -1.0)
    monkeypatch.setattr(backend, "_runnable_elsewhere", lambda: others)


def test_num_threads_reach_the_kernel(monkeypatch):
    seen = []
    real = _gemm.gemm

    def spy(*args, **kw):
        seen.append(kw.get("num_threads"))
        return real(*args, **kw)

    monkeypatch.setattr(_gemm, "gemm", spy)
    _quiet_machine(monkeypatch)
    old = mg.get_num_threads()
    try:
        mg.set_num_threads(3)
        mg.ones(4, 4) @ mg.ones(4, 4)
        mg.set_num_threads(1)
        mg.ones(4, 4) @ mg.ones(4, 4)
    finally:
        mg.set_num_threads(old)
    assert seen == [3, 1]


@pytest.mark.parametrize(("others", "want"), [(0, 3), (1, 3), (2, 2), (3, 1), (9, 1)])
def test_kernel_threads_leave_cores_busy_elsewhere_alone(monkeypatch, others, want):
    _quiet_machine(monkeypatch, cpus=4, others=others)
    monkeypatch.setattr(backend._Threads, "n", 3)
    assert backend._kernel_threads() == want
    assert mg.backend_info()["threads_now"] == want


def test_kernel_threads_sample_the_load_at_most_every_20ms(monkeypatch):
    calls = []
    _quiet_machine(monkeypatch)
    monkeypatch.setattr(backend, "_runnable_elsewhere", lambda: calls.append(1) or 0)
    monkeypatch.setattr(backend._Threads, "n", 2)
    for _ in range(50):
        backend._kernel_threads()
    assert len(calls) == 1


def test_kernel_threads_unchanged_when_the_machine_is_partly_visible(monkeypatch):
    # A CPU set smaller than the machine: the global count says nothing.
    _quiet_machine(monkeypatch, cpus=0, others=5)
    monkeypatch.setattr(backend._Threads, "n", 2)
    assert backend._kernel_threads() == 2


def test_runnable_elsewhere_reads_a_count():
    assert backend._runnable_elsewhere() >= 0


def test_env_num_threads_is_read_at_import():
    out = _run(
        "import minigrad as mg; print(mg.get_num_threads())",
        {"MINIGRAD_NUM_THREADS": "3"},
    )
    assert out == "3"


@pytest.mark.parametrize("bad", ["zero", "0"])
def test_env_num_threads_rejects_bad_values(monkeypatch, bad):
    monkeypatch.setenv("MINIGRAD_NUM_THREADS", bad)
    with pytest.raises(ValueError, match="MINIGRAD_NUM_THREADS must be"):
        backend._initial_threads()


@pytest.mark.parametrize("isa", _gemm.available_isas())
def test_env_isa_forces_the_kernel(monkeypatch, isa):
    monkeypatch.setenv("MINIGRAD_ISA", isa)
    assert mg.backend_info()["isa"] == isa
    assert mg.backend_info()["isa_forced"]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((70, 90)), rng.standard_normal((90, 50))
    np.testing.assert_allclose((mg.tensor(a) @ mg.tensor(b)).numpy(), a @ b, rtol=1e-6)


def test_env_isa_unset_picks_the_best(monkeypatch):
    monkeypatch.delenv("MINIGRAD_ISA", raising=False)
    assert backend._isa() == _gemm.best_isa()
    assert not mg.backend_info()["isa_forced"]


def test_env_isa_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv("MINIGRAD_ISA", "neon")
    with pytest.raises(ValueError, match="MINIGRAD_ISA='neon': expected one of"):
        backend._isa()
    with pytest.raises(ValueError, match="MINIGRAD_ISA"):
        mg.ones(2, 2) @ mg.ones(2, 2)


def test_env_isa_the_cpu_lacks_is_a_clear_error(monkeypatch):
    # Pretend the CPU lacks avx512, whatever this machine has.
    monkeypatch.setattr(_gemm, "has_isa", lambda name: name == "generic")
    monkeypatch.setattr(_gemm, "available_isas", lambda: ("generic",))
    monkeypatch.setattr(backend._Isa, "name", None)  # drop the cached choice
    monkeypatch.setenv("MINIGRAD_ISA", "avx512")
    with pytest.raises(
        RuntimeError, match=r"does not support avx512.*available: generic"
    ):
        backend._isa()


def _clear_omp_env(monkeypatch):
    # setenv first so that monkeypatch restores the variables afterwards even
    # when they were absent (delenv alone records nothing then).
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_configure_openmp_sets_passive_unless_the_user_chose(monkeypatch):
    _clear_omp_env(monkeypatch)
    monkeypatch.setattr(backend, "_libgomp_loaded", lambda: False)
    assert backend._configure_openmp() == "PASSIVE"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert backend._configure_openmp() == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "1000")  # respected: no policy imposed
    assert backend._configure_openmp() == " (GOMP_SPINCOUNT=1000)"
    assert "OMP_WAIT_POLICY" not in os.environ


def test_configure_openmp_reports_when_it_is_too_late(monkeypatch):
    _clear_omp_env(monkeypatch)
    monkeypatch.setattr(backend, "_libgomp_loaded", lambda: True)
    assert "libgomp was loaded before minigrad.backend" in backend._configure_openmp()
    assert "OMP_WAIT_POLICY" not in os.environ


_IDLE_CPU = """
    import resource, time
    import numpy as np
    import minigrad as mg
    from minigrad._C import _gemm
    a = np.ones((192, 192), np.float32)
    out = np.empty_like(a)
    _gemm.gemm(a, a, out=out, num_threads=2)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(100):
        _gemm.gemm(a, a, out=out, num_threads=2)
        time.sleep(0.002)
    r1, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    print(cpu / wall, "|", mg.backend_info()["omp_wait_policy"])
"""


@pytest.mark.skipif(sys.platform != "linux", reason="libgomp and getrusage")
def test_gemm_threads_sleep_between_calls_under_a_passive_policy():
    # Idle between calls (2 ms sleeps), the process must use a fraction of a
    # core: neither the kernel nor its worker may spin. A spinning worker
    # makes this ~1.0.
    env = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"}
    ratio = float(_run(_IDLE_CPU, env).split("|")[0])
    assert ratio < 0.3


@pytest.mark.skipif(sys.platform != "linux", reason="libgomp and getrusage")
def test_importing_minigrad_makes_gemm_threads_passive():
    ratio_s, policy = _run(_IDLE_CPU, {"OPENBLAS_NUM_THREADS": "1"}).split("|")
    assert policy.strip() == "PASSIVE"
    assert float(ratio_s) < 0.3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_uses_one_thread_and_does_not_hang():
    # libgomp's pool does not survive fork: a child that started a parallel
    # region with 2 threads after its parent did would hang (timeout here).
    code = """
        import os
        import numpy as np
        import minigrad as mg
        mg.set_num_threads(2)
        a = mg.ones(400, 400)
        (a @ a).numpy()
        pid = os.fork()
        if pid == 0:
            y = (a @ a).numpy()
            info = mg.backend_info()
            ok = info["num_threads"] == 1 and info["forked_child"] and y[0, 0] == 400
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """
    assert _run(code) == "0"
