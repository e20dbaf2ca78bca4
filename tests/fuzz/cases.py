"""One random call of each minigrad._C entry point, with its oracle.

A case function ``case_x(f)`` draws everything from the fuzzer ``f`` (its
``r``: random.Random for choices, ``rng``: numpy Generator for values) and
returns a :class:`Call`. The oracle: a call whose arguments are all valid must
return a result equal to a float64 numpy reference (when the inputs are finite);
one with an invalid argument must raise a clean Python exception; nothing may
crash. ``f.skip(category)`` tells whether a known-bug category is being avoided.
"""

from __future__ import annotations

import math

import numpy as np

from minigrad._C import _act, _gemm
from tests.fuzz.arrays import has_nonfinite, layout, shape, side, values

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
ISAS = tuple(i for i in _act.ISAS if _act.has_isa(i))
GOOD_THREADS = (1, 1, 2, 2, 3, 4, 8)
HUGE_THREADS = (65536, 2**31 - 1)
OVER_THREADS = (2**31, 2**63, 2**100)  # a positive int: clamped or OverflowError
BAD_THREADS = (0, -1, -(2**31), 1.5, True, "2", None)
BAD_DTYPES = (np.float16, np.int64, np.int32, np.bool_, np.complex128, object)


class Call:
    """A call to make and how to judge it.

    expect: "ok" (valid arguments: must return and pass ``check``), "error"
    (some argument is invalid: must raise), "either" (may raise; if it
    returns, ``check`` still applies).
    """

    __slots__ = ("args", "check", "expect", "fn", "info", "kwargs", "name", "why")

    def __init__(
        self, name, fn, args=(), kwargs=None, check=None, expect="ok", why="", info=None
    ):
        self.name, self.fn, self.args = name, fn, args
        self.kwargs = kwargs or {}
        self.check, self.expect, self.why = check, expect, why
        self.info = info or {}


class Args:
    """Collects validity while arguments are drawn."""

    def __init__(self):
        self.bad: list[str] = []
        self.unsure: list[str] = []  # may raise; the value cannot be checked
        self.lenient: list[str] = []  # may raise; if not, the value is checked

    def invalid(self, what: str) -> None:
        self.bad.append(what)

    def expect(self) -> str:
        if self.bad:
            return "error"
        return "either" if self.unsure or self.lenient else "ok"


def f64(a) -> np.ndarray:
    """A float64 copy (never a view: in-place calls overwrite their input)."""
    return np.array(a, np.float64)


def close(name, actual, expected, dtype, rtol=None, atol_scale=1.0):
    """|actual - expected| <= tol * max(|expected|, 1); NaN where expected is."""
    actual = np.asarray(actual)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, (
        f"{name}: shape {actual.shape}, expected {expected.shape}"
    )
    if rtol is None:
        rtol = 2e-5 if dtype == F32 else 1e-11
    with np.errstate(all="ignore"):
        # What the dtype can hold: past float32's range the answer is inf.
        expected = expected.astype(dtype).astype(np.float64)
        err = np.abs(f64(actual) - expected) / np.maximum(np.abs(expected), atol_scale)
    fin = np.isfinite(expected)
    worst = float(np.max(err[fin], initial=0.0))
    assert worst <= rtol, f"{name}: max relative error {worst:.3g} > {rtol:.3g}"
    nan_a, nan_e = np.isnan(f64(actual)), np.isnan(expected)
    assert (nan_a == nan_e).all(), f"{name}: NaN at {np.argwhere(nan_a != nan_e)[:3]}"


def threads(f, a: Args, name="nthreads"):
    """A thread-count argument (None: the default)."""
    u = f.r.random()
    if u < 0.3:
        return None
    if u < 0.85:
        return f.r.choice(GOOD_THREADS)
    if u < 0.93:
        v = f.r.choice(HUGE_THREADS + OVER_THREADS)
        if f.skip("threads-huge"):
            return 2
        if v in OVER_THREADS:
            a.lenient.append(f"{name}={v}")
        return v
    v = f.r.choice(BAD_THREADS)
    if v is None:
        return 1
    a.invalid(f"{name}={v!r}")
    return v


