"""alpha_dropout / feature_alpha_dropout (and their modules): SELU's mean and
variance kept, PyTorch's values for the same mask, gradients, eval identity."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

A = 1.7580993408473766


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_alpha_dropout_keeps_selu_mean_and_variance(p):
    x = mg.Tensor(np.random.default_rng(0).standard_normal(400_000))
    y = F.alpha_dropout(x, p, training=True, generator=np.random.default_rng(1))
    assert abs(float(y.mean())) < 0.01
    assert abs(float(y.var()) - 1.0) < 0.02


def test_alpha_dropout_values_and_gradient_follow_the_mask():
    p = 0.3
    x = mg.tensor(np.linspace(-2, 2, 50), requires_grad=True)
    y = F.alpha_dropout(x, p, training=True, generator=np.random.default_rng(3))
    keep = np.random.default_rng(3).random(50) >= p
    a = 1.0 / np.sqrt((A * A * p + 1) * (1 - p))
    expect = np.where(keep, a * x.data, -a * A) + a * A * p
    np.testing.assert_allclose(y.data, expect, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.where(keep, a, 0.0), rtol=1e-12)


def test_feature_alpha_dropout_drops_whole_channels():
    x = mg.ones(4, 6, 5, 5)
    y = F.feature_alpha_dropout(x, 0.5, training=True).data
    per_channel = y.reshape(4, 6, -1)
    assert np.all(per_channel == per_channel[:, :, :1])
    assert len(np.unique(per_channel[:, :, 0])) == 2


def test_identity_when_not_training_and_zero_at_p_one():
    x = mg.randn(3, 4)
    assert F.alpha_dropout(x, 0.5) is x  # training defaults to False
    assert nn.AlphaDropout(0.5).eval()(x) is x
    assert np.all(F.alpha_dropout(x, 1.0, training=True).data == 0)
    with pytest.raises(ValueError, match="alpha_dropout: probability"):
        F.alpha_dropout(x, 1.5, training=True)
    with pytest.raises(ValueError, match=r"feature_alpha_dropout: expected input"):
        F.feature_alpha_dropout(mg.ones(3), 0.5, training=True)


def test_modules_in_training_mode():
    x = mg.randn(8, 3, 4)
    m = nn.FeatureAlphaDropout(0.5)
    assert m.training
    assert not np.allclose(m(x).data, x.data)
    assert "p=0.5" in repr(nn.AlphaDropout(0.5))


def test_matches_torch_for_the_same_mask():
    torch = pytest.importorskip("torch")
    # PyTorch draws its own mask: compare the two values a unit can take.
    torch.manual_seed(0)
    x = torch.full((10000,), 0.7, dtype=torch.float64)
    ours = F.alpha_dropout(mg.from_numpy(x.numpy()), 0.4, training=True).data
    theirs = torch.nn.functional.alpha_dropout(x, 0.4, training=True).numpy()
    np.testing.assert_allclose(np.unique(ours), np.unique(theirs), rtol=1e-12)
