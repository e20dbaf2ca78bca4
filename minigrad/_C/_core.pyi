# Type stub for the compiled _core.pyx (mypy cannot read extension modules).
# Keep in sync with _core.pyx; .ci/run checks it with stubtest.
from collections.abc import Callable
from typing import Any

import numpy as np
from typing_extensions import disjoint_base

class GradState:
    grad_enabled: bool

@disjoint_base  # a cdef class
class GlobalState:
    anomaly: bool

STATE: GradState
GLOBAL_STATE: GlobalState

@disjoint_base  # a cdef class
class TensorBase:
    data: np.ndarray
    grad: Any
    grad_fn: Any
    requires_grad: bool
    _out_idx: int
    _vc: list[int] | None
    _hooks: list[Any] | None
    _base: Any

@disjoint_base  # a cdef class
class NodeBase:
    needs_input_grad: tuple[bool, ...]
    _edges: tuple[Any, ...]
    _seq: int
    _n_out: int
    _plain: bool
    _to_save: tuple[Any, ...]
    _saved: Any
    def save_for_backward(self, *items: Any) -> None: ...
    @property
    def saved_tensors(self) -> tuple[Any, ...]: ...
    def _saved_arrays(self) -> list[Any]: ...

def bind(**parts: Any) -> None: ...
def wrap(arr: Any) -> Any: ...
def binary_op(
    cls: Any, op: str, doc: str, general: Any, check_broadcast: Any
) -> Callable[[Any, Any], Any]: ...
def next_seq() -> int: ...
def version_of(t: Any) -> int: ...
def edge(t: Any) -> Any: ...
def share_version(out: Any, base: Any) -> None: ...
def apply1(cls: Any, a: Any, kwargs: Any = None) -> Any: ...
def apply2(cls: Any, a: Any, b: Any, kwargs: Any = None) -> Any: ...
def push(
    buffers: dict[Any, Any], heap: list[Any], node: Any, idx: Any, g: Any
) -> None: ...
def loop(
    buffers: dict[Any, Any],
    heap: list[Any],
    leaves: dict[Any, Any],
    retain_graph: bool,
    capture: Any,
    captured: Any,
) -> None: ...
def backward_scalar(root: Any, retain_graph: bool, create_graph: bool) -> bool: ...
def set_tape(tape: Any) -> None: ...
def current_tape() -> Any: ...
def replay(entries: list[Any], slots: list[Any]) -> None: ...
def apply_n(cls: Any, args: tuple[Any, ...], kwargs: Any = None) -> Any: ...
def guard(
    args: tuple[Any, ...],
    expect: tuple[Any, ...],
    grad_enabled: bool,
    modules: tuple[Any, ...],
    modes: tuple[bool, ...],
) -> bool: ...
def accumulate_plain(leaves: dict[Any, Any]) -> bool: ...
