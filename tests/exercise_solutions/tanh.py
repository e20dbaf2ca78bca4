"""Reference solution: the hyperbolic tangent."""

import numpy as np

import minigrad as mg

EXERCISE = "tanh"


class Tanh(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x.data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        grad_x = grad_out * (1 - y * y)
        return grad_x
