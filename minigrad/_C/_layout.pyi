# Type stub for the compiled _layout.pyx (mypy cannot read extension modules).
# Keep in sync with _layout.pyx; .ci/run checks it with stubtest.
import numpy as np

__all__ = ["c_order_copy"]

def c_order_copy(a: np.ndarray, *, isa: str | None = None) -> np.ndarray: ...
