"""mg.linalg: inv, det, slogdet, solve, cholesky (values and gradients against
PyTorch, gradcheck and gradgradcheck on drawn batch shapes), qr, svd, eigh and
pinv (forward only: values, and a clear error when a gradient is asked for)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.compare_torch import compare
from tests.helpers import examples

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1416)


def _well(*shape):
    """Well-conditioned square matrices (diagonally dominant)."""
    n = shape[-1]
    return RNG.standard_normal(shape) + 3 * np.eye(n)


def _spd(*shape):
    x = RNG.standard_normal(shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


TOL = {"rtol": 1e-8, "atol": 1e-10}

CASES = [
    ("inv", lambda a: mg.linalg.inv(a), lambda a: torch.linalg.inv(a), [_well(3, 3)]),
    ("inv_batch", lambda a: a.inverse(), lambda a: a.inverse(), [_well(2, 3, 3)]),
    ("det", lambda a: mg.linalg.det(a), lambda a: torch.linalg.det(a), [_well(3, 3)]),
    ("det_batch", lambda a: a.det(), lambda a: a.det(), [_well(2, 2, 2)]),
    ("slogdet", lambda a: mg.linalg.slogdet(a), lambda a: torch.linalg.slogdet(a),
     [_well(3, 3) - 6 * np.eye(3)]),
    ("solve_mat", lambda a, b: mg.linalg.solve(a, b),
     lambda a, b: torch.linalg.solve(a, b), [_well(3, 3), RNG.standard_normal((3, 2))]),
    ("solve_vec", lambda a, b: mg.linalg.solve(a, b),
     lambda a, b: torch.linalg.solve(a, b), [_well(3, 3), RNG.standard_normal(3)]),
    ("solve_batch_bcast", lambda a, b: mg.linalg.solve(a, b),
     lambda a, b: torch.linalg.solve(a, b),
     [_well(2, 3, 3), RNG.standard_normal((3, 4))]),
    ("solve_right", lambda a, b: mg.linalg.solve(a, b, left=False),
     lambda a, b: torch.linalg.solve(a, b, left=False),
     [_well(3, 3), RNG.standard_normal((2, 3))]),
    ("cholesky_sym", lambda a: mg.linalg.cholesky(a @ a.mT + 3 * mg.eye(3)),
     lambda a: torch.linalg.cholesky(a @ a.mT + 3 * torch.eye(3)),
     [RNG.standard_normal((3, 3))]),
    ("cholesky_upper",
     lambda a: mg.linalg.cholesky(a @ a.mT + 3 * mg.eye(3), upper=True),
     lambda a: torch.linalg.cholesky(a @ a.mT + 3 * torch.eye(3), upper=True),
     [RNG.standard_normal((2, 3, 3))]),
]  # fmt: skip


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_against_torch(name):
    _, fm, ft, args = next(c for c in CASES if c[0] == name)
    compare(fm, ft, args, **TOL)


@examples(15, deadline=None)
@given(st.lists(st.integers(1, 2), max_size=2), st.integers(1, 3), st.integers(0, 999))
def test_gradcheck_drawn_batches(batch, n, seed):
    rng = np.random.default_rng(seed)
    shape = (*batch, n, n)
    a = mg.tensor(rng.standard_normal(shape) + 3 * np.eye(n), requires_grad=True)
    b = mg.tensor(rng.standard_normal((*batch, n, 2)), requires_grad=True)
    gc, ggc = mg.autograd.gradcheck, mg.autograd.gradgradcheck
    for fn in (mg.linalg.inv, mg.linalg.det, lambda x: mg.linalg.slogdet(x)[1]):
        assert gc(fn, [a])
        assert ggc(fn, [a])
    assert gc(mg.linalg.solve, [a, b])
    assert ggc(mg.linalg.solve, [a, b])

    def chol(x):
        return mg.linalg.cholesky(x @ x.mT + n * mg.eye(n, dtype=mg.float64))

    assert gc(chol, [a])
    assert ggc(chol, [a])


def test_forward_only_ops_match_torch():
    a = RNG.standard_normal((4, 3))
    s = _spd(3, 3)
    ma, ta = mg.tensor(a), torch.from_numpy(a)
    q, r = mg.linalg.qr(ma)
    np.testing.assert_allclose((q @ r).data, a, **TOL)
    assert q.shape == tuple(torch.linalg.qr(ta).Q.shape)
    u, sv, vh = mg.linalg.svd(ma, full_matrices=False)
    np.testing.assert_allclose(sv.data, torch.linalg.svdvals(ta).numpy(), **TOL)
    np.testing.assert_allclose((u * sv @ vh).data, a, **TOL)
    w, _ = mg.linalg.eigh(mg.tensor(s))
    np.testing.assert_allclose(w.data, torch.linalg.eigh(torch.from_numpy(s))[0], **TOL)
    np.testing.assert_allclose(
        mg.linalg.pinv(ma).data, torch.linalg.pinv(ta).numpy(), **TOL
    )


@pytest.mark.parametrize("op", ["qr", "svd", "eigh", "pinv"])
def test_forward_only_ops_refuse_a_gradient(op):
    a = mg.tensor(_spd(3, 3), requires_grad=True)
    with pytest.raises(NotImplementedError, match=f"linalg.{op}.*forward only"):
        getattr(mg.linalg, op)(a)
    with mg.no_grad():
        getattr(mg.linalg, op)(a)


def test_errors():
    with pytest.raises(ValueError, match=r"inv: .*[Ss]ingular"):
        mg.linalg.inv(mg.zeros(2, 2))
    with pytest.raises(ValueError, match=r"det: expected a .*square"):
        mg.linalg.det(mg.zeros(2, 3))
    with pytest.raises(ValueError, match="cholesky"):
        mg.linalg.cholesky(-mg.eye(2))
    with pytest.raises(ValueError, match="solve"):
        mg.linalg.solve(mg.eye(2), mg.zeros(3))
