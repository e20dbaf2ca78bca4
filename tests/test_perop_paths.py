"""The per-op fast paths agree with the reference paths (issue 16).

``_core.small_binary`` (Note [Small arrays] in minigrad/_C/_small.pxi) computes
``+ - *`` of small arrays without numpy: bit-identical to numpy, numpy's
warnings kept, and None (numpy computes) for every case it does not take.
Forward, gradients and gradients of gradients through Add/Sub/Mul are compared
bit for bit with the fast path switched off.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad._C import _core
from minigrad.ops import elementwise
from tests.helpers import examples

small = _core.small_binary
OPS = {
    _core.SMALL_ADD: np.add,
    _core.SMALL_SUB: np.subtract,
    _core.SMALL_MUL: np.multiply,
}
DTYPES = (np.float32, np.float64)


def _same(x: Any, y: Any) -> None:
    """Equal bits, dtype and shape."""
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype
    assert x.shape == y.shape
    assert x.tobytes() == y.tobytes()


def _floats(dtype: Any) -> Any:
    width = 32 if dtype == np.float32 else 64
    return st.floats(allow_nan=False, allow_infinity=False, width=width)


@st.composite
def _operands(draw: Any) -> tuple[int, Any, Any]:
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6))
    a = draw(hnp.arrays(dtype, shape, elements=_floats(dtype)))
    kind = draw(st.sampled_from(["aa", "as", "sa"]))
    if kind == "aa":
        return (
            draw(st.sampled_from(list(OPS))),
            a,
            draw(hnp.arrays(dtype, shape, elements=_floats(dtype))),
        )
    s = draw(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False),
            st.integers(-(2**20), 2**20),
        )
    )
    op = draw(st.sampled_from(list(OPS)))
    return (op, a, s) if kind == "as" else (op, s, a)


@given(_operands())
@examples(200)
def test_small_binary_matches_numpy(case: tuple[int, Any, Any]) -> None:
    op, a, b = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OPS[op](a, b)
        out = small(op, a, b)
    if out is not None:  # None: overflow/underflow/NaN, left to numpy
        _same(out, ref)


def test_small_binary_taken_for_small_chains() -> None:
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    for op, ref in OPS.items():
        for x, y in ((a, a + 1), (a, 0.5), (0.999, a), (a, 3), (-2, a)):
            out = small(op, x, y)
            assert out is not None
            _same(out, ref(x, y))
            assert out.flags.c_contiguous
            assert out.flags.owndata


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (np.ones((4, 4), np.float32), np.ones(4, np.float32)),  # broadcast
        (np.ones((4, 1), np.float64), np.ones((1, 4), np.float64)),
        (np.ones((4, 4), np.float32).T[::2], np.ones((2, 4), np.float32)),
        (np.ones((4, 4), np.float32)[:, ::2], 1.0),  # non-contiguous
        (np.ones((4, 4), np.float32), np.ones((4, 4), np.float64)),  # mixed
        (np.ones((4, 4), np.float16), np.ones((4, 4), np.float16)),
        (np.ones((4, 4), np.int64), np.ones((4, 4), np.int64)),
        (np.ones((4, 4), np.int64), 2),
        (np.ones((0, 4), np.float32), np.ones((0, 4), np.float32)),  # 0-size
        (np.ones((), np.float32), np.ones((), np.float32)),  # 0-d: numpy scalar
        (np.ones(4096, np.float32), 1.0),  # large: numpy's SIMD loops
        (np.ones(513, np.float64), np.ones(513, np.float64)),
        (np.ones(4, np.float32), 2**30),  # int not exact in float32
        (np.ones(4, np.float64), 2**60),
        (np.ones(4, np.float32), 1e300),  # overflows float32's range
        (np.ones(4, np.float32), 1e-40),  # float32 subnormal
        (np.ones(4, np.float32), float("nan")),
        (np.ones(4, np.float32), True),  # bool
        (np.ones(4, np.float32), np.float32(2)),  # numpy scalar
        (np.ones(4, np.float32).view(np.matrix), 1.0),  # subclass
        (np.ones(4, np.float32).astype(">f4"), 1.0),  # byte order
        (np.ones(4, np.float32).astype(">f4"), np.ones(4, ">f4")),
    ],
)
def test_small_binary_falls_back(a: Any, b: Any) -> None:
    for op in OPS:
        assert small(op, a, b) is None
        assert small(op, b, a) is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_binary_keeps_numpy_warnings(dtype: Any) -> None:
    big = np.full(4, np.finfo(dtype).max, dtype)
    tiny = np.full(4, np.finfo(dtype).tiny, dtype)
    nan = np.full(4, np.nan, dtype)
    inf = np.full(4, np.inf, dtype)
    cases = [
        (_core.SMALL_MUL, big, big),  # overflow
        (_core.SMALL_ADD, big, big),
        (_core.SMALL_MUL, tiny, tiny),  # underflow
        (_core.SMALL_SUB, inf, inf),  # invalid
        (_core.SMALL_ADD, nan, big),  # NaN payload: numpy's
    ]
    for op, a, b in cases:
        assert small(op, a, b) is None
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        mg.tensor(big) * mg.tensor(big)
    with pytest.warns(RuntimeWarning, match="overflow"):
        mg.tensor(big) + mg.tensor(big)


# -- through the ops: the fast path against the reference path ------------------


def _chain(x: Any, w: Any, b: Any) -> Any:
    y = x
    for _ in range(3):
        y = y * w
        y = y + 0.5
        y = y * 0.999
        y = 2 - y
        y = y - b
        y = 1.5 * y
        y = y * y
    return y


def _run(x0: Any, w0: Any, b0: Any) -> list[Any]:
    x, w, b = (mg.tensor(v, requires_grad=True) for v in (x0, w0, b0))
    y = _chain(x, w, b)
    gx, gw, gb = mg.autograd.grad(y.sum(), (x, w, b), create_graph=True)
    (gx * gx).sum().backward()
    return [y.data, gx.data, gw.data, gb.data, x.grad.data, w.grad.data, b.grad.data]


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
@examples(25)
def test_ops_fast_path_matches_reference(dtype: Any, data: Any) -> None:
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=5))
    el = st.floats(-2, 2, allow_nan=False, width=32 if dtype == np.float32 else 64)
    x0, w0, b0 = (data.draw(hnp.arrays(dtype, shape, elements=el)) for _ in range(3))
    fast = _run(x0, w0, b0)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(elementwise, "_small", lambda op, a, b: None)
        ref = _run(x0, w0, b0)
    for f, r in zip(fast, ref):
        _same(f, r)


@pytest.mark.parametrize(
    "shapes", [((3, 4), (4,)), ((3, 1), (1, 4)), ((0, 3), (0, 3)), ((2, 3), (2, 3))]
)
def test_ops_gradcheck(shapes: tuple[Any, Any]) -> None:
    rng = np.random.default_rng(0)
    a = mg.tensor(rng.standard_normal(shapes[0]), requires_grad=True)
    b = mg.tensor(rng.standard_normal(shapes[1]), requires_grad=True)

    def f(a: Any, b: Any) -> Any:
        return (a * b + 0.5) * 0.999 - b

    assert mg.autograd.gradcheck(f, (a, b))
    assert mg.autograd.gradgradcheck(f, (a, b))


def test_ops_fallback_layouts_match_numpy() -> None:
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    a = mg.tensor(base[:, ::2])  # non-contiguous
    b = mg.tensor(base[:, 1::2])
    _same((a * b).data, base[:, ::2] * base[:, 1::2])
    c = mg.tensor(np.ones((4, 4), np.float32)) + mg.tensor(np.ones((4, 4)))
    assert c.dtype == mg.float64  # mixed dtypes promote as before


@pytest.mark.parametrize(
    ("sa", "sb"), [((2000,), (2000,)), ((), (5,)), ((5,), ()), ((3, 1), (3, 4))]
)
def test_add_sub_grads_with_and_without_broadcast(sa: Any, sb: Any) -> None:
    # numpy's path (large or broadcast operands) keeps ctx.shapes when needed
    rng = np.random.default_rng(1)
    a = mg.tensor(rng.standard_normal(sa), requires_grad=True)
    b = mg.tensor(rng.standard_normal(sb), requires_grad=True)
    ((a + b) * 2.0 + (a - b)).sum().backward()
    n = np.broadcast_shapes(sa, sb)
    scale_a = np.prod(n) // max(np.prod(sa), 1)
    scale_b = np.prod(n) // max(np.prod(sb), 1)
    _same(a.grad.data, np.full(sa, 3.0 * scale_a))
    _same(b.grad.data, np.full(sb, 1.0 * scale_b))
