"""Convolution: F.conv1d/2d/3d and F.conv_transpose1d/2d/3d gradchecked in
float64 on hypothesis-drawn geometries, gradgradchecked, compared with
PyTorch (values and gradients), their errors; and the Conv / ConvTranspose /
BatchNorm2d / Unflatten / ZeroPad2d modules against PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _leaf(rng, shape):
    return mg.tensor(rng.standard_normal(shape), requires_grad=True)


@st.composite
def conv_configs(draw, max_nd=3):
    nd = draw(st.integers(1, max_nd))
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 2))
    depthwise = draw(st.booleans())
    if depthwise:  # one filter (or two) per input channel
        groups = cin
    cout = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 5 if nd == 1 else 3 if nd == 2 else 2))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.sampled_from([0, 1, 2, "same", "valid"]))
    if padding == "same":
        stride = 1
    ext = dilation * (k - 1) + 1
    pad = 0 if padding in ("same", "valid") else padding
    # from the size where the kernel just fits, a few more
    size = max(1, ext - 2 * pad + draw(st.integers(0, 3 if nd < 3 else 1)))
    batch = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    return (
        nd,
        batch,
        cin,
        cout,
        groups,
        (size,) * nd,
        k,
        stride,
        padding,
        dilation,
        bias,
    )


@examples(25, deadline=None)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_conv_grad_matches_numerical(cfg, seed):
    nd, n, cin, cout, groups, size, k, s, p, d, bias = cfg
    rng = np.random.default_rng(seed)
    x = _leaf(rng, (n, cin, *size))
    w = _leaf(rng, (cout, cin // groups, *(k,) * nd))
    inputs = (x, w) + ((_leaf(rng, (cout,)),) if bias else ())

    def fn(x, w, b=None):
        return CONV[nd](x, w, b, stride=s, padding=p, dilation=d, groups=groups)

    y = fn(*inputs)
    if p == "same":
        assert y.shape[2:] == x.shape[2:]
    assert mg.autograd.gradcheck(fn, inputs)


@st.composite
def transpose_configs(draw):
    nd = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    s, d = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    p = draw(st.integers(0, 1))
    op = draw(st.integers(0, max(s, d) - 1))
    size = draw(st.integers(1, 3))
    return nd, cin, cout, groups, size, k, s, p, op, d


@examples(20, deadline=None)
@given(cfg=transpose_configs(), seed=st.integers(0, 2**16))
def test_conv_transpose_grad_matches_numerical(cfg, seed):
    nd, cin, cout, groups, size, k, s, p, op, d = cfg
    out = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    assume(out >= 1)
    rng = np.random.default_rng(seed)
    x = _leaf(rng, (2, cin, *(size,) * nd))
    w = _leaf(rng, (cin, cout // groups, *(k,) * nd))
    b = _leaf(rng, (cout,))

    def fn(x, w, b):
        return CONV_T[nd](x, w, b, s, p, op, groups, d)

    assert fn(x, w, b).shape == (2, cout, *(out,) * nd)
    assert mg.autograd.gradcheck(fn, (x, w, b))


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"),
    [(1, 1, 1, 1), (2, 0, 1, 2), (1, "same", 2, 1), (1, 0, 1, 2)],
)
def test_conv2d_gradgrad_matches_numerical(stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    x = _leaf(rng, (1, 2, 5, 4))
    w = _leaf(rng, (2, 2 // groups, 2, 3))
    b = _leaf(rng, (2,))

    def fn(x, w, b):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    assert mg.autograd.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize(
    "kw",
    [
        {"stride": 2, "padding": 1, "output_padding": 1},
        # output_padding >= stride (< dilation): positions no input window
        # reaches, cropped on the way back (Note [Convolution adjoints])
        {"stride": 1, "dilation": 2, "output_padding": 1, "groups": 2},
    ],
)
def test_conv_transpose2d_gradgrad_matches_numerical(kw):
    rng = np.random.default_rng(1)
    x, w = _leaf(rng, (1, 2, 3, 2)), _leaf(rng, (2, 2 // kw.get("groups", 1), 2, 2))

    def fn(x, w):
        return F.conv_transpose2d(x, w, **kw)

    assert mg.autograd.gradgradcheck(fn, (x, w))


def test_conv_third_order_gradient_is_recorded():
    # Note [Convolution adjoints]: every backward is itself differentiable.
    rng = np.random.default_rng(2)
    x, w = _leaf(rng, (1, 1, 4, 4)), _leaf(rng, (1, 1, 2, 2))
    y = (F.conv2d(x, w) ** 3).sum()
    (gx,) = mg.autograd.grad(y, (x,), create_graph=True)
    (gw,) = mg.autograd.grad(gx.sum(), (w,), create_graph=True)
    (gx2,) = mg.autograd.grad((gw * gw).sum(), (x,))
    assert gx2.shape == x.shape
    assert np.isfinite(gx2.numpy()).all()


# -- against PyTorch -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("nd", "kw"),
    [
        (2, {"stride": 1, "padding": 1}),
        (2, {"stride": 2, "padding": (1, 0), "dilation": (1, 2), "groups": 2}),
        (2, {"padding": "same", "dilation": 2}),
        (2, {"padding": "same"}),  # even kernel: the extra zero on the right
        (2, {"groups": 4}),  # depthwise
        (1, {"stride": 3, "padding": 2, "groups": 2}),
        (3, {"stride": (1, 2, 1), "padding": 1}),
    ],
)
def test_conv_matches_torch(nd, kw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    groups = kw.get("groups", 1)
    k = 2 if kw.get("padding") == "same" and "dilation" not in kw else 3
    x = rng.standard_normal((2, 4, *(7,) * nd)).astype(dtype)
    w = rng.standard_normal((8, 4 // groups, *(k,) * nd)).astype(dtype)
    b = rng.standard_normal(8).astype(dtype)
    tf = getattr(torch.nn.functional, f"conv{nd}d")
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = tf(xt, wt, bt, **kw)
    X, W, B = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = CONV[nd](X, W, B, **kw)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10}
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    yt.backward(torch.from_numpy(g))
    y.backward(mg.tensor(g))
    for mine, theirs in ((X, xt), (W, wt), (B, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), **tol)


@pytest.mark.parametrize(
    "kw",
    [
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": 1, "dilation": 2, "output_padding": 1, "groups": 2},
        {"stride": 3, "padding": 2, "groups": 2},
    ],
)
def test_conv_transpose2d_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 5, 4))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(3 * kw.get("groups", 1))
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv_transpose2d(xt, wt, bt, **kw)
    X, W, B = (mg.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv_transpose2d(X, W, B, **kw)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10)
    g = rng.standard_normal(y.shape)
    yt.backward(torch.from_numpy(g))
    y.backward(mg.tensor(g))
    for mine, theirs in ((X, xt), (W, wt), (B, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-9)


def test_conv_unbatched_input_and_promotion():
    rng = np.random.default_rng(5)
    x = mg.tensor(rng.standard_normal((3, 6, 6)).astype(np.float32))
    w = mg.tensor(rng.standard_normal((2, 3, 3, 3)))
    y = F.conv2d(x, w)
    assert y.shape == (2, 4, 4)
    assert y.dtype == np.float64
    np.testing.assert_allclose(
        y.numpy(), F.conv2d(x.unsqueeze(0), w).numpy()[0], rtol=1e-12
    )
    yt = F.conv_transpose2d(
        mg.tensor(rng.standard_normal((3, 2, 2))), w.transpose(0, 1)
    )
    assert yt.shape == (2, 4, 4)


def test_conv_errors_name_the_op_and_shapes():
    x = mg.zeros(1, 4, 5, 5)
    with pytest.raises(ShapeError, match=r"conv2d: expected 3D \(unbatched\) or 4D"):
        F.conv2d(mg.zeros(5, 5), mg.zeros(2, 4, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d: in_channels \(4\).*groups=3"):
        F.conv2d(x, mg.zeros(3, 1, 3, 3), groups=3)
    with pytest.raises(ShapeError, match=r"expects 2 input channels.*\(1, 4, 5, 5\)"):
        F.conv2d(x, mg.zeros(2, 2, 3, 3))
    with pytest.raises(ShapeError, match="larger than the padded input"):
        F.conv2d(x, mg.zeros(2, 4, 6, 6))
    with pytest.raises(ShapeError, match="larger than the padded input"):
        F.conv1d(mg.zeros(1, 1, 3), mg.zeros(1, 1, 2), dilation=3)
    with pytest.raises(ArgumentError, match="not supported for strided"):
        F.conv2d(x, mg.zeros(2, 4, 3, 3), stride=2, padding="same")
    with pytest.raises(ArgumentError, match="padding must be"):
        F.conv2d(x, mg.zeros(2, 4, 3, 3), padding="full")
    with pytest.raises(ArgumentError, match="stride must be >= 1"):
        F.conv2d(x, mg.zeros(2, 4, 3, 3), stride=0)
    with pytest.raises(ShapeError, match="bias must have shape"):
        F.conv2d(x, mg.zeros(2, 4, 3, 3), mg.zeros(3))
    with pytest.raises(TypeError, match="float32 or float64"):
        F.conv2d(
            mg.zeros(1, 4, 5, 5, dtype=mg.int64), mg.zeros(2, 4, 3, 3, dtype=mg.int64)
        )
    with pytest.raises(ArgumentError, match="output_padding"):
        F.conv_transpose2d(x, mg.zeros(4, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ShapeError, match="conv_transpose2d: input"):
        F.conv_transpose2d(x, mg.zeros(3, 2, 3, 3))
    with pytest.raises(ShapeError, match="must be positive"):
        F.conv_transpose2d(x, mg.zeros(4, 2, 1, 1), padding=3)


# -- modules -------------------------------------------------------------------


def _load_from_torch(mine, theirs):
    mine.load_state_dict(
        {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    )


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape"),
    [
        ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1}, (2, 3, 9)),
        ("Conv2d", (3, 6, 5), {}, (2, 3, 12, 12)),
        (
            "Conv2d",
            (4, 4, 3),
            {"groups": 4, "bias": False, "padding": "same"},
            (1, 4, 6, 6),
        ),
        ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 5)),
        (
            "Conv2d",
            (2, 3, 3),
            {"padding": (1, 2), "padding_mode": "circular"},
            (1, 2, 5, 5),
        ),
        (
            "Conv2d",
            (2, 3, 4),
            {"padding": "same", "padding_mode": "replicate"},
            (1, 2, 6, 6),
        ),
        ("Conv3d", (2, 2, 2), {"dilation": 2}, (1, 2, 5, 5, 5)),
        ("ConvTranspose1d", (3, 2, 3), {"stride": 2, "output_padding": 1}, (2, 3, 4)),
        (
            "ConvTranspose2d",
            (4, 6, 3),
            {"stride": 2, "groups": 2, "padding": 1},
            (2, 4, 3, 3),
        ),
        ("ConvTranspose3d", (2, 2, 2), {"stride": 2}, (1, 2, 2, 2, 2)),
    ],
)
def test_conv_modules_match_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    mine = getattr(mg.nn, name)(*args, **kwargs, dtype=mg.float64)
    assert repr(mine) == repr(theirs)
    assert {k: v.shape for k, v in mine.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    _load_from_torch(mine, theirs)
    x = np.random.default_rng(6).standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    X = mg.tensor(x, requires_grad=True)
    yt, y = theirs(xt), mine(X)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    yt.sum().backward()
    y.sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        mine.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-12
    )


def test_conv_transpose_module_output_size():
    m = mg.nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = mg.zeros(1, 2, 4, 4)
    assert m(x).shape == (1, 2, 7, 7)
    assert m(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ShapeError, match="not reachable"):
        m(x, output_size=(10, 10))


def test_conv2d_default_init_bounds():
    mg.manual_seed(0)
    m = mg.nn.Conv2d(6, 16, 5)
    bound = 1 / np.sqrt(6 * 25)  # kaiming_uniform(a=√5) and the bias: 1/√fan_in
    assert m.weight.shape == (16, 6, 5, 5)
    assert np.abs(m.weight.numpy()).max() <= bound
    assert np.abs(m.weight.numpy()).max() > 0.9 * bound
    assert np.abs(m.bias.numpy()).max() <= bound
    t = mg.nn.ConvTranspose2d(6, 16, 5, groups=2)
    assert t.weight.shape == (6, 8, 5, 5)
    assert np.abs(t.bias.numpy()).max() <= 1 / np.sqrt(8 * 25)


def test_conv_module_argument_errors():
    with pytest.raises(ArgumentError, match="divisible by groups"):
        mg.nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ArgumentError, match="padding_mode"):
        mg.nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ArgumentError, match="strided"):
        mg.nn.Conv2d(3, 4, 3, stride=2, padding="same")


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("nd", [2, 3])
def test_batchnorm_running_stats_match_torch(nd, momentum):
    torch = pytest.importorskip("torch")
    name = f"BatchNorm{nd}d"
    theirs = getattr(torch.nn, name)(3, momentum=momentum).double()
    mine = getattr(mg.nn, name)(3, momentum=momentum, dtype=mg.float64)
    rng = np.random.default_rng(7)
    w = rng.standard_normal(3)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    for step in range(4):
        x = rng.standard_normal((4, 3, *(3,) * nd)) * (step + 1) + step
        xt = torch.tensor(x, requires_grad=True)
        X = mg.tensor(x, requires_grad=True)
        yt, y = theirs(xt), mine(X)
        np.testing.assert_allclose(
            y.numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12
        )
        (yt**2).sum().backward()
        (y**2).sum().backward()
        np.testing.assert_allclose(
            X.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10
        )
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(mine.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    theirs.eval()
    mine.eval()
    x = rng.standard_normal((2, 3, *(3,) * nd))
    np.testing.assert_allclose(
        mine(mg.tensor(x)).numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-10,
    )


def test_batchnorm2d_without_running_stats_and_errors():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.BatchNorm2d(2, track_running_stats=False, affine=False).double()
    mine = mg.nn.BatchNorm2d(
        2, track_running_stats=False, affine=False, dtype=mg.float64
    )
    mine.eval()
    theirs.eval()
    x = np.random.default_rng(8).standard_normal((3, 2, 2, 2))
    np.testing.assert_allclose(
        mine(mg.tensor(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-10
    )
    with pytest.raises(ShapeError, match=r"BatchNorm2d: expected 4D input"):
        mine(mg.zeros(2, 2, 2))
    with pytest.raises(ShapeError, match="num_features=2"):
        mine(mg.zeros(2, 3, 2, 2))


def test_unflatten_and_zeropad2d_match_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(24.0).reshape(2, 12)
    u, ut = mg.nn.Unflatten(1, (3, -1)), torch.nn.Unflatten(1, (3, -1))
    np.testing.assert_array_equal(
        u(mg.tensor(x)).numpy(), ut(torch.from_numpy(x)).numpy()
    )
    assert repr(u) == repr(ut)
    with pytest.raises(ShapeError, match="cannot split"):
        mg.nn.Unflatten(1, (5, 2))(mg.tensor(x))
    z, zt = mg.nn.ZeroPad2d((1, 0, 2, 1)), torch.nn.ZeroPad2d((1, 0, 2, 1))
    y = x.reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(
        z(mg.tensor(y)).numpy(), zt(torch.from_numpy(y)).numpy()
    )
    assert repr(z) == repr(zt)


@pytest.mark.parametrize(
    "kw",
    [
        {"kernel_size": 2},
        {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)},
    ],
)
def test_unfold_fold_match_torch_and_gradcheck(kw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(16).standard_normal((2, 3, 5, 6))
    xt = torch.tensor(x, requires_grad=True)
    X = mg.tensor(x, requires_grad=True)
    u, ut = F.unfold(X, **kw), torch.nn.functional.unfold(xt, **kw)
    np.testing.assert_array_equal(u.numpy(), ut.detach().numpy())
    f, ft = F.fold(u, (5, 6), **kw), torch.nn.functional.fold(ut, (5, 6), **kw)
    np.testing.assert_allclose(f.numpy(), ft.detach().numpy(), rtol=1e-12)
    (ft**2).sum().backward()
    (f**2).sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    small = mg.tensor(x[:1, :2, :4, :4], requires_grad=True)
    assert mg.autograd.gradgradcheck(
        lambda t: F.fold(F.unfold(t, **kw) * 2.0, (4, 4), **kw), (small,)
    )
    assert F.unfold(mg.tensor(x[0]), **kw).shape == u.shape[1:]  # unbatched


def test_unfold_fold_errors():
    with pytest.raises(ShapeError, match="unfold: kernel size"):
        F.unfold(mg.zeros(1, 1, 3, 3), 4)
    with pytest.raises(ShapeError, match="fold: input"):
        F.fold(mg.zeros(1, 4, 5), (3, 3), 2)
    with pytest.raises(ShapeError, match="fold: expected 2D"):
        F.fold(mg.zeros(4), (3, 3), 2)


def test_conv_reads_non_contiguous_tensors():
    rng = np.random.default_rng(17)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    X = mg.tensor(np.ascontiguousarray(x.transpose(0, 1, 3, 2)), requires_grad=True)
    Xt = X.transpose(2, 3)  # a view with x's values and swapped strides
    y = F.conv2d(Xt, mg.tensor(w), padding=1)
    np.testing.assert_allclose(
        y.numpy(), F.conv2d(mg.tensor(x), mg.tensor(w), padding=1).numpy(), rtol=1e-12
    )
    y.sum().backward()
    assert X.grad.shape == X.shape
