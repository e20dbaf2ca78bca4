"""Reference solution: a 2-layer MLP on a batch, backprop and one SGD step."""

import numpy as np

EXERCISE = "mlp_batch"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sgd_step(X, Y, W1, b1, W2, b2, lr):
    N = X.shape[0]
    z1 = X @ W1 + b1
    h = sigmoid(z1)
    out = h @ W2 + b2
    loss = 0.5 * np.sum((out - Y) ** 2) / N
    delta2 = (out - Y) / N
    dW2 = h.T @ delta2
    db2 = delta2.sum(axis=0)
    dh = delta2 @ W2.T
    delta1 = dh * h * (1 - h)
    dW1 = X.T @ delta1
    db1 = delta1.sum(axis=0)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    W1_new = W1 - lr * dW1
    b1_new = b1 - lr * db1
    W2_new = W2 - lr * dW2
    b2_new = b2 - lr * db2
    new_params = {"W1": W1_new, "b1": b1_new, "W2": W2_new, "b2": b2_new}
    return loss, grads, new_params