def isa(f, a: Args):
    u = f.r.random()
    if u < 0.5:
        return None
    if u < 0.95:
        return f.r.choice(ISAS)
    v = f.r.choice(("avx512", "sse", "", 3, "AVX2"))
    if v not in ISAS:
        a.invalid(f"isa={v!r}")
    return v


def float_dtype(f, a: Args, p_bad=0.04):
    if f.r.random() < p_bad:
        d = f.r.choice(BAD_DTYPES)
        a.invalid(f"dtype {np.dtype(d)}")
        return np.dtype(d)
    return f.r.choice((F32, F64))


def operand(f, a: Args, v, dt, name, family="", exact=False):
    """``v`` (float64 values) as dtype ``dt`` in a random layout (from those
    not skipped for kernel ``family``; with ``exact``, only layouts that keep
    every value, not zero strides); rarely not an array at all."""
    if f.r.random() < 0.01:
        a.invalid(f"{name} is a list")
        return v.tolist()
    if dt.kind not in "fc":
        with np.errstate(all="ignore"):
            return np.asarray(np.nan_to_num(v), dtype=dt).copy()
    kinds = f.layouts(family)
    if exact:
        kinds = [k for k in kinds if k != "zero"]
    x, kind = layout(f.r, v, dt, f.r.choice(kinds))
    if "swap" in kind:
        a.lenient.append(f"{name} byte-swapped")  # TypeError, or the right values
    return x


# -- GEMM ---------------------------------------------------------------------------


