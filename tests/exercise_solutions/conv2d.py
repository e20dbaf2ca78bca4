"""Reference solution: a 2-d convolution layer (stride 1, no padding)."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import minigrad as mg

EXERCISE = "conv2d"


class Conv2d(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        kh, kw = W.shape[2:]
        windows = sliding_window_view(x.data, (kh, kw), axis=(2, 3))
        ctx.windows, ctx.W = windows, W.data
        y = np.einsum("nchwij,ocij->nohw", windows, W.data)
        return y + b.data[None, :, None, None]

    @staticmethod
    def backward(ctx, grad_out):
        g = grad_out.data
        windows, W = ctx.windows, ctx.W
        kh, kw = W.shape[2:]
        ho, wo = g.shape[2:]
        grad_b = g.sum(axis=(0, 2, 3))
        grad_W = np.einsum("nchwij,nohw->ocij", windows, g)
        grad_x = np.zeros((g.shape[0], W.shape[1], ho + kh - 1, wo + kw - 1))
        for i in range(kh):
            for j in range(kw):
                grad_x[:, :, i : i + ho, j : j + wo] += np.einsum(
                    "nohw,oc->nchw", g, W[:, :, i, j]
                )
        return mg.tensor(grad_x), mg.tensor(grad_W), mg.tensor(grad_b)
