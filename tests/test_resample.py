"""Resampling and per-sample normalization: F.interpolate (every mode,
align_corners, size / scale_factor, recompute_scale_factor), max_unpool,
adaptive_max_pool, pixel_(un)shuffle, group_norm, instance_norm and the
channel-wise dropouts, with their modules: values and gradients against
PyTorch on hypothesis-drawn configurations, gradchecks in float64, running
statistics, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples

MODES = {
    1: ["nearest", "nearest-exact", "linear", "area"],
    2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
    3: ["nearest", "nearest-exact", "trilinear", "area"],
}
FACTORS = [0.3, 1 / 3, 0.5, 0.75, 0.9, 1.05, 1.1, 1.5, 1.7, 1.9, 2.0, 2.05, 2.5, 3.0]


def _distinct(rng, shape):
    """Values far apart (no ties inside a max window)."""
    n = int(np.prod(shape))
    return rng.permutation(n).reshape(shape) * 0.1 + rng.uniform(-0.01, 0.01, shape)


@st.composite
def interp_configs(draw, max_size=8):
    nd = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES[nd]))
    ins = tuple(draw(st.integers(1, max_size)) for _ in range(nd))
    corners = (
        None if mode in ("nearest", "nearest-exact", "area") else draw(st.booleans())
    )
    if draw(st.booleans()):
        kw = {"size": tuple(draw(st.integers(1, 12)) for _ in range(nd))}
    else:
        if draw(st.booleans()):
            f = draw(st.sampled_from(FACTORS))
        else:
            f = tuple(draw(st.sampled_from(FACTORS)) for _ in range(nd))
        kw = {
            "scale_factor": f,
            "recompute_scale_factor": draw(st.sampled_from([None, True, False])),
        }
        fs = f if isinstance(f, tuple) else (f,) * nd
        assume(all(int(i * g) >= 1 for i, g in zip(ins, fs)))
    return nd, mode, ins, corners, kw


@examples(60, deadline=None)
@given(cfg=interp_configs(), dtype=st.sampled_from([np.float32, np.float64]))
def test_interpolate_matches_torch(cfg, dtype):
    torch = pytest.importorskip("torch")
    _nd, mode, ins, corners, kw = cfg
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, *ins)).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yt = torch.nn.functional.interpolate(xt, mode=mode, align_corners=corners, **kw)
    xm = mg.tensor(x, requires_grad=True)
    ym = F.interpolate(xm, mode=mode, align_corners=corners, **kw)
    assert ym.shape == tuple(yt.shape)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    # PyTorch's nearest backward takes the legacy shortcut (copy a dim of
    # unchanged size, halve a doubled one) in every rank, so with a factor
    # that does not match the sizes its gradient is not its forward's adjoint
    # (ours is: gradchecked below). Compare where the two agree.
    legacy_mismatch = (
        mode == "nearest"
        and "scale_factor" in kw
        and not kw["recompute_scale_factor"]
        and any(o in (i, 2 * i) for i, o in zip(ins, ym.shape[2:]))
    )
    # PyTorch's bicubic backward copies the gradient when the output has the
    # input's size, though its forward still resamples with the given factor
    # (torch.autograd.gradcheck fails on it there); ours is the adjoint.
    same_size_bicubic = (
        mode == "bicubic"
        and "scale_factor" in kw
        and not kw["recompute_scale_factor"]
        and tuple(ym.shape[2:]) == tuple(ins)
    )
    if legacy_mismatch or same_size_bicubic:
        return
    g = rng.standard_normal(ym.shape).astype(dtype)
    ym.backward(mg.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(
        xm.grad.numpy(), xt.grad.numpy(), rtol=10 * tol, atol=10 * tol
    )


def test_interpolate_nearest_index_quirks_match_torch():
    # The 2-D nearest kernel copies a dim of unchanged size and halves a
    # doubled one whatever the factor; 1-D and 3-D use floor(j / factor).
    torch = pytest.importorskip("torch")
    x1 = np.arange(8.0).reshape(1, 1, 8)
    got = F.interpolate(mg.tensor(x1), scale_factor=1.1).numpy()
    assert got.ravel().tolist() == [0, 0, 1, 2, 3, 4, 5, 6]
    x2 = np.arange(16.0).reshape(1, 1, 2, 8)
    for kw in ({"scale_factor": 1.1}, {"scale_factor": (2.05, 1.1)}):
        want = torch.nn.functional.interpolate(torch.from_numpy(x2), **kw).numpy()
        np.testing.assert_array_equal(F.interpolate(mg.tensor(x2), **kw).numpy(), want)


@examples(25, deadline=None)
@given(cfg=interp_configs(max_size=4), seed=st.integers(0, 2**16))
def test_interpolate_grad_matches_numerical(cfg, seed):
    _nd, mode, ins, corners, kw = cfg
    x = mg.tensor(
        np.random.default_rng(seed).standard_normal((1, 2, *ins)), requires_grad=True
    )
    assert mg.autograd.gradcheck(
        lambda x: F.interpolate(x, mode=mode, align_corners=corners, **kw), (x,)
    )


def test_interpolate_gradgrad_bicubic():
    x = mg.tensor(
        np.random.default_rng(1).standard_normal((1, 1, 3, 3)), requires_grad=True
    )
    fn = lambda x: F.interpolate(x, size=(4, 5), mode="bicubic") ** 2  # noqa: E731
    assert mg.autograd.gradgradcheck(fn, (x,))


def test_interpolate_integer_input_nearest():
    x = mg.tensor(np.arange(6).reshape(1, 1, 2, 3))
    y = F.interpolate(x, scale_factor=2)
    assert y.dtype == mg.int64
    assert y.numpy()[0, 0, :, 0].tolist() == [0, 0, 3, 3]
    with pytest.raises(TypeError, match="interpolate"):
        F.interpolate(
            mg.tensor(np.zeros((1, 1, 4, 4), np.int64)), size=2, mode="bilinear"
        )


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        ({"size": 2, "scale_factor": 2}, ArgumentError, "only one"),
        ({}, ArgumentError, "either size or scale_factor"),
        ({"size": 4, "mode": "linear"}, ShapeError, "needs 3D"),
        (
            {"size": 4, "mode": "nearest", "align_corners": True},
            ArgumentError,
            "align_corners",
        ),
        ({"size": 4, "mode": "cubic"}, ArgumentError, "mode"),
        ({"size": (2, 3, 4)}, ArgumentError, "size"),
        ({"scale_factor": 0.1}, ShapeError, r"output size \(0, 0\)"),
        ({"scale_factor": float("nan")}, ArgumentError, "positive and finite"),
        ({"scale_factor": (2, -1)}, ArgumentError, "positive and finite"),
        ({"size": 3, "recompute_scale_factor": True}, ArgumentError, "recompute"),
        (
            {"size": 3, "mode": "bilinear", "antialias": True},
            ArgumentError,
            "antialias",
        ),
    ],
)
def test_interpolate_errors(kw, err, match):
    x = mg.zeros(1, 2, 4, 4)
    with pytest.raises(err, match=match):
        F.interpolate(x, **kw)
    with pytest.raises(ShapeError, match=r"interpolate.*\(4, 4\)"):
        F.interpolate(mg.zeros(4, 4), size=2)


def test_upsample_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 4)).astype(np.float32)
    pairs = [
        (
            nn.Upsample(scale_factor=2, mode="bilinear"),
            torch.nn.Upsample(scale_factor=2, mode="bilinear"),
        ),
        (
            nn.Upsample(size=(7, 3), mode="bicubic", align_corners=True),
            torch.nn.Upsample(size=(7, 3), mode="bicubic", align_corners=True),
        ),
        (
            nn.UpsamplingNearest2d(scale_factor=3),
            torch.nn.UpsamplingNearest2d(scale_factor=3),
        ),
        (nn.UpsamplingBilinear2d(size=6), torch.nn.UpsamplingBilinear2d(size=6)),
    ]
    pairs.append(
        (
            nn.Upsample(scale_factor=(2, 1.5), mode="nearest-exact"),
            torch.nn.Upsample(scale_factor=(2, 1.5), mode="nearest-exact"),
        )
    )
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        want = theirs(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(
            ours(mg.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-5
        )


# -- max unpooling ---------------------------------------------------------------


@examples(30, deadline=None)
@given(
    nd=st.integers(1, 3),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    size=st.integers(3, 6),
    extra=st.integers(0, 1),
    seed=st.integers(0, 2**16),
)
def test_max_unpool_matches_torch(nd, k, s, size, extra, seed):
    # Overlapping windows (s < k) repeat indices: PyTorch writes one copy and
    # gives each the gradient.
    torch = pytest.importorskip("torch")
    p = min(k // 2, 1)
    rng = np.random.default_rng(seed)
    x = _distinct(rng, (2, 2, *(size,) * nd))
    tf = torch.nn.functional
    pool = (tf.max_pool1d, tf.max_pool2d, tf.max_pool3d)[nd - 1]
    unpool_t = (tf.max_unpool1d, tf.max_unpool2d, tf.max_unpool3d)[nd - 1]
    unpool_m = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[nd - 1]
    v, idx = pool(torch.from_numpy(x), k, s, p, return_indices=True)
    out = [(i - 1) * s - 2 * p + k + extra * (s > 1) for i in v.shape[2:]]
    vt = v.detach().clone().requires_grad_(True)
    vm = mg.tensor(v.numpy(), requires_grad=True)
    try:
        yt = unpool_t(vt, idx, k, s, p, output_size=out)
    except RuntimeError:  # an index past the output (stride > kernel)
        with pytest.raises(ArgumentError, match=f"max_unpool{nd}d: indices"):
            unpool_m(vm, mg.tensor(idx.numpy()), k, s, p, output_size=out)
        return
    ym = unpool_m(vm, mg.tensor(idx.numpy()), k, s, p, output_size=out)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    g = rng.standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(vm.grad.numpy(), vt.grad.numpy(), rtol=1e-12)


def test_max_unpool2d_round_trip_and_module():
    x = mg.tensor(_distinct(np.random.default_rng(3), (1, 2, 4, 6)))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    back = nn.MaxUnpool2d(2)(y, idx)
    assert back.shape == (1, 2, 4, 6)
    np.testing.assert_array_equal(F.max_pool2d(back, 2).numpy(), y.numpy())
    assert (back.numpy() != 0).sum() == y.numel()
    v = mg.tensor(
        np.random.default_rng(4).standard_normal((1, 1, 2, 2)), requires_grad=True
    )
    i = mg.tensor(np.array([[[[0, 5], [10, 15]]]]))
    assert mg.autograd.gradcheck(lambda v: F.max_unpool2d(v, i, 2), (v,))


def test_max_unpool_errors():
    v = mg.zeros(1, 1, 2, 2)
    with pytest.raises(ArgumentError, match=r"max_unpool2d.*\[0, 16\)"):
        F.max_unpool2d(v, mg.tensor(np.full((1, 1, 2, 2), 16)), 2)
    with pytest.raises(ShapeError, match=r"max_unpool2d.*\(1, 1, 2, 1\)"):
        F.max_unpool2d(v, mg.tensor(np.zeros((1, 1, 2, 1), np.int64)), 2)
    with pytest.raises(ShapeError, match="max_unpool2d: invalid output_size"):
        F.max_unpool2d(
            v, mg.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2, output_size=(6, 4)
        )
    with pytest.raises(TypeError, match="max_unpool2d: indices must be integers"):
        F.max_unpool2d(v, mg.zeros(1, 1, 2, 2), 2)


# -- adaptive max pooling --------------------------------------------------------


@examples(30, deadline=None)
@given(
    nd=st.integers(1, 3),
    size=st.integers(1, 7),
    out=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_adaptive_max_pool_matches_torch(nd, size, out, seed, ties):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    shape = (2, 3, *(size,) * nd)
    x = rng.integers(0, 3, shape).astype(float) if ties else _distinct(rng, shape)
    fn_t = (
        torch.nn.functional.adaptive_max_pool1d,
        torch.nn.functional.adaptive_max_pool2d,
        torch.nn.functional.adaptive_max_pool3d,
    )[nd - 1]
    fn_m = (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)[nd - 1]
    xt = torch.from_numpy(x).requires_grad_(True)
    yt, it = fn_t(xt, out, return_indices=True)
    xm = mg.tensor(x, requires_grad=True)
    ym, im = fn_m(xm, out, return_indices=True)
    np.testing.assert_array_equal(ym.numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    g = rng.standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@examples(15, deadline=None)
@given(size=st.integers(1, 6), out=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_adaptive_max_pool2d_grad_matches_numerical(size, out, seed):
    x = mg.tensor(
        _distinct(np.random.default_rng(seed), (1, 2, size, size + 1)),
        requires_grad=True,
    )
    assert mg.autograd.gradcheck(lambda x: F.adaptive_max_pool2d(x, (out, None)), (x,))
    assert mg.autograd.gradgradcheck(lambda x: F.adaptive_max_pool2d(x, out) ** 2, (x,))


def test_adaptive_max_pool_modules_and_errors():
    x = mg.tensor(_distinct(np.random.default_rng(5), (2, 5, 7)))
    y, idx = nn.AdaptiveMaxPool2d((2, 3), return_indices=True)(x)
    assert y.shape == idx.shape == (2, 2, 3)
    assert nn.AdaptiveMaxPool1d(4)(x).shape == (2, 5, 4)
    assert repr(nn.AdaptiveMaxPool2d(3)) == "AdaptiveMaxPool2d(output_size=3)"
    with pytest.raises(ShapeError, match=r"adaptive_max_pool2d.*\(5, 7\)"):
        F.adaptive_max_pool2d(mg.zeros(5, 7), 2)
    with pytest.raises(ShapeError, match="adaptive_max_pool1d"):
        F.adaptive_max_pool1d(x, 0)


# -- pixel shuffle ---------------------------------------------------------------


@examples(20, deadline=None)
@given(
    lead=st.lists(st.integers(1, 2), max_size=2),
    c=st.integers(1, 3),
    r=st.integers(1, 3),
    h=st.integers(1, 3),
    w=st.integers(1, 3),
)
def test_pixel_shuffle_matches_torch_and_inverts(lead, c, r, h, w):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((*lead, c * r * r, h, w))
    want = torch.nn.functional.pixel_shuffle(torch.from_numpy(x), r).numpy()
    y = F.pixel_shuffle(mg.tensor(x), r)
    np.testing.assert_array_equal(y.numpy(), want)
    back = torch.nn.functional.pixel_unshuffle(torch.from_numpy(want), r).numpy()
    np.testing.assert_array_equal(nn.PixelUnshuffle(r)(y).numpy(), back)
    np.testing.assert_array_equal(back, x)


def test_pixel_shuffle_grad_and_errors():
    x = mg.tensor(
        np.random.default_rng(1).standard_normal((1, 8, 2, 3)), requires_grad=True
    )
    assert mg.autograd.gradcheck(lambda x: nn.PixelShuffle(2)(x) ** 2, (x,))
    with pytest.raises(
        ShapeError, match=r"pixel_shuffle: channels \(8\).*\(1, 8, 2, 3\)"
    ):
        F.pixel_shuffle(x, 3)
    with pytest.raises(ShapeError, match="pixel_unshuffle"):
        F.pixel_unshuffle(x, 2)
    with pytest.raises(ArgumentError, match="pixel_shuffle: upscale_factor"):
        F.pixel_shuffle(x, 0)


# -- group norm, instance norm ---------------------------------------------------


@examples(20, deadline=None)
@given(
    g=st.integers(1, 3),
    per=st.integers(1, 2),
    sp=st.lists(st.integers(1, 3), max_size=2),
    affine=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_group_norm_matches_torch(g, per, sp, affine, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    c = g * per
    assume(per * int(np.prod(sp)) > 1)
    x = rng.standard_normal((2, c, *sp))
    w = rng.standard_normal(c) if affine else None
    b = rng.standard_normal(c) if affine else None
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = torch.nn.functional.group_norm(
        xt,
        g,
        None if w is None else torch.from_numpy(w),
        None if b is None else torch.from_numpy(b),
    )
    xm = mg.tensor(x, requires_grad=True)
    ym = F.group_norm(
        xm, g, None if w is None else mg.tensor(w), None if b is None else mg.tensor(b)
    )
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-9)
    gr = rng.standard_normal(ym.shape)
    ym.backward(mg.tensor(gr))
    yt.backward(torch.from_numpy(gr))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-8)


def test_group_norm_gradcheck_module_and_errors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = mg.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal(4), requires_grad=True)
    b = mg.tensor(rng.standard_normal(4), requires_grad=True)
    assert mg.autograd.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))
    assert mg.autograd.gradgradcheck(lambda x: F.group_norm(x, 2) ** 2, (x,))
    for kw in ({}, {"affine": False}, {"bias": False}):
        ours, theirs = nn.GroupNorm(2, 4, **kw), torch.nn.GroupNorm(2, 4, **kw)
        assert repr(ours) == repr(theirs)
        assert set(ours.state_dict()) == set(theirs.state_dict())
    with pytest.raises(ShapeError, match=r"group_norm: 4 channels.*\(2, 4, 3\).*3"):
        F.group_norm(x, 3)
    with pytest.raises(ArgumentError, match="GroupNorm"):
        nn.GroupNorm(3, 4)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("track", [False, True])
def test_instance_norm_modules_match_torch_over_steps(nd, affine, track):
    torch = pytest.importorskip("torch")
    ours = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)[nd - 1](
        3, momentum=0.3, affine=affine, track_running_stats=track, dtype=mg.float64
    )
    theirs = (
        torch.nn.InstanceNorm1d,
        torch.nn.InstanceNorm2d,
        torch.nn.InstanceNorm3d,
    )[nd - 1](
        3, momentum=0.3, affine=affine, track_running_stats=track, dtype=torch.float64
    )
    assert set(ours.state_dict()) == set(theirs.state_dict())
    rng = np.random.default_rng(nd)
    for step in range(3):
        x = rng.standard_normal((2, 3, *(3,) * nd)) * (step + 1) + step
        xm = mg.tensor(x, requires_grad=True)
        xt = torch.from_numpy(x).requires_grad_(True)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(
            ym.numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-9
        )
        g = rng.standard_normal(ym.shape)
        ym.backward(mg.tensor(g))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(
            xm.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-8
        )
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((3, *(4,) * nd))  # unbatched
    np.testing.assert_allclose(
        ours(mg.tensor(x)).numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-9,
        atol=1e-9,
    )


@pytest.mark.parametrize(
    "kw", [{}, {"affine": True}, {"affine": True, "bias": False}, {"bias": False}]
)
def test_instance_norm_repr_and_keys_match_torch(kw):
    torch = pytest.importorskip("torch")
    ours = nn.InstanceNorm2d(3, track_running_stats=True, **kw)
    theirs = torch.nn.InstanceNorm2d(3, track_running_stats=True, **kw)
    assert repr(ours) == repr(theirs)
    assert set(ours.state_dict()) == set(theirs.state_dict())


def test_instance_norm_gradcheck_and_errors():
    rng = np.random.default_rng(7)
    x = mg.tensor(rng.standard_normal((2, 2, 3)), requires_grad=True)
    w = mg.tensor(rng.standard_normal(2), requires_grad=True)
    assert mg.autograd.gradcheck(lambda x, w: F.instance_norm(x, weight=w), (x, w))
    assert mg.autograd.gradgradcheck(lambda x: F.instance_norm(x) ** 2, (x,))
    with pytest.raises(
        ShapeError, match=r"instance_norm: expected more than 1.*\(2, 2, 1\)"
    ):
        F.instance_norm(mg.zeros(2, 2, 1))
    with pytest.raises(ShapeError, match=r"InstanceNorm2d.*\(2, 3\)"):
        nn.InstanceNorm2d(3)(mg.zeros(2, 3))
    with pytest.raises(ShapeError, match=r"InstanceNorm1d.*num_features=3"):
        nn.InstanceNorm1d(3, affine=True)(mg.zeros(2, 4, 5))


# -- channel-wise dropout ---------------------------------------------------------


def test_dropout2d_zeroes_whole_channels_and_scales():
    x = mg.ones(8, 16, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.25, generator=np.random.default_rng(0))
    v = y.numpy()
    per_channel = v.reshape(8, 16, 9)
    assert np.all(per_channel == per_channel[..., :1])  # channel-wise
    assert set(np.unique(v)) <= {0.0, np.float32(1 / 0.75)}
    assert 0 < (per_channel[..., 0] == 0).sum() < 8 * 16
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), v)
    assert F.dropout2d(x, 0.5, training=False) is x
    assert np.all(F.dropout2d(x, 1.0).numpy() == 0)
    m = nn.Dropout2d(0.5)
    m.eval()
    assert m(x) is x
    with pytest.raises(ArgumentError, match="dropout2d: probability"):
        F.dropout2d(x, 1.5)


def test_dropout_nd_unbatched_and_inplace():
    x = mg.ones(4, 5)
    y = F.dropout1d(x, 0.5, generator=np.random.default_rng(1))
    assert np.all(y.numpy() == y.numpy()[:, :1])
    assert nn.Dropout3d(0.5)(mg.ones(2, 3, 2, 2)).shape == (2, 3, 2, 2)
    with pytest.warns(UserWarning, match="dropout2d"):
        F.dropout2d(mg.ones(2, 3, 4), 0.5)
    leaf = mg.ones(2, 3, 2, 2, requires_grad=True)
    h = leaf * 2.0
    F.dropout2d(h, 0.5, inplace=True, generator=np.random.default_rng(2))
    h.sum().backward()
    assert set(np.unique(leaf.grad.numpy())) <= {0.0, 4.0}
    with pytest.raises(ShapeError, match="dropout3d"):
        F.dropout3d(mg.ones(2, 3), 0.5)


# -- power-average pooling -------------------------------------------------------


@examples(20, deadline=None)
@given(
    nd=st.integers(1, 2),
    p=st.sampled_from([1, 2, 3.5]),
    k=st.integers(1, 3),
    s=st.sampled_from([None, 1, 2]),
    ceil=st.booleans(),
    size=st.integers(3, 6),
    seed=st.integers(0, 2**16),
)
def test_lp_pool_matches_torch(nd, p, k, s, ceil, size, seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 2.0, (2, 2, *(size,) * nd))
    fn_t = (torch.nn.functional.lp_pool1d, torch.nn.functional.lp_pool2d)[nd - 1]
    fn_m = (F.lp_pool1d, F.lp_pool2d)[nd - 1]
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = fn_t(xt, p, k, s, ceil)
    xm = mg.tensor(x, requires_grad=True)
    ym = fn_m(xm, p, k, s, ceil)
    np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=1e-10)
    g = rng.standard_normal(ym.shape)
    ym.backward(mg.tensor(g))
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9)


def test_lp_pool_gradcheck_module_and_errors():
    torch = pytest.importorskip("torch")
    x = mg.tensor(
        np.random.default_rng(8).uniform(0.5, 2, (1, 2, 4, 4)), requires_grad=True
    )
    assert mg.autograd.gradcheck(lambda x: F.lp_pool2d(x, 3, 2), (x,))
    assert repr(nn.LPPool2d(2, 3)) == repr(torch.nn.LPPool2d(2, 3))
    assert nn.LPPool1d(2, 2)(mg.ones(1, 3, 4)).shape == (1, 3, 2)
    with pytest.raises(ArgumentError, match="lp_pool2d: norm_type"):
        F.lp_pool2d(x, 0, 2)
    with pytest.raises(ShapeError, match=r"lp_pool2d.*\(4,\)"):
        F.lp_pool2d(mg.ones(4), 2, 2)
