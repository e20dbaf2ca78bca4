"""Builds minigrad's compiled extensions.

Every ``minigrad/_C/_<family>.pyx`` becomes the extension ``minigrad._C._<family>``,
compiled together with the plain C sources in ``csrc/<family>/`` and ``csrc/common/``
(plus the families listed in ``EXTRA_FAMILIES``). A new kernel family therefore needs
no edit here. A ``.pyx`` without a ``csrc/<family>/`` folder is a pure Cython module
(``_core``, the autograd core): it is compiled alone (numpy's and csrc's headers only),
without C sources or OpenMP.

Note [Build speed and reuse]
The README's two commands are both editable installs (``pip install -e``): the
compiled modules land in ``minigrad/_C/`` beside the sources, so ``import minigrad``
works from the repository root, where Python finds the source folder first, and from
anywhere else through the editable finder. pip builds in a fresh temporary folder
each time, so ``BuildExt`` keeps its own record: each extension's in-place module
has a stamp (a hash of every file it is built from, the compiler flags and the
Python ABI), and an extension whose stamp still matches is copied instead of being
compiled again; the second README command thus reuses what the first one built.
Object files compile in parallel across all extensions (one job per core), and a
progress line per file goes to the terminal (pip hides a build's own output). Each
extension compiles into its own folder under the build's temporary one: the shared
sources (csrc/common, the GEMM inside _conv) are compiled once per extension that
links them, with that extension's flags. In one folder, two extensions compiling
the same file at once overwrote the object the other was linking (CI's sanitizer
build once linked a _gemm without the float64 packing routines).

Environment:
  MINIGRAD_DEBUG=1   turn Cython's bounds/wraparound checks back on, build with -O0 -g
  MINIGRAD_ONLY=a,b  build only these families (developers rebuilding one module)
  MINIGRAD_JOBS=n    parallel compile jobs (default: the number of CPUs)
  CFLAGS / LDFLAGS   extra flags (tools/sanitize.sh uses them); part of the stamp
"""

import hashlib
import json
import os
import platform
import shutil
import sys
import sysconfig
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from glob import glob

import Cython
import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("MINIGRAD_DEBUG") == "1"
ONLY = {s for s in os.environ.get("MINIGRAD_ONLY", "").split(",") if s}
JOBS = int(os.environ.get("MINIGRAD_JOBS") or os.cpu_count() or 1)
# Families whose kernels call another family's C entry points: its sources are
# compiled into the extension too (convolution runs on the GEMM).
EXTRA_FAMILIES: dict[str, list[str]] = {"conv": ["gemm"]}
# Extra compiler flags of one family. optim: sqrt's errno would keep its loops
# scalar (csrc/optim/optim.c).
FAMILY_CFLAGS: dict[str, list[str]] = {"optim": ["-fno-math-errno"]}


def compile_args() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    cflags = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    cflags += ["-O0", "-g"] if DEBUG else ["-O3"]
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
        # GCC 12's vectoriser can put an int reduction in an MMX register
        # (movq2dq) without emms, leaving the x87 unit in MMX state: every
        # later long-double operation in the process gives NaN. No kernel
        # needs MMX (tests/test_fpu_state.py).
        cflags.append("-mno-mmx")
    # Portable baseline: SIMD paths are chosen at run time (target attributes),
    # never -march=native.
    omp = [] if sys.platform == "darwin" else ["-fopenmp"]
    return cflags + omp, [*omp, "-lm"]


def family_sources(family: str) -> list[str]:
    return sorted(glob(f"csrc/{family}/*.c"))


def extensions() -> list[Extension]:
    cflags, ldflags = compile_args()
    common = sorted(glob("csrc/common/*.c"))
    exts = []
    for pyx in sorted(glob("minigrad/_C/_*.pyx")):
        family = os.path.basename(pyx)[1:-4]
        if ONLY and family not in ONLY:
            continue
        if not os.path.isdir(f"csrc/{family}"):
            exts.append(
                Extension(
                    f"minigrad._C._{family}",
                    [pyx],
                    include_dirs=["csrc", np.get_include()],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                    extra_compile_args=[f for f in cflags if "openmp" not in f],
                )
            )
            continue
        sources = [pyx, *family_sources(family)]
        for extra in EXTRA_FAMILIES.get(family, []):
            sources += family_sources(extra)
        exts.append(
            Extension(
                f"minigrad._C._{family}",
                [*sources, *common],
                include_dirs=["csrc", np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=cflags
                + (FAMILY_CFLAGS.get(family, []) if sys.platform != "win32" else []),
                extra_link_args=ldflags,
            )
        )
    return exts


directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "cdivision": True,
    "initializedcheck": DEBUG,
    "embedsignature": True,
}


