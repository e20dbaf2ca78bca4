"""The C convolution and pooling kernels (minigrad._C._conv / _pool) against
naive numpy references, over 1-, 2- and 3-D geometries, both dtypes, one and
two threads; and every validation branch of the wrappers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _conv, _pool
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples

TOL = {np.float32: 1e-4, np.float64: 1e-10}


def _taps(x, k, s, p, d, out, fill=0.0):
    """(tap offsets, the strided view of padded x each tap reads), x
    (N, C, *in); the view has shape (N, C, *out)."""
    nd = len(k)
    xp = np.pad(
        x,
        [(0, 0), (0, 0)] + [(pi, pi + si * oi) for pi, si, oi in zip(p, s, out)],
        constant_values=fill,
    )
    for t in itertools.product(*(range(ki) for ki in k)):
        sl = tuple(
            slice(t[i] * d[i], t[i] * d[i] + s[i] * out[i], s[i]) for i in range(nd)
        )
        yield t, xp[(slice(None), slice(None), *sl)]


def conv_ref(x, w, b, s, p, d, groups):
    n, _cin = x.shape[:2]
    cout, cg = w.shape[:2]
    k = w.shape[2:]
    out = _conv.output_size(x.shape[2:], k, s, p, d)
    y = np.zeros((n, cout, *out))
    og = cout // groups
    for t, view in _taps(x.astype(np.float64), k, s, p, d, out):
        for g in range(groups):
            wt = w[(slice(g * og, (g + 1) * og), slice(None), *t)]
            y[:, g * og : (g + 1) * og] += np.einsum(
                "oc,nc...->no...", wt, view[:, g * cg : (g + 1) * cg]
            )
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(k))
    return y


def conv_grads_ref(x, w, gy, s, p, d, groups):
    """(gx, gw) by the chain rule through conv_ref, computed as the exact
    adjoint with numpy: gx via np.add.at on the padded input."""
    n, cin = x.shape[:2]
    cout, cg = w.shape[:2]
    k = w.shape[2:]
    nd = len(k)
    out = gy.shape[2:]
    og = cout // groups
    xp_shape = (
        n,
        cin,
        *(xi + 2 * pi + si * oi for xi, pi, si, oi in zip(x.shape[2:], p, s, out)),
    )
    gxp = np.zeros(xp_shape)
    gw = np.zeros(w.shape)
    for t, view in _taps(x.astype(np.float64), k, s, p, d, out):
        sl = tuple(
            slice(t[i] * d[i], t[i] * d[i] + s[i] * out[i], s[i]) for i in range(nd)
        )
        for g in range(groups):
            osl, csl = slice(g * og, (g + 1) * og), slice(g * cg, (g + 1) * cg)
            wt = w[(osl, slice(None), *t)]
            axes = [0, *range(2, 2 + nd)]
            gw[(osl, slice(None), *t)] += np.tensordot(
                gy[:, osl], view[:, csl], axes=(axes, axes)
            )
            gxp[(slice(None), csl, *sl)] += np.einsum("oc,no...->nc...", wt, gy[:, osl])
    core = tuple(slice(pi, pi + xi) for pi, xi in zip(p, x.shape[2:]))
    return gxp[(slice(None), slice(None), *core)], gw


@st.composite
def conv_cases(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 4 if nd < 3 else 2)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    ext = [di * (ki - 1) + 1 for di, ki in zip(d, k)]
    size = tuple(
        max(1, draw(st.integers(e - 2 * pi, e - 2 * pi + (6 if nd < 3 else 3))))
        for e, pi in zip(ext, p)
    )
    n = draw(st.integers(1, 3))
    bias = draw(st.booleans())
    return n, cin, cout, groups, size, k, s, p, d, bias


@examples(60, deadline=None)
@given(
    case=conv_cases(),
    dtype=st.sampled_from([np.float32, np.float64]),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_conv_kernels_match_naive_reference(case, dtype, threads, seed):
    n, cin, cout, groups, size, k, s, p, d, bias = case
    out = _conv.output_size(size, k, s, p, d)
    if min(out) < 1:
        with pytest.raises(ShapeError, match="larger than the padded input"):
            _conv.conv_forward(
                np.zeros((n, cin, *size), dtype),
                np.zeros((cout, cin // groups, *k), dtype),
                stride=s,
                padding=p,
                dilation=d,
                groups=groups,
            )
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    kw = {
        "stride": s,
        "padding": p,
        "dilation": d,
        "groups": groups,
        "num_threads": threads,
    }
    y = _conv.conv_forward(x, w, b, **kw)
    assert y.dtype == dtype
    tol = TOL[dtype]
    np.testing.assert_allclose(
        y, conv_ref(x, w, b, s, p, d, groups), rtol=tol, atol=tol
    )
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx_ref, gw_ref = conv_grads_ref(x, w, gy, s, p, d, groups)
    gx = _conv.conv_backward_input(gy, w, input_size=size, **kw)
    gw = _conv.conv_backward_weight(x, gy, kernel_size=k, **kw)
    np.testing.assert_allclose(gx, gx_ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, gw_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("n", "cin", "cout", "size", "k", "s", "p", "groups"),
    [
        (8, 16, 16, (12, 12), (3, 3), (1, 1), (1, 1), 1),  # stride-1 3x3
        (8, 16, 24, (9, 7), (1, 1), (1, 1), (0, 0), 1),  # 1x1: no patches
        (8, 16, 16, (10, 10), (3, 3), (1, 1), (1, 1), 16),  # depthwise
        (1, 4, 4, (40, 40), (5, 5), (1, 1), (2, 2), 1),  # tiled (> 1 tile)
        (7, 16, 32, (12, 12), (3, 3), (1, 1), (1, 1), 1),  # image blocks 4 + 3
        (6, 3, 6, (30,), (5,), (2,), (0,), 3),
    ],
)
@pytest.mark.parametrize("threads", [1, 2])
def test_conv_kernels_fast_paths_and_threads(
    n, cin, cout, size, k, s, p, groups, dtype, threads
):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    d = (1,) * len(k)
    kw = {
        "stride": s,
        "padding": p,
        "dilation": d,
        "groups": groups,
        "num_threads": threads,
    }
    y = _conv.conv_forward(x, w, b, **kw)
    tol = 10 * TOL[dtype]
    np.testing.assert_allclose(
        y, conv_ref(x, w, b, s, p, d, groups), rtol=tol, atol=tol
    )
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx_ref, gw_ref = conv_grads_ref(x, w, gy, s, p, d, groups)
    np.testing.assert_allclose(
        _conv.conv_backward_input(gy, w, input_size=size, **kw),
        gx_ref,
        rtol=tol,
        atol=tol,
    )
    np.testing.assert_allclose(
        _conv.conv_backward_weight(x, gy, kernel_size=k, **kw),
        gw_ref,
        rtol=tol,
        atol=tol,
    )


def test_conv_kernel_tiles_many_positions_with_big_patches():
    # kc * MIN_TILE patches exceed the workspace budget: tiles of 64 positions
    # each, the last one partial and starting mid-row.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 300, 13, 11))
    w = rng.standard_normal((2, 300, 3, 3))
    kw = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1)}
    y = _conv.conv_forward(x, w, **kw)
    np.testing.assert_allclose(
        y, conv_ref(x, w, None, (1, 1), (1, 1), (1, 1), 1), rtol=1e-10, atol=1e-10
    )
    gy = rng.standard_normal(y.shape)
    gx_ref, gw_ref = conv_grads_ref(x, w, gy, (1, 1), (1, 1), (1, 1), 1)
    np.testing.assert_allclose(
        _conv.conv_backward_input(gy, w, input_size=(13, 11), **kw), gx_ref, atol=1e-9
    )
    np.testing.assert_allclose(
        _conv.conv_backward_weight(x, gy, kernel_size=(3, 3), **kw), gw_ref, atol=1e-9
    )


def test_im2col_col2im_match_torch_unfold_fold():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6))
    kw = {
        "kernel_size": (3, 2),
        "stride": (2, 1),
        "padding": (1, 0),
        "dilation": (1, 2),
    }
    cols = _conv.im2col(x, **kw)
    ref = torch.nn.functional.unfold(torch.from_numpy(x), **kw).numpy()
    np.testing.assert_array_equal(cols, ref)
    back = _conv.col2im(cols, input_size=(7, 6), **kw)
    ref = torch.nn.functional.fold(
        torch.from_numpy(cols), output_size=(7, 6), **kw
    ).numpy()
    np.testing.assert_allclose(back, ref, rtol=1e-12, atol=1e-12)


def test_conv_kernel_reads_any_layout_and_byte_order():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 2, 2))
    kw = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}
    ref = _conv.conv_forward(x, w, **kw)
    swapped = x.astype(x.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(_conv.conv_forward(swapped, w, **kw), ref)
    fortran = np.asfortranarray(x)
    np.testing.assert_array_equal(_conv.conv_forward(fortran, w, **kw), ref)
    buf = np.zeros(x.size * 8 + 1, np.uint8)[1:].view(np.float64)  # misaligned
    mis = buf[: x.size].reshape(x.shape)
    mis[...] = x
    assert not mis.flags.aligned
    np.testing.assert_array_equal(_conv.conv_forward(mis, w, **kw), ref)


def test_conv_kernel_empty_sizes():
    kw = {"stride": (1,), "padding": (0,), "dilation": (1,)}
    y = _conv.conv_forward(np.zeros((0, 2, 5)), np.ones((3, 2, 2)), **kw)
    assert y.shape == (0, 3, 4)
    gw = _conv.conv_backward_weight(
        np.zeros((0, 2, 5)), np.zeros((0, 3, 4)), kernel_size=(2,), **kw
    )
    np.testing.assert_array_equal(gw, np.zeros((3, 2, 2)))
    gx = _conv.conv_backward_input(
        np.zeros((2, 0, 4)), np.zeros((0, 2, 2)), input_size=(5,), **kw
    )
    np.testing.assert_array_equal(gx, np.zeros((2, 2, 5)))
    y = _conv.conv_forward(
        np.zeros((2, 0, 5)), np.zeros((3, 0, 2)), np.arange(3.0), **kw
    )
    np.testing.assert_array_equal(
        y, np.broadcast_to(np.arange(3.0)[:, None], (2, 3, 4))
    )


def test_conv_kernel_validation_errors():
    x, w = np.zeros((1, 4, 5, 5)), np.zeros((2, 2, 3, 3))
    kw = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}
    with pytest.raises(TypeError, match="float32 or float64"):
        _conv.conv_forward(x.astype(np.int64), w, **kw)
    with pytest.raises(TypeError, match="must be a numpy array"):
        _conv.conv_forward([1.0], w, **kw)
    with pytest.raises(TypeError, match="one dtype"):
        _conv.conv_forward(x.astype(np.float32), w, **kw)
    with pytest.raises(ShapeError, match=r"weight \(2, 2, 3, 3\) expects 2 input"):
        _conv.conv_forward(x, w, **kw)
    with pytest.raises(ShapeError, match="divisible by groups=3"):
        _conv.conv_forward(x, w, groups=3, **kw)
    with pytest.raises(ShapeError, match="larger than the padded input"):
        _conv.conv_forward(x, np.zeros((2, 4, 6, 6)), **kw)
    with pytest.raises(ArgumentError, match="stride must hold ints >= 1"):
        _conv.conv_forward(
            x, w, groups=2, stride=(0, 1), padding=(0, 0), dilation=(1, 1)
        )
    with pytest.raises(ArgumentError, match="padding must be a tuple of 2"):
        _conv.conv_forward(x, w, groups=2, stride=(1, 1), padding=(0,), dilation=(1, 1))
    with pytest.raises(ArgumentError, match="num_threads"):
        _conv.conv_forward(x, w, groups=2, num_threads=0, **kw)
    with pytest.raises(ShapeError, match="same number of dims"):
        _conv.conv_forward(x, np.zeros((2, 4, 3)), **kw)
    with pytest.raises(ShapeError, match="bias must have shape"):
        _conv.conv_forward(x, w, np.zeros(3), groups=2, **kw)
    with pytest.raises(ShapeError, match="do not form a convolution"):
        # grad_output too large for the input size it claims
        _conv.conv_backward_input(
            np.zeros((1, 2, 9, 9)), w, input_size=(5, 5), groups=2, **kw
        )
    with pytest.raises(ShapeError, match="differ in batch"):
        _conv.conv_backward_weight(
            x, np.zeros((2, 2, 3, 3)), kernel_size=(3, 3), groups=2, **kw
        )


# -- pooling -----------------------------------------------------------------


def max_pool_ref(x, k, s, p, d, out):
    best = np.full(x.shape[:2] + tuple(out), -np.inf)
    for _t, view in _taps(x, k, s, p, d, out, fill=-np.inf):
        best = np.maximum(best, view)
    return best


def avg_pool_ref(x, k, s, p, out, count_include_pad, divisor):
    nd = len(k)
    total = np.zeros(x.shape[:2] + tuple(out))
    count = np.zeros_like(total)
    padded = np.zeros_like(total)
    ones = np.ones_like(x)
    # Pad far enough for ceil_mode windows, marking the real padding.
    ext = [(pi, pi + si * oi + ki) for pi, si, oi, ki in zip(p, s, out, k)]
    xp = np.pad(x, [(0, 0), (0, 0), *ext])
    op = np.pad(ones, [(0, 0), (0, 0), *ext])
    inner = np.pad(
        np.pad(ones, [(0, 0), (0, 0)] + [(pi, pi) for pi in p], constant_values=1),
        [(0, 0), (0, 0)] + [(0, si * oi + ki) for pi, si, oi, ki in zip(p, s, out, k)],
    )
    for t in itertools.product(*(range(ki) for ki in k)):
        sl = (
            slice(None),
            slice(None),
            *(slice(t[i], t[i] + s[i] * out[i], s[i]) for i in range(nd)),
        )
        total += xp[sl]
        count += op[sl]
        padded += inner[sl]
    if divisor:
        return total / divisor
    return total / (padded if count_include_pad else count)


@examples(60, deadline=None)
@given(
    nd=st.integers(1, 3),
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**16),
)
def test_pool_kernels_match_naive_reference(nd, data, dtype, threads, seed):
    k = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, ki // 2)) for ki in k)
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    ceil = data.draw(st.booleans())
    size = tuple(data.draw(st.integers(di * (ki - 1) + 1, 7)) for ki, di in zip(k, d))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, *size)).astype(dtype)
    out = _pool.output_size(size, k, s, p, d, ceil)
    y, idx = _pool.max_pool_forward(
        x,
        kernel_size=k,
        stride=s,
        padding=p,
        dilation=d,
        out_size=out,
        num_threads=threads,
    )
    np.testing.assert_array_equal(y, max_pool_ref(x, k, s, p, d, out))
    flat = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(
        np.take_along_axis(flat, idx.reshape(2, 3, -1), -1).reshape(y.shape), y
    )
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = _pool.max_pool_backward(
        gy,
        idx,
        in_size=size,
        kernel_size=k,
        stride=s,
        padding=p,
        dilation=d,
        num_threads=threads,
    )
    ref = np.zeros(flat.shape)
    for a in range(2):
        for c in range(3):
            np.add.at(ref[a, c], idx[a, c].ravel(), gy[a, c].ravel())
    np.testing.assert_allclose(
        gx.reshape(flat.shape), ref, rtol=TOL[dtype], atol=TOL[dtype]
    )

    out = _pool.output_size(size, k, s, p, (1,) * nd, ceil)
    cip = data.draw(st.booleans())
    div = data.draw(st.sampled_from([None, 1, 5]))
    kw = {
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "count_include_pad": cip,
        "divisor_override": div,
        "num_threads": threads,
    }
    y = _pool.avg_pool_forward(x, out_size=out, **kw)
    tol = TOL[dtype]
    np.testing.assert_allclose(
        y, avg_pool_ref(x, k, s, p, out, cip, div), rtol=tol, atol=tol
    )
    # The backward is the adjoint: <avg(x), gy> == <x, avg_bwd(gy)>.
    gy = rng.standard_normal(y.shape)
    gx = _pool.avg_pool_backward(gy.astype(dtype), in_size=size, **kw)
    np.testing.assert_allclose(
        np.vdot(avg_pool_ref(x, k, s, p, out, cip, div), gy),
        np.vdot(x.astype(np.float64), gx),
        rtol=tol * 10,
    )


def test_max_pool_kernel_propagates_nan_and_threads_agree():
    x = np.random.default_rng(5).standard_normal((4, 16, 20, 20))
    x[0, 0, 3, 3] = np.nan
    kw = {
        "kernel_size": (2, 2),
        "stride": (2, 2),
        "padding": (0, 0),
        "dilation": (1, 1),
        "out_size": (10, 10),
    }
    y1, i1 = _pool.max_pool_forward(x, **kw)
    y2, i2 = _pool.max_pool_forward(x, num_threads=2, **kw)
    assert np.isnan(y1[0, 0, 1, 1])
    assert i1[0, 0, 1, 1] == 3 * 20 + 3
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(i1, i2)


def test_pool_kernel_validation_errors():
    x = np.zeros((1, 1, 4, 4))
    kw = {
        "kernel_size": (2, 2),
        "stride": (2, 2),
        "padding": (0, 0),
        "dilation": (1, 1),
    }
    with pytest.raises(TypeError, match="float32 or float64"):
        _pool.max_pool_forward(x.astype(np.int32), out_size=(2, 2), **kw)
    with pytest.raises(ShapeError, match="does not fit"):
        _pool.max_pool_forward(x, out_size=(3, 2), **kw)
    with pytest.raises(ArgumentError, match="kernel_size must be a tuple"):
        _pool.max_pool_forward(
            x,
            out_size=(2, 2),
            kernel_size=2,
            stride=(2, 2),
            padding=(0, 0),
            dilation=(1, 1),
        )
    gy = np.ones((1, 1, 2, 2))
    with pytest.raises(TypeError, match="int64"):
        _pool.max_pool_backward(
            gy, np.zeros((1, 1, 2, 2), np.int32), in_size=(4, 4), **kw
        )
    with pytest.raises(ArgumentError, match="outside its plane"):
        _pool.max_pool_backward(
            gy, np.full((1, 1, 2, 2), 16, np.int64), in_size=(4, 4), **kw
        )
    with pytest.raises(ArgumentError, match="divisor_override"):
        _pool.avg_pool_forward(
            x,
            out_size=(2, 2),
            kernel_size=(2, 2),
            stride=(2, 2),
            padding=(0, 0),
            divisor_override=0,
        )


def test_max_pool_backward_names_rejected_sizes_not_indices():
    # Found by the fuzzer (tests/fuzz/cases_conv.py): an input size past the
    # kernel's limit was reported as "an index lies outside its plane".
    kw = {"kernel_size": (1,), "stride": (1,), "padding": (0,), "dilation": (1,)}
    gy, idx = np.zeros((0, 2**40)), np.zeros((0, 2**40), np.int64)
    with pytest.raises(ArgumentError, match="rejected the sizes"):
        _pool.max_pool_backward(gy, idx, in_size=(2**40,), **kw)
    with pytest.raises(ArgumentError, match="outside its plane"):
        _pool.max_pool_backward(np.ones((1, 2)), np.array([[0, 3]]), in_size=(3,), **kw)


def test_max_pool_kernel_ties_pick_the_first_tap_like_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 2, 7, 9))
    x[0, 1, 2:5, 3:6] = 1.0
    kw = {
        "kernel_size": (3, 2),
        "stride": (2, 1),
        "padding": (1, 1),
        "dilation": (1, 2),
    }
    out = _pool.output_size((7, 9), (3, 2), (2, 1), (1, 1), (1, 2), True)
    _, idx = _pool.max_pool_forward(x, out_size=out, **kw)
    _, ref = torch.nn.functional.max_pool2d(
        torch.from_numpy(x),
        (3, 2),
        (2, 1),
        (1, 1),
        (1, 2),
        ceil_mode=True,
        return_indices=True,
    )
    np.testing.assert_array_equal(idx, ref.numpy())


def test_conv_kernel_clamps_a_huge_thread_count():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 8, 12, 12))
    w = rng.standard_normal((8, 8, 3, 3))
    kw = {"stride": (1, 1), "padding": (1, 1), "dilation": (1, 1)}
    ref = _conv.conv_forward(x, w, **kw)
    np.testing.assert_allclose(
        _conv.conv_forward(x, w, num_threads=10**9, **kw), ref, rtol=1e-12
    )
    y, _ = _pool.max_pool_forward(
        x,
        kernel_size=(2, 2),
        stride=(2, 2),
        padding=(0, 0),
        dilation=(1, 1),
        out_size=(6, 6),
        num_threads=10**9,
    )
    np.testing.assert_array_equal(y, x.reshape(4, 8, 6, 2, 6, 2).max(axis=(3, 5)))


def test_conv_kernel_tap_reaching_no_column_writes_inside_its_row():
    # Regression: a kernel tap that reaches no output column (here taps 0 and
    # 2 of a dilated kernel on a 1-wide input) zero-filled past its row
    # segment, into the next image's patches when small images are batched.
    x = np.array([[[1.0]], [[2.0]]])
    w = np.array([[[10.0, 100.0, 1000.0]]])
    kw = {"stride": (1,), "padding": (2,), "dilation": (2,)}
    y = _conv.conv_forward(x, w, **kw)
    np.testing.assert_array_equal(y.ravel(), [100.0, 200.0])
    np.testing.assert_array_equal(y, conv_ref(x, w, None, (1,), (2,), (2,), 1))
