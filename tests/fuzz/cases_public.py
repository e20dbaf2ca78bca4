"""Fuzz cases of the public API on top of minigrad._C: tensor ops (matmul,
linear, activations, softmax, losses; forward and backward, through views and
under random thread counts) and the scalar engine's Value."""

from __future__ import annotations

import math
import operator
import pickle

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _scalar
from minigrad._C._scalar import Value
from tests.fuzz.arrays import has_nonfinite, shape, side
from tests.fuzz.cases import (
    F32,
    F64,
    HUGE_THREADS,
    Args,
    Call,
    act_reference,
    close,
    f64,
)
from tests.fuzz.cases_loss import ref_softmax, ref_xent

ACTS = {
    "relu": (lambda t, p: mg.relu(t), "relu"),
    "sigmoid": (lambda t, p: mg.sigmoid(t), "sigmoid"),
    "tanh": (lambda t, p: mg.tanh(t), "tanh"),
    "gelu": (lambda t, p: F.gelu(t), "gelu"),
    "gelu_tanh": (lambda t, p: F.gelu(t, approximate="tanh"), "gelu_tanh"),
    "silu": (lambda t, p: F.silu(t), "silu"),
    "softplus": (lambda t, p: F.softplus(t, beta=p[0], threshold=p[1]), "softplus"),
    "leaky_relu": (lambda t, p: F.leaky_relu(t, p[0]), "leaky_relu"),
}


def _leaf_view(r, v, dt, grad):
    """(tensor, array): a tensor with the values ``v`` that is often a view
    with unusual strides (transposed, reversed, stepped), and its array."""
    u = r.random()
    if v.ndim >= 2 and u < 0.2:
        t = mg.tensor(
            np.ascontiguousarray(v.swapaxes(-1, -2)).astype(dt), requires_grad=grad
        )
        t = t.transpose(-1, -2)
    elif v.ndim >= 1 and u < 0.35:
        t = mg.tensor(np.ascontiguousarray(v[::-1]).astype(dt), requires_grad=grad)[
            ::-1
        ]
    elif v.ndim >= 1 and u < 0.45:
        t = mg.tensor(np.repeat(v, 2, axis=0).astype(dt), requires_grad=grad)[::2]
    else:
        t = mg.tensor(v.astype(dt), requires_grad=grad)
    return t, t.data


def _threads(f, a: Args):
    r = f.r
    u = r.random()
    if u < 0.5:
        return None
    if u < 0.9:
        return r.choice((1, 2, 3, 4))
    if u < 0.95 and not f.skip("threads-huge"):
        return r.choice(HUGE_THREADS)
    return r.choice((1, 2))


