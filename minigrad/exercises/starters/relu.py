"""Exercise: the rectified linear unit, forward and backward.

The math
--------
    y = relu(x) = max(x, 0)          elementwise

backward receives ``grad_out`` = dL/dy (same shape as y) and returns dL/dx:

    dL/dx = grad_out * dy/dx          (the chain rule, elementwise)

dy/dx is 1 where x > 0 and 0 where x < 0. At x = 0 relu has a kink and no
derivative; PyTorch (and minigrad) use 0 there. A gradient check cannot judge a
kink, so the checker keeps its inputs away from 0 and tells you separately which
value your backward uses at 0.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, x)`` gets a Tensor (``x.data`` is its float64 numpy array) and
  returns a numpy array. Save what backward needs: the input, or a mask
  (``ctx.mask = ...`` works for anything that is not a Tensor).
- ``backward(ctx, grad_out)`` gets a Tensor and returns dL/dx with x's shape.

Check your work:

    python -m minigrad exercises check relu.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "relu"


class ReLU(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in ReLU.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> mg.Tensor:
        raise NotImplementedError("fill in ReLU.backward")


if __name__ == "__main__":
    x = mg.tensor([-2.0, 0.5, 3.0], dtype=mg.float64, requires_grad=True)
    y = ReLU.apply(x)
    y.sum().backward()
    print("y =", y, "\ndL/dx =", x.grad)
