"""The fused optimizer step (csrc/optim, minigrad._C._optim) against the numpy
reference path (bitwise, float64 and float32), against torch.optim, its
validation, the auto-mode fallback and thread-count independence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad._C import _optim
from minigrad.errors import ArgumentError
from tests.helpers import examples

# Every option combination of each optimizer (booleans and zero / nonzero
# coefficients), as (class, kwargs).
_SGD = [
    dict(lr=0.1, momentum=m, dampening=d, weight_decay=wd, nesterov=n, maximize=mx)
    for m, d, wd, n, mx in itertools.product(
        (0.0, 0.9), (0.0, 0.3), (0.0, 0.1), (False, True), (False, True)
    )
    if not (n and (m == 0 or d != 0))
]
_ADAM = [
    dict(lr=lr, betas=(0.8, 0.99), eps=1e-6, weight_decay=wd, amsgrad=a, maximize=mx)
    for lr, wd, a, mx in itertools.product(
        (0.01, 0.0), (0.0, 0.1), (False, True), (False, True)
    )
]
_RMS = [
    dict(lr=0.01, alpha=0.9, weight_decay=wd, momentum=m, centered=c, maximize=mx)
    for wd, m, c, mx in itertools.product(
        (0.0, 0.1), (0.0, 0.5), (False, True), (False, True)
    )
]
_ADAGRAD = [
    dict(lr=0.1, lr_decay=ld, weight_decay=wd, initial_accumulator_value=iv,
         maximize=mx)
    for ld, wd, iv, mx in itertools.product(
        (0.0, 0.05), (0.0, 0.1), (0.0, 0.3), (False, True)
    )
]  # fmt: skip
CASES = (
    [(optim.SGD, kw) for kw in _SGD]
    + [(optim.Adam, kw) for kw in _ADAM]
    + [(optim.AdamW, kw) for kw in _ADAM]
    + [(optim.RMSprop, kw) for kw in _RMS]
    + [(optim.Adagrad, kw) for kw in _ADAGRAD]
)
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CASES)]


def _key(cls: type) -> str:
    return "foreach" if cls is optim.RMSprop else "fused"


def _trajectory(cls, kw, shapes, dtype, fused, steps, seed, missing=()):
    """Parameters and state after ``steps`` steps; parameter i in ``missing``
    has no gradient on even steps (its step count then lags the others)."""
    r = np.random.default_rng(seed)
    ps = [
        mg.tensor(r.standard_normal(s).astype(dtype), requires_grad=True)
        for s in shapes
    ]
    opt = cls(ps, **kw, **{_key(cls): fused})
    for t in range(steps):
        for i, p in enumerate(ps):
            g = r.standard_normal(p.shape).astype(dtype)
            p.grad = None if (i in missing and t % 2 == 0) else mg.tensor(g)
        opt.step()
    state = {
        i: {k: np.array(v.data) if hasattr(v, "data") else v for k, v in s.items()}
        for i, s in opt.state_dict()["state"].items()
    }
    return [p.data.copy() for p in ps], state, [p._version[0] for p in ps]


def _assert_same(a, b, exact: bool) -> None:
    (pa, sa, va), (pb, sb, vb) = a, b
    assert va == vb
    assert sa.keys() == sb.keys()
    for x, y in zip(pa, pb):
        assert x.dtype == y.dtype
        if exact:
            assert x.tobytes() == y.tobytes()
        else:  # float32: within a few ulp of the reference
            np.testing.assert_allclose(x, y, rtol=4e-7, atol=1e-30)
    for i in sa:
        assert sa[i].keys() == sb[i].keys()
        for k in sa[i]:
            u, v = np.asarray(sa[i][k]), np.asarray(sb[i][k])
            if exact:
                assert u.tobytes() == v.tobytes(), k
            else:
                np.testing.assert_allclose(u, v, rtol=4e-7, atol=1e-30)


shapes_st = st.lists(
    st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple),
    min_size=1,
    max_size=5,
)


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
@examples(4, deadline=None)
@given(shapes=shapes_st, seed=st.integers(0, 2**31), missing=st.sets(st.integers(0, 4)))
def test_fused_equals_numpy_path(cls, kw, shapes, seed, missing):
    for dtype in (np.float64, np.float32):
        ref = _trajectory(cls, kw, shapes, dtype, False, 12, seed, missing)
        got = _trajectory(cls, kw, shapes, dtype, True, 12, seed, missing)
        # The kernel does the numpy path's operations in its order: the same
        # bits in both dtypes (float32 is only required to be within ulps).
        _assert_same(ref, got, exact=True)


@pytest.mark.parametrize(("cls", "kw"), CASES[::3], ids=IDS[::3])
def test_fused_large_group_threads_same_bits(cls, kw):
    # Over MG_OPTIM_PAR_MIN elements, so that 2 threads split the segments.
    shapes = [(300, 300), (7,), (0,), (70001,)]
    ref = _trajectory(cls, kw, shapes, np.float32, False, 3, 5)
    runs = []
    for n in (1, 2, 3):
        with (
            mg.backend.num_threads(n)
            if hasattr(mg.backend, "num_threads")
            else _threads(n)
        ):
            runs.append(_trajectory(cls, kw, shapes, np.float32, True, 3, 5))
    for r in runs:
        _assert_same(ref, r, exact=True)


class _threads:
    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        self.old = mg.backend.get_num_threads()
        mg.backend.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        mg.backend.set_num_threads(self.old)


def _spy(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = _optim.step

    def spy(op, *args, **kw):
        # the calls that ran the kernel: a refused group is tried first
        # (Note [Fused step, checked once] in optim/_fused.py)
        res = real(op, *args, **kw)
        calls.append(op)
        return res

    monkeypatch.setattr(_optim, "step", spy)
    return calls


def _params(dtype=np.float64, n=3, rows=2):
    ps = [mg.tensor(np.ones((rows, 3), dtype), requires_grad=True) for _ in range(n)]
    for p in ps:
        p.grad = mg.tensor(np.full((rows, 3), 0.5, dtype))
    return ps


def test_auto_mode_skips_small_groups(monkeypatch):
    from minigrad.optim._fused import AUTO_MIN_ELEMENTS

    calls = _spy(monkeypatch)
    optim.SGD(_params(), lr=0.1).step()  # plain SGD, 18 elements
    assert calls == ([] if AUTO_MIN_ELEMENTS > 18 else ["sgd"])
    calls.clear()
    optim.SGD(_params(rows=AUTO_MIN_ELEMENTS // 9 + 1), lr=0.1).step()
    assert calls == ["sgd"]
    calls.clear()
    # Any other update takes the fused step at every size.
    optim.SGD(_params(), lr=0.1, momentum=0.9).step()
    optim.Adam(_params()).step()
    optim.RMSprop(_params()).step()
    optim.Adagrad(_params()).step()
    assert calls == ["sgd", "adam", "rmsprop", "adagrad"]


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad])
def test_auto_mode_uses_kernel_and_falls_back(monkeypatch, cls):
    calls = _spy(monkeypatch)
    big = 1 << 13  # rows: 3 params of big x 3 elements, over AUTO_MIN_ELEMENTS
    ps = _params(rows=big)
    cls(ps, lr=0.1).step()
    assert len(calls) == 1  # one call for the whole group
    # A non-contiguous gradient, a dtype mix: the numpy path, same answer.
    for bad in ("strided", "mix"):
        calls.clear()
        ps, ref = _params(rows=big), _params(rows=big)
        if bad == "strided":
            ps[1].grad = mg.tensor(np.full((3, big), 0.5).T)
            ref[1].grad = mg.tensor(np.full((3, big), 0.5).T)
        else:
            for q in (ps, ref):
                q[2] = mg.tensor(np.ones((big, 3), np.float32), requires_grad=True)
                q[2].grad = mg.tensor(np.full((big, 3), 0.5, np.float32))
        cls(ps, lr=0.1).step()
        assert calls == []
        cls(ref, lr=0.1, **{_key(cls): False}).step()
        for a, b in zip(ps, ref):
            assert a.data.tobytes() == b.data.tobytes()
        # fused=True refuses the group, naming the reason, before any write.
        before = [p.data.copy() for p in ps]
        with pytest.raises(ArgumentError, match=f"{_key(cls)}=True"):
            cls(ps, lr=0.1, **{_key(cls): True}).step()
        for a, b in zip(ps, before):
            assert np.array_equal(a.data, b)


def test_fused_false_never_calls_kernel(monkeypatch):
    calls = _spy(monkeypatch)
    optim.Adam(_params(), fused=False).step()
    assert calls == []


def test_fused_option_validation():
    with pytest.raises(ArgumentError, match="fused must be None, True or False"):
        optim.SGD(_params(), lr=0.1, fused=1)
    with pytest.raises(ArgumentError, match="foreach"):
        optim.RMSprop(_params(), foreach="yes")
    with pytest.raises(TypeError):
        optim.RMSprop(_params(), fused=True)  # not an RMSprop option (PyTorch)


def test_state_dict_round_trip_with_fused():
    ps = _params()
    opt = optim.Adam(ps, lr=0.1, fused=True)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["fused"] is True
    ps2 = _params()
    for a, b in zip(ps, ps2):
        b.data[...] = a.data
    opt2 = optim.Adam(ps2, lr=0.1)
    opt2.load_state_dict(sd)
    for p in ps:
        p.grad = mg.tensor(np.full((2, 3), 0.25))
    for p in ps2:
        p.grad = mg.tensor(np.full((2, 3), 0.25))
    opt.step()
    opt2.step()
    for a, b in zip(ps, ps2):
        assert a.data.tobytes() == b.data.tobytes()


# -- the Cython wrapper's validation --------------------------------------------


def _ok_args():
    x = [np.ones(4), np.ones(3)]
    g = [np.ones(4), np.ones(3)]
    m = [np.zeros(4), np.zeros(3)]
    v = [np.zeros(4), np.zeros(3)]
    return x, g, m, v


def _adam(x, g, m, v, steps=(1, 1), hp=(0.1, 0.9, 0.99, 1e-8, 0, 0, 0, 0)):
    _optim.step("adam", x, g, m, v, None, list(steps), None, hp)


def test_wrapper_rejects_bad_groups_before_writing():
    x, g, m, v = _ok_args()
    _adam(x, g, m, v)
    cases = {
        "dtype": lambda: _adam(x, [g[0].astype(np.float32), g[1]], m, v),
        "size": lambda: _adam(x, g, [np.zeros(5), m[1]], v),
        "strided": lambda: _adam(x, [np.ones(8)[::2], g[1]], m, v),
        "readonly": lambda: _adam(
            x, g, m, [np.lib.stride_tricks.as_strided(v[0]), v[1]]
        ),
        "overlap p/state": lambda: _adam(x, g, [x[0], m[1]], v),
        "overlap state/state": lambda: _adam(x, g, m, [m[0], v[1]]),
        "overlap p/grad": lambda: _adam(x, [x[0], g[1]], m, v),
        "steps": lambda: _adam(x, g, m, v, steps=(0, 1)),
        "count": lambda: _adam(x, g, m[:1], v),
        "hp": lambda: _adam(x, g, m, v, hp=(0.1,)),
        "list": lambda: _adam([x[0].tolist(), x[1]], g, m, v),
        "int": lambda: _adam([np.ones(4, np.int64), x[1]], g, m, v),
        "byteswapped": lambda: _adam(
            [x[0].astype(">f8"), x[1]], [g[0].astype(">f8"), g[1]], m, v
        ),
    }
    ro = np.zeros(4)
    ro.flags.writeable = False
    cases["readonly"] = lambda: _adam(x, g, m, [ro, v[1]])
    for what, call in cases.items():
        before = [a.copy() for a in (*x, *m, *v)]
        with pytest.raises((ArgumentError, TypeError, ValueError)):
            call()
        after = [a for a in (*x, *m, *v)]
        assert all(np.array_equal(a, b) for a, b in zip(after, before)), what
    with pytest.raises(ArgumentError, match="unknown optimizer"):
        _optim.step("lamb", x, g, None, None, None, None, None, ())
    with pytest.raises(ArgumentError, match="nthreads"):
        _optim.step("sgd", x, g, None, None, None, None, None,
                    (0.1, 0, 0, 0, 0, 0), nthreads=0)  # fmt: skip
    # Grads may share memory with each other (read only).
    shared = np.ones(4)
    _adam(x, [shared, shared[:3]], m, v)


# -- against torch.optim --------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
def test_fused_matches_torch(torch, monkeypatch, cls, kw):
    calls = _spy(monkeypatch)
    r = np.random.default_rng(3)
    shapes = [(4, 3), (0,), (5,), ()]
    xs = [r.standard_normal(s) for s in shapes]
    ps = [mg.tensor(x.copy(), requires_grad=True) for x in xs]
    tps = [torch.tensor(x.copy(), requires_grad=True) for x in xs]
    opt = cls(ps, **kw, **{_key(cls): True})
    topt = getattr(torch.optim, cls.__name__)(tps, **kw)
    for _ in range(20):
        for p, tp in zip(ps, tps):
            g = r.standard_normal(p.shape)
            p.grad = mg.tensor(g)
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
    assert len(calls) == 20
    for p, tp in zip(ps, tps):
        assert p.data.dtype == np.float64
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12, atol=1e-14)
    for p, tp in zip(ps, tps):
        for k, v in topt.state[tp].items():
            if k == "step":
                assert opt.state[p][k] == int(v)
            else:
                np.testing.assert_allclose(
                    opt.state[p][k].data, v.numpy(), rtol=1e-12, atol=1e-14
                )
