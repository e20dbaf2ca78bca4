"""Thread count, kernel ISA and the compiled-backend report. Layer: core (above
_C; imports ``minigrad._C`` lazily so that importing minigrad never fails on a
missing extension before it is needed).

``MINIGRAD_NUM_THREADS`` sets the initial thread count for the C kernels and
``set_num_threads`` changes it at run time; ops pass it to every kernel call
(the C code has no hidden thread state). ``MINIGRAD_ISA=generic|avx2|avx512``
forces a GEMM micro-kernel; by default the best one the CPU supports is used.

# Note [Passive OpenMP threads]
GCC's libgomp makes idle worker threads spin for a while (GOMP_SPINCOUNT,
300000 iterations by default) before they sleep, both at barriers and between
parallel regions. On a machine whose cores are shared with other processes a
spinning worker steals the core from whoever holds it, and a worker that waits
for a descheduled peer burns its whole time slice: OpenBLAS's 2-thread GEMM
on this machine falls 40-500x when a neighbour keeps one core busy. So, unless
the user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` themselves, importing
minigrad sets ``OMP_WAIT_POLICY=PASSIVE`` before the first extension (and with
it libgomp) is loaded: workers sleep on a futex at once. This module must
therefore be imported before any ``minigrad._C`` extension (first thing in
``minigrad/__init__.py``); if libgomp is already loaded when it runs, the
setting would have no effect, and ``backend_info()`` says so. The price is a
wake-up latency of a few microseconds per parallel region, which the GEMM
pays only for products large enough to use a second thread
(``MG_GEMM_MIN_FMA_PER_THREAD`` in csrc/mg_gemm.h). libgomp reads the variable
once, when it is loaded; ``backend_info()['omp_wait_policy']`` reports it. The
GEMM's packed path now runs on its own worker team instead, which spins for
only 100 us after a call and yields its core meanwhile (Note [Spinning team]
in csrc/gemm/gemm_tmpl.h); OpenMP, passive, serves the other kernels.

# Note [Sharing cores]
Even without spinning, a parallel kernel waits at its end for every thread
that took a share of the work; if another process holds that thread's core,
the wait lasts until the scheduler runs it again (milliseconds). So kernels
are asked for ``get_num_threads()`` threads less the cores other processes
are running on right now: the number of runnable tasks in /proc/loadavg
(an instantaneous count, unlike the load averages), sampled at most every
20 ms. With a neighbour busy on one of two cores, a GEMM then runs on the
free core at full speed, instead of two threads fighting for it. Where the
process sees only part of the machine (a container with a CPU set), the count
says nothing about our cores, and the thread count is used as set.

# Note [Own workers in the load]
The GEMM's worker spins for 100 us after each call (Note [Spinning team] in
csrc/gemm/gemm_tmpl.h), and a spinning thread is a runnable task in
/proc/loadavg. A training step calls its next kernel microseconds after a
GEMM, so the load check, counting that worker as a neighbour, chose one thread
for the next 20 ms in two samples out of three (MLP 784-1024-1024-10 batch
256, 2 threads): the step's products ran on one core at random, the figure
that 2-thread benchmarks moved by. The count now leaves out the team's awake
workers (``_gemm.team_awake()``). OpenMP's workers sleep (Note [Passive
OpenMP threads]) and are not counted either way.

That subtraction cannot be exact: a worker whose 100 us are up counts itself
asleep just before it blocks, and may fall asleep between the reads of
/proc/loadavg and of the team. Such a transient read one phantom neighbour in
27% of the load samples of that 2-thread step (the 2-thread row at 0.81x
PyTorch where its quiet rounds made 0.70x). A neighbour that matters is one
that keeps its core, so a count above zero is read again, up to three times
(~11 us each, at most every 20 ms), and the smallest count is taken: the
phantom was gone at the second read in every sample, a busy neighbour stays.

# Note [Thread cap]
libgomp creates whatever team a kernel asks for: 65536 threads segfault inside
the runtime (their stacks exhaust the address space) and 2**31 - 1 make it
abort the process on a 480 GB allocation. So a thread count is capped at
``max_threads()`` = 4 x ``os.cpu_count()`` (enough for hyper-threads and
oversubscription tests) with a warning naming the requested and the used
count, here (``set_num_threads``, ``MINIGRAD_NUM_THREADS``), in each Cython
wrapper's ``nthreads=`` / ``num_threads=`` check, and again in C
(``mg_threads_clamp`` in csrc/mg_common.h, the same cap) for callers that
bypass both.

# Note [OpenMP and fork]
libgomp's thread pool does not survive ``fork``: a child that starts a
parallel region with more than one thread after its parent did hangs for ever.
A forked child (e.g. a multiprocessing worker) therefore starts with one
thread; calling ``set_num_threads`` in it is at the caller's risk.
"""

