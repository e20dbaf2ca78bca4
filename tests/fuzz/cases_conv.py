"""Fuzz cases of minigrad._C._conv and minigrad._C._pool (see cases.py for the
Call / Args conventions and the oracle).

``case_conv`` picks one of conv_forward (paths "auto", "workspace", "fused"),
conv_backward_input, conv_backward_weight, im2col and col2im; ``case_pool``
one of max_pool_forward/backward and avg_pool_forward/backward (ceil_mode
sizes, count_include_pad, divisor_override). Valid calls are compared with
float64 numpy references: the convolution ones of tests/test_conv_kernels.py,
the pooling ones written here (independent of the kernels' own output_size).
Invalid calls (bad ranks, groups, sizes, strides, dtypes, thread counts,
64-bit overflowing sizes, out-of-range indices) must raise cleanly.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from minigrad._C import _conv, _pool
from tests.fuzz.arrays import has_nonfinite, values
from tests.fuzz.cases import (
    F32,
    F64,
    Args,
    Call,
    close,
    f64,
    float_dtype,
    isa,
    operand,
    threads,
)
from tests.test_conv_kernels import conv_grads_ref, conv_ref

HUGE = (2**31, 2**40, 2**62, 2**63 - 1)
MAX_WORK = 60_000  # reference multiply-adds per call, to keep the fuzzer fast
BIG_WORK = 1_500_000  # the rare big call


def out_len(i: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    """PyTorch's output length (pooling's ceil_mode rule included)."""
    span = i + 2 * p - d * (k - 1) - 1
    o = -(-span // s) + 1 if ceil else span // s + 1
    if ceil and o > 0 and (o - 1) * s >= i + p:
        o -= 1
    return o


def geometry(f, nd: int, a: Args, pool: bool = False):
    """(kernel, stride, padding, dilation) of nd dims, mostly valid."""
    r = f.r
    k = tuple(r.choice((1, 1, 2, 3, 3, 4, 5)) for _ in range(nd))
    s = tuple(r.choice((1, 1, 1, 2, 3)) for _ in range(nd))
    if pool:
        p = tuple(r.randint(0, ki // 2) for ki in k)
    else:
        p = tuple(r.choice((0, 0, 1, 2, 3)) for _ in range(nd))
    d = tuple(r.choice((1, 1, 1, 2, 3)) for _ in range(nd))
    return k, s, p, d


def spatial(f, nd: int, k, p, d) -> tuple[int, ...]:
    """Input sizes the kernel mostly fits in (odd sizes, 1s)."""
    r = f.r
    return tuple(
        max(0, d[i] * (k[i] - 1) + 1 - 2 * p[i] + r.choice((0, 0, 1, 2, 3, 4, 6, 9)))
        for i in range(nd)
    )


def corrupt(f, a: Args, params: dict, names: tuple[str, ...]) -> None:
    """Makes one spatial parameter invalid (or 64-bit overflowing)."""
    r = f.r
    name = r.choice(names)
    v = list(params[name])
    i = r.randrange(len(v))
    u = r.random()
    if u < 0.3:
        v[i] = r.choice((-1, -(2**62)) if name == "padding" else (0, -1, -(2**63)))
        a.invalid(f"{name}={tuple(v)}")
    elif u < 0.45:
        v = [*v, 1] if r.random() < 0.5 else v[:-1]
        a.invalid(f"{name} of {len(v)} dims")
    elif u < 0.55:
        v[i] = r.choice((1.0, True, "1", None))
        a.invalid(f"{name}={tuple(v)!r}")
    elif u < 0.6:
        params[name] = list(v)
        a.invalid(f"{name} is a list")
        return
    elif u < 0.65:
        v[i] = 2**64 + 1
        a.invalid(f"{name} past 64 bits")
    else:
        # Huge but representable: the products overflow (or the output is
        # empty / enormous). Allowed to work only if it stays tiny.
        v[i] = r.choice(HUGE)
        a.unsure.append(f"{name}={tuple(v)}")
    params[name] = tuple(v)


def _ref_ok(*arrays) -> bool:
    return not any(x is not None and has_nonfinite(x) for x in arrays)


def _fits(dt, mag) -> bool:
    """Whether sums of magnitude ``mag`` stay finite in ``dt``: past that,
    inf - inf in the kernel's own order of summation gives NaN where the
    float64 reference is finite."""
    lim = 1e37 if dt == F32 else 1e306
    return float(np.max(mag, initial=0)) < lim


def _tol(dt, scale):
    """close()'s arguments for sums of products: float32 loses ~eps * terms."""
    return {"rtol": 3e-5 if dt == F32 else 1e-11, "atol_scale": max(1.0, scale)}


