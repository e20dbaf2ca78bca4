"""Exercise: binary cross-entropy on probabilities, forward and backward.

The math
--------
    L = -(1/N) * sum_i [ y_i * log(p_i) + (1 - y_i) * log(1 - p_i) ]

    p: predicted probabilities in (0, 1), any shape     N = the number of elements
    y: targets in [0, 1] (usually 0 or 1), the same shape; no gradient needed
    L: a 0-d tensor

backward receives ``grad_out`` = dL_total/dL (a 0-d Tensor; not always 1) and
returns (dL_total/dp, None): the targets are labels, they need no gradient.
Differentiate one term with respect to p_i; keep the 1/N of the mean and the
minus sign in front.

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, p, y)`` gets Tensors and returns L as a 0-d numpy array.
- ``backward(ctx, grad_out)`` returns ``(grad_p, None)``.

Check your work:

    python -m minigrad exercises check bce.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "bce"


class BCE(mg.autograd.Function):
    @staticmethod
    def forward(ctx, p: mg.Tensor, y: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in BCE.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in BCE.backward")


if __name__ == "__main__":
    p = mg.tensor([0.9, 0.2, 0.6], dtype=mg.float64, requires_grad=True)
    y = mg.tensor([1.0, 0.0, 1.0], dtype=mg.float64)
    loss = BCE.apply(p, y)
    loss.backward()
    print("L =", loss, "\ndL/dp =", p.grad)