def case_gemm(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a)
    dt_b = dt
    if r.random() < 0.03:
        dt_b = F64 if dt == F32 else F32
        a.invalid("mixed dtypes")
    nd = 2 if r.random() < 0.6 else 3
    m, n, k = side(r), side(r), side(r)
    while m * n * k > 300_000:
        m, n, k = max(m // 2, 1), max(n // 2, 1), max(k // 2, 1)
    ba = bb = 1
    if nd == 3:
        u = r.random()
        nb = r.choice((0, 1, 2, 3, 5))
        if u < 0.5:
            ba = bb = nb
        elif u < 0.7:
            ba, bb = (1, nb) if r.random() < 0.5 else (nb, 1)
        elif u < 0.8:
            ba, bb = (1, 0) if r.random() < 0.5 else (0, 1)
        else:
            ba, bb = nb, r.choice((0, 1, 2, 3, 5))
        if ba != bb and 1 not in (ba, bb):
            a.invalid(f"batch {ba} vs {bb}")
        if {ba, bb} == {0, 1} and f.skip("gemm-batch-bcast0"):
            ba = bb = 0
    ta, tb = r.random() < 0.3, r.random() < 0.3
    sha = (ba,) * (nd == 3) + ((k, m) if ta else (m, k))
    shb = (bb,) * (nd == 3) + ((n, k) if tb else (k, n))
    if r.random() < 0.03:
        # Lengthen b's k axis (its last one when transposed).
        shb = shb[:-2] + ((shb[-2], shb[-1] + 1) if tb else (shb[-2] + 1, shb[-1]))
        a.invalid("inner dims differ")
    if r.random() < 0.02:
        sha = sha[-1:]
        a.invalid("1-D a")
    va, vb = values(r, f.rng, sha), values(r, f.rng, shb)
    A = operand(f, a, va, dt, "a", "gemm")
    B = operand(f, a, vb, dt_b, "b", "gemm")
    batch = max(ba, bb) if 0 not in (ba, bb) else 0
    oshape = ((batch,) if nd == 3 else ()) + (m, n)

    kw = {}
    alpha = r.choice((1.0, 1.0, -0.5, 2.0, 0.0, 3, np.float32(0.5), 1e-3))
    beta = r.choice((0.0, 0.0, 0.0, 1.0, -0.75, 2, np.float64(0.25)))
    if r.random() < 0.03:
        alpha = r.choice(("1", None, 1j, [1.0]))
        a.invalid(f"alpha={alpha!r}")
    elif r.random() < 0.03:
        alpha = r.choice((np.nan, np.inf, 1e300))
    kw["alpha"], kw["beta"] = alpha, beta
    kw["trans_a"], kw["trans_b"] = ta, tb

    bias = None
    if r.random() < 0.3:
        vbias = values(r, f.rng, (n,))
        bias = operand(f, a, vbias, dt, "bias", "gemm")
        if r.random() < 0.05:
            bias = np.zeros((n + 1,), dt)
            a.invalid("bias shape")
        kw["bias"] = bias
    act = r.choice((None, None, "relu", "sigmoid", "tanh"))
    if r.random() < 0.02:
        act = r.choice(("gelu", 1, "RELU"))
        a.invalid(f"activation={act!r}")
    kw["activation"] = act
    kw["isa"] = isa(f, a)
    if kw["isa"] is not None and kw["isa"] not in ISAS and kw["isa"] in _gemm.ISAS:
        pass  # a real ISA this CPU lacks: RuntimeError, already marked invalid
    nt = threads(f, a, "num_threads")
    if nt is not None:
        kw["num_threads"] = nt
    kw["path"] = r.choice(("auto", "auto", "packed", "direct", "ref"))
    if r.random() < 0.02:
        kw["path"] = r.choice(("fast", None, 0))
        a.invalid(f"path={kw['path']!r}")
    if r.random() < 0.25:
        u = r.random()
        if u < 0.7:
            kw["blocks"] = (r.randint(1, 300), r.randint(1, 300), r.randint(1, 600))
        elif u < 0.85:
            big = r.choice((2**31, 2**40, 2**62, 2**63 - 1, 2**63 - 8))
            if big >= 2**62 and f.skip("gemm-blocks-huge"):
                big = 2**31
            kw["blocks"] = tuple(r.choice((big, r.randint(1, 64))) for _ in range(3))
        else:
            kw["blocks"] = r.choice(((0, 1, 1), (-1, 8, 8), (8, 8), (8.0, 8, 8), 2**64))
            if (
                isinstance(kw["blocks"], tuple)
                and len(kw["blocks"]) == 3
                and all(isinstance(v, int) and v > 0 for v in kw["blocks"])
            ):
                pass
            else:
                a.invalid(f"blocks={kw['blocks']!r}")
            if kw["blocks"] == 2**64:
                pass
    if isinstance(kw.get("blocks"), tuple) and any(
        isinstance(v, int) and v >= 2**63 for v in kw["blocks"]
    ):
        a.invalid("blocks overflow")

    out = None
    old = None
    u = r.random()
    if u < 0.4:
        vo = values(r, f.rng, oshape)
        if beta == 0 and r.random() < 0.5:
            vo[...] = np.nan  # must not be read when beta == 0
        out, _ = layout(
            r,
            vo,
            dt,
            r.choice(("c", "f", "step", "neg", "view", "misaligned", "bigbase")),
            writeable=True,
        )
    elif (
        u < 0.45
        and isinstance(A, np.ndarray)
        and A.shape == oshape
        and A.flags.writeable
    ):
        out = A
        if A.size:
            # Native: ValueError (overlap); byte-swapped or misaligned: a is
            # read through a copy, so the result may also be right.
            _alias(a, A, "out is a")
    elif (
        u < 0.48
        and isinstance(B, np.ndarray)
        and B.shape == oshape
        and B.flags.writeable
    ):
        out = B
        if B.size:
            _alias(a, B, "out is b")
    elif u < 0.5:
        out = np.zeros((*oshape, 1), dt)
        a.invalid("out shape")
    elif u < 0.52:
        out = np.zeros(oshape, dt)
        out.flags.writeable = False
        a.invalid("out read-only")
    elif u < 0.54:
        out = np.zeros(oshape, dt.newbyteorder() if dt.kind == "f" else dt)
        if dt.kind == "f":
            a.lenient.append("out byte order")  # written through a copy (main)
    elif u < 0.56 and len(oshape) >= 2 and oshape[-1] > 1:
        # Overlapping rows: a writeable view whose elements share memory.
        base = np.zeros(int(np.prod(oshape)) + 8, dt)
        st = list(np.zeros(oshape, dt).strides)
        st[-2] = dt.itemsize  # row i starts one element after row i-1
        out = np.lib.stride_tricks.as_strided(base, oshape, st)
        if dt.kind == "f":
            a.unsure.append("self-overlapping out")
    elif (
        u < 0.58
        and isinstance(A, np.ndarray)
        and dt.kind == "f"
        and A.size
        and int(np.prod(oshape))
    ):
        # out shares exactly one element (a's last) with a.
        size_o = int(np.prod(oshape))
        base = np.zeros(A.size + size_o, dt)
        base[: A.size] = f64(A).reshape(-1)
        A = base[: A.size].reshape(A.shape)
        out = base[A.size - 1 : A.size - 1 + size_o].reshape(oshape)
        a.invalid("out overlaps a")
    if out is not None:
        kw["out"] = out
        if isinstance(out, np.ndarray) and out.dtype.kind == "f":
            old = f64(out).copy()
    if dt.kind != "f" or isinstance(A, list) or isinstance(B, list):
        a.bad = a.bad or ["bad operand"]
    # The operands' values now: out may be one of them.
    fa0 = f64(A) if isinstance(A, np.ndarray) and dt.kind == "f" else None
    fb0 = f64(B) if isinstance(B, np.ndarray) and dt_b.kind == "f" else None

    def check(res):
        assert isinstance(res, np.ndarray), type(res)
        assert res.shape == oshape, f"gemm: shape {res.shape}, expected {oshape}"
        if out is not None:
            assert res is out, "gemm: did not return out"
        if a.unsure or not _finite_scalars(alpha, beta):
            return
        fa, fb = fa0, fb0
        if ta:
            fa = fa.swapaxes(-1, -2)
        if tb:
            fb = fb.swapaxes(-1, -2)
        if (
            has_nonfinite(fa)
            or has_nonfinite(fb)
            or (bias is not None and has_nonfinite(bias))
        ):
            return
        if beta != 0 and has_nonfinite(old):
            return
        with np.errstate(all="ignore"):
            ref = float(alpha) * np.matmul(fa, fb)
            mag = abs(float(alpha)) * np.matmul(np.abs(fa), np.abs(fb))
            if beta != 0:
                ref = ref + float(beta) * old
                mag = mag + abs(float(beta)) * np.abs(old)
            if bias is not None:
                ref = ref + f64(bias)
                mag = mag + np.abs(f64(bias))
            if act == "relu":
                ref = np.maximum(ref, 0)
            elif act == "sigmoid":
                ref = 1 / (1 + np.exp(-ref))
            elif act == "tanh":
                ref = np.tanh(ref)
        if not np.isfinite(mag).all() or (dt == F32 and np.max(mag, initial=0) > 1e30):
            return
        eps = np.finfo(dt).eps
        err = np.abs(f64(res) - ref)
        tol = 4 * eps * (k + 4) * (mag + 1)
        bad = ~(err <= tol)
        assert not bad.any(), (
            f"gemm: wrong value at {np.argwhere(bad)[:3].tolist()}: "
            f"{f64(res)[bad][:3]} vs {ref[bad][:3]}"
        )

    return Call("gemm", _gemm.gemm, (A, B), kw, check, a.expect(), "; ".join(a.bad))


def _alias(a: Args, x: np.ndarray, what: str) -> None:
    if x.dtype.isnative and x.flags.aligned:
        a.invalid(what)
    else:
        a.lenient.append(what)


def _finite_scalars(*xs) -> bool:
    for x in xs:
        try:
            if not math.isfinite(float(x)) or abs(float(x)) > 1e10:
                return False
        except (TypeError, ValueError):
            return False
    return True


def case_gemm_info(f) -> Call:
    r, a = f.r, Args()
    which = r.randrange(5)
    name = r.choice(("generic", "avx2", "avx512", "x", None, 1))
    if which == 0:
        if name not in _gemm.ISAS and name is not None:
            a.invalid("isa")
        return Call("gemm.has_isa", _gemm.has_isa, (name,), None, None, a.expect())
    if which == 1:
        dt = r.choice((np.float32, np.float64, np.int8, "f4", None))
        if np.dtype(dt) not in (F32, F64) or name not in ISAS:
            a.unsure.append("isa/dtype")
        return Call("gemm.blocking", _gemm.blocking, (name, dt), None, None, a.expect())
    fn = (_gemm.available_isas, _gemm.best_isa, _gemm.compiler, _gemm.openmp_version)[
        r.randrange(4)
    ]
    return Call(f"gemm.{fn.__name__}", fn, (), None, None, "ok")


# -- activations ----------------------------------------------------------------------

_erf = np.vectorize(math.erf, otypes=[float])
_erfc = np.vectorize(math.erfc, otypes=[float])


def _sig(x):
    with np.errstate(all="ignore"):
        return np.where(
            x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(x) / (1 + np.exp(x))
        )


def act_reference(op, x, p0, p1):
    """(f(x), f'(x)) in float64 (as tests/test_act_kernels.py, with params)."""
    with np.errstate(all="ignore"):
        if op == "relu":
            return np.maximum(x, 0), (~(x <= 0)) * 1.0  # relu'(NaN) = 1 (torch)
        if op == "leaky_relu":
            return np.where(x > 0, x, p0 * x), np.where(x > 0, 1.0, p0)
        if op == "sigmoid":
            s = _sig(x)
            return s, s * (1 - s)
        if op == "tanh":
            return np.tanh(x), 1 - np.tanh(x) ** 2
        if op == "gelu":
            cdf = 0.5 * _erfc(-x / math.sqrt(2))
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            return x * cdf, cdf + x * pdf
        if op == "gelu_tanh":
            k0, k1 = math.sqrt(2 / math.pi), 0.044715
            v = 2 * k0 * (x + k1 * x**3)
            s, sm = _sig(v), _sig(-v)
            return x * s, s + x * s * sm * 2 * k0 * (1 + 3 * k1 * x**2)
        if op == "silu":
            s = _sig(x)
            return x * s, s * (1 + x * (1 - s))
        if op == "softplus":
            z = p0 * x
            y = np.where(
                z > p1, x, (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / p0
            )
            return y, np.where(z > p1, 1.0, _sig(z))
        if op == "erf":
            return _erf(x), 2 / math.sqrt(math.pi) * np.exp(-x * x)
    raise AssertionError(op)


def act_out(f, a: Args, x, shp, dt, inputs):
    """An ``out=`` argument for an activation: None, an input itself (in
    place), a fresh array, or a bad one."""
    r = f.r
    u = r.random()
    if u < 0.45 or not isinstance(x, np.ndarray):
        return None
    if u < 0.6:
        src = r.choice(inputs)
        if isinstance(src, np.ndarray) and src.flags.writeable:
            ok = (
                src.flags.aligned
                and (
                    src.flags.c_contiguous
                    or (src.ndim == 1 and src.strides[0] % src.itemsize == 0)
                )
                and src.dtype == dt
            )
            if src.dtype.isnative and ok:
                # In place: fine for the very array; the other input may
                # overlap it only as the same array too (checked by _C).
                others = [o for o in inputs if o is not src]
                if any(
                    isinstance(o, np.ndarray) and np.shares_memory(o, src)
                    for o in others
                ):
                    a.unsure.append("out aliases")
                return src
            a.unsure.append("in place on a bad layout")
            return src
        return None
    if u < 0.85:
        kind = r.choice(("c", "c", "step", "neg", "view", "misaligned", "bigbase"))
        o, kind = layout(r, np.zeros(shp), dt, kind, writeable=True)
        ok = o.flags.aligned and (
            o.flags.c_contiguous or (o.ndim == 1 and o.strides[0] % o.itemsize == 0)
        )
        if not ok:
            a.invalid(f"out layout {kind}")
        return o
    v = r.randrange(4)
    if v == 0 and isinstance(x, np.ndarray) and x.size > 1 and x.ndim >= 1:
        # A shifted view of the input's buffer: overlaps without being it.
        base = np.zeros(x.size + 1, dt)
        base[:-1] = f64(x).reshape(-1)
        a.invalid("out overlaps x")
        return "shifted"
    if v == 1:
        a.invalid("out shape")
        return np.zeros((*shp, 1), dt)
    if v == 2:
        o = np.zeros(shp, dt)
        o.flags.writeable = False
        a.invalid("out read-only")
        return o
    a.invalid("out dtype")
    return np.zeros(shp, F64 if dt == F32 else F32)


def case_act(f) -> Call:
    r, a = f.r, Args()
    op = r.choice(_act.OPS)
    if r.random() < 0.02:
        op = r.choice(("RELU", "gelu_erf", "", "softmax"))
        a.invalid(f"op={op!r}")
    dt = float_dtype(f, a)
    nt = threads(f, a)
    shp = shape(r, big=nt in HUGE_THREADS and r.random() < 0.5)
    v = f.values(shp, family="act")
    x = operand(f, a, v, dt, "x", "act")
    backward = r.random() < 0.45
    p0 = p1 = 0.0
    if op == "leaky_relu":
        p0 = r.choice((0.01, 0.2, -0.5, 0.0, 1.0, 3.0))
    elif op == "softplus":
        p0 = r.choice((1.0, 1.0, 0.5, 2.0, 10.0))
        p1 = r.choice((20.0, 20.0, 1.0, 0.0, -5.0, np.inf))
        if r.random() < 0.05:
            p0 = r.choice(
                (0.0, -1.0, *(() if f.skip("vexp-nan") else (np.nan, np.inf)))
            )
            a.unsure.append(f"softplus beta={p0}")
    if r.random() < 0.02:
        p0 = r.choice((np.nan, "1", None)[f.skip("vexp-nan") :])
        if not isinstance(p0, float):
            a.invalid(f"p0={p0!r}")
        else:
            a.unsure.append("p0 nan")
    kw = {"p0": p0, "p1": p1}
    if (
        backward
        and op in _act.BACKWARD_FROM_OUTPUT
        and isinstance(x, np.ndarray)
        and dt in (F32, F64)
    ):
        # backward reads the forward *output*: make s a plausible one.
        sv = act_reference(op, v, p0, p1)[0]
        s = operand(f, a, sv, dt, "s", "act")
    else:
        s, sv = x, v
    if backward:
        gshape = shp
        if r.random() < 0.03:
            gshape = (*shp, 1)
            a.invalid("grad_out shape")
        gv = f.values(gshape, family="act")
        gdt = dt
        if r.random() < 0.03:
            gdt = F64 if dt == F32 else F32
            a.invalid("grad_out dtype")
        g = operand(f, a, gv, gdt, "grad_out", "act")
        out = act_out(f, a, s, shp, dt, [s, g])
        args = (op, s, g)
    else:
        out = act_out(f, a, x, shp, dt, [x])
        args = (op, x)
    if isinstance(out, str):  # "shifted": overlap an input by one element
        src = args[1]
        base = np.zeros(src.size + 1, dt)
        base[:-1] = f64(src).reshape(-1)
        src = base[:-1].reshape(src.shape)
        out = base[1:].reshape(src.shape)
        args = (op, src, *args[2:])
        if backward:
            args = (op, src, args[2])
    if out is not None:
        kw["out"] = out
    if nt is not None:
        kw["nthreads"] = nt
    kw["isa"] = isa(f, a)
    if dt.kind != "f" or any(isinstance(z, list) for z in args):
        a.bad = a.bad or ["bad operand"]
    ins = [f64(z) if isinstance(z, np.ndarray) else None for z in args[1:]]

    def check(res):
        assert isinstance(res, np.ndarray)
        assert res.shape == shp, (res.shape, shp)
        assert res.dtype == dt, (res.dtype, dt)
        if out is not None:
            assert res is out, "did not return out"
        if a.unsure or res.size == 0:
            return
        xin = ins[0]
        if has_nonfinite(xin) or (backward and has_nonfinite(ins[1])):
            return
        if backward and np.max(np.abs(ins[1]), initial=0) > 1e30:
            return  # g * f'(x) may overflow in between: not checked
        if op == "softplus" and np.max(np.abs(p0 * xin), initial=0) > np.finfo(dt).max:
            return  # beta * x overflows: the threshold test cannot be exact
        if backward and op in _act.BACKWARD_FROM_OUTPUT:
            ys = xin
            d = ys * (1 - ys) if op == "sigmoid" else 1 - ys * ys
            ref = d * ins[1]
        else:
            y, d = act_reference(op, xin, p0, p1)
            ref = d * ins[1] if backward else y
        # Finite input, NaN reference: the reference overflowed (x**3 for
        # |x| ~ 1e300), not a value to hold the kernel to.
        ref = np.where(np.isnan(ref), f64(res), ref)
        close(
            f"{op} {'backward' if backward else 'forward'}",
            res,
            ref,
            dt,
            rtol=1e-5 if dt == F32 else 1e-11,
            # g * f'(x): rounding f'(x) costs |g| ulps (1 - y*y near |y| = 1).
            atol_scale=np.maximum(np.abs(ins[1]), 1) if backward else 1.0,
        )

    fn = _act.backward if backward else _act.forward
    return Call(f"act.{fn.__name__}", fn, args, kw, check, a.expect(), "; ".join(a.bad))


def case_act_info(f) -> Call:
    r = f.r
    which = r.randrange(3)
    if which == 0:
        return Call("act.best_isa", _act.best_isa, (), None, None, "ok")
    name = r.choice(("generic", "avx2", "avx512", "x", None, 1))
    ok = name in _act.ISAS
    if which == 1:
        return Call(
            "act.has_isa", _act.has_isa, (name,), None, None, "ok" if ok else "error"
        )
    return Call("act.isa_code", _act.isa_code, ("op", name), None, None, "either")


def case_set_threads(f) -> Call:
    """minigrad.set_num_threads with good and bad values (restored at once:
    a kernel called with nthreads=None uses it)."""
    from minigrad import backend

    r = f.r
    v = r.choice((1, 2, 3, 16, 0, -1, 1.5, True, None, "2", 2**31, 2**64))
    ok = isinstance(v, int) and not isinstance(v, bool) and v >= 1

    def setget():
        old = backend.get_num_threads()
        try:
            backend.set_num_threads(v)
            # Capped (with a warning) at a few times the core count.
            assert 1 <= backend.get_num_threads() <= v
            assert backend._kernel_threads() <= max(v, 1)
        finally:
            backend.set_num_threads(old)

    return Call(
        "set_num_threads",
        setget,
        (),
        None,
        None,
        "ok" if ok else "error",
        info={"n": v},
    )
