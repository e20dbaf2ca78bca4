"""Fuzz cases of minigrad._C._softmax: softmax / log_softmax, cross-entropy,
binary cross-entropy (probabilities and logits). See cases.py for the oracle."""

from __future__ import annotations

import numpy as np

from minigrad._C import _softmax as S
from tests.fuzz.arrays import has_nonfinite, layout, shape, side
from tests.fuzz.cases import (
    F32,
    F64,
    HUGE_THREADS,
    Args,
    Call,
    close,
    f64,
    float_dtype,
    isa,
    operand,
    threads,
)  # fmt: skip

TOL = {F32: 5e-5, F64: 1e-10}


def ref_softmax(x, dim, log):
    if x.size == 0:
        return x.copy()
    with np.errstate(all="ignore"):
        z = x - x.max(axis=dim, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=dim, keepdims=True))
        return z - lse if log else np.exp(z - lse)


def ref_softmax_bwd(y, g, dim, log):
    with np.errstate(all="ignore"):
        if log:
            return g - np.exp(y) * g.sum(axis=dim, keepdims=True)
        return y * (g - (g * y).sum(axis=dim, keepdims=True))


def ref_xent(x, t, w, ignore, eps):
    """(per-row loss, gradient of each row's loss, lse) in float64."""
    n, c = x.shape
    with np.errstate(all="ignore"):
        m = x.max(1, keepdims=True) if c else np.zeros((n, 1))
        ls = np.log(np.exp(x - m).sum(1, keepdims=True))
        lse = m + ls
        lp = (x - m) - ls  # not x - lse: that cancels for large logits
        wv = np.ones(c) if w is None else w
        valid = t != ignore
        safe = np.where(valid & (t >= 0) & (t < c), t, 0)
        rows = np.arange(n)
        loss = -(1 - eps) * wv[safe] * lp[rows, safe] - eps / c * (lp * wv).sum(1)
        q = np.zeros((n, c))
        q[rows, safe] = (1 - eps) * wv[safe]
        q += eps / c * wv
        grad = np.exp(lp) * q.sum(1, keepdims=True) - q
    return loss * valid, grad * valid[:, None], lse[:, 0]


def _dim(f, a: Args, nd: int):
    r = f.r
    u = r.random()
    if u < 0.9 and nd:
        return r.randint(-nd, nd - 1) if r.random() < 0.8 else np.int64(r.randrange(nd))
    d = r.choice((nd, -nd - 1, 1.0, True, None, "0"))
    a.invalid(f"dim={d!r}")
    return d


def _c_out(f, a: Args, shp, dt, inputs, inplace_ok):
    """out= for the softmax family: None, in place, fresh, or bad."""
    r = f.r
    u = r.random()
    if u < 0.5:
        return None
    if u < 0.65:
        src = r.choice(inputs)
        if not isinstance(src, np.ndarray) or not src.flags.writeable:
            return None
        good = src.flags.c_contiguous and src.flags.aligned and src.dtype == dt
        if not (inplace_ok and good):
            if src.size == 0:
                a.lenient.append("out is an empty input")
            else:
                a.invalid("out is an input")
        return src
    if u < 0.85:
        o, kind = layout(
            r,
            np.zeros(shp),
            dt,
            r.choice(("c", "c", "step", "misaligned")),
            writeable=True,
        )
        if not (o.flags.c_contiguous and o.flags.aligned):
            a.invalid(f"out layout {kind}")
        return o
    a.invalid("bad out")
    return r.choice((np.zeros((*shp, 1), dt), np.zeros(shp, np.float16), [0.0]))


