"""Choosing between the fused C step and the numpy reference. Layer: optim.

Every optimizer takes ``fused=None|True|False`` (PyTorch's name; RMSprop,
which has no fused option in PyTorch, calls it ``foreach``): ``False``
always runs the numpy update of Note [Optimizer updates], the readable
reference; ``True`` runs minigrad._C._optim for every group and raises when a
group cannot; ``None`` (the default) runs it when the whole group qualifies and
is large enough to repay the call (AUTO_MIN_ELEMENTS), and falls back to numpy
otherwise. A group qualifies when every parameter that has
a gradient holds, with its gradient, C-contiguous aligned arrays of one
dtype, float32 or float64, of the same size, the parameter writeable: what
the kernel's wrapper checks; ``_optim.group_problem`` says which check a
refused group failed (Note [Fused step, checked once]). The fused kernel does
the numpy path's operations in the same order, so both give the same bits
(tests/test_optim_fused.py); it saves the temporaries and the passes over
memory (one read and one write of each array per step).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad._C import _optim
from minigrad.errors import ArgumentError, ShapeError
from minigrad.tensor import Tensor

__all__ = ["FusedArrays", "check_fused_option", "fused_params", "fused_step"]

# What fused_params hands the fused update: the parameters that have a
# gradient, their arrays, their gradients' arrays.
FusedArrays = tuple[list[Tensor], list[np.ndarray], list[np.ndarray]]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# In auto mode, groups under this many elements in all take the numpy path
# when their update is plain SGD (no momentum, weight decay or maximize: one
# numpy operation per parameter); every other update costs numpy several
# passes and temporaries per parameter, and the fused step wins at any size
# (9 elements: Adam 13 vs 32 us, RMSprop 12 vs 24, Adagrad 10.5 vs 17).
# It was 32k while the fused call cost ~7 us before any arithmetic (Python
# array checks, five numpy arrays per call). With the checks in C
# (``_optim.group_problem``) and the call's arrays in one malloc (Note [Fused
# step call cost] in _optim.pyx), plain SGD's whole opt.step, fused/numpy on
# 1 thread (float32, float64): XOR 2-2-1, 9 elements, 4.3 vs 5.1 us (0.84x),
# 4.3 vs 4.8 (0.90x); 212: 0.90x, 1.00x; 3k: 0.81x, 0.83x; 12k: 0.74x,
# 0.73x; 34k: 0.67x, 0.60x; MLP 784-128-64-10 (109k): 0.59x, 0.61x. The
# fused step is never slower, so the bound is 0 (kept as the one knob should
# another machine measure otherwise).
AUTO_MIN_ELEMENTS = 0


def check_fused_option(name: str, group: dict[str, Any], key: str = "fused") -> None:
    """Validates the ``fused`` option of a group (None, True or False)."""
    fused = group[key]
    if fused is not None and not isinstance(fused, bool):
        raise ArgumentError(f"{name}: {key} must be None, True or False, got {fused!r}")
    if fused:
        for p in group["params"]:
            if p.data.dtype not in _FLOATS:
                raise ArgumentError(
                    f"{name}: {key}=True needs float32 or float64 parameters, got "
                    f"one of dtype {p.dtype}"
                )


def fused_params(
    group: dict[str, Any], key: str = "fused", min_elements: int = 0
) -> FusedArrays | None:
    """The parameters of ``group`` that have a gradient, their arrays and their
    gradients' arrays, when the fused step may update them (``fused_step``
    then tries it); None for the numpy path. In auto mode, groups under
    ``min_elements`` elements take the numpy path. The lists are built
    once, and handed to ``_optim.step`` as they are (they were built twice
    per step, ~1 us of a small network's step)."""
    if group.get(key) is False:
        return None
    # comprehensions: ~3x cheaper per parameter than a loop of appends
    params: list[Tensor] = [p for p in group["params"] if p.grad is not None]
    datas: list[np.ndarray] = [p.data for p in params]
    # (each grad is set: filtered above; mypy cannot see it)
    grads: list[np.ndarray] = [p.grad.data for p in params]  # type: ignore[union-attr]
    if not params:
        return None
    if (
        group.get(key) is None
        and min_elements
        and sum(d.size for d in datas) < min_elements
    ):
        return None
    return params, datas, grads


# Note [Fused step, checked once]
# ``_optim.step`` checks every array before it writes anything, and
# ``group_problem`` asks those same checks; asking them first and then
# stepping checked each array twice (5k of the XOR step's ~230k instructions).
# ``fused_step`` steps at once and asks ``group_problem`` only when the step
# refused: a group it finds fault with takes the numpy path (auto) or raises
# (``fused=True``), as before; a refusal it does not explain (two arrays
# overlapping) is raised as it was.
def fused_step(
    name: str,
    group: dict[str, Any],
    update: Callable[[dict[str, Any], FusedArrays], None],
    key: str = "fused",
    min_elements: int = 0,
) -> bool:
    """Updates ``group`` with ``update(group, fused_params(...))`` (an
    optimizer's fused update) and returns True; False, having changed
    nothing, when the group takes the numpy path (``fused_params`` gives
    None, or the group does not qualify in auto mode). Raises ArgumentError
    when ``fused=True`` and it does not qualify."""
    fused = fused_params(group, key, min_elements)
    if fused is None:
        return False
    try:
        update(group, fused)
    except (ArgumentError, ShapeError, TypeError):
        why = _optim.group_problem(fused[1], fused[2])
        if why is None:
            raise
        if group.get(key):
            raise ArgumentError(f"{name}: {key}=True, but {why}") from None
        return False
    return True


def bump_versions(params: list[Tensor]) -> None:
    """What the numpy path does after updating each parameter (``_vc``, the
    counter behind the ``_version`` property, read directly: a property call
    per parameter cost as much as the bump)."""
    for p in params:
        vc = p._vc
        if vc is None:
            p._vc = [1]  # created lazily at 0, then bumped
        else:
            vc[0] += 1
