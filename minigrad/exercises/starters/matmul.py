"""Exercise: the matrix product, forward and backward.

The math
--------
    C = A @ B,   C[i, j] = sum_k A[i, k] * B[k, j]

    A: (n, k)    B: (k, m)    C: (n, m)

backward receives ``grad_out`` = dL/dC, shape (n, m), and returns (dL/dA, dL/dB)
with the shapes of A and B. Write dL/dA[i, k] as a sum over j by the chain rule,
then recognise the sum as a matrix product. Let the shapes guide you: dL/dA must
be (n, k), and only one product of grad_out with B (or its transpose) has that
shape. The same goes for dL/dB.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, a, b)`` gets Tensors and returns a numpy array. Save the inputs
  with ``ctx.save_for_backward(a, b)``.
- ``backward(ctx, grad_out)`` returns the two gradients in the order a, b
  (Tensors: ``grad_out @ b.T`` works; or numpy arrays).

Check your work:

    python -m minigrad exercises check matmul.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "matmul"


class MatMul(mg.autograd.Function):
    @staticmethod
    def forward(ctx, a: mg.Tensor, b: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in MatMul.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in MatMul.backward")


if __name__ == "__main__":
    a = mg.tensor([[1.0, 2.0, 3.0]], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([[1.0], [0.0], [-1.0]], dtype=mg.float64, requires_grad=True)
    c = MatMul.apply(a, b)
    c.sum().backward()
    print("C =", c, "\ndL/dA =", a.grad, "\ndL/dB =", b.grad)
