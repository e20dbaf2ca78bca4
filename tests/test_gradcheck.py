"""gradcheck, gradgradcheck and gradcheck_module: passing on correct ops, failing
with the worst elements and a diagnosis, the float64 warning, double backward,
whole Modules (float64 and restored)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.gradcheck import (
    GradcheckError,
    compute_checks,
    gradcheck,
    gradcheck_module,
    gradgradcheck,
)

RNG = np.random.default_rng(7)


def _leaf(*shape, lo=-2.0, hi=2.0):
    return mg.tensor(RNG.uniform(lo, hi, shape), dtype=mg.float64, requires_grad=True)


# -- Functions used below ------------------------------------------------------------


class Cube(mg.autograd.Function):
    """y = x³; dy/dx = 3x², written with Tensor ops (double backward works)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class CubeNumpyBackward(Cube):
    """The right first derivative, computed in numpy: not differentiable."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * mg.tensor(3 * x.data**2, dtype=x.dtype)


class CubeDetachedBackward(Cube):
    """The right first derivative, with x detached: a wrong second derivative."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xd = x.detach()
        return g * 3 * xd * xd


class HalfCube(Cube):
    """Forgets nothing but halves: dy/dx = 1.5 x² (a constant factor 0.5)."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 1.5 * x * x


class AddRowWrongShape(mg.autograd.Function):
    """z = a + b with b (n,) broadcast over a (m, n); backward for b returned
    transposed-shaped garbage the engine cannot sum."""

    @staticmethod
    def forward(ctx, a, b):
        return a.data + b.data

    @staticmethod
    def backward(ctx, g):
        return g, g.T


class AddRowUnsummed(AddRowWrongShape):
    @staticmethod
    def backward(ctx, g):
        return g, g  # b's gradient left in the output's shape


# -- gradcheck -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "shapes"),
    [
        (mg.tanh, [(3, 4)]),
        (lambda a, b: a * b + a / (b * b + 1), [(2, 3), (3,)]),
        (mg.matmul, [(2, 3), (3, 4)]),
        (lambda x: mg.softmax(x, dim=1), [(2, 5)]),
        (lambda x: (x.exp().sum(1), x.mean()), [(3, 2)]),
        (Cube.apply, [(4,)]),
    ],
)
def test_gradcheck_passes_on_correct_ops(fn, shapes):
    assert gradcheck(fn, tuple(_leaf(*s) for s in shapes))


def test_gradcheck_ignores_integer_outputs():
    x = mg.tensor([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]], dtype=mg.float64)
    x.requires_grad_()
    assert gradcheck(lambda t: t.max(1), (x,))


def test_gradcheck_failure_lists_the_worst_elements():
    x = mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(HalfCube.apply, (x,))
    msg = str(info.value)
    assert "3 of 9 Jacobian entries differ" in msg
    assert re.search(r"input idx\s+output idx\s+analytical\s+numerical\s+abs err", msg)
    # The worst is x[2] = 3: analytical 13.5, numerical 27, abs err 13.5, rel err 0.5.
    row = next(line for line in msg.splitlines() if line.strip().startswith("(2,)"))
    idx_in, idx_out, a, n, err, rel = row.split()
    assert (idx_in, idx_out) == ("(2,)", "(2,)")
    assert float(a) == pytest.approx(13.5)
    assert float(n) == pytest.approx(27.0, rel=1e-6)
    assert float(err) == pytest.approx(13.5, rel=1e-3)
    assert float(rel) == pytest.approx(0.5, rel=1e-3)
    assert "half the true gradient" in msg
    assert isinstance(info.value, RuntimeError)
    (check,) = info.value.checks
    assert check.index == 0
    assert check.analytical.shape == check.numerical.shape == (3, 3)


def test_gradcheck_without_raise_returns_false():
    x = _leaf(3)
    assert gradcheck(HalfCube.apply, (x,), raise_exception=False) is False
    assert gradcheck(Cube.apply, (x,), raise_exception=False) is True


def test_gradcheck_warns_when_not_float64():
    x = mg.tensor([0.5, 1.0], dtype=mg.float32, requires_grad=True)
    with pytest.warns(UserWarning, match="input 0 is float32, not float64"):
        gradcheck(mg.tanh, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(mg.tanh, (mg.tensor([1.0], dtype=mg.float64),))


def test_gradcheck_reports_a_gradient_the_engine_refused():
    a, b = _leaf(2, 3), _leaf(3)
    with pytest.raises(GradcheckError) as info:
        gradcheck(AddRowWrongShape.apply, (a, b))
    assert "shape (3, 2)" in str(info.value)
    assert [c.index for c in info.value.checks if not c.passed] == [1]


def test_gradcheck_strict_catches_an_unsummed_broadcast_dimension():
    a, b = _leaf(4, 3), _leaf(3)
    # The engine sums the (4, 3) gradient for b down to (3,), as PyTorch does.
    assert gradcheck(AddRowUnsummed.apply, (a, b))
    with pytest.raises(GradcheckError) as info:
        gradcheck(AddRowUnsummed.apply, (a, b), strict=True)
    (f,) = info.value.findings
    assert (f.kind, f.index) == ("broadcast", 1)
    assert "broadcast dimension(s) (0,) were not summed" in str(info.value)


def test_gradcheck_kink_is_diagnosed():
    x = mg.tensor([-1.0, 0.0, 2.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="right only away from a kink"):
        gradcheck(mg.relu, (x,))


def test_compute_checks_keeps_one_sided_differences_and_inputs():
    x = _leaf(2, 2)
    (c,) = compute_checks(mg.tanh, (x,), 1e-6, 1e-5, 1e-3)
    assert c.passed
    np.testing.assert_allclose(c.numerical_left, c.numerical, atol=1e-5)
    np.testing.assert_allclose(c.numerical_right, c.numerical, atol=1e-5)
    np.testing.assert_array_equal(c.input_values, x.data.ravel())


def test_gradcheck_dispatches_scalar_values_and_diagnoses_them():
    scalar = pytest.importorskip("minigrad.scalar")
    try:
        a, b = scalar.Value(1.5), scalar.Value(-0.5)
    except Exception as exc:  # the compiled scalar engine is not built
        pytest.skip(f"scalar engine unavailable: {exc}")
    assert gradcheck(lambda a, b: a * b + a.tanh(), (a, b))
    checks = compute_checks(lambda a, b: [a * b, a + b], (a, b), 1e-6, 1e-5, 1e-3)
    checks[0].analytical = -checks[0].analytical
    from minigrad.autograd.diagnose import diagnose

    assert [f.kind for f in diagnose(checks)] == ["sign"]


# -- gradgradcheck ---------------------------------------------------------------------


def test_gradgradcheck_passes_when_backward_is_differentiable():
    assert gradgradcheck(Cube.apply, (_leaf(3),))
    assert gradgradcheck(lambda a, b: (a * b).tanh(), (_leaf(2, 2), _leaf(2)))


@pytest.mark.parametrize("fn", [CubeNumpyBackward, CubeDetachedBackward])
def test_gradgradcheck_catches_a_wrong_double_backward(fn):
    x = _leaf(3, lo=0.5, hi=2.0)
    assert gradcheck(fn.apply, (x,))  # the first derivative is right
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(fn.apply, (x,))
    failed = [c for c in info.value.checks if not c.passed]
    assert [c.index for c in failed] == [0]  # d(grad)/dx is wrong, d(grad)/dv right
    assert gradgradcheck(fn.apply, (x,), raise_exception=False) is False


# -- gradcheck_module ------------------------------------------------------------------


def test_gradcheck_module_checks_every_parameter_in_float64_and_restores():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 2))
    params = list(model.parameters())
    arrays = [p.data for p in params]
    before = [a.copy() for a in arrays]
    params[0].grad = mg.tensor(np.ones(params[0].shape, np.float32))
    grad0 = params[0].grad
    x = mg.tensor(RNG.standard_normal((5, 3)), dtype=mg.float32)
    assert gradcheck_module(model, x)
    for p, arr, old in zip(params, arrays, before):
        assert p.data is arr
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, old)
    assert params[0].grad is grad0
    assert params[1].grad is None
    assert x.dtype == np.float32
    assert not x.requires_grad


class _BadLinear(mg.nn.Module):
    """y = x @ W.T with a backward that forgets nothing but the sign of dW."""

    def __init__(self):
        super().__init__()
        self.weight = mg.nn.Parameter(RNG.standard_normal((2, 3)))

    def forward(self, x):
        return _WrongSignW.apply(x, self.weight)


class _WrongSignW(mg.autograd.Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x.data @ w.data.T

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        return g @ w, -(g.T @ x)


def test_gradcheck_module_names_the_wrong_parameter():
    model = mg.nn.Sequential(_BadLinear(), mg.nn.Tanh())
    x = mg.tensor(RNG.uniform(0.5, 1.0, (4, 3)), dtype=mg.float64)
    with pytest.raises(GradcheckError) as info:
        gradcheck_module(model, x)
    msg = str(info.value)
    assert "parameter '0.weight'" in msg
    failed = [c for c in info.value.checks if not c.passed]
    assert [c.label for c in failed] == ["parameter '0.weight'"]
    assert gradcheck_module(model, x, raise_exception=False) is False


def test_gradcheck_module_restores_buffers_and_rejects_randomness():
    bn = mg.nn.BatchNorm1d(3)
    mean_arr = bn.running_mean.data
    mean = mean_arr.copy()
    assert gradcheck_module(bn, mg.tensor(RNG.standard_normal((6, 3))))
    assert bn.running_mean.data is mean_arr
    np.testing.assert_array_equal(bn.running_mean.data, mean)
    drop = mg.nn.Sequential(mg.nn.Linear(3, 3), mg.nn.Dropout(0.5))
    with pytest.raises(ValueError, match="eval"):
        gradcheck_module(drop, mg.tensor(RNG.standard_normal((4, 3))))
    drop.eval()
    assert gradcheck_module(drop, mg.tensor(RNG.standard_normal((4, 3))))
