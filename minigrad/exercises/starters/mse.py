"""Exercise: the mean squared error loss, forward and backward.

The math
--------
    L = (1/N) * sum_i (pred_i - target_i)^2       N = the number of elements

    pred, target: the same shape (any)     L: a 0-d tensor (one number)

backward receives ``grad_out`` = dL_total/dL, a 0-d Tensor (1 when L is the
final loss, but not always: the loss may be scaled or summed with others), and
returns (dL_total/dpred, dL_total/dtarget), each with its input's shape.
Differentiate one term (pred_i - target_i)^2 first; do not forget the 1/N of the
mean, nor that target appears with a minus sign.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, pred, target)`` gets Tensors and returns L as a numpy array
  (``np.asarray(value)`` makes a 0-d array).
- ``backward(ctx, grad_out)`` returns the two gradients in the order pred,
  target (Tensors, or numpy arrays).

Check your work:

    python -m minigrad exercises check mse.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "mse"


class MSE(mg.autograd.Function):
    @staticmethod
    def forward(ctx, pred: mg.Tensor, target: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in MSE.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in MSE.backward")


if __name__ == "__main__":
    pred = mg.tensor([0.5, 1.0, 2.0], dtype=mg.float64, requires_grad=True)
    target = mg.tensor([1.0, 1.0, 1.0], dtype=mg.float64)
    loss = MSE.apply(pred, target)
    loss.backward()
    print("L =", loss, "\ndL/dpred =", pred.grad)
