"""Reference solution: backprop and one SGD step in the 2-2-2 network."""

import numpy as np

EXERCISE = "backprop_222"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sgd_step(x, target, W1, b1, W2, b2, lr):
    h = sigmoid(W1 @ x + b1)
    out = sigmoid(W2 @ h + b2)
    E = 0.5 * np.sum((target - out) ** 2)
    delta_out = (out - target) * out * (1 - out)
    grad_W2 = np.outer(delta_out, h)
    grad_b2 = delta_out
    delta_h = (W2.T @ delta_out) * h * (1 - h)
    grad_W1 = np.outer(delta_h, x)
    grad_b1 = delta_h
    W1_new = W1 - lr * grad_W1
    b1_new = b1 - lr * grad_b1
    W2_new = W2 - lr * grad_W2
    b2_new = b2 - lr * grad_b2
    return E, W1_new, b1_new, W2_new, b2_new
