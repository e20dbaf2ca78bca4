"""The two forward convolution algorithms of csrc/conv (Note [Fused or
workspace forward] in csrc/conv/conv_fused.c): the fused one (im2col gathered
straight into the GEMM's packed panels) and the tiled-workspace one, against
each other and a numpy reference on hypothesis-drawn geometries (1-3 spatial
dims, stride, padding, dilation, groups, odd sizes, batch 0 and 1), float32
and float64, every ISA, one and two threads; the geometries that reach each
edge of the fused driver; the wrapper's checks of ``path``; and F.conv*
gradchecked, and compared with PyTorch, with the fused forward forced."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _conv, _gemm
from minigrad.errors import ArgumentError
from minigrad.ops import conv as conv_ops
from tests.helpers import examples

PATHS = ("workspace", "fused", "auto")
ISAS = (None, *_gemm.available_isas())
TOL = {np.float32: 2e-4, np.float64: 1e-10}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def conv_numpy(x, w, b, s, p, d, groups):
    """y = conv(x, w) + b in float64, one tap at a time over the zero-padded
    input (independent of the C code's index maps)."""
    n = x.shape[0]
    cout, cg = w.shape[:2]
    k = w.shape[2:]
    nd = len(k)
    out = tuple(
        (i + 2 * pi - di * (ki - 1) - 1) // si + 1
        for i, ki, si, pi, di in zip(x.shape[2:], k, s, p, d)
    )
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pi, pi) for pi in p])
    y = np.zeros((n, cout, *out))
    og = cout // groups
    for t in itertools.product(*(range(ki) for ki in k)):
        view = xp[
            (
                slice(None),
                slice(None),
                *(
                    slice(t[i] * d[i], t[i] * d[i] + s[i] * (out[i] - 1) + 1, s[i])
                    for i in range(nd)
                ),
            )
        ]
        for g in range(groups):
            wt = w[(slice(g * og, (g + 1) * og), slice(None), *t)].astype(np.float64)
            y[:, g * og : (g + 1) * og] += np.einsum(
                "oc,nc...->no...", wt, view[:, g * cg : (g + 1) * cg]
            )
    if b is not None:
        y += b.astype(np.float64).reshape((1, -1) + (1,) * nd)
    return y