# -- convolution ---------------------------------------------------------------


def case_conv(f) -> Call:
    r, a = f.r, Args()
    which = r.choice(("fwd", "fwd", "fwd", "bwd_in", "bwd_w", "im2col", "col2im"))
    dt = float_dtype(f, a, p_bad=0.03)
    nd = r.choice((1, 1, 2, 2, 2, 3))
    k, s, p, d = geometry(f, nd, a)
    groups = r.choice((1, 1, 1, 2, 3))
    n = r.choice((0, 1, 1, 2, 3))
    cin = groups * r.choice((1, 1, 2, 3))
    cout = groups * r.choice((1, 1, 2, 3))
    if which in ("im2col", "col2im"):
        groups = 1
    insz = spatial(f, nd, k, p, d)
    budget = MAX_WORK
    if r.random() < 0.02:
        # Rarely big enough for the kernels' threads and tiles (2-D mostly).
        budget = BIG_WORK
        n, cin, cout = r.choice((1, 2, 4)), groups * r.choice((4, 8, 16)), groups * 8
        insz = tuple(i + r.choice((8, 16, 23)) for i in insz)
    params = {"stride": s, "padding": p, "dilation": d}
    bad_groups = False
    out = tuple(out_len(insz[i], k[i], s[i], p[i], d[i]) for i in range(nd))
    # Keep the references (and ASan) fast.
    work = n * cin * cout * math.prod(k) * math.prod(max(o, 1) for o in out)
    if work > budget:
        n = min(n, 1)
        cin = cout = groups
    xs = (n, cin, *insz)
    ws = (cout, cin // groups, *k)
    u = r.random()
    if u < 0.04:
        cin += 1
        xs = (n, cin, *insz)
        if which == "fwd" or (which == "bwd_w" and groups > 1):
            a.invalid("channels not divisible by groups")
    elif u < 0.07:
        insz = tuple(0 for _ in insz)
        xs = (n, cin, *insz)  # output size <= 0 unless the padding is big
    elif u < 0.10 and which in ("fwd", "bwd_w", "im2col"):
        xs = (n, cin) if r.random() < 0.5 else (n, cin, 2, 2, 2, 2)
        a.invalid(f"input of rank {len(xs)}")
    elif u < 0.13 and which not in ("im2col", "col2im"):
        groups = r.choice((0, -1, 2**63, 1.0))
        a.invalid(f"groups={groups!r}")
        bad_groups = True
    elif u < 0.22:
        corrupt(f, a, params, ("stride", "padding", "dilation"))
    out = tuple(
        out_len(xs[2 + i], k[i], s[i], p[i], d[i]) for i in range(min(nd, len(xs) - 2))
    )
    if which in ("bwd_in", "bwd_w"):
        # The wrapper derives the other operand's channels from this one.
        if which == "bwd_in":
            xs = (xs[0], ws[1] * groups, *xs[2:]) if isinstance(groups, int) else xs
        elif isinstance(groups, int) and groups > 0 and xs[1] % groups == 0:
            ws = (ws[0], xs[1] // groups, *ws[2:])
        # grad_output may be smaller than the forward's output (conv_transpose's
        # output_padding; 0 when the kernel does not fit): the C contract is
        # that its windows fit the padded input. One larger is invalid.
        out = tuple(max(o, 0) for o in out)
        if out and r.random() < 0.15:
            i = r.randrange(len(out))
            if out[i] > 0 and r.random() < 0.6:
                out = tuple(o - (j == i) for j, o in enumerate(out))
            else:
                out = tuple(o + (j == i) for j, o in enumerate(out))
                a.invalid(f"grad_output larger than the output {out}")
    elif out and min(out) < 1 and not a.bad:
        a.invalid(f"output size {out}")
    kw = dict(params)
    nt = threads(f, a, "num_threads")
    if nt is not None:
        kw["num_threads"] = nt
    if which in ("fwd", "bwd_in", "bwd_w"):
        code = isa(f, a)
        if code is not None:
            kw["isa"] = code
        if bad_groups or groups != 1 or r.random() < 0.3:
            kw["groups"] = groups
    maker = {
        "fwd": _conv_fwd,
        "bwd_in": _conv_bwd_in,
        "bwd_w": _conv_bwd_w,
        "im2col": _im2col,
        "col2im": _col2im,
    }[which]
    return huge_view(f, maker(f, a, dt, xs, ws, k, out, groups, kw))


def huge_view(f, call: Call) -> Call:
    """Rarely, replaces an operand by an empty zero-stride view: first dim 0
    (the output stays empty), the others huge, as far as numpy allows (their
    product must fit), to probe the size products in the wrapper and the C
    checks. Must not crash."""
    r = f.r
    arrs = [i for i, x in enumerate(call.args) if isinstance(x, np.ndarray)]
    if not arrs or r.random() >= 0.02:
        return call
    i = r.choice(arrs)
    x = call.args[i]
    shp = [r.choice((2**31, 2**40, 2**62, 3)) for _ in range(max(x.ndim, 1))]
    shp[0] = 0  # batch / planes: the output stays empty (and fast)
    while True:
        try:
            v = np.lib.stride_tricks.as_strided(
                np.zeros(1, x.dtype), shape=tuple(shp), strides=(0,) * len(shp)
            )
            break
        except ValueError:  # numpy wants the nonzero dims' product to fit
            j = max(range(len(shp)), key=lambda q: shp[q])
            shp[j] = max(shp[j] >> 20, 3)
    call.args = (*call.args[:i], v, *call.args[i + 1 :])
    call.expect, call.check = "either", None
    call.info = {**call.info, "huge_view": tuple(shp)}
    return call


def _conv_fwd(f, a, dt, xs, ws, k, out, groups, kw) -> Call:
    r = f.r
    path = r.choice(("auto", "workspace", "fused", None))
    if r.random() < 0.02:
        path = r.choice(("Fused", "", 1))
        a.invalid(f"path={path!r}")
    if path is not None:
        kw["path"] = path
    dt_w = dt
    if r.random() < 0.02:
        dt_w = F64 if dt == F32 else F32
        a.invalid("mixed dtypes")
    if r.random() < 0.02 and len(ws) > 3:
        ws = ws[:-1]
        a.invalid("weight rank")
    x = operand(f, a, values(r, f.rng, xs), dt, "x", exact=True)
    w = operand(f, a, values(r, f.rng, ws), dt_w, "w", exact=True)
    bias = None
    if r.random() < 0.5:
        bs = (ws[0],)
        if r.random() < 0.03:
            bs = (ws[0] + 1,)
            a.invalid("bias shape")
        bias = operand(f, a, values(r, f.rng, bs), dt, "bias", exact=True)

    def check(y):
        fx, fw = f64(x), f64(w)
        fb = None if bias is None else f64(bias)
        if not _ref_ok(fx, fw, fb):
            return
        ref = conv_ref(fx, fw, fb, kw["stride"], kw["padding"], kw["dilation"], groups)
        mag = conv_ref(np.abs(fx), np.abs(fw), None, kw["stride"], kw["padding"],
                       kw["dilation"], groups)  # fmt: skip
        assert y.dtype == dt, f"conv dtype {y.dtype}"
        if not _fits(dt, mag) or (fb is not None and not _fits(dt, np.abs(fb))):
            return
        close("conv", y, ref, dt, **_tol(dt, float(np.max(mag, initial=0))))

    return Call(
        "conv_forward", _conv.conv_forward, (x, w, bias), kw, check, a.expect(),
        "; ".join(a.bad),
    )  # fmt: skip


def _conv_bwd_in(f, a, dt, xs, ws, k, out, groups, kw) -> Call:
    r = f.r
    ys = (xs[0], ws[0], *(max(o, 0) for o in out))
    if len(ys) != len(ws):
        ys = ys[: len(ws)]
    gy = operand(f, a, values(r, f.rng, ys), dt, "grad_output", exact=True)
    w = operand(f, a, values(r, f.rng, ws), dt, "weight", exact=True)
    kw["input_size"] = tuple(xs[2:])
    if r.random() < 0.03:
        kw["input_size"] = tuple(2**62 for _ in xs[2:])
        a.unsure.append("input_size huge")

    def check(gx):
        fgy, fw = f64(gy), f64(w)
        if not _ref_ok(fgy, fw):
            return
        args = (kw["stride"], kw["padding"], kw["dilation"], groups)
        ref, _ = conv_grads_ref(np.zeros(xs), fw, fgy, *args)
        mag, _ = conv_grads_ref(np.zeros(xs), np.abs(fw), np.abs(fgy), *args)
        assert gx.dtype == dt
        if not _fits(dt, mag):
            return
        close("conv_backward_input", gx, ref, dt, **_tol(dt, float(mag.max(initial=0))))

    return Call(
        "conv_backward_input", _conv.conv_backward_input, (gy, w), kw, check,
        a.expect(), "; ".join(a.bad),
    )  # fmt: skip


def _conv_bwd_w(f, a, dt, xs, ws, k, out, groups, kw) -> Call:
    r = f.r
    ys = (xs[0], ws[0], *(max(o, 0) for o in out))
    if len(ys) != len(xs):
        ys = ys[: len(xs)] + (1,) * (len(xs) - len(ys))
    if r.random() < 0.03:
        ys = (ys[0] + 1, *ys[1:])
        a.invalid("batch differs")
    x = operand(f, a, values(r, f.rng, xs), dt, "x", exact=True)
    gy = operand(f, a, values(r, f.rng, ys), dt, "grad_output", exact=True)
    kw["kernel_size"] = k if len(xs) - 2 == len(k) else k[: max(len(xs) - 2, 0)]
    if r.random() < 0.03:
        kw["kernel_size"] = tuple(r.choice(HUGE) for _ in k)
        a.unsure.append("kernel_size huge")

    def check(gw):
        fx, fgy = f64(x), f64(gy)
        if not _ref_ok(fx, fgy):
            return
        args = (kw["stride"], kw["padding"], kw["dilation"], groups)
        _, ref = conv_grads_ref(fx, np.zeros(ws), fgy, *args)
        _, mag = conv_grads_ref(np.abs(fx), np.zeros(ws), np.abs(fgy), *args)
        assert gw.dtype == dt
        if not _fits(dt, mag):
            return
        close(
            "conv_backward_weight", gw, ref, dt, **_tol(dt, float(mag.max(initial=0)))
        )

    return Call(
        "conv_backward_weight", _conv.conv_backward_weight, (x, gy), kw, check,
        a.expect(), "; ".join(a.bad),
    )  # fmt: skip


def _taps(x, k, s, p, d, out, fill=0.0):
    """(tap, view of the padded x (N, C, *in) the tap reads, slices), over the
    taps in row-major order; each view has shape (N, C, *out)."""
    nd = len(k)
    ext = [
        (pi, max(0, (oi - 1) * si + (ki - 1) * di + 1 - ii - pi))
        for ii, ki, si, pi, di, oi in zip(x.shape[2:], k, s, p, d, out)
    ]
    xp = np.pad(x, [(0, 0), (0, 0), *ext], constant_values=fill)
    for t in itertools.product(*(range(ki) for ki in k)):
        sl = (
            slice(None),
            slice(None),
            *(slice(t[i] * d[i], t[i] * d[i] + max(s[i] * (out[i] - 1) + 1, 0),
                    s[i]) for i in range(nd)),
        )  # fmt: skip
        yield t, xp, sl


def im2col_ref(x, k, s, p, d, out):
    cols = [xp[sl] for _, xp, sl in _taps(x, k, s, p, d, out)]
    st = np.stack(cols, axis=2)  # (N, C, KK, *out)
    return st.reshape(x.shape[0], x.shape[1] * math.prod(k), math.prod(out))


def col2im_ref(cols, insz, k, s, p, d, out):
    n, ckk = cols.shape[:2]
    c = ckk // math.prod(k)
    c5 = cols.reshape(n, c, math.prod(k), *out)
    x = np.zeros((n, c, *insz))
    gxp = None
    for j, (_, xp, sl) in enumerate(_taps(x, k, s, p, d, out)):
        if gxp is None:
            gxp = np.zeros_like(xp)
        gxp[sl] += c5[:, :, j]
    core = tuple(slice(pi, pi + ii) for pi, ii in zip(p, insz))
    return gxp[(slice(None), slice(None), *core)]


def _im2col(f, a, dt, xs, ws, k, out, groups, kw) -> Call:
    r = f.r
    x = operand(f, a, values(r, f.rng, xs), dt, "x", exact=True)
    kw["kernel_size"] = k
    if r.random() < 0.03:
        kw["kernel_size"] = tuple(r.choice(HUGE) for _ in k)
        a.unsure.append("kernel_size huge")

    def check(cols):
        fx = f64(x)
        ref = im2col_ref(fx, k, kw["stride"], kw["padding"], kw["dilation"], out)
        assert cols.dtype == dt
        close("im2col", cols, ref, dt)

    return Call("im2col", _conv.im2col, (x,), kw, check, a.expect(), "; ".join(a.bad))


def _col2im(f, a, dt, xs, ws, k, out, groups, kw) -> Call:
    r = f.r
    L = math.prod(max(o, 0) for o in out)
    cs = (xs[0], xs[1] * math.prod(k), L)
    u = r.random()
    if u < 0.03:
        cs = (cs[0], cs[1] + 1, cs[2])
        if cs[1] % math.prod(k):
            a.invalid("channels not a multiple of prod(kernel)")
    elif u < 0.06:
        cs = (cs[0], cs[1], cs[2] + 1)
        a.invalid("L differs from prod(out)")
    elif u < 0.08:
        cs = cs[:2]
        a.invalid("2-D cols")
    cols = operand(f, a, values(r, f.rng, cs), dt, "cols", exact=True)
    kw["input_size"] = tuple(xs[2:])
    kw["kernel_size"] = k
    if len(xs) - 2 != len(k):
        a.invalid("input_size rank")
        kw["input_size"] = tuple(xs[2:]) or ()

    def check(x):
        fc = f64(cols)
        if not _ref_ok(fc):
            return
        geo = (xs[2:], k, kw["stride"], kw["padding"], kw["dilation"], out)
        ref, mag = col2im_ref(fc, *geo), col2im_ref(np.abs(fc), *geo)
        assert x.dtype == dt
        if not _fits(dt, mag):
            return
        close("col2im", x, ref, dt, **_tol(dt, float(mag.max(initial=0))))

    return Call(
        "col2im", _conv.col2im, (cols,), kw, check, a.expect(), "; ".join(a.bad)
    )


# -- pooling -------------------------------------------------------------------


def pool_ref(x, k, s, p, d, out, mode, cip=True, div=None):
    """x (P, 1, *in) float64 -> (y, denominators) for mode "max" / "avg"."""
    if mode == "max":
        y = np.full(x.shape[:2] + tuple(out), -np.inf)
        for _, xp, sl in _taps(x, k, s, p, d, out, fill=-np.inf):
            v = xp[sl]
            y = np.where(np.isnan(v) | (v > y), v, y)
        return y, None
    total = np.zeros(x.shape[:2] + tuple(out))
    real = np.zeros_like(total)
    ones = np.ones(x.shape)
    for (_, xp, sl), (_, rp, _) in zip(
        _taps(x, k, s, p, d, out), _taps(ones, k, s, p, d, out)
    ):
        total += xp[sl]
        real += rp[sl]
    # count_include_pad: each window clipped to the padded input [-p, in + p).
    nd = len(k)
    cnt = np.ones(tuple(out))
    for i in range(nd):
        o = np.arange(out[i])
        start = o * s[i] - p[i]
        end = np.minimum(start + k[i], x.shape[2 + i] + p[i])
        shp = [1] * nd
        shp[i] = out[i]
        cnt = cnt * (end - start).reshape(shp)
    inner = np.broadcast_to(cnt, total.shape)
    den = np.full(total.shape, float(div)) if div else (inner if cip else real)
    with np.errstate(all="ignore"):
        y = np.where(den > 0, total / np.where(den > 0, den, 1), 0.0)
    return y, den


def case_pool(f) -> Call:
    r, a = f.r, Args()
    which = r.choice(("max", "max", "max_bwd", "avg", "avg", "avg_bwd"))
    dt = float_dtype(f, a, p_bad=0.03)
    nd = r.choice((1, 1, 2, 2, 2, 3))
    k, s, p, d = geometry(f, nd, a, pool=True)
    if which.startswith("avg"):
        d = (1,) * nd
    ceil = r.random() < 0.3
    insz = spatial(f, nd, k, p, d)
    planes = tuple(r.choice((0, 1, 1, 2, 3, 5)) for _ in range(r.choice((1, 1, 2, 3))))
    budget = MAX_WORK
    if r.random() < 0.02:
        # Rarely past MG_POOL_PAR_MIN per thread: the threaded split.
        budget = BIG_WORK
        planes = (r.choice((64, 200, 512)),)
        insz = tuple(i + r.choice((8, 16, 23)) for i in insz)
    while math.prod(planes) * math.prod(insz) * math.prod(k) > budget:
        planes = tuple(max(1, q // 2) for q in planes)
        insz = tuple(max(1, i // 2) for i in insz)
    out = tuple(out_len(insz[i], k[i], s[i], p[i], d[i], ceil) for i in range(nd))
    params = {"kernel_size": k, "stride": s, "padding": p}
    if which.startswith("max"):
        params["dilation"] = d
    u = r.random()
    if u < 0.12:
        corrupt(f, a, params, tuple(params))
    elif u < 0.16:
        # An output the windows do not fit.
        i = r.randrange(nd)
        big = (1, 2, 2**40) if which in ("max", "avg") else (1, 2)
        out = tuple(o + r.choice(big) if j == i else o
                    for j, o in enumerate(out))  # fmt: skip
    elif u < 0.18:
        planes = ()
        a.invalid("no plane dim")
    if which in ("max_bwd", "avg_bwd"):
        out = tuple(max(o, 0) for o in out)  # gy's size: the caller's choice
    if min(out) < 0:
        a.invalid(f"output size {out}")
    elif any(o > 0 and (o - 1) * s[i] >= insz[i] + p[i] for i, o in enumerate(out)):
        # The C contract: the last window starts inside the input or its
        # left padding (so ceil_mode sizes, or a bit more, are fine).
        a.invalid(f"out {out} too big")
    xs = (*planes, *insz)
    ys = (*planes, *(max(o, 0) for o in out))
    kw = dict(params)
    nt = threads(f, a, "num_threads")
    if nt is not None:
        kw["num_threads"] = nt
    cip, div = True, None
    if which.startswith("avg"):
        if r.random() < 0.5:
            cip = r.random() < 0.5
            kw["count_include_pad"] = cip
        if r.random() < 0.3:
            div = r.choice((1, 2, 3, 7, 0, -2, 1.5, 2**62))
            kw["divisor_override"] = div
            if not isinstance(div, int) or div < 1:
                a.invalid(f"divisor_override={div!r}")
    geo = (k, s, p, d, out)
    valid_out = not a.bad and not a.unsure

    if which in ("max", "avg"):
        x = operand(f, a, values(r, f.rng, xs), dt, "x", exact=True)
        kw["out_size"] = out
        fn = _pool.max_pool_forward if which == "max" else _pool.avg_pool_forward

        def check(res):
            fx = f64(x)
            if not valid_out or (which == "avg" and not _ref_ok(fx)):
                return
            xp = fx.reshape(math.prod(planes), 1, *insz)
            ref, _ = pool_ref(xp, *geo, which, cip, div)
            if which == "max":
                y, idx = res
                assert idx.dtype == np.int64
                assert idx.shape == ys
                fy = f64(y).reshape(math.prod(planes), math.prod(ys[len(planes) :]))
                fi = idx.reshape(fy.shape)
                flat = xp.reshape(xp.shape[0], math.prod(insz))
                assert ((fi >= -1) & (fi < flat.shape[1])).all(), "index range"
                got = np.where(
                    fi >= 0,
                    np.take_along_axis(flat, np.maximum(fi, 0), 1) if flat.size
                    else -np.inf,
                    -np.inf,
                )  # fmt: skip
                same = (got == fy) | (np.isnan(got) & np.isnan(fy))
                assert same.all(), (
                    f"max_pool: x[indices] != y at {np.argwhere(~same)[:3]}"
                )
            else:
                y = res
                if not _fits(dt, np.abs(fx).max(initial=0) * math.prod(k)):
                    return
            assert y.dtype == dt
            close(fn.__name__, y.reshape(ys), ref.reshape(ys), dt)

        return huge_view(f, Call(which + "_pool_forward", fn, (x,), kw, check,
                                 a.expect(), "; ".join(a.bad)))  # fmt: skip

    gy = operand(f, a, values(r, f.rng, ys), dt, "grad_output", exact=True)
    kw["in_size"] = insz
    if r.random() < 0.02:
        kw["in_size"] = tuple(2**62 for _ in insz)
        a.unsure.append("in_size huge")
    indices = None
    args: tuple = (gy,)
    if which == "max_bwd":
        m = math.prod(insz)
        iv = f.rng.integers(-1, max(m, 1), ys) if m else np.full(ys, -1)
        if r.random() < 0.06:
            flat = iv.reshape(-1)
            if flat.size:
                flat[r.randrange(flat.size)] = r.choice((m, m + 5, -2, -(2**63), 2**62))
                a.invalid("index out of range")
        indices = int_operand(f, a, iv)
        args = (gy, indices)

    def check_bwd(gx):
        fg = f64(gy)
        if not valid_out or not _ref_ok(fg) or not _fits(dt, np.abs(fg).sum()):
            return
        assert gx.dtype == dt
        assert gx.shape == xs
        ref, mag = pool_bwd_ref(fg), pool_bwd_ref(np.abs(fg))
        close(which, gx.reshape(-1), ref.reshape(-1), dt,
              **_tol(dt, float(mag.max(initial=0))))  # fmt: skip

    def pool_bwd_ref(fg):
        P = math.prod(planes)
        m = math.prod(insz)
        if which == "max_bwd":
            ref = np.zeros((P, m))
            no = math.prod(ys[len(planes) :])
            iv = np.asarray(indices).reshape(P, no)
            g2 = fg.reshape(P, no)
            pi, li = np.nonzero(iv >= 0)
            np.add.at(ref, (pi, iv[pi, li]), g2[pi, li])
        else:
            _, den = pool_ref(np.zeros((P, 1, *insz)), *geo, "avg", cip, div)
            g5 = fg.reshape(P, 1, *ys[len(planes) :])
            with np.errstate(all="ignore"):
                q = np.where(den > 0, g5 / np.where(den > 0, den, 1), 0.0)
            gxp = None
            for _, xp, sl in _taps(np.zeros((P, 1, *insz)), k, s, p, d, out):
                if gxp is None:
                    gxp = np.zeros_like(xp)
                gxp[sl] += q
            core = tuple(slice(pi_, pi_ + ii) for pi_, ii in zip(p, insz))
            ref = gxp[(slice(None), slice(None), *core)]
        return ref

    fn = _pool.max_pool_backward if which == "max_bwd" else _pool.avg_pool_backward
    return huge_view(
        f, Call(fn.__name__, fn, args, kw, check_bwd, a.expect(), "; ".join(a.bad))
    )


def int_operand(f, a: Args, iv: np.ndarray):
    """int64 indices in a random layout (swapped, misaligned, strided), or
    rarely the wrong dtype."""
    r = f.r
    u = r.random()
    if u < 0.03:
        a.invalid("indices int32")
        return iv.astype(np.int32)
    if u < 0.05:
        a.invalid("indices float")
        return iv.astype(np.float64)
    iv = iv.astype(np.int64)
    kind = r.choice(("c", "c", "swap", "misaligned", "step", "f"))
    if kind == "swap":
        return iv.astype(iv.dtype.newbyteorder())
    if kind == "misaligned":
        off = r.randint(1, 7)
        buf = bytearray(iv.nbytes + off)
        m = np.frombuffer(buf, np.int64, iv.size, off).reshape(iv.shape)
        m[...] = iv
        return m
    if kind == "step" and iv.ndim:
        big = np.zeros(tuple(2 * n + 1 for n in iv.shape), np.int64)
        sl = tuple(slice(1, None, 2) for _ in iv.shape)
        big[sl] = iv
        return big[sl]
    if kind == "f":
        return np.asfortranarray(iv)
    return iv.copy()


__all__ = ["F64", "case_conv", "case_pool"]
