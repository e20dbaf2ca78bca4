# Type stub for the compiled _gemm.pyx (mypy cannot read extension modules).
# Keep in sync with _gemm.pyx; .ci/run checks it with stubtest.
from typing import Any

import numpy as np

__all__ = [
    "ISAS",
    "available_isas",
    "best_isa",
    "blocking",
    "compiler",
    "gemm",
    "has_isa",
    "openmp_version",
    "team_awake",
]

ISAS: tuple[str, ...]

def has_isa(name: str) -> bool: ...
def available_isas() -> tuple[str, ...]: ...
def best_isa() -> str: ...
def compiler() -> str: ...
def openmp_version() -> int: ...
def team_awake() -> int: ...
def blocking(isa: str | None, dtype: Any) -> tuple[int, int, int, int, int]: ...
def gemm(
    a: np.ndarray,
    b: np.ndarray,
    *,
    out: np.ndarray | None = None,
    alpha: float = 1.0,
    beta: float = 0.0,
    trans_a: bool = False,
    trans_b: bool = False,
    bias: np.ndarray | None = None,
    activation: str | None = None,
    isa: str | None = None,
    num_threads: int = 1,
    path: str = "auto",
    blocks: tuple[int, int, int] | None = None,
) -> np.ndarray: ...
