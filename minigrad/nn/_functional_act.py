"""The functional forms of the activations of issue 14 with PyTorch's signatures
(re-exported by ``minigrad.nn.functional``), ``inplace=`` where PyTorch has it,
and the ``*_`` in-place variants PyTorch's ``nn.functional`` has.

Layer: nn. The ops are in :mod:`minigrad.ops.activation_more` and
:mod:`minigrad.ops.activation_composite`; ``inplace=True`` writes the result
into ``input`` through ``Tensor.copy_`` (Note [In-place ops] in
``minigrad/tensor.py``), so the graph and version counter follow.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad.dtypes import canonical_dtype
from minigrad.ops import activation_composite as _comp
from minigrad.ops import activation_more as _act
from minigrad.tensor import Tensor

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "threshold_",
]


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """input for input > 0, else alpha·(exp(input) - 1)."""
    y = _act.elu(input, alpha)
    return input.copy_(y) if inplace else y


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(input, alpha), alpha ≈ 1.6733 and scale ≈ 1.0507."""
    y = _act.selu(input)
    return input.copy_(y) if inplace else y


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, input) + min(0, alpha·(exp(input/alpha) - 1))."""
    y = _act.celu(input, alpha)
    return input.copy_(y) if inplace else y


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """input·tanh(softplus(input))."""
    y = _act.mish(input)
    return input.copy_(y) if inplace else y


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(input, 0), 6)."""
    y = _act.relu6(input)
    return input.copy_(y) if inplace else y


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """clamp(input, min_val, max_val)."""
    y = _act.hardtanh(input, min_val, max_val)
    return input.copy_(y) if inplace else y


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """input·relu6(input + 3)/6."""
    y = _act.hardswish(input)
    return input.copy_(y) if inplace else y


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(input + 3)/6."""
    y = _act.hardsigmoid(input)
    return input.copy_(y) if inplace else y


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """0 where |input| <= lambd, else input."""
    return _act.hardshrink(input, lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """input shrunk by lambd towards 0 (0 where |input| <= lambd)."""
    return _act.softshrink(input, lambd)


def tanhshrink(input: Tensor) -> Tensor:
    """input - tanh(input)."""
    return _act.tanhshrink(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(input)), stable for large |input|."""
    return _act.logsigmoid(input)


def softsign(input: Tensor) -> Tensor:
    """input / (1 + |input|)."""
    return _act.softsign(input)


def threshold(
    input: Tensor, threshold: float, value: float, inplace: bool = False
) -> Tensor:
    """input where input > threshold, else value."""
    y = _act.threshold(input, threshold, value)
    return input.copy_(y) if inplace else y


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return input.copy_(_act.threshold(input, threshold, value))


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    inplace: bool = False,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Randomized leaky relu: slope ~ U(lower, upper) per element where input <= 0
    in training, (lower + upper)/2 in evaluation.

    ``generator``: a numpy Generator (default: minigrad's, which
    ``mg.manual_seed`` reseeds).
    """
    y = _comp.rrelu(input, lower, upper, training, generator)
    return input.copy_(y) if inplace else y


def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """input where input > 0, else weight·input, one weight per channel (dim 1)."""
    return _comp.prelu(input, weight)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a·sigmoid(b), a and b the two halves of input along ``dim``."""
    return _comp.glu(input, dim)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """softmax(-input, dim) (cast to ``dtype`` first if given)."""
    if dim is None:
        warnings.warn(
            "Implicit dimension choice for softmin has been deprecated. "
            "Change the call to include dim=X as an argument.",
            stacklevel=_stacklevel,
        )
    if dtype is not None:
        input = input.to(canonical_dtype(dtype, "softmin"))
    return _comp.softmin(input, dim)
