# Type stub for the compiled _optim.pyx (mypy cannot read extension modules).
# Keep in sync with _optim.pyx; .ci/run checks it with stubtest.
from typing import Any

import numpy as np

OPS: dict[str, tuple[str, ...]]
ISAS: tuple[str, ...]

def group_problem(params: list[Any], grads: list[Any]) -> str | None: ...
def step(
    op: str,
    params: list[np.ndarray],
    grads: list[np.ndarray],
    state0: list[np.ndarray] | None,
    state1: list[np.ndarray] | None,
    state2: list[np.ndarray] | None,
    steps: Any,
    flags: Any,
    hp: tuple[float, ...],
    *,
    nthreads: int | None = None,
    isa: str | None = None,
) -> None: ...
