"""Linear, Bilinear and Identity layers. Layer: nn.

``Linear`` stores ``weight`` as (out_features, in_features), PyTorch's layout,
and calls the fused ``linear`` op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.dtypes import DTypeError, canonical_dtype
from minigrad.errors import ArgumentError, ShapeError
from minigrad.nn import functional as F
from minigrad.nn import init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.ops.linalg import _linear_fast
from minigrad.tensor import Tensor

__all__ = ["Bilinear", "Identity", "Linear"]


def _float_dtype(dtype: Any, op: str) -> np.dtype:
    d = np.dtype(np.float32) if dtype is None else canonical_dtype(dtype, op)
    if d.kind != "f":
        raise TypeError(f"{op}: dtype must be float32 or float64, got {d}")
    return d


_TORCH_NAMES = {
    "float32": "Float",
    "float64": "Double",
    "int64": "Long",
    "bool": "Bool",
}


def _dtype_mismatch(x: np.dtype, w: np.dtype) -> None:
    """PyTorch's error for a Linear whose input dtype is not its weight's (it
    does not promote: a float64 batch to a float32 layer is usually a numpy
    array passed without .float()), with the fix."""
    if x.kind == "f":
        fix = (
            "convert the input with x.float(), or the model with model.double()"
            if w == np.float32
            else "convert the input with x.double(), or the model with model.float()"
        )
    else:
        fix = "convert the input with x.float()" + (
            "" if w == np.float32 else " and the model with model.float()"
        )
    raise DTypeError(
        f"Linear: mat1 and mat2 must have the same dtype, but got "
        f"{_TORCH_NAMES.get(x.name, x.name)} and {_TORCH_NAMES.get(w.name, w.name)} "
        f"(input {x.name}, weight {w.name}); {fix}"
    )


class Identity(Module):
    """Returns its input unchanged (arguments to the constructor are ignored)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Linear(Module):
    """y = x @ weightᵀ + bias.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Whether to learn an additive bias.
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter, shape (out_features, in_features), initialized with
        kaiming_uniform_(a=√5), i.e. U(-1/√in, 1/√in) (PyTorch's default)
    bias : Parameter, shape (out_features,), U(-1/√in, 1/√in), or None

    Shapes: input (*, in_features) -> output (*, out_features).

    Raises
    ------
    DTypeError
        The input's dtype is not the weight's (float64 or integer input to a
        float32 layer): PyTorch's error, with the conversion to make.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ArgumentError(
                f"Linear: sizes must be non-negative, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        d = _float_dtype(dtype, "Linear")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), d))
        if bias:
            self.bias = Parameter(np.empty(out_features, d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for weight, U(±1/√fan_in) for
        bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return self._forward_act(input, None)

    def _forward_act(self, input: Tensor, activation: str | None) -> Tensor:
        """``forward`` followed by ``activation`` ("relu", "sigmoid", "tanh" or
        None) in one fused op: what Sequential runs for a Linear followed by that
        activation module (Note [Sequential fusion] in ``container.py``)."""
        # The registry read directly: cheaper than two __getattr__ fallbacks, and
        # this is the hottest layer of a small MLP. The common case (2-D input
        # of the weight's dtype) goes straight to the op; the checks below run
        # when its few comparisons decline, for this layer's errors.
        params = self._parameters
        y = _linear_fast(input, params["weight"], params["bias"], activation)
        if y is not None:
            return y
        if not isinstance(input, Tensor):
            raise TypeError(f"Linear: expected a Tensor, got {type(input).__name__}")
        d = input.data
        if d.ndim == 0 or d.shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear: input of shape {input.shape} does not end with "
                f"in_features={self.in_features}"
            )
        weight = params["weight"]
        if d.dtype != weight.data.dtype:
            _dtype_mismatch(d.dtype, weight.data.dtype)
        return F.linear(input, weight, params["bias"], activation)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1ᵀ A x2 + b for each output feature (``F.bilinear``).

    Parameters
    ----------
    in1_features, in2_features, out_features : int
    bias : bool
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter (out_features, in1_features, in2_features)
    bias : Parameter (out_features,) or None; both U(-1/√in1, 1/√in1), PyTorch's
        init

    Shapes: input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features).
    """

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        sizes = (in1_features, in2_features, out_features)
        if min(sizes) < 0:
            raise ArgumentError(f"Bilinear: sizes must be non-negative, got {sizes}")
        d = _float_dtype(dtype, "Bilinear")
        self.in1_features = int(in1_features)
        self.in2_features = int(in2_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), d))
        if bias:
            self.bias = Parameter(np.empty(out_features, d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
