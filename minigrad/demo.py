"""The demo: a 2-8-1 tanh/sigmoid network learns XOR with the tensor engine."""

from __future__ import annotations

import numpy as np

import minigrad as mg


def run(steps: int = 500) -> int:
    mg.manual_seed(0)
    x = mg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = mg.tensor([[0.0], [1.0], [1.0], [0.0]])
    w1 = (mg.randn(2, 8) * 1.0).requires_grad_()
    b1 = mg.zeros(8, requires_grad=True)
    w2 = (mg.randn(8, 1) * 1.0).requires_grad_()
    b2 = mg.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    lr = 0.5
    for step in range(steps + 1):
        p = ((x @ w1 + b1).tanh() @ w2 + b2).sigmoid()
        loss = -(
            y * p.clamp(1e-7, 1).log() + (1 - y) * (1 - p).clamp(1e-7, 1).log()
        ).mean()
        for t in params:
            t.grad = None
        loss.backward()
        with mg.no_grad():
            for t in params:
                t -= lr * t.grad
        if step % 100 == 0:
            print(f"XOR step {step:4d}  BCE loss {loss.item():.4f}")
    pred = (p.numpy() > 0.5).astype(np.int64).ravel()
    print(f"XOR predictions {pred.tolist()} (target [0, 1, 1, 0])")
    return 0
