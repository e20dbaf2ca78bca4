"""Large logits keep their precision: log_softmax and cross-entropy take
-log p_j as (max - x_j) + log Σ exp(x - max), never x_j - lse (where lse = max +
log Σ rounds the log away when |max| is large). Regressions found by the fuzzer
(tests/fuzz, category lse-cancel), on every ISA and both dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _act
from minigrad._C import _softmax as S

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]


def _ref_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5, 31, 32, 100, 1000])
@pytest.mark.parametrize("dim", [-1, 0])
def test_log_softmax_of_large_logits_keeps_log_sum(isa, dtype, n, dim):
    big = 1e8 if dtype == np.float32 else 1e17
    x = np.zeros((n, 3) if dim == 0 else (3, n), dtype)
    idx = (slice(0, 2), slice(None)) if dim == 0 else (slice(None), slice(0, 2))
    x[idx] = big
    y = S.softmax_fwd(x, dim, log=True, isa=isa)
    np.testing.assert_allclose(y, _ref_log_softmax(x, dim), rtol=1e-5, atol=1e-6)
    assert np.allclose(y[idx], -np.log(2), rtol=1e-5)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [3, 12, 40, 300])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_of_large_logits_keeps_log_sum(isa, dtype, c, smoothing):
    big = 1e8 if dtype == np.float32 else 1e17
    x = np.full((4, c), big, dtype)
    x[1, 0] = 0  # one class far below: its -log p is big itself
    t = np.array([0, 1, 2, 0])
    loss, _ = S.xent_fwd(x, t, label_smoothing=smoothing, isa=isa)
    ref = -_ref_log_softmax(x, -1)
    want = (1 - smoothing) * ref[np.arange(4), t] + smoothing * ref.mean(axis=1)
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    assert np.isclose(loss[0], np.log(c), rtol=1e-5)


def test_cross_entropy_op_of_large_logits():
    x = mg.tensor(np.full((1, 12), 1e8, np.float32))
    loss = F.cross_entropy(x, mg.tensor([0]))
    assert np.isclose(loss.item(), np.log(12), rtol=1e-5)


@pytest.mark.parametrize("eps", [-0.5, 1.5, float("nan")])
def test_xent_bwd_rejects_label_smoothing_outside_unit_interval(eps):
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        S.xent_bwd(
            x,
            np.full(2, np.log(3)),
            np.array([0, 1]),
            np.array(1.0),
            label_smoothing=eps,
        )
