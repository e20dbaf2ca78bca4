# Type stub for the compiled _act.pyx (mypy cannot read extension modules).
# Keep in sync with _act.pyx; .ci/run checks it with stubtest.
import numpy as np

OPS: tuple[str, ...]
BACKWARD_FROM_OUTPUT: frozenset[str]
ISAS: tuple[str, ...]

def best_isa() -> str: ...
def has_isa(name: str) -> bool: ...
def isa_code(op: str, isa: str | None) -> int: ...
def forward(
    op: str,
    x: np.ndarray,
    *,
    p0: float = 0.0,
    p1: float = 0.0,
    out: np.ndarray | None = None,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def backward(
    op: str,
    s: np.ndarray,
    grad_out: np.ndarray,
    *,
    p0: float = 0.0,
    p1: float = 0.0,
    out: np.ndarray | None = None,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def relu_bias_backward(
    y: np.ndarray,
    g: np.ndarray,
    *,
    bias: bool = True,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None]: ...
