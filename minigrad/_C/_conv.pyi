# Type stub for the compiled _conv.pyx (mypy cannot read extension modules).
# Keep in sync with _conv.pyx; .ci/run checks it with stubtest.
from collections.abc import Sequence

import numpy as np

__all__ = [
    "col2im",
    "conv_backward_input",
    "conv_backward_weight",
    "conv_forward",
    "im2col",
    "output_size",
]

_Ints = Sequence[int]

def output_size(
    in_size: _Ints, kernel_size: _Ints, stride: _Ints, padding: _Ints, dilation: _Ints
) -> tuple[int, ...]: ...
def conv_forward(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    groups: int = 1,
    isa: str | None = None,
    num_threads: int = 1,
    path: str = "auto",
) -> np.ndarray: ...
def conv_backward_input(
    gy: np.ndarray,
    w: np.ndarray,
    *,
    input_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    groups: int = 1,
    isa: str | None = None,
    num_threads: int = 1,
) -> np.ndarray: ...
def conv_backward_weight(
    x: np.ndarray,
    gy: np.ndarray,
    *,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    groups: int = 1,
    isa: str | None = None,
    num_threads: int = 1,
) -> np.ndarray: ...
def im2col(
    x: np.ndarray,
    *,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    num_threads: int = 1,
) -> np.ndarray: ...
def col2im(
    cols: np.ndarray,
    *,
    input_size: _Ints,
    kernel_size: _Ints,
    stride: _Ints,
    padding: _Ints,
    dilation: _Ints,
    num_threads: int = 1,
) -> np.ndarray: ...
