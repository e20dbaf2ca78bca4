"""Exercise: a softmax classifier by hand in numpy (softmax with cross-entropy).

The model
---------
    z = X @ W + b                         X: (N, D)   W: (D, C)   b: (C,)
    p[n, c] = exp(z[n, c]) / sum_k exp(z[n, k])        softmax over each row
    loss = -(1/N) * sum_n log p[n, target[n]]          target: (N,) class indices

What to do
----------
Fill in ``forward_backward``: the forward pass above (``softmax`` is given),
then the backward pass, giving each step a variable of its own (the checker
compares every one with autograd and names the first wrong one):

1. dz = dloss/dz, the error at the logits. Derive it for one row first: it
   involves only p and the one-hot encoding of the target (1 at the target
   class, 0 elsewhere). Do not forget the 1/N of the batch mean.
2. dW and db. Each gradient has its parameter's shape: the bias is added to
   every row, so its gradient sums over the batch.

Return ``(loss, {"W": dW, "b": db})``.

Check your work:

    python -m minigrad exercises check softmax_classifier.py
"""

import numpy as np

EXERCISE = "softmax_classifier"


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_backward(
    X: np.ndarray, target: np.ndarray, W: np.ndarray, b: np.ndarray
) -> tuple[float, dict]:
    """The loss and its gradients ({"W": dW, "b": db})."""
    raise NotImplementedError("fill in forward_backward: forward, then backward")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2))
    target = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 0] > 1)
    W, b = np.zeros((2, 3)), np.zeros(3)
    for step in range(301):
        loss, grads = forward_backward(X, target, W, b)
        W, b = W - 1.0 * grads["W"], b - 1.0 * grads["b"]
        if step % 100 == 0:
            print(f"step {step}: loss {loss:.4f}")
