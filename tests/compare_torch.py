"""A forward-and-gradient comparison of a minigrad function with its PyTorch
counterpart (used by the issue-14 op tests)."""

from __future__ import annotations

import numpy as np

import minigrad as mg

RNG = np.random.default_rng(1414)  # the upstream gradients


def _to_mg(x):
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            return mg.tensor(x, dtype=mg.float64, requires_grad=True)
        return mg.tensor(x)
    return x


def _to_torch(x):
    import torch

    if isinstance(x, np.ndarray):
        t = torch.from_numpy(x.copy())
        if x.dtype.kind == "f":
            t.requires_grad_(True)
        return t
    return x


def _outs(o):
    if isinstance(o, (tuple, list)):
        return list(o)
    return [o]


def compare(mg_fn, torch_fn, args, grad=True, rtol=1e-10, atol=1e-12):
    """Same outputs (values and dtypes) and the same gradients of
    sum(out * w) for a random w, in both libraries."""
    import torch

    ma = [_to_mg(a) for a in args]
    ta = [_to_torch(a) for a in args]
    with mg.set_grad_enabled(grad):
        mo = _outs(mg_fn(*ma))
    to = _outs(torch_fn(*ta))
    assert len(mo) == len(to)
    for m, t in zip(mo, to):
        assert m.shape == tuple(t.shape), (m.shape, t.shape)
        assert str(m.dtype) == str(t.dtype).replace("torch.", ""), (m.dtype, t.dtype)
        np.testing.assert_allclose(m.data, t.detach().numpy(), rtol=rtol, atol=atol)
    if not grad:
        return
    diff = [(m, t) for m, t in zip(mo, to) if t.requires_grad]
    if not diff:
        return
    ws = [RNG.standard_normal(t.shape) for _, t in diff]
    ls_m = sum((m * mg.tensor(w)).sum() for (m, _), w in zip(diff, ws))
    ls_t = sum((t * torch.from_numpy(w)).sum() for (_, t), w in zip(diff, ws))
    leaves_m = [m for m in ma if isinstance(m, mg.Tensor) and m.requires_grad]
    leaves_t = [t for t in ta if isinstance(t, torch.Tensor) and t.requires_grad]
    gm = mg.autograd.grad(ls_m, leaves_m, allow_unused=True)
    gt = torch.autograd.grad(ls_t, leaves_t, allow_unused=True)
    for a, b in zip(gm, gt):
        if b is None:
            assert a is None or not np.any(a.data)
            continue
        np.testing.assert_allclose(a.data, b.numpy(), rtol=rtol, atol=atol)
