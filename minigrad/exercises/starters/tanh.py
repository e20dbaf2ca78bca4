"""Exercise: the hyperbolic tangent, forward and backward.

The math
--------
    y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))     elementwise

backward receives ``grad_out`` = dL/dy (same shape as y) and returns dL/dx:

    dL/dx = grad_out * dy/dx          (the chain rule, elementwise)

Work out dy/dx on paper first. Hint: like the sigmoid's, it can be written with
the output y alone. Mind which of x and y you use.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, x)`` gets a Tensor (``x.data`` is its float64 numpy array) and
  returns a numpy array (``np.tanh`` is fine). Save what backward needs with
  ``ctx.save_for_backward``.
- ``backward(ctx, grad_out)`` gets a Tensor and returns dL/dx with x's shape.

Check your work:

    python -m minigrad exercises check tanh.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "tanh"


class Tanh(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in Tanh.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> mg.Tensor:
        raise NotImplementedError("fill in Tanh.backward")


if __name__ == "__main__":
    x = mg.tensor([-2.0, 0.0, 3.0], dtype=mg.float64, requires_grad=True)
    y = Tanh.apply(x)
    y.sum().backward()
    print("y =", y, "\ndL/dx =", x.grad)
