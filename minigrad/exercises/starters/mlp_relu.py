"""Exercise: a 2-layer ReLU MLP with a softmax cross-entropy output, by hand.

The network
-----------
    z1 = X @ W1 + b1          X: (N, D)   W1: (D, H)   b1: (H,)
    h  = relu(z1) = max(z1, 0)
    z2 = h @ W2 + b2          W2: (H, C)  b2: (C,)     z2: (N, C), the logits
    p  = softmax(z2)          over each row
    loss = -(1/N) * sum_n log p[n, target[n]]          target: (N,) class indices

What to do
----------
Fill in ``forward_backward``: the forward pass, then the backward pass in
reverse order, giving each step a variable of its own (the checker compares
every one with autograd and names the first wrong one): dz2 = dloss/dz2 (the
softmax cross-entropy error, with the 1/N of the mean); dW2, db2; dh, the error
flowing back through W2; dz1 = dloss/dz1 (relu's derivative is 1 where z1 > 0
and 0 elsewhere); dW1, db1. Each gradient has its parameter's shape.

Return ``(loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2})``.

Check your work:

    python -m minigrad exercises check mlp_relu.py
"""

import numpy as np

EXERCISE = "mlp_relu"


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward_backward(
    X: np.ndarray,
    target: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
) -> tuple[float, dict]:
    """The loss and its gradients, each with its parameter's shape."""
    raise NotImplementedError("fill in forward_backward: forward, then backward")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    target = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    params = {
        "W1": rng.standard_normal((2, 16)),
        "b1": np.zeros(16),
        "W2": 0.1 * rng.standard_normal((16, 2)),
        "b2": np.zeros(2),
    }
    for step in range(1001):
        loss, grads = forward_backward(X, target, **params)
        params = {k: v - 0.5 * grads[k] for k, v in params.items()}
        if step % 250 == 0:
            print(f"step {step}: loss {loss:.4f}")
