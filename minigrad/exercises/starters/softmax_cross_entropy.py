"""Exercise: softmax followed by cross-entropy, on a batch of logits.

The math
--------
    p[n, c] = exp(z[n, c]) / sum_k exp(z[n, k])        softmax over each row
    L = -(1/N) * sum_n log p[n, target[n]]              mean over the batch

    z (logits): (N, C)    target: (N,) int64 class indices in [0, C)
    L: a 0-d tensor

backward receives ``grad_out`` = dL_total/dL (a 0-d Tensor; not always 1) and
returns (dL_total/dz, None): class indices need no gradient.

Derive dL/dz[n, c] for one row first, using d log p[n, t] / dz[n, c]. The result
is remarkably simple: it involves only p and the one-hot encoding of the target,
y[n, c] = 1 if c == target[n] else 0. Do not forget the 1/N of the batch mean.
For a stable forward, subtract each row's max from z before exponentiating (the
softmax does not change).

What to fill in
---------------
The two bodies that raise NotImplementedError.

- ``forward(ctx, z, target)`` gets Tensors (``target.data`` holds int64 indices)
  and returns L as a 0-d numpy array. Save what backward needs (p, the targets).
- ``backward(ctx, grad_out)`` returns ``(grad_z, None)``.

Check your work:

    python -m minigrad exercises check softmax_cross_entropy.py
"""

import numpy as np

import minigrad as mg

EXERCISE = "softmax_cross_entropy"


class SoftmaxCrossEntropy(mg.autograd.Function):
    @staticmethod
    def forward(ctx, z: mg.Tensor, target: mg.Tensor) -> np.ndarray:
        raise NotImplementedError("fill in SoftmaxCrossEntropy.forward")

    @staticmethod
    def backward(ctx, grad_out: mg.Tensor) -> tuple:
        raise NotImplementedError("fill in SoftmaxCrossEntropy.backward")


if __name__ == "__main__":
    z = mg.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]], dtype=mg.float64)
    z.requires_grad_()
    target = mg.tensor([0, 1], dtype=mg.int64)
    loss = SoftmaxCrossEntropy.apply(z, target)
    loss.backward()
    print("L =", loss, "\ndL/dz =", z.grad)
