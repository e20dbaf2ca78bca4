"""Fuzz cases of minigrad._C._optim (the fused optimizer step): random groups
(sizes, dtypes, layouts, overlaps, step counts, options, thread counts); the
oracle is the optimizers' numpy path on copies, which the kernel must match
bitwise (values drawn with specials: NaN and infinities included)."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import optim
from minigrad._C import _gemm, _optim
from tests.fuzz.arrays import layout, shape
from tests.fuzz.cases import Args, Call, float_dtype, threads

_CLS = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSprop,
        "adagrad": optim.Adagrad}  # fmt: skip
_STATE = {
    "sgd": ("momentum_buffer", None, None),
    "adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"),
    "rmsprop": ("square_avg", "grad_avg", "momentum_buffer"),
    "adagrad": ("sum", None, None),
}


def _hp(f, op: str) -> tuple:
    r = f.r
    c = lambda *v: r.choice(v)  # noqa: E731
    if op == "sgd":
        m, d = c(0.0, 0.9), c(0.0, 0.3)
        return (c(0.1, 0.0, 2.0), m, d, c(0.0, 0.1), float(m > 0 and d == 0 and
                c(0, 1)), c(0, 1))  # fmt: skip
    if op == "adam":
        return (c(1e-3, 0.1, 0.0), c(0.9, 0.0), c(0.999, 0.5), c(1e-8, 0.0),
                c(0.0, 0.01), c(0, 1), c(0, 1), c(0, 1))  # fmt: skip
    if op == "rmsprop":
        return (c(0.01, 0.0), c(0.99, 0.5), c(1e-8, 0.0), c(0.0, 0.1),
                c(0.0, 0.5), c(0, 1), c(0, 1))  # fmt: skip
    return (c(0.01, 0.5), c(0.0, 0.1), c(0.0, 0.1), c(1e-10, 0.0), c(0, 1))


def _reference(op, hp, xs, gs, states, steps, flags):
    """The numpy path of the optimizer on copies: (params, states)."""
    if not xs:
        return [], [None if s is None else [] for s in states]
    ps = [mg.tensor(x.copy(), requires_grad=True) for x in xs]
    for p, g in zip(ps, gs):
        p.grad = mg.tensor(g.reshape(p.shape).copy())  # a layout may reshape
    if op == "sgd":
        kw = dict(lr=hp[0], momentum=hp[1], dampening=hp[2], weight_decay=hp[3],
                  nesterov=bool(hp[4]), maximize=bool(hp[5]), fused=False)  # fmt: skip
    elif op == "adam":
        cls = optim.AdamW if hp[5] else optim.Adam
        kw = dict(lr=hp[0], betas=(hp[1], hp[2]), eps=hp[3], weight_decay=hp[4],
                  amsgrad=bool(hp[6]), maximize=bool(hp[7]), fused=False)  # fmt: skip
    elif op == "rmsprop":
        kw = dict(lr=hp[0], alpha=hp[1], eps=hp[2], weight_decay=hp[3],
                  momentum=hp[4], centered=bool(hp[5]), maximize=bool(hp[6]),
                  foreach=False)  # fmt: skip
    else:
        kw = dict(lr=hp[0], lr_decay=hp[1], weight_decay=hp[2], eps=hp[3],
                  maximize=bool(hp[4]), fused=False)  # fmt: skip
    opt = (cls if op == "adam" else _CLS[op])(ps, **kw)
    for k, p in enumerate(ps):
        st = opt.state[p]
        for j, key in enumerate(_STATE[op]):
            if key is not None and states[j] is not None:
                if op == "sgd" and flags[k]:
                    continue  # a new buffer: the numpy path creates it
                st[key] = mg.tensor(states[j][k].reshape(p.shape).copy())
        if steps is not None:
            st["step"] = steps[k] - 1
        elif op == "rmsprop":
            st["step"] = 0
    with np.errstate(all="ignore"):
        opt.step()
    out_states = [
        None if s is None else [opt.state[p][_STATE[op][j]].data for p in ps]
        for j, s in enumerate(states)
    ]
    return [p.data for p in ps], out_states


# float32 subnormals 1, 3 and 4 times 2^-149, and one far from the bottom
_DECAYED = (1.4e-45, 4.2e-45, 5.6e-45, 1e-40)


def _same(x: np.ndarray, y: np.ndarray) -> bool:
    """Bitwise equal, except that a NaN's sign and payload are free (SSE and
    numpy's loops pick a NaN operand differently)."""
    x, y = np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(y).reshape(-1)
    nx, ny = np.isnan(x), np.isnan(y)
    return bool((nx == ny).all()) and x[~nx].tobytes() == y[~ny].tobytes()