def case_softmax(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a)
    nt = threads(f, a)
    shp = shape(r, 0, 4, big=nt in HUGE_THREADS and r.random() < 0.5)
    if not shp:
        a.invalid("0-d")
    log = r.random() < 0.5
    dim = _dim(f, a, len(shp))
    backward = r.random() < 0.4
    okdim = (
        isinstance(dim, (int, np.integer))
        and not isinstance(dim, bool)
        and shp
        and (-len(shp) <= dim < len(shp))
    )
    kw = {"log": log}
    v = f.values(shp, -20, 20, family="softmax")
    if log and f.skip("lse-cancel"):
        np.clip(v, -100, 100, out=v)
    if backward:
        y_v = ref_softmax(v, int(dim), log) if okdim and v.size else v
        y = operand(f, a, y_v, dt, "y", "softmax")
        g = operand(f, a, f.values(shp, family="softmax"), dt, "grad_out", "softmax")
        args = (y, g, dim)
        out = _c_out(f, a, shp, dt, [y, g], False)
        fn = S.softmax_bwd
    else:
        x = operand(f, a, v, dt, "x", "softmax")
        args = (x, dim)
        out = _c_out(f, a, shp, dt, [x], True)
        fn = S.softmax_fwd
    if out is not None:
        kw["out"] = out
    if nt is not None:
        kw["nthreads"] = nt
    kw["isa"] = isa(f, a)
    if dt.kind != "f" or any(isinstance(z, list) for z in args):
        a.bad = a.bad or ["bad operand"]
    ins = [f64(z) if isinstance(z, np.ndarray) else None for z in args[:-1]]

    def check(res):
        assert res.shape == shp, (res.shape, shp)
        assert res.dtype == dt, (res.dtype, dt)
        if out is not None:
            assert res is out
        if res.size == 0 or any(has_nonfinite(z) for z in ins):
            return
        if backward and np.max(np.abs(ins[1]), initial=0) > 1e30:
            return  # the sum of grad_out may overflow: not checked
        d = int(dim)
        ref = (
            ref_softmax_bwd(ins[0], ins[1], d, log)
            if backward
            else ref_softmax(ins[0], d, log)
        )
        # The sums over the axis round ~ (its length) ulps in the worst case,
        # of the terms' size: backward's g - sum(g·y) cancels when y is not a
        # softmax (the fuzzer's y is random), so the error is measured against
        # |y|·(|g| + sum|g·y|) (|g| + e^y·sum|g| for log), not the result.
        n_ax = res.shape[d]
        scale = 1.0
        if backward:
            y, g = np.abs(f64(ins[0])), np.abs(f64(ins[1]))
            with np.errstate(all="ignore"):
                if log:
                    terms = g + np.exp(f64(ins[0])) * g.sum(axis=d, keepdims=True)
                else:
                    terms = y * (g + (g * y).sum(axis=d, keepdims=True))
            scale = np.where(np.isfinite(terms), np.maximum(terms, 1.0), 1.0)
        close(fn.__name__, res, ref, dt, TOL[dt] + n_ax * np.finfo(dt).eps, scale)

    return Call(
        f"softmax.{fn.__name__}", fn, args, kw, check, a.expect(), "; ".join(a.bad)
    )


