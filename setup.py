"""Builds minigrad's compiled extensions.

Every ``minigrad/_C/_<family>.pyx`` becomes the extension ``minigrad._C._<family>``,
compiled together with the plain C sources in ``csrc/<family>/`` and ``csrc/common/``.
A new kernel family therefore needs no edit here.

Environment:
  MINIGRAD_DEBUG=1   turn Cython's bounds/wraparound checks back on, build with -O0 -g
  MINIGRAD_ONLY=a,b  build only these families (developers rebuilding one module)
"""

import os
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("MINIGRAD_DEBUG") == "1"
# Families whose kernels call another family's C entry points: its sources are
# compiled into the extension too (convolution runs on the GEMM).
EXTRA_FAMILIES = {"conv": ("gemm",)}
ONLY = {s for s in os.environ.get("MINIGRAD_ONLY", "").split(",") if s}


def compile_args() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2", "/openmp"], []
    cflags = ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    cflags += ["-O0", "-g"] if DEBUG else ["-O3"]
    # Portable baseline: SIMD paths are chosen at run time (target attributes),
    # never -march=native.
    omp = [] if sys.platform == "darwin" else ["-fopenmp"]
    return cflags + omp, [*omp, "-lm"]


def family_sources(family: str) -> list[str]:
    """The C sources of `family` and of the families it calls."""
    fams = (family, *EXTRA_FAMILIES.get(family, ()))
    return [c for f in fams for c in sorted(glob(f"csrc/{f}/*.c"))]


def extensions() -> list[Extension]:
    cflags, ldflags = compile_args()
    common = sorted(glob("csrc/common/*.c"))
    exts = []
    for pyx in sorted(glob("minigrad/_C/_*.pyx")):
        family = os.path.basename(pyx)[1:-4]
        if ONLY and family not in ONLY:
            continue
        exts.append(
            Extension(
                f"minigrad._C._{family}",
                [pyx, *family_sources(family), *common],
                include_dirs=["csrc", np.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=cflags,
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

setup(ext_modules=cythonize(extensions(), compiler_directives=directives))
