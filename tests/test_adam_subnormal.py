"""The float AVX-512 Adam's paths for subnormal moments (csrc/optim/optim.c,
Note [Subnormal moments]) give the bits of plain IEEE arithmetic: the
generic loop's, which other tests hold to the numpy path's."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _gemm, _optim
from tests.helpers import examples

pytestmark = pytest.mark.skipif(
    not _gemm.has_isa("avx512"), reason="this CPU has no AVX-512"
)

TINY = 2.0**-100


def _bits(i: int) -> np.float32:
    return np.array([i], np.uint32).view(np.float32)[0]


def _lanes(r: np.random.Generator, n: int, pools: list) -> np.ndarray:
    """n float32 lanes, each from a pool picked at random: a pool is a list
    of values or a callable drawing one."""
    out = np.empty(n, np.float32)
    for k in range(n):
        pool = pools[r.integers(len(pools))]
        out[k] = pool(r) if callable(pool) else pool[r.integers(len(pool))]
    return out


def _subnormal(r: np.random.Generator) -> np.float32:
    return _bits(int(r.integers(1, 2**23))) * r.choice([-1, 1])


def _fixed_point(r: np.random.Generator) -> np.float32:
    return _bits(int(r.integers(1, 7))) * r.choice([-1, 1])


# Values a moment takes: subnormals at the decay's fixed points (the bits
# 1..6) and anywhere below 2^-126, both signs, zeros, normals, the odd ones.
MOMENT = [
    _fixed_point,
    _fixed_point,
    _subnormal,
    [0.0, -0.0, 1e-3, -2.5e-4, 1.2e-38, np.inf, np.nan],
]
GRAD = [[0.0, -0.0], [0.0, -0.0, 1e-3, -7.0, 1e-42, np.nan, np.inf]]
PARAM = [
    lambda r: r.standard_normal(),
    [TINY, -TINY / 2, 2.0**-99, 1e-42, 0.0, -0.0, np.inf, np.nan],
]
SECOND = [lambda r: r.random(), [0.0, 1e-40, 1e-30, 1e30, np.inf, np.nan]]
HP = st.tuples(
    st.sampled_from([1e-3, 0.0, 10.0]),  # lr
    st.sampled_from([0.9, 0.5, 0.75, 0.999, 0.3, 0.0]),  # beta1
    st.sampled_from([0.999, 0.9]),  # beta2
    st.sampled_from([1e-8, 0.0]),  # eps
    st.sampled_from([0.0, 0.1]),  # weight decay
    st.booleans(),  # decoupled
    st.booleans(),  # amsgrad
    st.booleans(),  # maximize
)


def _run(isa, x, g, m, v, vmax, hp, t):
    """The arrays after one step, as bytes, every NaN made one NaN: which
    operand's NaN an operation passes on is the compiler's choice."""
    x, m, v = x.copy(), m.copy(), v.copy()
    vmax = vmax.copy() if hp[6] else None
    _optim.step(
        "adam", [x], [g], [m], [v], None if vmax is None else [vmax], [t], None,
        tuple(float(h) for h in hp), nthreads=1, isa=isa,
    )  # fmt: skip
    out = (x, m, v) + (() if vmax is None else (vmax,))
    return [np.where(np.isnan(a), np.float32(np.nan), a).tobytes() for a in out]


def _assert_isas_agree(x, g, m, v, vmax, hp, t):
    assert _run("avx512", x, g, m, v, vmax, hp, t) == _run(
        "generic", x, g, m, v, vmax, hp, t
    )


@examples(100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 70), hp=HP,
       t=st.integers(1, 3000))  # fmt: skip
def test_subnormal_moments_keep_the_bits(seed, n, hp, t):
    # Each lane of its own kind: vectors that mix every kind, and their tails.
    r = np.random.default_rng(seed)
    lanes = [_lanes(r, n, pools) for pools in (PARAM, GRAD, MOMENT, SECOND, SECOND)]
    _assert_isas_agree(*lanes, hp, t)


@pytest.mark.parametrize("beta1", [0.9, 0.5, 0.75, 0.999, 0.99999, 0.1])
@pytest.mark.parametrize("m_bits", [1, 2, 3, 4, 5, 6, 250, 499, 500, 501, 502,
                                    49_932, 49_933, 49_999, 50_000, 50_001,
                                    2**23 - 1])  # fmt: skip
def test_dead_units_whole_vectors(beta1, m_bits):
    # A dead unit: whole vectors of zero gradient and one subnormal moment,
    # at and around each beta1's last fixed point (as float32: 0.9: 4; 0.75:
    # 2; 0.5 and 0.1: 0; 0.999: 500; 0.99999: 49932), for many steps.
    n = 64 + 5
    r = np.random.default_rng(m_bits)
    x = r.standard_normal(n).astype(np.float32)
    x[3] = TINY / 4  # one vector divides directly
    g = np.zeros(n, np.float32)
    m = np.full(n, _bits(m_bits), np.float32)
    m[::7] *= -1
    v = r.random(n).astype(np.float32)
    hp = (1e-3, beta1, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0)
    a, b = [x, m, v], [x.copy(), m.copy(), v.copy()]
    for t in range(1, 40):
        for state, isa in ((a, "avx512"), (b, "generic")):
            _optim.step("adam", [state[0]], [g], [state[1]], [state[2]], None,
                        [t], None, hp, nthreads=1, isa=isa)  # fmt: skip
    assert [arr.tobytes() for arr in a] == [arr.tobytes() for arr in b]


@pytest.mark.parametrize("eps", [1e-8, 0.0])
@pytest.mark.parametrize("v0", [0.0, 1e-40, 1e-30, 1e-12])
def test_subnormal_moments_with_normal_quotients(eps, v0):
    # A small denominator d makes m / d normal, and then it moves a small x:
    # those lanes take the scaled division, whose bits must be m / d's.
    bits = np.array([1, 3, 80, 1000, 2**20, 2**23 - 1] * 8, np.uint32)[:48]
    m = bits.view(np.float32) * np.resize(np.float32([1, -1, 1]), 48)
    x = np.resize(np.float32([2.0**-99, 2.0**-90, 1e-30, 1e-20, 1.0, -(2.0**-95)]), 48)
    v = np.full(48, v0, np.float32)
    for t in (1, 7, 1000):
        for lr in (1e-3, 10.0):
            hp = (lr, 0.9, 0.999, eps, 0.0, 0.0, 0.0, 0.0)
            _assert_isas_agree(x, np.zeros(48, np.float32), m, v, v, hp, t)
    # and the case is real: some lanes of x do move
    x2 = x.copy()
    _optim.step("adam", [x2], [np.zeros(48, np.float32)], [m.copy()], [v.copy()],
                None, [7], None, (10.0, 0.9, 0.999, eps, 0.0, 0.0, 0.0, 0.0),
                isa="avx512")  # fmt: skip
    if eps == 0.0 or v0 <= 1e-30:
        assert (x2 != x).any()


def test_dead_units_do_not_stall_at_fixed_point_without_decay():
    # m at bits 5 with beta1 0.9 rounds down to 4 (4.5, to even), not a fixed
    # point: the result must move (a wrong bound would keep 5).
    x = np.ones(32, np.float32)
    m = np.full(32, _bits(5), np.float32)
    v = np.full(32, 0.5, np.float32)
    hp = (1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0)
    g = np.zeros(32, np.float32)
    _optim.step("adam", [x], [g], [m], [v], None, [10], None, hp, isa="avx512")
    assert (m.view(np.uint32) == 4).all()


def _libm():
    if not sys.platform.startswith("linux"):
        pytest.skip("fesetround through ctypes: glibc only")
    return ctypes.CDLL(ctypes.util.find_library("m"))


def _dead_layer(seed: int, bits: int, n: int = 48):
    """x, g, m, v, hp: zero gradients and moments of the given bits."""
    r = np.random.default_rng(seed)
    x = r.standard_normal(n).astype(np.float32)
    m = np.full(n, _bits(bits), np.float32)
    v = r.random(n).astype(np.float32)
    hp = (1e-3, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0)
    return x, np.zeros(n, np.float32), m, v, hp


def test_other_rounding_modes_take_the_plain_path():
    # Toward zero, the shortcuts' bits would differ; the kernel then divides
    # as the generic loop does (both round as the mode says).
    libm = _libm()
    fe_towardzero = 0xC00
    old = libm.fegetround()
    try:
        assert libm.fesetround(fe_towardzero) == 0
        for bits in (3, 7, 1000):
            x, g, m, v0, hp = _dead_layer(1, bits)
            # and a small v: m / d subnormal but not 0, so x - q moves x
            for v in (v0, np.full_like(v0, 1e-12)):
                _assert_isas_agree(x, g, m, v, v, hp, 5)
    finally:
        libm.fesetround(old)


def test_flush_to_zero_takes_the_plain_path():
    torch = pytest.importorskip("torch")
    x, g, m, v, hp = _dead_layer(2, 3)
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormals")
    try:
        got = _run("avx512", x, g, m, v, v, hp, 5)
        want = _run("generic", x, g, m, v, v, hp, 5)
    finally:
        torch.set_flush_denormal(False)
    assert got == want
    # flushed: the moment read as zero
    assert np.frombuffer(got[1], np.float32).tolist() == [0.0] * len(x)
