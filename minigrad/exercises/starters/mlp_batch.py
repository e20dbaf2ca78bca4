"""Exercise: a 2-layer MLP on a batch: backprop and one SGD step, by hand in numpy.

The network
-----------
    z1  = X @ W1 + b1         X: (N, D)   W1: (D, H)   b1: (H,)   z1: (N, H)
    h   = sigmoid(z1)
    out = h @ W2 + b2         W2: (H, C)  b2: (C,)     out: (N, C)
    loss = (1/N) * sum over the batch of 1/2 * ||out[n] - Y[n]||^2

(Weights in the x @ W layout of numpy code; a regression output, no activation
on it.)

What to do
----------
Fill in ``sgd_step``, in this order, giving each step a variable of its own
(the checker compares every one with autograd and names the first wrong one):

1. Forward: z1, h, out and the loss.
2. Backward: the error at the output, delta2 = dloss/dout (mind the 1/N of the
   batch mean); dW2 and db2; the error flowing back to the hidden layer through
   W2; the error at the hidden layer, delta1 = dloss/dz1 (times the sigmoid's
   derivative); dW1 and db1. Each gradient has its parameter's shape: a bias is
   added to every row of the batch, so its gradient sums over the batch.
3. One SGD step: new = old - lr * gradient for W1, b1, W2 and b2. Update after
   the backward pass: the error flows back through the weights the forward pass
   used.

Return ``(loss, grads, new_params)``: two dicts with keys "W1", "b1", "W2",
"b2". Do not modify the arguments in place.

Check your work:

    python -m minigrad exercises check mlp_batch.py
"""

import numpy as np

EXERCISE = "mlp_batch"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sgd_step(
    X: np.ndarray,
    Y: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    lr: float,
) -> tuple[float, dict, dict]:
    """One gradient-descent step on a batch.

    Returns
    -------
    (loss, grads, new_params)
        The loss with the weights before the step, the gradients and the
        updated parameters, each dict keyed "W1", "b1", "W2", "b2".
    """
    raise NotImplementedError("fill in sgd_step: forward, backward, update")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    params = {
        "W1": rng.standard_normal((3, 4)),
        "b1": np.zeros(4),
        "W2": rng.standard_normal((4, 2)),
        "b2": np.zeros(2),
    }
    for step in range(201):
        loss, grads, params = sgd_step(X, Y, **params, lr=0.5)
        if step % 50 == 0:
            print(f"step {step}: loss {loss:.4f}")
