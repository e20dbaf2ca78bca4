"""Reference solution: the rectifier."""

import numpy as np

import minigrad as mg

EXERCISE = "relu"


class ReLU(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.mask = x.data > 0
        return np.maximum(x.data, 0.0)

    @staticmethod
    def backward(ctx, grad_out):
        mask = mg.tensor(ctx.mask, dtype=grad_out.dtype)
        return grad_out * mask