@st.composite
def geometries(draw):
    """(n, cin, cout, groups, size, k, s, p, d) with at least one output
    position per dim."""
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 7))
    k = tuple(draw(st.integers(1, 4 if nd < 3 else 2)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    # Sizes from "the kernel just fits the padded input" up to a few more.
    size = tuple(
        max(1, di * (ki - 1) + 1 - 2 * pi) + draw(st.integers(0, 9 if nd < 3 else 4))
        for ki, pi, di in zip(k, p, d)
    )
    n = draw(st.sampled_from([0, 1, 1, 2, 3]))
    return n, cin, cout, groups, size, k, s, p, d


def _run(x, w, b, s, p, d, groups, path, **kw):
    return _conv.conv_forward(
        x, w, b, stride=s, padding=p, dilation=d, groups=groups, path=path, **kw
    )


@examples(80, deadline=None)
@given(
    geom=geometries(),
    dtype=st.sampled_from([np.float32, np.float64]),
    bias=st.booleans(),
    isa=st.sampled_from(ISAS),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_fused_and_workspace_match_numpy(geom, dtype, bias, isa, threads, seed):
    n, cin, cout, groups, size, k, s, p, d = geom
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    ref = conv_numpy(x, w, b, s, p, d, groups)
    ys = {
        path: _run(x, w, b, s, p, d, groups, path, isa=isa, num_threads=threads)
        for path in PATHS
    }
    tol = TOL[dtype]
    for path, y in ys.items():
        assert y.dtype == dtype, path
        assert y.shape == ref.shape, path
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol, err_msg=path)
    np.testing.assert_allclose(ys["fused"], ys["workspace"], rtol=tol, atol=tol)


# Geometries aimed at the fused driver's edges (AVX-512 float32: MR 32, NR
# 12, KC 384, MC 320; float64: MR 16, KC 256): rows of one micro-tile
# spanning two images (P = 25, 49), K in several slices (kc = 450, 600),
# c_out past whole NR-panels (the narrow kernels and the scratch tile),
# depthwise groups, 1x1 without patches, stride and padding along the rows
# (the partial spans), tap tables too big for the stack (11x11 taps x 32
# one-column segments), many row blocks for two threads.
EDGES = [
    # n, cin, cout, groups, size, k, s, p, d
    (5, 3, 13, 1, (7, 7), (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 50, 7, 1, (9, 9), (3, 3), (1, 1), (1, 1), (1, 1)),
    (2, 24, 5, 1, (6, 5), (5, 5), (1, 1), (2, 2), (1, 1)),
    (4, 8, 8, 8, (11, 10), (3, 3), (1, 1), (1, 1), (1, 1)),
    (3, 6, 25, 1, (7, 9), (1, 1), (1, 1), (0, 0), (1, 1)),
    (2, 4, 10, 2, (13, 17), (3, 4), (2, 3), (2, 1), (2, 1)),
    (2, 2, 3, 1, (12, 1), (11, 1), (1, 1), (5, 0), (1, 1)),
    (1, 3, 4, 1, (40, 41), (3, 3), (1, 1), (1, 1), (1, 1)),
    (64, 6, 16, 1, (14, 14), (5, 5), (1, 1), (0, 0), (1, 1)),
    (2, 3, 5, 1, (5, 6, 7), (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 3)),
]


@pytest.mark.parametrize("geom", EDGES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
def test_fused_edges_match_numpy(geom, dtype, isa, threads):
    n, cin, cout, groups, size, k, s, p, d = geom
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    ref = conv_numpy(x, w, b, s, p, d, groups)
    tol = 10 * TOL[dtype]
    for path in PATHS:
        y = _run(x, w, b, s, p, d, groups, path, isa=isa, num_threads=threads)
        np.testing.assert_allclose(y, ref, rtol=tol, atol=tol, err_msg=path)


def test_fused_batch_zero_and_one():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((4, 2, 3, 3))
    b = rng.standard_normal(4)
    geo = ((1, 1), (1, 1), (1, 1), 1)
    y0 = _run(np.zeros((0, 2, 5, 5)), w, b, *geo, "fused")
    assert y0.shape == (0, 4, 5, 5)
    x = rng.standard_normal((1, 2, 5, 5))
    np.testing.assert_allclose(
        _run(x, w, b, *geo, "fused"), conv_numpy(x, w, b, *geo), atol=1e-12
    )


def test_fused_reads_views_and_byte_orders():
    # The wrapper copies what the kernel cannot read in place.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4, 9, 8))[:, :, ::2].astype(">f8")
    w = np.asfortranarray(rng.standard_normal((5, 4, 3, 2)))
    geo = ((1, 2), (1, 0), (1, 1), 1)
    np.testing.assert_allclose(
        _run(x, w, None, *geo, "fused"),
        conv_numpy(x.astype(np.float64), w, None, *geo),
        atol=1e-12,
    )


@pytest.mark.parametrize("path", ["Fused", "", "implicit", None, 1, b"fused"])
def test_path_must_be_a_known_name(path):
    x, w = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2))
    with pytest.raises(ArgumentError, match=r"conv: path must be one of"):
        _run(x, w, None, (1, 1), (0, 0), (1, 1), 1, path)


@contextlib.contextmanager
def forward_path(path: str) -> Iterator[None]:
    """F.conv* with their forward forced to `path` (the private hook
    bench_conv.py uses)."""
    saved, conv_ops._FWD_PATH = conv_ops._FWD_PATH, path
    try:
        yield
    finally:
        conv_ops._FWD_PATH = saved


@examples(25, deadline=None)
@given(geom=geometries(), bias=st.booleans(), seed=st.integers(0, 2**16))
def test_conv_with_fused_forward_gradchecks(geom, bias, seed):
    n, cin, cout, groups, size, k, s, p, d = geom
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal((n, cin, *size)), requires_grad=True)
    w = mg.tensor(rng.standard_normal((cout, cin // groups, *k)), requires_grad=True)
    inputs = (x, w)
    if bias:
        inputs += (mg.tensor(rng.standard_normal(cout), requires_grad=True),)

    def fn(x, w, b=None):
        return CONV[len(k)](x, w, b, stride=s, padding=p, dilation=d, groups=groups)

    with forward_path("fused"):
        assert mg.autograd.gradcheck(fn, inputs)
        if n * cout and len(k) < 3:
            assert mg.autograd.gradgradcheck(fn, inputs)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("geom", EDGES)
def test_conv_with_fused_forward_matches_torch(torch, geom, dtype):
    n, cin, cout, groups, size, k, s, p, d = geom
    rng = np.random.default_rng(6)
    arrays = [
        rng.standard_normal((n, cin, *size)).astype(dtype),
        rng.standard_normal((cout, cin // groups, *k)).astype(dtype),
        rng.standard_normal(cout).astype(dtype),
    ]
    mine = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    kw = {"stride": s, "padding": p, "dilation": d, "groups": groups}
    with forward_path("fused"):
        y = CONV[len(k)](*mine, **kw)
    yt = getattr(torch.nn.functional, f"conv{len(k)}d")(*theirs, **kw)
    assert str(y.dtype) == str(yt.dtype).removeprefix("torch.")
    tol = {"float32": 1e-4, "float64": 1e-10}[dtype]
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(mg.tensor(g))
    yt.backward(torch.from_numpy(g))
    for a, b in zip(mine, theirs):
        assert a.grad.dtype == a.dtype
        np.testing.assert_allclose(
            a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol * 10
        )


class _Geom(ctypes.Structure):
    """struct mg_conv_geom (csrc/mg_conv.h)."""

    _fields_ = [
        ("nd", ctypes.c_int),
        ("batch", ctypes.c_ssize_t),
        ("c_in", ctypes.c_ssize_t),
        ("c_out", ctypes.c_ssize_t),
        ("groups", ctypes.c_ssize_t),
        *(
            (name, ctypes.c_ssize_t * 3)
            for name in ("in_size", "out_size", "kernel", "stride", "pad", "dilation")
        ),
    ]


def _c_forward(geom, x, w, y, isa, threads, path):
    """mg_conv_fwd_path_f64 straight through ctypes: no wrapper checks."""
    f = ctypes.CDLL(_conv.__file__).mg_conv_fwd_path_f64
    p = ctypes.c_void_p
    f.argtypes = [ctypes.POINTER(_Geom), p, p, p, p, ctypes.c_int, ctypes.c_int]
    f.argtypes += [ctypes.c_int]
    f.restype = ctypes.c_int
    return f(ctypes.byref(geom), x.ctypes.data, w.ctypes.data, None, y.ctypes.data,
             isa, threads, path)  # fmt: skip


def test_c_entry_point_validates_its_own_arguments():
    # C never trusts its caller: a bad path, thread count, ISA or geometry
    # is refused (MG_CONV_EARG = 3) before y is touched.
    x = np.ones((2, 3, 6, 5))
    w = np.ones((4, 3, 3, 3))
    y = np.full((2, 4, 4, 3), 7.0)

    def geom(**kw):
        g = _Geom(nd=2, batch=2, c_in=3, c_out=4, groups=1)
        g.in_size[:2], g.out_size[:2], g.kernel[:2] = (6, 5), (4, 3), (3, 3)
        g.stride[:2], g.pad[:2], g.dilation[:2] = (1, 1), (0, 0), (1, 1)
        for k, v in kw.items():
            if isinstance(v, tuple):
                getattr(g, k)[:2] = v
            else:
                setattr(g, k, v)
        return g

    for path in (0, 1, 2):
        assert _c_forward(geom(), x, w, y, -1, 1, path) == 0
        np.testing.assert_allclose(y, 27.0)
    y[...] = 7.0
    bad = [
        (geom(), -1, 1, -1),
        (geom(), -1, 1, 3),
        (geom(), -1, 0, 2),
        (geom(), 7, 1, 2),
        (geom(out_size=(5, 3)), -1, 1, 2),
        (geom(groups=2), -1, 1, 2),
        (geom(stride=(0, 1)), -1, 1, 2),
        (geom(nd=4), -1, 1, 2),
        (geom(batch=-1), -1, 1, 2),
    ]
    for g, isa, threads, path in bad:
        assert _c_forward(g, x, w, y, isa, threads, path) == 3
    np.testing.assert_array_equal(y, 7.0)
