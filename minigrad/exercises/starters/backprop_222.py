"""Exercise: backpropagation and one SGD step by hand in a 2-2-2 sigmoid network.

The classic worked example (Matt Mazur, "A Step by Step Backpropagation
Example"): two inputs, two sigmoid hidden neurons, two sigmoid outputs, the
squared error, and one step of gradient descent, all by hand in numpy.

The network
-----------
    h   = sigmoid(W1 @ x + b1)          x: (2,)   W1: (2, 2)   b1: (2,)   h: (2,)
    out = sigmoid(W2 @ h + b2)          W2: (2, 2)   b2: (2,)   out: (2,)
    E   = sum_k 1/2 * (target_k - out_k)^2

W1[j, i] is the weight from input i to hidden neuron j (so W1 = [[w1, w2],
[w3, w4]] in the article's names), and W2[k, j] the weight from hidden neuron j
to output k (W2 = [[w5, w6], [w7, w8]]).

The classic numbers: x = (0.05, 0.10), target = (0.01, 0.99), W1 = [[0.15, 0.20],
[0.25, 0.30]], b1 = (0.35, 0.35), W2 = [[0.40, 0.45], [0.50, 0.55]], b2 = (0.60,
0.60), lr = 0.5. Then E = 0.298371109 and, after the step, w5 = 0.35891648 and
w1 = 0.149780716.

What to do
----------
1. Forward: compute h, out and E.
2. Backward: the error signal of each output neuron, delta_out = dE/d(net_out)
   (dE/dout times the sigmoid's derivative), then dE/dW2, dE/db2; then the
   error signal of each hidden neuron, delta_h = dE/d(net_h), which collects
   delta_out through the weights W2 (the ones from before the update), then
   dE/dW1, dE/db1. Every gradient has the shape of its parameter.
3. One SGD step: new = old - lr * gradient, for W1, b1, W2 and b2 (the article
   keeps its biases fixed; here they are updated too, which does not change the
   new weights).

Fill in ``sgd_step``; ``sigmoid`` is given. Return plain numpy arrays and do not
modify the arguments in place.

Give each step a variable of its own (delta_out, the gradients, delta_h, the
new weights): the checker compares every one with autograd and names the first
wrong one.

Check your work (against minigrad's autograd, on the classic numbers and on
random ones):

    python -m minigrad exercises check backprop_222.py
"""

import numpy as np

EXERCISE = "backprop_222"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sgd_step(
    x: np.ndarray,
    target: np.ndarray,
    W1: np.ndarray,
    b1: np.ndarray,
    W2: np.ndarray,
    b2: np.ndarray,
    lr: float,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One gradient-descent step on E for one example.

    Returns
    -------
    (E, W1_new, b1_new, W2_new, b2_new)
        E computed with the weights before the step.
    """
    raise NotImplementedError("fill in sgd_step: forward, backward, update")


if __name__ == "__main__":
    E, W1, b1, W2, b2 = sgd_step(
        np.array([0.05, 0.10]),
        np.array([0.01, 0.99]),
        np.array([[0.15, 0.20], [0.25, 0.30]]),
        np.array([0.35, 0.35]),
        np.array([[0.40, 0.45], [0.50, 0.55]]),
        np.array([0.60, 0.60]),
        0.5,
    )
    print("E =", E, "(expected 0.298371109)")
    print("W2 after the step:", W2, "(expected w5 = 0.35891648)")
    print("W1 after the step:", W1, "(expected w1 = 0.149780716)")
