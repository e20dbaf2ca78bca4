"""PyTorch comparisons for tests/test_step_overhead.py: Sum's gradient and a
small MLP's Adam step, values, gradients and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, optim
from tests.helpers import examples
from tests.test_step_overhead import shape_and_dims

torch = pytest.importorskip("torch")


@examples(30)
@given(shape_and_dims(), st.booleans(), st.sampled_from([np.float32, np.float64]))
def test_sum_matches_torch(sd, keepdim, dtype):
    shape, dims = sd
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    x = mg.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    if dims is None:
        y, ty = x.sum(), tx.sum()
    else:
        y, ty = x.sum(dims, keepdim=keepdim), tx.sum(dims, keepdim=keepdim)
    assert y.shape == tuple(ty.shape)
    assert y.dtype == np.dtype(str(ty.dtype).replace("torch.", ""))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    assert x.grad.dtype == dtype
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_mlp_adam_steps_match_torch():
    sizes = [6, 5, 4, 3]
    model = nn.Sequential(
        nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)
    )
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 3),
    )
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.tensor(p.numpy()))
    opt = optim.Adam(model.parameters(), lr=0.01)
    topt = torch.optim.Adam(tmodel.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], 8)
    lf, tlf = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        loss = lf(model(mg.tensor(x)), mg.tensor(y))
        tloss = tlf(tmodel(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        tloss.backward()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            assert p.grad.dtype == np.float32
            np.testing.assert_allclose(
                p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6
            )
        opt.step()
        topt.step()
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-4, atol=1e-5)
