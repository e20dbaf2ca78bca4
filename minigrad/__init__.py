"""minigrad: reverse-mode automatic differentiation, from scratch.

Two engines share one gradient checker: :class:`Tensor` (numpy-backed, PyTorch's
API) and ``Value`` (compiled scalars, micrograd's API).
"""

# First: sets OMP_WAIT_POLICY before any extension loads libgomp
# (Note [Passive OpenMP threads] in minigrad/backend.py).
from minigrad import backend  # isort: skip

from minigrad import autograd, cuda, data, keras, metrics, nn, optim, train, utils
from minigrad.autograd import (
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from minigrad.backend import backend_info, get_num_threads, set_num_threads
from minigrad.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.device import device
from minigrad.dtypes import bool_, float32, float64, int64
from minigrad.errors import ArgumentError, ShapeError
from minigrad.interop import (
    BoolTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
    from_numpy,
)
from minigrad.ops import (
    abs,
    argmax,
    argmin,
    cat,
    clamp,
    exp,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    relu,
    sigmoid,
    softmax,
    split,
    sqrt,
    stack,
    std,
    sum,
    tanh,
    var,
    where,
)
from minigrad.random import manual_seed
from minigrad.scalar import Value
from minigrad.serialization import load, save
from minigrad.tensor import Tensor

__version__ = "0.1.0"

bool = bool_
long = int64
double = float64
float = float32

__all__ = [
    "ArgumentError",
    "BoolTensor",
    "DoubleTensor",
    "FloatTensor",
    "IntTensor",
    "LongTensor",
    "ShapeError",
    "Tensor",
    "Value",
    "abs",
    "arange",
    "argmax",
    "argmin",
    "autograd",
    "backend",
    "backend_info",
    "bool",
    "bool_",
    "cat",
    "clamp",
    "cuda",
    "data",
    "device",
    "double",
    "enable_grad",
    "exp",
    "eye",
    "float",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "get_num_threads",
    "int64",
    "is_grad_enabled",
    "keras",
    "linspace",
    "load",
    "log",
    "log_softmax",
    "logsumexp",
    "long",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "metrics",
    "min",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randint",
    "randn",
    "relu",
    "save",
    "set_detect_anomaly",
    "set_grad_enabled",
    "set_num_threads",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "stack",
    "std",
    "sum",
    "tanh",
    "tensor",
    "train",
    "utils",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
