"""One neuron (a single-layer perceptron) learns AND, OR and NAND, but not XOR.

    python examples/logic_gates.py

The neuron computes sigmoid(w1 * x1 + w2 * x2 + b) and is trained with the
binary cross-entropy loss. AND, OR and NAND are linearly separable, so it gets
all four rows right. XOR is not: the best it can do is w = 0, output 0.5 for
every input, and the loss stays at ln 2 = 0.693.
"""

import math

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import datasets

for gate in ["AND", "OR", "NAND", "XOR"]:
    mg.manual_seed(0)
    x, y = datasets.logic_gate(gate).tensors  # x: (4, 2), y: (4, 1)
    neuron = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.SGD(neuron.parameters(), lr=1.0)
    loss_fn = nn.BCELoss()
    for _ in range(1000):
        opt.zero_grad()
        loss = loss_fn(neuron(x), y)
        loss.backward()
        opt.step()
    with mg.no_grad():
        out = neuron(x)
    pred = (out.numpy() > 0.5).astype(int).ravel().tolist()
    target = y.numpy().astype(int).ravel().tolist()
    verdict = "learned" if pred == target else f"not learned (ln 2 = {math.log(2):.4f})"
    print(
        f"{gate:<5} loss {loss.item():.4f}  predictions {pred}  target {target}",
        verdict,
    )
