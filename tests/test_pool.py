"""Pooling and padding: F.max_pool / avg_pool / adaptive_avg_pool (1-3 D)
and F.pad gradchecked in float64 on hypothesis-drawn configurations,
gradgradchecked, compared with PyTorch (values, indices, gradients), their
errors; and the pooling modules against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples

MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
ADAPT = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}


def _distinct(rng, shape):
    """Values far apart (no ties inside a window: the max is not a kink)."""
    n = int(np.prod(shape))
    return mg.tensor(
        rng.permutation(n).reshape(shape) * 0.1 + rng.uniform(-0.01, 0.01, shape),
        requires_grad=True,
    )


@st.composite
def pool_configs(draw, dilation=True):
    nd = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3 if nd < 3 else 2))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, 2)) if dilation else 1
    ceil = draw(st.booleans())
    ext = d * (k - 1) + 1
    size = max(1, ext - 2 * p + draw(st.integers(0, 3 if nd < 3 else 1)))
    unbatched = draw(st.booleans())
    shape = (2, *(size,) * nd) if unbatched else (1, 2, *(size,) * nd)
    return nd, shape, k, s, p, d, ceil


@examples(25, deadline=None)
@given(cfg=pool_configs(), seed=st.integers(0, 2**16))
def test_max_pool_grad_matches_numerical(cfg, seed):
    nd, shape, k, s, p, d, ceil = cfg
    x = _distinct(np.random.default_rng(seed), shape)

    def fn(x):
        return MAX[nd](x, k, s, p, d, ceil_mode=ceil)

    # A dilated window can miss the input entirely (test below).
    assume(np.isfinite(fn(x).numpy()).all())
    assert mg.autograd.gradcheck(fn, (x,))


def test_max_pool_window_of_padding_only_gives_minus_inf_and_no_gradient():
    # kernel 2, dilation 2, padding 1 on one element: the window reads
    # positions -1 and 1, both padding. PyTorch gives -inf with index 1 (past
    # the input); here the index is -1 and no gradient flows.
    x = mg.tensor([[[3.0]]], requires_grad=True)
    y, idx = F.max_pool1d(x, 2, 1, 1, 2, return_indices=True)
    assert y.numpy().tolist() == [[[-np.inf]]]
    assert idx.numpy().tolist() == [[[-1]]]
    y.backward(mg.ones(1, 1, 1))
    assert x.grad.numpy().tolist() == [[[0.0]]]


@examples(25, deadline=None)
@given(
    cfg=pool_configs(dilation=False),
    cip=st.booleans(),
    div=st.sampled_from([None, 2]),
    seed=st.integers(0, 2**16),
)
def test_avg_pool_grad_matches_numerical(cfg, cip, div, seed):
    nd, shape, k, s, p, _d, ceil = cfg
    x = _distinct(np.random.default_rng(seed), shape)

    def fn(x):
        if nd == 1:
            return F.avg_pool1d(x, k, s, p, ceil, cip)
        return AVG[nd](x, k, s, p, ceil, cip, div)

    assert mg.autograd.gradcheck(fn, (x,))


@examples(20, deadline=None)
@given(
    nd=st.integers(1, 3),
    size=st.integers(1, 5),
    out=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_adaptive_avg_pool_grad_matches_numerical(nd, size, out, seed):
    x = _distinct(np.random.default_rng(seed), (1, 2, *(size,) * nd))
    assert mg.autograd.gradcheck(lambda x: ADAPT[nd](x, out), (x,))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.max_pool2d(x, 2, 1, padding=1),
        lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True, dilation=1),
        lambda x: F.avg_pool2d(x, 2, 1, padding=1, count_include_pad=False),
        lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True, divisor_override=4),
        lambda x: F.adaptive_avg_pool2d(x, (2, 3)),
        lambda x: F.pad(x, (1, 2, 0, 1), mode="reflect"),
    ],
)
def test_pool_gradgrad_matches_numerical(fn):
    x = _distinct(np.random.default_rng(9), (1, 2, 4, 5))
    assert mg.autograd.gradgradcheck(fn, (x,))


# -- against PyTorch -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("nd", "kw"),
    [
        (2, {"kernel_size": 2}),
        (2, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        (2, {"kernel_size": (2, 3), "stride": (1, 2), "dilation": (2, 1)}),
        (1, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        (3, {"kernel_size": 2, "stride": 1, "padding": 1}),
    ],
)
def test_max_pool_matches_torch(nd, kw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, *(7,) * nd)).astype(dtype)
    tf = getattr(torch.nn.functional, f"max_pool{nd}d")
    xt = torch.tensor(x, requires_grad=True)
    yt, it = tf(xt, return_indices=True, **kw)
    X = mg.tensor(x, requires_grad=True)
    y, idx = MAX[nd](X, return_indices=True, **kw)
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(idx.numpy(), it.numpy())
    assert idx.dtype == np.int64
    assert not idx.requires_grad
    g = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(g))
    y.backward(mg.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("nd", "kw"),
    [
        (2, {"kernel_size": 2}),
        (2, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        (2, {"kernel_size": 3, "padding": 1, "count_include_pad": False}),
        (2, {"kernel_size": 3, "stride": 2, "ceil_mode": True, "divisor_override": 5}),
        (1, {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}),
        (3, {"kernel_size": 2, "padding": 1, "count_include_pad": False}),
    ],
)
def test_avg_pool_matches_torch(nd, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, *(7,) * nd))
    tf = getattr(torch.nn.functional, f"avg_pool{nd}d")
    xt = torch.tensor(x, requires_grad=True)
    yt = tf(xt, **kw)
    X = mg.tensor(x, requires_grad=True)
    y = AVG[nd](X, **kw)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    y.backward(mg.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    ("nd", "size", "out"),
    [
        (2, (7, 6), (3, 4)),
        (2, (8, 8), 1),
        (2, (5, 6), (None, 2)),
        (1, (10,), 4),
        (3, (5, 4, 3), 2),
    ],
)
def test_adaptive_avg_pool_matches_torch(nd, size, out):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(12).standard_normal((2, 3, *size))
    tf = getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")
    xt = torch.tensor(x, requires_grad=True)
    X = mg.tensor(x, requires_grad=True)
    yt, y = tf(xt, out), ADAPT[nd](X, out)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
    (yt**2).sum().backward()
    (y**2).sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 0, 1, 3), (0, 1, 1, 0, 2, 1)])
def test_pad_matches_torch(mode, pad):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(13).standard_normal((2, 3, 4, 5))
    xt = torch.tensor(x, requires_grad=True)
    X = mg.tensor(x, requires_grad=True)
    kw = {"value": 1.5} if mode == "constant" else {}
    if mode != "constant" and len(pad) == 6:
        # PyTorch pads 3 dims only for 5-D (batched) input in these modes.
        yt = torch.nn.functional.pad(xt.unsqueeze(0), pad, mode=mode)[0]
    elif mode != "constant" and len(pad) == 2:
        # ... and 1 dim only for 2-D or 3-D input; leading dims are planes.
        yt = torch.nn.functional.pad(xt.reshape(6, 4, 5), pad, mode=mode)
        yt = yt.reshape(2, 3, 4, -1)
    else:
        yt = torch.nn.functional.pad(xt, pad, mode=mode, **kw)
    y = F.pad(X, pad, mode=mode, **kw)
    np.testing.assert_array_equal(y.numpy(), yt.detach().numpy())
    g = np.random.default_rng(14).standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    y.backward(mg.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_pad_negative_crops_like_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(20.0).reshape(1, 4, 5)
    y = F.pad(mg.tensor(x), (-1, 2, 1, -2))
    yt = torch.nn.functional.pad(torch.from_numpy(x), (-1, 2, 1, -2))
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_pool_errors_name_the_op_and_shapes():
    x = mg.zeros(1, 2, 4, 4)
    with pytest.raises(
        ShapeError, match=r"max_pool2d: expected 3D \(unbatched\) or 4D"
    ):
        F.max_pool2d(mg.zeros(4, 4), 2)
    with pytest.raises(ArgumentError, match="at most half of kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ShapeError, match="larger than the padded input"):
        F.max_pool2d(x, 5)
    with pytest.raises(ShapeError, match=r"avg_pool2d: kernel size \(5, 5\)"):
        F.avg_pool2d(x, 5)
    with pytest.raises(ArgumentError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(TypeError, match="float32 or float64"):
        F.max_pool2d(mg.zeros(1, 2, 4, 4, dtype=mg.int64), 2)
    with pytest.raises(ArgumentError, match="kernel_size must be"):
        F.max_pool2d(x, (2, 2, 2))
    with pytest.raises(ArgumentError, match="output_size"):
        F.adaptive_avg_pool2d(x, (1, 2, 3))
    with pytest.raises(ShapeError, match="even length"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ShapeError, match="too large"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ArgumentError, match="mode must be"):
        F.pad(x, (1, 1), mode="wrap")


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"),
    [
        ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9)),
        ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
        (
            "MaxPool2d",
            (3,),
            {"stride": 2, "ceil_mode": True, "dilation": 1},
            (1, 2, 7, 7),
        ),
        ("MaxPool3d", (2,), {"padding": 1}, (1, 2, 4, 4, 4)),
        ("AvgPool1d", (3,), {"stride": 2}, (2, 3, 9)),
        ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
        ("AvgPool2d", (3,), {"padding": 1, "count_include_pad": False}, (1, 2, 5, 5)),
        ("AvgPool3d", (2,), {"ceil_mode": True}, (1, 2, 5, 5, 5)),
        ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 8)),
        ("AdaptiveAvgPool2d", ((2, 3),), {}, (2, 3, 7, 7)),
        ("AdaptiveAvgPool3d", (1,), {}, (1, 2, 3, 3, 3)),
    ],
)
def test_pool_modules_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    mine = getattr(mg.nn, name)(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    x = np.random.default_rng(15).standard_normal(shape)
    np.testing.assert_allclose(
        mine(mg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-12
    )


def test_maxpool_module_return_indices():
    y, idx = mg.nn.MaxPool2d(2, return_indices=True)(
        mg.arange(16.0).reshape(1, 1, 4, 4)
    )
    np.testing.assert_array_equal(idx.numpy(), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(y.numpy(), [[[[5.0, 7.0], [13.0, 15.0]]]])