from __future__ import annotations

import operator
import os
import time
import warnings
from typing import Any

from minigrad.errors import ArgumentError

__all__ = ["backend_info", "get_num_threads", "max_threads", "set_num_threads"]

_ISA_ENV = "MINIGRAD_ISA"


def _libgomp_loaded() -> bool | None:
    """Whether GCC's OpenMP runtime (the one the extensions link, not a copy
    bundled by another package) is already mapped; None if unknown."""
    try:
        with open("/proc/self/maps") as f:
            return any("/libgomp.so" in line for line in f)
    except OSError:
        return None


def _configure_openmp() -> str:
    """See Note [Passive OpenMP threads]. Returns the policy in effect."""
    user_set = "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ
    if not user_set:
        if _libgomp_loaded():
            # Too late: libgomp read its environment when it was loaded.
            return (
                "default spinning: libgomp was loaded before minigrad.backend "
                "(minigrad/__init__.py must import minigrad.backend first)"
            )
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    policy = os.environ.get("OMP_WAIT_POLICY", "")
    spin = os.environ.get("GOMP_SPINCOUNT")
    return policy + (f" (GOMP_SPINCOUNT={spin})" if spin is not None else "")


_OMP_POLICY = _configure_openmp()


# MG_THREADS_PER_CPU in csrc/mg_common.h; see Note [Thread cap].
_THREADS_PER_CPU = 4


def max_threads() -> int:
    """The most threads a kernel runs: 4 x ``os.cpu_count()`` (Note [Thread
    cap])."""
    return _THREADS_PER_CPU * (os.cpu_count() or 1)


def _cap_threads(
    where: str, n: int, cap: int | None = None, stacklevel: int = 3
) -> int:
    """``n`` (a validated positive int) capped at ``cap`` (default
    ``max_threads()``), warning when it is; see Note [Thread cap]. The Cython
    wrappers pass their C cap and ``stacklevel=2`` (they add no frame)."""
    if cap is None:
        cap = max_threads()
    if n <= cap:
        return n
    warnings.warn(
        f"{where}: {n} threads requested, using {cap} (at most "
        f"{_THREADS_PER_CPU} per CPU, {os.cpu_count() or 1} CPUs)",
        RuntimeWarning,
        stacklevel=stacklevel,
    )
    return cap


def _initial_threads() -> int:
    env = os.environ.get("MINIGRAD_NUM_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ArgumentError(
                f"MINIGRAD_NUM_THREADS must be a positive integer, got {env!r}"
            ) from None
        if n < 1:
            raise ArgumentError(f"MINIGRAD_NUM_THREADS must be >= 1, got {n}")
        return _cap_threads("MINIGRAD_NUM_THREADS", n)
    return os.cpu_count() or 1


class _Threads:
    n = _initial_threads()
    forked = False


def _after_fork_in_child() -> None:
    """See Note [OpenMP and fork]."""
    _Threads.n = 1
    _Threads.forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _visible_cpus() -> int:
    """CPUs this process may run on, or 0 when it sees only part of the
    machine (see Note [Sharing cores])."""
    total = os.cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        mine = len(os.sched_getaffinity(0))
        if mine != total:
            return 0
    return total


_LOAD_TTL = 0.02


class _Load:
    cpus = _visible_cpus()
    checked = -1.0
    others = 0


def _runnable_once() -> int:
    """One reading of the tasks runnable besides the caller and the GEMM's
    awake workers."""
    from minigrad._C._gemm import team_awake

    awake = team_awake()
    try:
        with open("/proc/loadavg", "rb") as f:
            running = int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    # A worker that fell asleep meanwhile was perhaps not in the count.
    return max(0, running - 1 - min(awake, team_awake()))


_LOAD_READS = 3


def _runnable_elsewhere() -> int:
    """Tasks runnable right now besides the caller and the GEMM's own awake
    workers (0 if unknown): the smallest of up to ``_LOAD_READS`` readings,
    see Note [Own workers in the load]."""
    n = _runnable_once()
    for _ in range(_LOAD_READS - 1):
        if n == 0:
            break
        n = min(n, _runnable_once())
    return n


def _kernel_threads() -> int:
    """Threads for the next kernel call: ``get_num_threads()`` less the cores
    other processes occupy now (see Note [Sharing cores]); at least 1."""
    n = _Threads.n
    if n == 1 or _Load.cpus == 0:
        return n
    now = time.monotonic()
    if now - _Load.checked > _LOAD_TTL:
        _Load.checked = now
        _Load.others = _runnable_elsewhere()
    return max(1, min(n, _Load.cpus - _Load.others))