class _Progress:
    """Progress lines for a build that pip runs with its output hidden: written to
    the controlling terminal when there is one, else to stderr (``pip -v``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.start = time.perf_counter()
        try:
            self.stream = open("/dev/tty", "w")  # noqa: SIM115 (lives for the build)
        except OSError:
            self.stream = sys.stderr

    def say(self, text: str) -> None:
        with self.lock:
            elapsed = time.perf_counter() - self.start
            print(f"minigrad build {elapsed:5.1f}s  {text}", file=self.stream)
            self.stream.flush()

    def step(self, text: str) -> None:
        with self.lock:
            self.done += 1
            n, total = self.done, self.total
        self.say(f"[{n}/{total}] {text}")


class BuildExt(build_ext):
    """build_ext with parallel object compiles, progress, and reuse of an up-to-date
    in-place build (Note [Build speed and reuse])."""

    def run(self) -> None:
        # setuptools clears ``inplace`` while it builds and copies afterwards.
        self._into_source = self.inplace or self.editable_mode
        super().run()

    def build_extensions(self) -> None:
        self.progress = _Progress()
        todo = [ext for ext in self.extensions if not self._reuse(ext)]
        todo.sort(key=lambda e: -sum(os.path.getsize(s) for s in e.sources))
        # Stamped before Cython runs: its C output names the build environment's
        # temporary paths, so it differs from one pip run to the next.
        self._stamps = {ext.name: self._stamp(ext) for ext in todo}
        if todo:
            self.progress.say(f"cythonizing {len(todo)} modules")
        for ext, generated in zip(
            todo,
            cythonize(todo, compiler_directives=directives, nthreads=JOBS, quiet=True),
        ):
            ext.sources = generated.sources
        self.progress.total = sum(len(ext.sources) for ext in todo)
        if todo:
            self.progress.say(
                f"compiling {self.progress.total} files of "
                f"{', '.join(e.name.rsplit('.', 1)[1] for e in todo)} "
                f"with {JOBS} jobs"
            )
        # The stamp has decided: distutils' own check ignores the csrc headers.
        self.force = True
        self._pool = ThreadPoolExecutor(max_workers=JOBS)
        self._current = threading.local()
        original_compile = self.compiler.compile
        self.compiler.compile = self._parallel_compile
        try:
            # One thread per extension: each submits its files to the shared pool,
            # so the files of all extensions compile side by side.
            with ThreadPoolExecutor(max_workers=max(1, len(todo))) as exts:
                list(exts.map(self._build_and_stamp, todo))
        finally:
            self.compiler.compile = original_compile
            self._pool.shutdown()
        if todo:
            self.progress.say("done")

    def _parallel_compile(self, sources, output_dir=None, macros=None,
                          include_dirs=None, debug=0, extra_preargs=None,
                          extra_postargs=None, depends=None):  # fmt: skip
        cc = self.compiler
        name = getattr(self._current, "name", None)
        if output_dir is not None and name is not None:
            output_dir = os.path.join(output_dir, name)
        macros, objects, extra_postargs, pp_opts, build = cc._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs
        )
        cc_args = cc._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj: str) -> None:
            src, ext = build[obj]
            t0 = time.perf_counter()
            cc._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
            self.progress.step(f"{src} ({time.perf_counter() - t0:.1f}s)")

        # Largest first: the generated Cython files are the long poles.
        objects = sorted(objects, key=lambda o: -os.path.getsize(build[o][0]))
        for future in [self._pool.submit(one, obj) for obj in objects]:
            future.result()
        return objects

    def _build_and_stamp(self, ext: Extension) -> None:
        self._current.name = ext.name  # this thread's extension: its own objects
        self.build_extension(ext)
        inplace = self._inplace_path(ext)
        if inplace is not None:
            with open(inplace + ".stamp", "w") as f:
                f.write(self._stamps[ext.name])

    # -- reuse -------------------------------------------------------------------

    def _inplace_path(self, ext: Extension) -> str | None:
        if not getattr(self, "_into_source", False):
            return None
        filename = self.get_ext_filename(self.get_ext_fullname(ext.name))
        return os.path.join(os.path.dirname(__file__) or ".", filename)

    def _stamp(self, ext: Extension) -> str:
        digest = hashlib.sha256()
        inputs = [*ext.sources, *glob("csrc/**/*.h", recursive=True)]
        inputs += [*glob("minigrad/_C/*.pxd"), *glob("minigrad/_C/*.pxi"), __file__]
        for path in sorted(set(inputs)):
            digest.update(path.encode())
            with open(path, "rb") as f:
                digest.update(f.read())
        digest.update(
            json.dumps(
                [
                    ext.extra_compile_args,
                    ext.extra_link_args,
                    os.environ.get("CFLAGS", ""),
                    os.environ.get("LDFLAGS", ""),
                    sysconfig.get_config_var("EXT_SUFFIX"),
                    np.__version__.split(".")[0],
                    Cython.__version__,
                ]
            ).encode()
        )
        return digest.hexdigest()

    def _reuse(self, ext: Extension) -> bool:
        """Copies an up-to-date in-place module to the build output instead of
        compiling it again; False when it must be built."""
        inplace = self._inplace_path(ext)
        if inplace is None or self.force or not os.path.exists(inplace):
            return False
        try:
            with open(inplace + ".stamp") as f:
                if f.read() != self._stamp(ext):
                    return False
        except OSError:
            return False
        target = self.get_ext_fullpath(ext.name)
        if os.path.abspath(target) != os.path.abspath(inplace):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(inplace, target)
        self.progress.say(f"{ext.name}: up to date, reused")
        return True


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
