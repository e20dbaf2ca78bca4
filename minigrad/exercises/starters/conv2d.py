"""Exercise: a 2-d convolution layer by hand, forward and backward.

The math (PyTorch's conv2d: a cross-correlation, stride 1, no padding)
--------
    y[n, o, h, w] = b[o] + sum_{c, i, j} x[n, c, h + i, w + j] * W[o, c, i, j]

    x: (N, C, H, W_in)    W: (O, C, kh, kw)    b: (O,)
    y: (N, O, H - kh + 1, W_in - kw + 1)

backward receives ``grad_out`` = dL/dy and returns (dL/dx, dL/dW, dL/db) with
the shapes of x, W and b. Work it out from the sum above:

- dL/db[o] sums grad_out over everything but o (the batch and every position:
  the bias is added at each of them);
- dL/dW[o, c, i, j] sums, over the batch and the positions, grad_out[n, o, h, w]
  times the input pixel that W[o, c, i, j] met there;
- dL/dx[n, c, p, q] collects grad_out from every output position whose window
  covered pixel (p, q), through the weight that joined them (windows overlap,
  so accumulate).

``numpy.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))`` gives
every window at once (shape (N, C, H_out, W_out, kh, kw)), and ``np.einsum``
sums over named indices. ``minigrad.nn.functional.conv2d`` computes the same
forward, if you want to compare.

What to fill in
---------------
The two bodies that raise NotImplementedError: ``forward(ctx, x, W, b)`` gets
Tensors and returns a numpy array (save what backward needs on ctx);
``backward(ctx, grad_out)`` returns the three gradients in the order x, W, b.

Check your work:

    python -m minigrad exercises check conv2d.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "conv2d"


class Conv2d(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x: mg.Tensor, W: mg.Tensor, b: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in Conv2d.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in Conv2d.backward")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    W = mg.tensor(rng.standard_normal((1, 1, 2, 2)), requires_grad=True)
    b = mg.tensor(np.zeros(1), requires_grad=True)
    y = Conv2d.apply(x, W, b)
    print("y =", y)
    print(
        "same as F.conv2d:", np.allclose(y.data, mg.nn.functional.conv2d(x, W, b).data)
    )
