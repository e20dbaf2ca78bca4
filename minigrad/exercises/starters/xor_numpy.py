"""Exercise: the full backpropagation of a 2-layer XOR network, in numpy.

The network
-----------
    z1 = X @ W1 + b1          X: (N, 2)    W1: (2, H)    b1: (H,)    z1: (N, H)
    h  = tanh(z1)
    z2 = h @ W2 + b2          W2: (H, 1)   b2: (1,)      z2: (N, 1)
    p  = sigmoid(z2)                                      p:  (N, 1)
    loss = mean((p - y)^2)    y: (N, 1), the mean over all N elements

(Weights in the x @ W layout of numpy code; H hidden units.) For XOR, X holds the
four points (0,0), (0,1), (1,0), (1,1) and y = 0, 1, 1, 0.

What to do
----------
Fill in ``forward_backward``: the forward pass above, then the backward pass
from the loss back to every parameter, by the chain rule, in reverse order:
dloss/dp, dloss/dz2 (the sigmoid's derivative), dloss/dW2 and dloss/db2,
dloss/dh, dloss/dz1 (the tanh's derivative), dloss/dW1 and dloss/db1. Every
gradient has its parameter's shape: a bias is added to every row of the batch,
so its gradient sums over the batch. Do not forget the 1/N of the mean.
Give each step a variable of its own: the checker compares every one with
autograd and names the first wrong one.

``train`` (given) then uses your gradients to learn XOR by gradient descent.
The checker compares your loss and gradients with minigrad's autograd on XOR
and on random data, then trains the network with your gradients.

Check your work:

    python -m minigrad exercises check xor_numpy.py
"""

import numpy as np

EXERCISE = "xor_numpy"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def forward_backward(
    X: np.ndarray,
    y: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss and its gradients.

    Returns
    -------
    (loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2})
        Each gradient a numpy array with its parameter's shape.
    """
    raise NotImplementedError("fill in forward_backward: forward, then backward")


def train(
    steps: int = 2000, hidden: int = 8, lr: float = 2.0, seed: int = 0
) -> tuple[list[float], np.ndarray]:
    """Learns XOR with your gradients; returns the losses and the predictions."""
    rng = np.random.default_rng(seed)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    params = {
        "W1": rng.standard_normal((2, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.standard_normal((hidden, 1)),
        "b2": np.zeros(1),
    }
    losses = []
    for _ in range(steps):
        loss, grads = forward_backward(X, y, **params)
        losses.append(float(loss))
        for name in params:
            params[name] = params[name] - lr * grads[name]
    p = sigmoid(np.tanh(X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"])
    return losses, p


if __name__ == "__main__":
    losses, p = train()
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print("predictions:", p.ravel().round(3), "(targets 0 1 1 0)")