def set_num_threads(n: int) -> None:
    """Set how many threads the C kernels may use.

    Parameters
    ----------
    n : int
        At least 1; above ``max_threads()`` (4 x ``os.cpu_count()``) it is
        capped there with a ``RuntimeWarning`` (Note [Thread cap]). Kernels use
        fewer when the work is too small to share or other processes are busy
        on some of the cores (Note [Sharing cores]).

    Raises
    ------
    ValueError
        If ``n`` is not a positive int (bools are not).
    """
    try:
        count = operator.index(n) if not isinstance(n, bool) else 0
    except TypeError:
        count = 0
    if count < 1:
        raise ArgumentError(f"set_num_threads: expected a positive int, got {n!r}")
    _Threads.n = _cap_threads("set_num_threads", count)


def get_num_threads() -> int:
    """The number of threads the C kernels may use."""
    return _Threads.n


# Note [ISA lookup cost]
# ``_isa()`` runs on every GEMM call (``ops.linalg._gemm_kw``). There is no
# setter for the ISA: ``MINIGRAD_ISA`` is the only control, and it may change
# at run time (tests set it with monkeypatch), taking effect at the next
# product. ``os.environ.get`` costs ~0.8 us (Mapping.get, key encoding, value
# decoding), most of a tiny product's wrapper cost, so the variable is read
# from the bytes dict behind ``os.environ`` (``os.environ._data``, which every
# ``os.environ[...] =`` / ``del`` / ``putenv`` through os updates) in one dict
# lookup, and the choice is cached keyed on that raw value: any change of the
# variable through ``os.environ`` is seen at the next call, exactly as before.
# (A change made behind Python's back, by C code calling ``setenv``, was never
# seen by ``os.environ`` either.) If ``_data`` is missing (another Python),
# ``os.environ.get`` is used.
_ENV_DATA: Any = getattr(os.environ, "_data", None)
try:
    _ISA_KEY: Any = os.environ.encodekey(_ISA_ENV)
except AttributeError:  # pragma: no cover - not CPython's os._Environ
    _ENV_DATA = None
    _ISA_KEY = None


class _Isa:
    raw: Any = None  # the variable's raw value the cached name was chosen for
    name: str | None = None


def _isa() -> str:
    """The GEMM micro-kernel to use: ``MINIGRAD_ISA`` if set, else the best
    (cached per value of the variable, Note [ISA lookup cost]).

    Raises
    ------
    ValueError
        ``MINIGRAD_ISA`` names no known instruction set.
    RuntimeError
        ``MINIGRAD_ISA`` names one this CPU cannot run.
    """
    raw = _ENV_DATA.get(_ISA_KEY) if _ENV_DATA is not None else os.environ.get(_ISA_ENV)
    if _Isa.name is not None and raw == _Isa.raw:
        return _Isa.name
    from minigrad._C import _gemm

    env = os.environ.get(_ISA_ENV) or None
    if env is None:
        name = _gemm.best_isa()
    else:
        name = env.strip().lower()
        if name not in _gemm.ISAS:
            raise ArgumentError(
                f"{_ISA_ENV}={env!r}: expected one of {', '.join(_gemm.ISAS)}"
            )
        if not _gemm.has_isa(name):
            raise RuntimeError(
                f"{_ISA_ENV}={env!r}: this CPU does not support {name} "
                f"(available: {', '.join(_gemm.available_isas())})"
            )
    _Isa.raw, _Isa.name = raw, name
    return name


def backend_info() -> dict[str, Any]:
    """What the compiled backend is running with.

    Returns
    -------
    dict
        ``isa`` (the GEMM micro-kernel in use), ``isa_forced`` (set by
        ``MINIGRAD_ISA``), ``available_isas``, ``num_threads`` (the upper
        bound), ``threads_now`` (what a kernel would get at this moment, see
        Note [Sharing cores]), ``compiler``, ``openmp`` (version date, 0 if
        built without), ``omp_wait_policy`` and ``forked_child`` (see Note
        [OpenMP and fork]).

    Raises
    ------
    ValueError, RuntimeError
        ``MINIGRAD_ISA`` is invalid or not supported by this CPU.
    """
    from minigrad._C import _gemm

    return {
        "isa": _isa(),
        "isa_forced": bool(os.environ.get(_ISA_ENV)),
        "available_isas": _gemm.available_isas(),
        "num_threads": _Threads.n,
        "threads_now": _kernel_threads(),
        "compiler": _gemm.compiler(),
        "openmp": _gemm.openmp_version(),
        "omp_wait_policy": _OMP_POLICY,
        "forked_child": _Threads.forked,
    }