def case_public(f) -> Call:
    r, a = f.r, Args()
    dt = r.choice((F32, F64))
    op = r.choice(("matmul", "linear", "act", "softmax", "xent", "bce", "bce_logits"))
    nt = _threads(f, a)
    grad = r.random() < 0.5

    def leaf(shp, lo=-3, hi=3, specials=True):
        v = f.values(
            shp, lo, hi, specials, family="" if op in ("matmul", "linear") else "act"
        )
        if op in ("softmax", "xent") and f.skip("lse-cancel"):
            np.clip(v, -100, 100, out=v)
        return _leaf_view(r, v, dt, grad)

    if op == "matmul":
        nd_a, nd_b = r.choice((1, 2, 2, 3, 4)), r.choice((1, 2, 2, 3))
        m, k, n = side(r, False), side(r, False), side(r, False)
        zero = () if f.skip("gemm-batch-bcast0") else (0,)
        bat = tuple(r.choice((*zero, 1, 2, 3)) for _ in range(max(nd_a, nd_b) - 2))
        sa = (bat[len(bat) - (nd_a - 2) :] if nd_a > 2 else ()) + (
            (m, k) if nd_a > 1 else (k,)
        )
        sb = (bat[len(bat) - (nd_b - 2) :] if nd_b > 2 else ()) + (
            (k, n) if nd_b > 1 else (k,)
        )
        if r.random() < 0.3 and len(sa) > 2:
            sa = (1,) * (len(sa) - 2) + sa[-2:]  # broadcast a 1 batch
        ta, xa = leaf(sa)
        tb, xb = leaf(sb)

        ins = [xa, xb]

        def fn():
            return mg.matmul(ta, tb)

        def ref():
            return np.matmul(f64(xa), f64(xb))
    elif op == "linear":
        nb, i, o = side(r, False), side(r, False), side(r, False)
        tx, xx = leaf((nb, i))
        tw, xw = leaf((o, i))
        tbias, xbias = leaf((o,)) if r.random() < 0.5 else (None, None)
        act = r.choice((None, "relu", "sigmoid", "tanh"))

        ins = [xx, xw, xbias]

        def fn():
            return F.linear(tx, tw, tbias, activation=act)

        def ref():
            z = f64(xx) @ f64(xw).T + (0 if xbias is None else f64(xbias))
            return act_reference(act, z, 0, 0)[0] if act else z
    elif op == "act":
        name = r.choice(list(ACTS))
        p = (r.choice((0.01, 0.5, 1.0, 2.0)), r.choice((20.0, 1.0, 0.0)))
        tx, xx = leaf(shape(r, 0, 4, 5000))
        call, kname = ACTS[name]

        ins = [xx]

        def fn():
            return call(tx, p)

        def ref():
            return act_reference(kname, f64(xx), p[0], p[1])[0]
    elif op == "softmax":
        shp = shape(r, 1, 4, 5000)
        tx, xx = leaf(shp, -20, 20)
        dim = r.randrange(-len(shp), len(shp))
        log = r.random() < 0.5

        ins = [xx]

        def fn():
            return (mg.log_softmax if log else mg.softmax)(tx, dim)

        def ref():
            return ref_softmax(f64(xx), dim, log)
    elif op == "xent":
        n, c = side(r, False), max(1, side(r, False))
        tx, xx = leaf((n, c), -10, 10)
        t = f.rng.integers(0, c, n)
        red = r.choice(("mean", "sum", "none"))
        eps = r.choice((0.0, 0.1))

        ins = [xx]

        def fn():
            return F.cross_entropy(tx, mg.tensor(t), reduction=red, label_smoothing=eps)

        def ref():
            loss = ref_xent(f64(xx), t, None, -100, eps)[0]
            return {
                "none": loss,
                "sum": loss.sum(),
                "mean": loss.mean() if n else np.nan,
            }[red]
    else:
        shp = shape(r, 0, 3, 5000)
        logits = op == "bce_logits"
        if logits:
            tx, xx = leaf(shp, -10, 10)
        else:
            tx, xx = leaf(shp, 0, 1, specials=False)
        tv = f.rng.uniform(0, 1, shp).astype(dt)
        red = r.choice(("mean", "sum", "none"))
        ins = [xx]

        def fn():
            g = F.binary_cross_entropy_with_logits if logits else F.binary_cross_entropy
            return g(tx, mg.tensor(tv), reduction=red)

        def ref():
            x, t = f64(xx), f64(tv)
            with np.errstate(all="ignore"):
                if logits:
                    loss = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
                else:
                    loss = -(
                        t * np.maximum(np.log(x), -100)
                        + (1 - t) * np.maximum(np.log1p(-x), -100)
                    )
            return {
                "none": loss,
                "sum": loss.sum(),
                "mean": loss.mean() if loss.size else np.nan,
            }[red]

    def run():
        old = mg.get_num_threads()
        try:
            if nt is not None:
                mg.set_num_threads(nt)
            y = fn()
            if grad and y.requires_grad and y.numel():
                y.sum().backward()
        finally:
            mg.set_num_threads(old)
        return y

    def check(y):
        got = y.data
        with np.errstate(all="ignore"):
            expected = np.asarray(ref())
        assert got.shape == expected.shape, (
            f"{op}: shape {got.shape} vs {expected.shape}"
        )
        if op in ("matmul", "linear"):
            return  # values: case_gemm's job, with its error bound
        if any(z is not None and has_nonfinite(z) for z in ins):
            return
        if any(z is not None and np.max(np.abs(f64(z)), initial=0) > 1e30 for z in ins):
            return  # near float32's limit intermediates round (or overflow) first
        close(f"public {op}", got, expected, dt, 1e-4 if dt == F32 else 1e-9)

    return Call(
        f"public.{op}", run, (), None, check, "ok", info={"threads": nt, "grad": grad}
    )


# -- Value ----------------------------------------------------------------------


