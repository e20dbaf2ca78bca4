"""Exercise: the logistic sigmoid, forward and backward.

The math
--------
    y = sigmoid(x) = 1 / (1 + exp(-x))          elementwise; x and y have any shape

backward receives ``grad_out`` = dL/dy (same shape as y) and returns dL/dx.
By the chain rule, elementwise:

    dL/dx = grad_out * dy/dx

Work out dy/dx on paper first. Hint: it can be written with y alone, so save the
output in forward and reuse it in backward.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, x)`` gets a Tensor (``x.data`` is its float64 numpy array) and
  returns a numpy array. Keep what backward needs with ``ctx.save_for_backward``.
- ``backward(ctx, grad_out)`` gets a Tensor and returns dL/dx with x's shape, as
  a Tensor (Tensor operations: ``grad_out * y``) or a numpy array.

Check your work:

    python -m minigrad exercises check sigmoid.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "sigmoid"


class Sigmoid(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor) -> np.ndarray:
        # Compute y from x.data, then ctx.save_for_backward(y) and return y.
        raise NotImplementedError("fill in Sigmoid.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> mg.Tensor:
        # (y,) = ctx.saved_tensors gives back what forward saved, as Tensors.
        raise NotImplementedError("fill in Sigmoid.backward")


if __name__ == "__main__":
    x = mg.tensor([-2.0, 0.0, 3.0], dtype=mg.float64, requires_grad=True)
    y = Sigmoid.apply(x)
    y.sum().backward()
    print("y =", y, "\ndL/dx =", x.grad)
