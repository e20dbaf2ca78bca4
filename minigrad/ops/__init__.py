"""Every differentiable op as one Function, with its functional form.

Layer: ops. Imports ``minigrad.tensor``, ``minigrad.autograd`` and ``minigrad._C``.
"""

from minigrad.ops.activation import (
    erf, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, softplus, tanh,
)
from minigrad.ops.elementwise import (
    abs, add, clamp, div, exp, log, maximum, minimum, mul, neg, pow, sign, sqrt, sub,
    where,
)
from minigrad.ops.linalg import matmul
from minigrad.ops.reduce import (
    argmax, argmin, logsumexp, max, mean, min, std, sum, var,
)
from minigrad.ops.shape import (
    cat, clone, expand, flatten, getitem, permute, reshape, setitem, split, squeeze,
    stack, sum_to, to_dtype, transpose, unsqueeze,
)

__all__ = [
    "abs", "add", "argmax", "argmin", "cat", "clamp", "clone", "div", "erf", "exp",
    "expand", "flatten", "gelu", "getitem", "leaky_relu", "log", "log_softmax",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg",
    "permute", "pow", "relu", "reshape", "setitem", "sigmoid", "sign", "silu",
    "softmax", "softplus", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum",
    "sum_to", "tanh", "to_dtype", "transpose", "unsqueeze", "var", "where",
]
