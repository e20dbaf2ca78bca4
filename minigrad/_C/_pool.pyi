# Type stub for the compiled _pool.pyx (mypy cannot read extension modules).
# Keep in sync with _pool.pyx; .ci/run checks it with stubtest.
from collections.abc import Sequence

import numpy as np

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "max_pool_backward",
    "max_pool_forward",
    "output_size",
]

_Ints = Sequence[int]

def output_size(
    in_size: _Ints,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    ceil_mode: bool,
) -> tuple[int, ...]: ...
def max_pool_forward(
    x: np.ndarray,
    *,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    out_size: _Ints,
    num_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray]: ...
def max_pool_backward(
    gy: np.ndarray,
    indices: np.ndarray,
    *,
    in_size: _Ints,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    num_threads: int = 1,
) -> np.ndarray: ...
def avg_pool_forward(
    x: np.ndarray,
    *,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    out_size: _Ints,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    num_threads: int = 1,
) -> np.ndarray: ...
def avg_pool_backward(
    gy: np.ndarray,
    *,
    in_size: _Ints,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
    num_threads: int = 1,
) -> np.ndarray: ...