def _num(r):
    u = r.random()
    if u < 0.6:
        return r.uniform(-3, 3)
    if u < 0.75:
        return r.randint(-3, 3)
    if u < 0.85:
        return r.choice(
            (0.0, -0.0, 1.0, 0.5, 2.0, 1e-300, 1e300, -1e300, 700.0, -700.0)
        )
    if u < 0.9:
        return r.choice((math.inf, -math.inf, math.nan, 10**400 // 10**390, True))
    return r.choice((np.float32(1.5), np.int64(2), np.float64(-0.25)))


BINOPS = ("+", "-", "*", "/", "**")
_BIN = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
UNOPS = ("neg", "relu", "tanh", "exp", "log", "sigmoid")


class Shadow:
    """A reference node: value, children with local derivatives, gradient,
    and the sum of the gradient's terms' magnitudes (its rounding scale: the
    terms may cancel, and the C side adds them in another order)."""

    __slots__ = ("data", "gabs", "grad", "kids")

    def __init__(self, data, kids=()):
        self.data, self.grad, self.gabs, self.kids = data, 0.0, 0.0, kids


def _apply(op, x, y=None):
    """(value, local derivatives) in plain Python floats; None if the op must
    raise (domain) or overflows in Python (the C side returns inf: skip)."""
    try:
        if op == "+":
            return x + y, (1.0, 1.0)
        if op == "-":
            return x - y, (1.0, -1.0)
        if op == "*":
            return x * y, (y, x)
        if op == "/":
            return x / y, (1 / y, -x / (y * y))
        if op == "neg":
            return -x, (-1.0,)
        if op == "relu":  # micrograd's: NaN stays NaN, relu'(0) = 0
            return (0.0 if x < 0 else x), ((1.0 if x > 0 else 0.0),)
        if op == "tanh":
            t = math.tanh(x)
            return t, (1 - t * t,)
        if op == "sigmoid":
            s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
            return s, (s * (1 - s),)
        if op == "exp":
            e = math.exp(x)
            return e, (e,)
        if op == "log":
            return math.log(x), (1 / x,)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    raise AssertionError(op)


def case_value(f) -> Call:
    r = f.r
    kind = r.random()
    if kind < 0.08:
        return _value_api(f)
    if kind < 0.1:
        depth = r.choice((1000, 10_000, 100_000))

        def deep():
            x = Value(0.5)
            y = x
            for _ in range(depth):
                y = y * 1.0 + 0.0
            y.backward()
            assert x.grad == 1.0, x.grad
            assert len(_scalar._topo(y)) == 2 * depth + 1
            return y

        return Call(f"value.deep{depth}", deep, (), None, None, "ok")
    n_leaves = r.randint(1, 4)
    leaves = [float(_num(r)) if r.random() < 0.9 else _num(r) for _ in range(n_leaves)]
    prog = []
    for _ in range(r.randint(1, 25)):
        if r.random() < 0.55:
            op = r.choice(BINOPS)
            const = r.random() < 0.3
            prog.append(
                (
                    op,
                    r.randrange(1 << 20),
                    (_num(r), r.random() < 0.5) if const else r.randrange(1 << 20),
                )
            )
        else:
            prog.append((r.choice(UNOPS), r.randrange(1 << 20), None))

    def build():
        vals = [Value(x) for x in leaves]
        shad = [Shadow(float(x)) for x in leaves]
        ok = True  # reference still comparable
        for op, i, j in prog:
            i %= len(vals)
            a, sa = vals[i], shad[i]
            if op in UNOPS:
                try:
                    res = -a if op == "neg" else getattr(a, op)()
                except (ZeroDivisionError, ValueError, OverflowError):
                    if op == "log" and sa.data > 0:
                        raise AssertionError(f"log({sa.data}) raised") from None
                    continue
                ref = _apply(op, sa.data)
                sh = Shadow(ref[0], ((sa, ref[1][0]),)) if ref else None
            elif isinstance(j, tuple):
                c, left = j
                fc = float(c)
                try:
                    res = _BIN[op](a, c) if left else _BIN[op](c, a)
                except (ZeroDivisionError, ValueError, OverflowError):
                    continue
                if op == "**":
                    sh = None
                else:
                    ref = _apply(op, sa.data, fc) if left else _apply(op, fc, sa.data)
                    sh = (
                        Shadow(ref[0], ((sa, ref[1][0 if left else 1]),))
                        if ref
                        else None
                    )
            else:
                b, sb = vals[j % len(vals)], shad[j % len(vals)]
                try:
                    res = _BIN[op](a, b)
                except (ZeroDivisionError, ValueError, OverflowError):
                    continue
                if op == "**":
                    sh = None
                else:
                    ref = _apply(op, sa.data, sb.data)
                    sh = (
                        Shadow(ref[0], ((sa, ref[1][0]), (sb, ref[1][1])))
                        if ref
                        else None
                    )
            if sh is None:
                ok = False
                sh = Shadow(res.data)
            elif not _same(res.data, sh.data):
                raise AssertionError(
                    f"Value {op}: data {res.data!r}, expected {sh.data!r}"
                )
            vals.append(res)
            shad.append(sh)
        root, sroot = vals[-1], shad[-1]
        root.backward()
        if ok and all(_finite(s.data) for s in shad):
            _shadow_backward(sroot)
            for k, (v, s) in enumerate(zip(vals, shad)):
                scale = max(1.0, s.gabs)
                if _finite(s.gabs) and not abs(v.grad - s.grad) <= 1e-9 * scale:
                    raise AssertionError(
                        f"Value grad of node {k}: {v.grad!r}, expected {s.grad!r}"
                    )
        return root

    return Call(
        "value.expr", build, (), None, None, "ok", info={"leaves": leaves, "prog": prog}
    )


def _finite(x):
    return isinstance(x, float) and math.isfinite(x)


def _same(x, y, tol=1e-12):
    if math.isnan(x) and math.isnan(y):
        return True
    if x == y:
        return True
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def _shadow_backward(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for kid, _ in reversed(node.kids):
            stack.append((kid, False))
    root.grad = root.gabs = 1.0
    for node in reversed(order):
        for kid, d in node.kids:
            kid.grad += d * node.grad
            kid.gabs += abs(d) * node.gabs


def _value_api(f) -> Call:
    """The low-level constructor, setters, pickling, _topo, _neuron, with
    arguments good and bad."""
    r = f.r
    which = r.randrange(8)
    bad = (None, "1.0", [1.0], 1j, object(), Value, np.ones(2), 10**400)
    if which == 0:
        x = r.choice((*bad, 1.0, np.float32(2), np.array(3.0), True, 10**20))
        ok = isinstance(x, (float, int, np.floating, np.integer)) or (
            isinstance(x, np.ndarray) and x.ndim == 0
        )
        if x == 10**400 if isinstance(x, int) else False:
            ok = False
        return Call("Value()", Value, (x,), None, None, "ok" if ok else "error")
    if which == 1:
        a, b = Value(r.uniform(-2, 2)), Value(r.uniform(-2, 2))
        kids = r.choice(((a,), (a, b), (a, b, a), (a, 1.0), (), (a, a), "ab", (None,)))
        grads = r.choice(((), (1.0,), (1.0, 2.0), (1.0, 2.0, 3.0), ("x",), (np.nan,)))
        op = r.choice(("", "+", "custom", "x" * 1000, None, 3))

        def mk():
            v = Value(1.5, kids, op, grads)
            v.backward()
            v._propagate()
            _ = (v._op, v._label, v._prev, v._children, v._local_grads, repr(v))
            return v

        return Call(
            "Value(low-level)",
            mk,
            (),
            None,
            None,
            "either",
            info={"kids": kids, "grads": grads, "op": op},
        )
    if which == 2:
        v = Value(r.uniform(-2, 2))
        w = v * 2 + 1
        target = r.choice((v, w))
        attr = r.choice(("data", "grad"))
        x = r.choice((*bad, 2.5, 0))

        def setit():
            setattr(target, attr, x)
            w.backward()
            return w

        return Call(f"Value.{attr}=", setit, (), None, None, "either", info={"x": x})
    if which == 3:
        v = Value(r.uniform(-2, 2))
        w = v.tanh() * v
        return Call(
            "Value.__init__ again",
            lambda: w.__init__(1.0, (w,)),
            (),
            None,
            None,
            "error",
        )
    if which == 4:
        v = Value(r.uniform(-2, 2), (), r.choice(("", "p")))
        v.grad = r.uniform(-1, 1)

        def rt():
            u = pickle.loads(pickle.dumps(r.choice((v, v * 2))))
            assert u.data == v.data
            assert u.grad == v.grad
            assert u._op == v._op
            return u

        return Call("Value pickle", rt, (), None, None, "either")
    if which == 5:
        n = r.randint(0, 6)
        ws = [Value(r.uniform(-1, 1)) for _ in range(n)]
        xs = [
            r.choice((Value(r.uniform(-1, 1)), r.uniform(-1, 1), 2, np.float32(1)))
            for _ in range(r.randint(0, 6))
        ]
        bad_in = r.random() < 0.1
        if bad_in:
            k = min(len(ws), len(xs))
            ws, xs = [*ws[:k], Value(1.0)], [*xs[:k], r.choice(("x", None))]
        b = Value(0.25)

        def neuron():
            out = _scalar._neuron(b, ws, xs)
            ref = 0.25 + sum(
                w.data * (x.data if isinstance(x, Value) else float(x))
                for w, x in zip(ws, xs)
            )
            assert _same(out.data, ref, 1e-12), (out.data, ref)
            out.backward()
            return out

        return Call(
            "_neuron",
            neuron,
            (),
            None,
            None,
            "error" if bad_in else "ok",
            info={"ws": len(ws), "xs": xs},
        )
    if which == 6:
        x = r.choice((Value(1.0), None, 1.0))
        ok = isinstance(x, Value)
        return Call("_topo", _scalar._topo, (x,), None, None, "ok" if ok else "error")
    x = r.choice((1.0, None, "s"))
    return Call(
        "_leaf",
        _scalar._leaf,
        (x, 0.0, r.choice(("", "op", None))),
        None,
        None,
        "either",
    )
