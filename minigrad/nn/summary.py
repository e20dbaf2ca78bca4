"""Module.summary: layers, output shapes and parameter counts as a table.

Layer: nn. Runs one forward pass in eval mode under ``no_grad`` with forward
hooks on every sub-module, then restores each module's training flag, so it
neither updates BatchNorm statistics nor draws Dropout random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.autograd.grad_mode import no_grad
from minigrad.dtypes import canonical_dtype, to_array
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor

if TYPE_CHECKING:
    from minigrad.nn.module import Module

__all__ = ["ModelSummary", "SummaryRow", "summarize"]


@dataclass
class SummaryRow:
    """One module: its dotted name, type, depth, output shape(s) and the number
    of parameters it owns directly (not counting its children)."""

    name: str
    type: str
    depth: int
    output_shape: str
    params: int
    is_leaf: bool


@dataclass
class ModelSummary:
    """The result of ``Module.summary``; ``str()`` gives the table."""

    model_name: str
    input_shape: str
    rows: list[SummaryRow] = field(default_factory=list)
    output_shape: str = ""
    total_params: int = 0
    trainable_params: int = 0

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    def __str__(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #")
        body = []
        for r in self.rows:
            label = "  " * r.depth + f"{r.name} ({r.type})"
            count = f"{r.params:,}" if (r.params or r.is_leaf) else "--"
            body.append((label, r.output_shape, count))
        w0 = max([len(head[0])] + [len(b[0]) for b in body])
        w1 = max([len(head[1])] + [len(b[1]) for b in body])
        w2 = max([len(head[2])] + [len(b[2]) for b in body])
        width = w0 + w1 + w2 + 4
        line = "=" * width
        out = [
            f"{self.model_name} summary (input {self.input_shape})",
            line,
            f"{head[0]:<{w0}}  {head[1]:<{w1}}  {head[2]:>{w2}}",
            line,
        ]
        out += [f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}" for a, b, c in body]
        out += [
            line,
            f"Output shape: {self.output_shape}",
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            line,
        ]
        return "\n".join(out)

    __repr__ = __str__


def _shape_str(out: Any) -> str:
    if isinstance(out, (Tensor, np.ndarray)):
        return str(list(out.shape))
    if isinstance(out, (tuple, list)):
        return ", ".join(_shape_str(o) for o in out)
    return type(out).__name__


def _inputs(model: Module, input: Any, dtype: Any) -> tuple[Tensor, ...]:
    if isinstance(input, Tensor):
        return (input,)
    if isinstance(input, np.ndarray):
        return (Tensor._wrap(to_array(input)),)
    if isinstance(input, (tuple, list)) and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in input
    ):
        if any(s < 0 for s in input):
            raise ShapeError(f"summary: input shape {tuple(input)} has a negative size")
        if dtype is None:
            p = next(model.parameters(), None)
            dtype = p.dtype if p is not None and p.dtype.kind == "f" else np.float32
        arr = np.zeros(tuple(int(s) for s in input), canonical_dtype(dtype, "summary"))
        return (Tensor._wrap(arr),)
    if isinstance(input, (tuple, list)) and all(
        isinstance(t, (Tensor, np.ndarray)) for t in input
    ):
        return tuple(t if isinstance(t, Tensor) else Tensor(t) for t in input)
    raise TypeError(
        "summary: input must be a shape (tuple of ints), a Tensor, an array, "
        f"or a tuple of Tensors; got {type(input).__name__}"
    )


def summarize(model: Module, input: Any, dtype: Any = None) -> ModelSummary:
    """Runs ``model`` once on ``input`` and tabulates every sub-module."""
    args = _inputs(model, input, dtype)
    named = list(model.named_modules())
    shapes: dict[int, str] = {}
    handles = []
    for _, m in named:

        def hook(mod: Any, _args: Any, out: Any) -> None:
            shapes.setdefault(id(mod), _shape_str(out))

        handles.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for _, m in named]
    try:
        model.eval()
        with no_grad():
            out = model(*args)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
    summary = ModelSummary(
        model_name=type(model).__name__,
        input_shape=", ".join(str(list(a.shape)) for a in args),
        output_shape=_shape_str(out),
    )
    for name, m in named[1:]:
        summary.rows.append(
            SummaryRow(
                name=name,
                type=type(m).__name__,
                depth=name.count("."),
                output_shape=shapes.get(id(m), "--"),
                params=sum(p.numel() for p in m.parameters(recurse=False)),
                is_leaf=not m._modules,
            )
        )
    params = list(model.parameters())
    summary.total_params = sum(p.numel() for p in params)
    summary.trainable_params = sum(p.numel() for p in params if p.requires_grad)
    return summary