def case_optim(f) -> Call:
    a = Args()
    r = f.r
    op = r.choice(tuple(_CLS))
    hp = _hp(f, op)
    need = _optim._needs(op, tuple(float(h) for h in hp))
    n = r.choice((0, 1, 1, 2, 3, 5))
    # An empty group is a no-op whatever the dtype.
    dt = float_dtype(f, a if n else Args(), p_bad=0.03)
    shapes = [shape(r, 0, 3, max_size=5000) for _ in range(n)]
    big = r.random() < 0.02
    if big and n:
        shapes[0] = shape(r, 1, 2, big=True)
    exact = not a.bad

    def arr(shp, what, state=False, write=True):
        v = f.values(shp, specials=r.random() < 0.3)
        if state:
            v = np.abs(v)  # second-moment states are >= 0 in real use
            if v.size and r.random() < 0.1:
                # a dead unit's decayed moments (Note [Subnormal moments])
                v.reshape(-1)[: r.randint(1, v.size)] = r.choice(_DECAYED)
        if r.random() < 0.05:
            x, kind = layout(r, v, dt)
            if not (x.flags.c_contiguous and x.flags.aligned and x.dtype.isnative
                    and (x.flags.writeable or not write)):  # fmt: skip
                a.invalid(f"{what} layout {kind}")
            return x
        return np.ascontiguousarray(v.astype(dt))

    xs = [arr(s, f"params[{k}]") for k, s in enumerate(shapes)]
    gs = [arr(s, f"grads[{k}]", write=False) for k, s in enumerate(shapes)]
    states = [
        [arr(s, f"state{j}[{k}]", state=True) for k, s in enumerate(shapes)]
        if need[j]
        else None
        for j in range(3)
    ]
    steps = [r.choice((1, 1, 2, 10, 1000)) for _ in shapes] if need[3] else None
    flags = [r.random() < 0.5 for _ in shapes] if need[4] else None
    if steps and r.random() < 0.03:
        steps[0] = r.choice((0, -1, 2**63, 1.5, True))
        a.invalid(f"steps[0]={steps[0]!r}")
    if n and states[0] is not None and r.random() < 0.05 and xs[0].size:
        states[0][0] = xs[0]  # the state is the parameter itself
        a.invalid("state0[0] overlaps params[0]")
    if n and r.random() < 0.02:
        gs[0] = gs[0].reshape(-1)[:-1] if gs[0].size else np.ones(1, dt)
        a.invalid("grads[0] size")
    nt = threads(f, a)
    # Every ISA's loops give the same bits (csrc/optim/optim.c); None: the best.
    isa = r.choice([None, *(i for i in _optim.ISAS if _gemm.has_isa(i))])
    exact = exact and not a.bad and dt in (np.float32, np.float64)
    ref = None
    if exact and not a.lenient:
        ref = _reference(op, hp, xs, gs, states, steps, flags)
    outs = (xs, states)

    def check(res):
        if ref is None:
            return
        for k, (x, y) in enumerate(zip(outs[0], ref[0])):
            assert _same(x, y), f"params[{k}] differs from numpy"
        for j in range(3):
            if outs[1][j] is None:
                continue
            for k, (x, y) in enumerate(zip(outs[1][j], ref[1][j])):
                assert _same(x, y), f"state{j}[{k}] differs"

    return Call(
        f"optim.step[{op}]",
        _optim.step,
        (op, xs, gs, *states, steps, flags, hp),
        {"nthreads": nt, "isa": isa},
        check,
        a.expect(),
        "; ".join(a.bad),
    )
