# Type stub for the compiled _softmax.pyx (mypy cannot read extension modules).
# Keep in sync with _softmax.pyx; .ci/run checks it with stubtest.
import numpy as np

_Grads = tuple[np.ndarray | None, np.ndarray | None]

def softmax_fwd(
    x: np.ndarray,
    dim: int,
    *,
    log: bool = False,
    out: np.ndarray | None = None,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def bwd_reads_in_place(y: np.ndarray, grad_out: np.ndarray, dim: int) -> bool: ...
def softmax_bwd(
    y: np.ndarray,
    grad_out: np.ndarray,
    dim: int,
    *,
    log: bool = False,
    out: np.ndarray | None = None,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def xent_fwd(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray]: ...
def xent_bwd(
    x: np.ndarray,
    lse: np.ndarray,
    target: np.ndarray,
    scale: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    out: np.ndarray | None = None,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def bce_logits_fwd(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    *,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def bce_logits_bwd(
    x: np.ndarray,
    target: np.ndarray,
    grad_out: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    *,
    target_grad: bool = False,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None]: ...
def xent_fused(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: int = 1,
    grad: bool = False,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...
def bce_fused(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    reduction: int = 1,
    input_grad: bool = False,
    target_grad: bool = False,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]: ...
def bce_logits_fused(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    pos_weight: np.ndarray | None = None,
    reduction: int = 1,
    input_grad: bool = False,
    target_grad: bool = False,
    nthreads: int | None = None,
    isa: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]: ...
def bce_fwd(
    x: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    nthreads: int | None = None,
    isa: str | None = None,
) -> np.ndarray: ...
def bce_bwd(
    x: np.ndarray,
    target: np.ndarray,
    grad_out: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    input_grad: bool = True,
    target_grad: bool = False,
    nthreads: int | None = None,
    isa: str | None = None,
) -> _Grads: ...
