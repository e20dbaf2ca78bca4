"""What a type checker (and an editor's completion) sees of minigrad's API.

Never run: tests/test_typing.py checks it with mypy. A line of code ending in
an "E:" comment must get a mypy error containing the comment's text; any other
error fails the test. The wrong calls prove that Tensor is not ``Any``.
"""

from collections.abc import Callable

import numpy as np
from typing_extensions import assert_type

import minigrad as mg
from minigrad import nn
from minigrad.scalar import Value

x = mg.zeros(2, 3, requires_grad=True)
assert_type(x, mg.Tensor)
assert_type(mg.tensor([1.0, 2.0]), mg.Tensor)
sin: Callable[[mg.Tensor], mg.Tensor] = mg.Tensor.sin
assert_type(mg.zeros(2).relu(), mg.Tensor)
assert_type(x.sin().exp().tanh().sigmoid(), mg.Tensor)
assert_type(x.sum(dim=0, keepdim=True), mg.Tensor)
assert_type(x.softmax(dim=-1), mg.Tensor)
assert_type(x.float(), mg.Tensor)
assert_type(x.int(), mg.Tensor)
assert_type(x.bool(), mg.Tensor)
assert_type(x.reshape(3, 2).T @ x.T, mg.Tensor)
assert_type(x * 2 + 1 - x / 3, mg.Tensor)
assert_type(x.shape, tuple[int, ...])
assert_type(x.ndim, int)
assert_type(x.grad, mg.Tensor | None)
assert_type(x.numpy(), np.ndarray)
assert_type(x.is_contiguous(), bool)
assert_type(x.sum().backward(), None)
assert_type(nn.Linear(3, 4).weight, nn.Parameter)
assert_type(mg.exp(x), mg.Tensor)
assert_type(mg.cat([x, x], dim=0), mg.Tensor)
assert_type(mg.matmul(x, x.T), mg.Tensor)
assert_type(nn.functional.relu(x), mg.Tensor)
with mg.no_grad():
    y = x.clamp(min=0.0).mean()
assert_type(y, mg.Tensor)
v = (Value(2.0) * 3 + Value(1.0)).tanh()  # the compiled engine, through its stub
assert_type(v, Value)
assert_type(v.data, float)

x.reluu()  # E: has no attribute "reluu"
x.relu(1)  # E: Too many arguments for "relu"
x.softmax(dim="last")  # E: incompatible type "str"
x.sum(keepdim="yes")  # E: incompatible type "str"
x.clamp(min="0")  # E: incompatible type "str"
v.backward(1)  # E: Too many arguments for "backward"
bad: Callable[[mg.Tensor], str] = mg.Tensor.sin  # E: Incompatible types in assignment