def _targets(f, a: Args, n, c, ignore):
    r = f.r
    t = f.rng.integers(0, max(c, 1), n)
    if n and r.random() < 0.3 and -(2**63) <= ignore < 2**63:
        t[f.rng.integers(0, n, max(1, n // 4))] = ignore
    if n and r.random() < 0.05:
        bad = r.choice((c, -1, 2**62, -(2**63), c + 7))
        t[r.randrange(n)] = bad
        if bad != ignore:
            a.invalid(f"target {bad} out of range")
    u = r.random()
    if u < 0.8:
        kind = r.choice(("c", "c", "step", "neg", "view"))
        tt = {
            "c": t,
            "step": np.repeat(t, 2)[::2],
            "neg": t[::-1].copy()[::-1],
            "view": np.concatenate([[0], t])[1:],
        }[kind]
        return tt, t
    if u < 0.87:
        dt = np.dtype(r.choice((np.int32, np.float64, ">i8", np.uint64)))
        if dt == np.dtype(">i8"):
            if f.skip("softmax-byteorder"):
                return t, t
            a.lenient.append("target byte-swapped")  # TypeError or the right values
        else:
            a.invalid("target dtype")
        return t.astype(dt), t
    if u < 0.93:
        a.invalid("target shape")
        return t.reshape(-1, 1) if n else np.zeros((n + 1,), np.int64), t
    a.invalid("target not an array")
    return t.tolist(), t


def case_xent(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a)
    n, c = side(r), side(r)
    if r.random() < 0.1:
        c = r.choice((0, 1, 2))
    while n * c > 100_000:
        n //= 2
    which = r.choice(("fwd", "bwd", "fused", "fused"))
    if c == 0 and n > 0 and which != "bwd":
        a.invalid("no classes")
    ignore = r.choice((-100, -100, -1, 0, 2**63 - 1, r.randrange(max(c, 1))))
    if r.random() < 0.01:
        ignore = 2**63
        a.invalid("ignore_index overflow")
    vx = f.values((n, c), -10, 10, family="softmax")
    if f.skip("lse-cancel"):
        np.clip(vx, -100, 100, out=vx)
    xshape_bad = r.random() < 0.02
    x = operand(f, a, vx, dt, "input", "softmax")
    if xshape_bad and isinstance(x, np.ndarray):
        x = x.reshape(-1)
        a.invalid("1-D input")
    target, t = _targets(f, a, n, c, ignore)
    w = None
    if r.random() < 0.4:
        wv = f.rng.uniform(0.1, 2.0, c)
        w = operand(f, a, wv, dt, "weight", "softmax")
        if r.random() < 0.03:
            w = np.ones(c + 1, dt)
            a.invalid("weight shape")
    eps = r.choice((0.0, 0.0, 0.1, 1.0))
    if r.random() < 0.02:
        eps = r.choice((-0.1, 1.5, np.nan))
        if which != "bwd":
            a.invalid(f"label_smoothing={eps}")
        elif f.skip("xent-bwd-smoothing"):
            eps = 0.0
        else:
            a.invalid(f"label_smoothing={eps}")
    kw = {"ignore_index": ignore, "label_smoothing": eps}
    nt = threads(f, a)
    if nt is not None:
        kw["nthreads"] = nt
    kw["isa"] = isa(f, a)
    if dt.kind != "f" or isinstance(x, list) or isinstance(w, list):
        a.bad = a.bad or ["bad operand"]
    fx = f64(x) if isinstance(x, np.ndarray) and dt.kind == "f" else None
    fw = f64(w) if isinstance(w, np.ndarray) and dt.kind == "f" else None

    def ref():
        return ref_xent(fx, t, fw, ignore, eps)

    if which == "fwd":

        def check(res):
            loss, lse = res
            assert loss.shape == (n,)
            assert lse.shape == (n,)
            assert loss.dtype == dt
            if n == 0 or has_nonfinite(fx):
                return
            rl, _, rs = ref()
            rl, _ = tame_overflow(rl, loss, fx, fw, dt)
            close("xent_fwd loss", loss, rl, dt, TOL[dt])
            close("xent_fwd lse", lse, rs, dt, TOL[dt])

        return Call(
            "softmax.xent_fwd",
            S.xent_fwd,
            (x, target, w),
            kw,
            check,
            a.expect(),
            "; ".join(a.bad),
        )
    if which == "bwd":
        # lse must be that of x as passed (a zero-stride x has other values
        # than vx): the kernel may assume exp(x - lse) <= 1.
        xv = f64(x) if fx is not None and not xshape_bad else vx
        with np.errstate(all="ignore"):
            lse_v = ref_xent(xv, t, None, ignore, 0.0)[2] if c else np.zeros(n)
        lse = operand(f, a, lse_v, dt, "lse", "softmax", exact=True)
        scale_v = f.values(() if r.random() < 0.5 else (n,))
        scale = operand(f, a, scale_v, dt, "scale", "softmax")
        if "out" not in kw and r.random() < 0.2:
            kw["out"] = r.choice((np.zeros((n, c), dt), x))
            if kw["out"] is x:
                a.invalid("out is x")
        if n * c == 0:
            # Nothing to compute: the kernel need not look at targets or out.
            soft = [b for b in a.bad if "target" in b or "out is" in b]
            a.bad = [b for b in a.bad if b not in soft]
            a.lenient += soft

        def check(res):
            assert res.shape == (n, c)
            assert res.dtype == dt
            if res.size == 0 or has_nonfinite(fx) or has_nonfinite(scale):
                return
            if np.max(np.abs(f64(scale)), initial=0) > 1e30:
                return  # scale * (p - q) may overflow in between: not checked
            # The gradient from the lse passed in (a zero-stride x has other
            # values than the ones lse was computed from).
            q = np.zeros((n, c))
            valid = t != ignore
            safe = np.where(valid & (t >= 0) & (t < c), t, 0)
            wv = np.ones(c) if fw is None else fw
            q[np.arange(n), safe] = (1 - eps) * wv[safe]
            q += eps / c * wv
            with np.errstate(all="ignore"):
                p = np.exp(fx - f64(lse)[:, None])
                rg = (p * q.sum(1, keepdims=True) - q) * valid[:, None]
            if has_nonfinite(rg):
                return
            s = f64(scale)
            s = s if s.ndim == 0 else s[:, None]
            # p - q cancels: the error is relative to |scale|, not the result.
            close(
                "xent_bwd",
                res,
                rg * s,
                dt,
                TOL[dt],
                atol_scale=np.maximum(np.abs(s), 1),
            )

        return Call(
            "softmax.xent_bwd",
            S.xent_bwd,
            (x, lse, target, scale, w),
            kw,
            check,
            a.expect(),
            "; ".join(a.bad),
        )
    red = r.choice((0, 1, 2))
    if r.random() < 0.02:
        red = r.choice((3, -1))
        a.invalid(f"reduction={red}")
    grad = r.random() < 0.6
    kw.update(reduction=red, grad=grad)

    def check(res):
        out, lse, gx = res
        assert lse.shape == (n,)
        assert (gx is None) == (not grad)
        if n == 0 or has_nonfinite(fx):
            return
        rl, rg, rs = ref()
        valid = t != ignore
        wv = np.ones(c) if fw is None else fw
        denom = wv[np.where(valid, t, 0)][valid].sum()
        close("xent_fused lse", lse, rs, dt, TOL[dt])
        if red == 0:
            close(
                "xent_fused loss",
                out,
                tame_overflow(rl, out, fx, fw, dt)[0],
                dt,
                TOL[dt],
            )
            scale = 1.0
        else:
            assert out.shape == ()
            assert out.dtype == dt
            scale = 1 / denom if red == 1 and denom else 1.0
            if red == 1 and not denom:
                return
            if tame_overflow(rl, rl, fx, fw, dt)[1]:
                return  # a row may be inf (see tame_overflow): so the mean
            close(
                "xent_fused reduced",
                out,
                rl.sum() * scale,
                dt,
                TOL[dt] * max(1, n / 100),
            )
        if grad:
            close("xent_fused grad", gx, rg * scale, dt, TOL[dt])

    return Call(
        "softmax.xent_fused",
        S.xent_fused,
        (x, target, w),
        kw,
        check,
        a.expect(),
        "; ".join(a.bad),
    )


def tame_overflow(rl, got, fx, fw, dt):
    """rl with the rows whose float32/float64 loss may overflow on the way
    replaced by what the kernel gave: a term w_j·(max - x_j), or a sum of c of
    them (label smoothing), past the dtype's range is inf in the kernel (and
    in PyTorch's), though the float64 row can be finite."""
    c = fx.shape[1] if fx.ndim == 2 else 1
    wmax = 1.0 if fw is None else max(1.0, float(np.max(np.abs(fw), initial=0)))
    span = np.max(np.abs(fx), axis=-1, initial=0) if fx.size else np.zeros(len(rl))
    risky = 2 * span * wmax * c > np.finfo(dt).max
    return np.where(risky, f64(got), rl), bool(risky.any())


def ref_bce_prob(x, t, w):
    with np.errstate(all="ignore"):
        lx, l1 = np.log(x), np.log1p(-x)
        loss = -w * (t * np.maximum(lx, -100) + (1 - t) * np.maximum(l1, -100))
        gx = w * (x - t) / np.maximum(x * (1 - x), 1e-12)
        return loss, gx, w * (l1 - lx)


def ref_bce_logits(x, t, w, pw):
    with np.errstate(all="ignore"):
        sp = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        lw = 1 + (pw - 1) * t
        sig_neg = np.exp(-np.logaddexp(0, x))
        return (
            w * ((1 - t) * x + lw * sp),
            w * ((1 - t) - lw * sig_neg),
            w * ((pw - 1) * sp - x),
        )


def case_bce(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a)
    nt = threads(f, a)
    shp = shape(r, 0, 3, big=nt in HUGE_THREADS and r.random() < 0.5)
    logits = r.random() < 0.5
    if logits:
        vx = f.values(shp, -12, 12, family="softmax")
    else:
        vx = f.rng.uniform(0, 1, shp)
        if vx.size and r.random() < 0.2:
            vx.reshape(-1)[0] = r.choice((0.0, 1.0, 1e-30, 1 - 1e-7))
        if vx.size and r.random() < 0.04:
            bad = (
                (-0.1, 1.5, np.inf)
                if f.skip("vexp-nan")
                else (-0.1, 1.5, np.nan, np.inf)
            )
            vx.reshape(-1)[-1] = r.choice(bad)
    x = operand(f, a, vx, dt, "input", "softmax")
    t = operand(f, a, f.rng.uniform(0, 1, shp), dt, "target", "softmax")
    if r.random() < 0.03:
        t = np.zeros((*shp, 2), dt)
        a.invalid("target shape")
    w = (
        operand(f, a, f.rng.uniform(0, 2, shp), dt, "weight", "softmax")
        if r.random() < 0.4
        else None
    )
    pw = None
    if logits and r.random() < 0.3:
        pw = operand(f, a, f.rng.uniform(0.2, 3, shp), dt, "pos_weight", "softmax")
    which = r.choice(("fwd", "bwd", "fused", "fused"))
    if not logits and isinstance(x, np.ndarray) and x.dtype.kind == "f":
        with np.errstate(all="ignore"):
            fx = f64(x)
            if not ((fx >= 0) & (fx <= 1)).all():
                # The loss checks its input; the backward need not.
                if which == "bwd":
                    a.unsure.append("probability outside [0, 1]")
                else:
                    a.invalid("probability outside [0, 1]")
    kw = {}
    if nt is not None:
        kw["nthreads"] = nt
    kw["isa"] = isa(f, a)
    if dt.kind != "f" or any(isinstance(z, list) for z in (x, t, w, pw)):
        a.bad = a.bad or ["bad operand"]
    ins = None
    if not a.bad:
        fw = np.ones(shp) if w is None else f64(w)
        fpw = np.ones(shp) if pw is None else f64(pw)
        ins = (f64(x), f64(t), fw, fpw)

    def refs():
        fx, ft, fw, fpw = ins
        return ref_bce_logits(fx, ft, fw, fpw) if logits else ref_bce_prob(fx, ft, fw)

    def finite():
        """Inputs finite and not near float32's limit, where the kernels'
        intermediates ((pos_weight - 1) * softplus(-x) - x) may overflow."""
        if ins is None or any(has_nonfinite(z) for z in ins):
            return False
        return max(float(np.max(np.abs(z), initial=0)) for z in ins) < 1e30

    extra = (w, pw) if logits else (w,)
    if which == "fwd":
        fn = S.bce_logits_fwd if logits else S.bce_fwd

        def check(res):
            assert res.shape == shp
            assert res.dtype == dt
            if finite():
                close(fn.__name__, res, refs()[0], dt, TOL[dt])

        return Call(
            f"softmax.{fn.__name__}",
            fn,
            (x, t, *extra),
            kw,
            check,
            a.expect(),
            "; ".join(a.bad),
        )
    if which == "bwd":
        fn = S.bce_logits_bwd if logits else S.bce_bwd
        g = operand(
            f,
            a,
            f.values(shp if r.random() < 0.7 else (), family="softmax"),
            dt,
            "grad_out",
            "softmax",
        )
        kw["target_grad"] = r.random() < 0.5
        args = (x, t, g, *extra)

        def check(res):
            gx, gt = res
            assert gx is not None
            assert gx.shape == shp
            assert (gt is None) == (not kw["target_grad"])
            if not finite() or has_nonfinite(g) or not shp or 0 in shp:
                return
            if np.max(np.abs(f64(g)), initial=0) > 1e30:
                return  # g * (...) may overflow in between: not checked
            _, rgx, rgt = refs()
            fg = f64(g)
            if logits:
                close(f"{fn.__name__} gx", gx, fg * rgx, dt, TOL[dt] * 10)
                if gt is not None:
                    close(f"{fn.__name__} gt", gt, fg * rgt, dt, TOL[dt] * 10)
            else:
                fx = ins[0]
                m = (fx * (1 - fx) > 1e-3) & np.isfinite(fg * rgx)
                close(f"{fn.__name__} gx", f64(gx)[m], (fg * rgx)[m], dt, TOL[dt] * 10)

        return Call(
            f"softmax.{fn.__name__}", fn, args, kw, check, a.expect(), "; ".join(a.bad)
        )
    fn = S.bce_logits_fused if logits else S.bce_fused
    red = r.choice((0, 1, 2))
    if r.random() < 0.02:
        red = r.choice((3, -1))
        a.invalid(f"reduction={red}")
    ig, tg = r.random() < 0.5, r.random() < 0.3
    args = (x, t, *extra, red, ig, tg)

    def check(res):
        out, gx, gt = res
        assert (gx is None) == (not ig)
        assert (gt is None) == (not tg)
        if red == 0:
            assert out.shape == shp
        else:
            assert out.shape == ()
        if not finite() or not shp or 0 in shp:
            return
        rl, rgx, _ = refs()
        with np.errstate(all="ignore"):
            rl = rl.astype(dt).astype(np.float64)  # elementwise losses as dt holds them
        scale = 1 / rl.size if red == 1 else 1.0
        if red == 0:
            close(f"{fn.__name__} loss", out, rl, dt, TOL[dt])
        else:
            close(
                f"{fn.__name__} reduced",
                out,
                rl.sum() * scale,
                dt,
                TOL[dt] * max(1, rl.size / 100),
            )
        if ig and logits:
            close(f"{fn.__name__} gx", gx, rgx * scale, dt, TOL[dt] * 10)

    return Call(
        f"softmax.{fn.__name__}", fn, args, kw, check, a.expect(), "; ".join(a.bad)
    )
