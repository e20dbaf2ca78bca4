"""Exercise: a linear (fully connected) layer, forward and backward.

The math
--------
    y = x @ W.T + b,   y[n, o] = sum_i x[n, i] * W[o, i] + b[o]

    x: (N, in)    W: (out, in)  (PyTorch's layout)    b: (out,)    y: (N, out)

backward receives ``grad_out`` = dL/dy, shape (N, out), and returns (dL/dx,
dL/dW, dL/db) with the shapes of x, W and b. Check every product by its shape:
dL/dW must be (out, in), not (in, out). The bias is added to every row of the
batch (it is broadcast over N), so its gradient sums over the batch.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, x, W, b)`` gets Tensors and returns a numpy array. Save the
  inputs backward needs with ``ctx.save_for_backward(x, W)``.
- ``backward(ctx, grad_out)`` returns the three gradients in the order x, W, b.

Check your work:

    python -m minigrad exercises check linear.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "linear"


class Linear(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor, W: mg.Tensor, b: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in Linear.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in Linear.backward")


if __name__ == "__main__":
    x = mg.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]], dtype=mg.float64)
    W = mg.tensor([[0.1, 0.2, 0.3], [0.0, 1.0, -1.0]], dtype=mg.float64)
    b = mg.tensor([0.5, -0.5], dtype=mg.float64, requires_grad=True)
    W.requires_grad_()
    y = Linear.apply(x, W, b)
    y.sum().backward()
    print("y =", y, "\ndL/dW =", W.grad, "\ndL/db =", b.grad)
