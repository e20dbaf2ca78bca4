"""Issue-14 activations against PyTorch: values, gradients (plain and recorded
backward) and dtypes in float32 and float64, at kinks and at NaN / ±inf; the
composites (glu, softmin, prelu) over dims and shapes; the modules beside
PyTorch's with the same parameters. Skipped without torch."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name -> (minigrad form, torch form, kinks to hit exactly)
PAIRS = {
    "elu": (F.elu, TF.elu, [0.0]),
    "elu_a2": (lambda t: F.elu(t, 2.0), lambda t: TF.elu(t, 2.0), [0.0]),
    "elu_neg_alpha": (lambda t: F.elu(t, -0.5), lambda t: TF.elu(t, -0.5), [0.0]),
    "selu": (F.selu, TF.selu, [0.0]),
    "celu": (lambda t: F.celu(t, 0.5), lambda t: TF.celu(t, 0.5), [0.0]),
    "mish": (F.mish, TF.mish, [0.0]),
    "relu6": (F.relu6, TF.relu6, [0.0, 6.0]),
    "hardtanh": (F.hardtanh, TF.hardtanh, [-1.0, 1.0]),
    "hardtanh_m2_3": (
        lambda t: F.hardtanh(t, -2.0, 3.0),
        lambda t: TF.hardtanh(t, -2.0, 3.0),
        [-2.0, 3.0],
    ),
    "hardswish": (F.hardswish, TF.hardswish, [-3.0, 3.0, 0.0]),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0]),
    "hardshrink": (F.hardshrink, TF.hardshrink, [-0.5, 0.5]),
    "hardshrink_0": (
        lambda t: F.hardshrink(t, 0.0),
        lambda t: TF.hardshrink(t, 0.0),
        [0.0],
    ),
    "softshrink": (F.softshrink, TF.softshrink, [-0.5, 0.5]),
    "softshrink_2": (
        lambda t: F.softshrink(t, 2.0),
        lambda t: TF.softshrink(t, 2.0),
        [-2.0, 2.0],
    ),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [0.0]),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, [0.0]),
    "softsign": (F.softsign, TF.softsign, [0.0]),
    "threshold": (
        lambda t: F.threshold(t, 0.5, -3.0),
        lambda t: TF.threshold(t, 0.5, -3.0),
        [0.5],
    ),
    "rrelu_eval": (F.rrelu, TF.rrelu, [0.0]),
    "prelu": (
        lambda t: F.prelu(t, mg.tensor([0.25], dtype=t.dtype)),
        lambda t: TF.prelu(t, torch.tensor([0.25], dtype=t.dtype)),
        [0.0],
    ),
    "softmin": (lambda t: F.softmin(t, 0), lambda t: TF.softmin(t, 0), []),
}

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4, 100.0, -100.0, 30.0, -30.0]
TOL = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 0}}


def _data(name, dtype, special):
    rng = np.random.default_rng(0)
    kinks = PAIRS[name][2]
    base = [rng.uniform(-8, 8, 40), np.array(kinks, float)]
    if special:
        base.append(np.array(SPECIAL))
    return np.concatenate(base).astype(dtype)


# float64 exceptions: PyTorch computes hardsigmoid's gradient with a float32
# 1/6; its softsign gradient (a composite's) cancels for large |x|, where
# r·(1 - |x|·r) here keeps a few more digits.
LOOSE = {
    "hardsigmoid": {"rtol": 1e-7, "atol": 0},
    "softsign": {"rtol": 1e-6, "atol": 1e-30},
}


def _compare(name, dtype, arr, create_graph):
    fn, tfn, _ = PAIRS[name]
    rng = np.random.default_rng(1)
    g = rng.uniform(0.5, 1.5, arr.shape).astype(dtype)
    x = mg.tensor(arr, requires_grad=True)
    y = fn(x)
    (gx,) = mg.autograd.grad(y, x, mg.tensor(g), create_graph=create_graph)
    xt = torch.tensor(arr, requires_grad=True)
    yt = tfn(xt)
    (gt,) = torch.autograd.grad(yt, xt, torch.tensor(g))
    assert y.dtype == dtype
    assert gx.dtype == dtype
    assert str(yt.dtype) == f"torch.{np.dtype(dtype).name}"
    tol = LOOSE.get(name, TOL[dtype]) if dtype == np.float64 else TOL[dtype]
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    # NOTE: at NaN input PyTorch's gradient depends on its loop: the scalar
    # loop's formula (followed here, e.g. hardtanh'(NaN) = 1) or the
    # vectorised one (often NaN or 0). Only the forward is compared there.
    ok = ~np.isnan(arr)
    np.testing.assert_allclose(gx.numpy()[ok], gt.numpy()[ok], **tol, err_msg=name)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_activation_more_matches_torch(name, dtype, create_graph):
    _compare(name, dtype, _data(name, dtype, special=False), create_graph)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(set(PAIRS) - {"softmin"}))
def test_activation_more_special_values_match_torch(name, dtype, create_graph, recwarn):
    # NaN and ±inf give what PyTorch gives (incl. NaN gradients), quietly
    _compare(name, dtype, _data(name, dtype, special=True), create_graph)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_activation_more_large_values_match_torch():
    arr = np.array([-1e30, -1e10, -88.0, -20.0, 20.0, 88.0, 1e10, 1e30])
    for name in ("logsigmoid", "mish", "softsign", "elu", "selu", "celu"):
        for dtype in (np.float32, np.float64):
            _compare(name, dtype, arr.astype(dtype), False)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_glu_and_softmin_match_torch(dim):
    rng = np.random.default_rng(2)
    shape = [2, 3, 4]
    shape[dim] = 4
    arr = rng.standard_normal(shape)
    for fn, tfn in (
        (lambda t: F.glu(t, dim), lambda t: TF.glu(t, dim)),
        (lambda t: F.softmin(t, dim), lambda t: TF.softmin(t, dim)),
    ):
        for dtype in (np.float32, np.float64):
            x = mg.tensor(arr.astype(dtype), requires_grad=True)
            xt = torch.tensor(arr.astype(dtype), requires_grad=True)
            y, yt = fn(x), tfn(xt)
            g = rng.standard_normal(y.shape).astype(dtype)
            y.backward(mg.tensor(g))
            yt.backward(torch.tensor(g))
            assert y.dtype == dtype
            np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **TOL[dtype])
            np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize(
    ("xshape", "wshape"),
    [((2, 3), (3,)), ((2, 3, 4), (3,)), ((2, 3, 4, 5), (3,)), ((2, 3, 4), (1,)),
     ((5,), (1,)), ((), (1,)), ((2, 3), ()), ((0, 3), (3,))],
)  # fmt: skip
def test_prelu_matches_torch(xshape, wshape):
    rng = np.random.default_rng(3)
    arr = rng.standard_normal(xshape)
    arr.flat[:1] = 0.0  # a kink
    w = rng.uniform(-0.5, 0.5, wshape)
    x, wm = mg.tensor(arr, requires_grad=True), mg.tensor(w, requires_grad=True)
    xt = torch.tensor(arr, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    y, yt = F.prelu(x, wm), TF.prelu(xt, wt)
    g = rng.standard_normal(xshape)
    y.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.prelu(wm).numpy(), xt.prelu(wt).detach().numpy())


def test_rrelu_training_gradient_is_the_sampled_slope_like_torch():
    arr = np.linspace(-3, 3, 13)
    for lib, fn in ((mg, F.rrelu), (torch, TF.rrelu)):
        x = lib.tensor(arr, requires_grad=True)
        y = fn(x, 0.1, 0.3, training=True)
        y.sum().backward()
        yv, gv = np.asarray(y.detach().numpy()), np.asarray(x.grad.numpy())
        neg = arr < 0
        np.testing.assert_allclose(gv[neg], yv[neg] / arr[neg], rtol=1e-12)
        assert np.all(gv[~neg & (arr != 0)] == 1)
        assert np.all((gv[neg] >= 0.1) & (gv[neg] <= 0.3))


def _modules():
    return [
        ("ELU", (0.7,)),
        ("SELU", ()),
        ("CELU", (0.7,)),
        ("Mish", ()),
        ("ReLU6", ()),
        ("Hardtanh", (-2.0, 3.0)),
        ("Hardswish", ()),
        ("Hardsigmoid", ()),
        ("Hardshrink", (0.3,)),
        ("Softshrink", (0.3,)),
        ("Tanhshrink", ()),
        ("LogSigmoid", ()),
        ("Softsign", ()),
        ("Softmin", (1,)),
        ("GLU", (1,)),
        ("Threshold", (0.2, -4.0)),
        ("Softmax2d", ()),
        ("PReLU", (3, 0.1)),
    ]


@pytest.mark.parametrize(("cls", "args"), _modules())
def test_modules_match_torch(cls, args):
    rng = np.random.default_rng(4)
    arr = rng.standard_normal((2, 4, 3, 2)) * 3
    if cls == "PReLU":
        arr = arr[:, :3]
    m, mt = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    for (k, p), (kt, pt) in zip(
        m.named_parameters(), mt.named_parameters(), strict=True
    ):
        assert k == kt
        p.data[...] = rng.uniform(-0.5, 0.5, p.shape)
        with torch.no_grad():
            pt.copy_(torch.tensor(p.numpy()))
    assert repr(m) == repr(mt)
    assert list(m.state_dict()) == list(mt.state_dict())
    x = mg.tensor(arr.astype(np.float32), requires_grad=True)
    xt = torch.tensor(arr.astype(np.float32), requires_grad=True)
    y, yt = m(x), mt(xt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(mg.tensor(g))
    yt.backward(torch.tensor(g))
    tol = TOL[np.float32]
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **tol)
    for p, pt in zip(m.parameters(), mt.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize(
    "cls",
    ["ELU", "SELU", "CELU", "Mish", "ReLU6", "Hardtanh", "Hardswish", "Hardsigmoid",
     "Threshold", "RReLU"],
)  # fmt: skip
def test_inplace_modules_match_torch(cls):
    args = (0.2, -4.0, True) if cls == "Threshold" else (True,)
    if cls in ("ELU", "CELU"):
        args = (1.0, True)
    elif cls == "Hardtanh":
        args = (-1.0, 1.0, True)
    elif cls == "RReLU":
        args = (0.125, 1 / 3, True)
    m, mt = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    m.eval()
    mt.eval()
    arr = np.random.default_rng(5).standard_normal((3, 4)) * 3
    x = mg.tensor(arr, requires_grad=True)
    xt = torch.tensor(arr, requires_grad=True)
    h, ht = x * 1.0, xt * 1.0
    y, yt = m(h), mt(ht)
    assert y is h
    np.testing.assert_allclose(h.numpy(), ht.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    yt.sum().backward()
    # (PyTorch's hardsigmoid gradient uses a float32 1/6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-7)


def test_int_and_mixed_dtypes_like_torch():
    xi = np.array([-2, 0, 3])
    for name in ("relu6", "hardtanh", "softsign", "tanhshrink"):
        fn, tfn, _ = PAIRS[name]
        y, yt = fn(mg.tensor(xi)), tfn(torch.tensor(xi))
        assert str(yt.dtype) == f"torch.{y.dtype}"
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
    y = F.threshold(mg.tensor(xi), 1, 5)
    yt = TF.threshold(torch.tensor(xi), 1, 5)
    assert y.tolist() == yt.tolist()
    for name in ("elu", "selu", "mish", "hardswish", "hardsigmoid", "logsigmoid"):
        fn, tfn, _ = PAIRS[name]
        with pytest.raises(NotImplementedError):
            tfn(torch.tensor(xi))
        with pytest.raises(TypeError):
            fn(mg.tensor(xi))


def test_gelu_tanh_approximation_exists_and_matches_torch():
    arr = np.linspace(-6, 6, 25)
    x = mg.tensor(arr, requires_grad=True)
    xt = torch.tensor(arr, requires_grad=True)
    y, yt = F.gelu(x, approximate="tanh"), TF.gelu(xt, approximate="tanh")
    y.sum().backward()
    yt.sum().backward()
    tol = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **tol)
    assert repr(nn.GELU("tanh")) == repr(torch.nn.GELU("tanh"))
