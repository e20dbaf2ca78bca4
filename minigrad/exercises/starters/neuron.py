"""Exercise: one neuron's weighted sum plus bias, for a batch of inputs.

The math
--------
    y[n] = sum_d x[n, d] * w[d] + b          that is  y = x @ w + b

    x: (N, D)   a batch of N inputs with D features
    w: (D,)     the weights
    b: ()       the bias, a 0-d tensor (one number)
    y: (N,)

backward receives ``grad_out`` = dL/dy, shape (N,), and returns (dL/dx, dL/dw,
dL/db), each with the shape of its input. Use the chain rule one element at a
time: y[n] depends on x[n, d] through w[d], on w[d] through every x[n, d], and on
b once per n. Whatever an input contributed to several outputs, its gradient sums
over them. Hint: a gradient always has its input's shape: dL/db is one number.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, x, w, b)`` gets Tensors (``.data`` is the numpy array) and
  returns a numpy array of shape (N,). Save the inputs backward needs with
  ``ctx.save_for_backward(x, w)``.
- ``backward(ctx, grad_out)`` returns three gradients in the order x, w, b
  (Tensors, or numpy arrays).

Check your work:

    python -m minigrad exercises check neuron.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "neuron"


class Neuron(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor, w: mg.Tensor, b: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in Neuron.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        # x, w = ctx.saved_tensors
        raise NotImplementedError("fill in Neuron.backward")


if __name__ == "__main__":
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=mg.float64)
    w = mg.tensor([0.5, -1.0], dtype=mg.float64, requires_grad=True)
    b = mg.tensor(0.1, dtype=mg.float64, requires_grad=True)
    y = Neuron.apply(x, w, b)
    y.sum().backward()
    print("y =", y, "\ndL/dw =", w.grad, "\ndL/db =", b.grad)
