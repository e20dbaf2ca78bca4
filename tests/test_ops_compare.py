"""Comparisons, tests, logical ops and shifts (minigrad/ops/compare.py, the
shifts of ops/integer.py) against PyTorch: values and result dtypes, with
tensors, Python scalars and broadcasting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from tests.helpers import examples
from tests.strategies import arrays, broadcastable_shapes

torch = pytest.importorskip("torch")

CMP = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"]
TESTS = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not"]
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.5, 2.0])


def _same(out, tout):
    assert str(out.dtype) == str(tout.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(out.data, tout.numpy())


@pytest.mark.parametrize("name", CMP)
@pytest.mark.parametrize(
    "kind", ["float", "int", "bool", "int_float", "scalar_int", "scalar_float"]
)
def test_compare_matches_torch(name, kind):
    a, b = np.meshgrid(SPECIAL, SPECIAL)
    if kind in ("int", "int_float"):
        a = np.nan_to_num(a, posinf=7, neginf=-7).astype(np.int64)
    if kind == "int":
        b = np.nan_to_num(b, posinf=7, neginf=-7).astype(np.int64)
    if kind == "bool":
        a, b = a > 0, b > 0
    ta = torch.tensor(a)
    if kind.startswith("scalar"):
        s = 1 if kind == "scalar_int" else 1.0
        # torch's logical ops take no Python number: a 0-d tensor is the same
        ts = torch.tensor(s) if name.startswith("logical") else s
        _same(getattr(mg, name)(mg.tensor(a), s), getattr(torch, name)(ta, ts))
        return
    out = getattr(mg, name)(mg.tensor(a), mg.tensor(b))
    _same(out, getattr(torch, name)(ta, torch.tensor(b)))
    _same(getattr(mg.tensor(a), name)(mg.tensor(b)), getattr(ta, name)(torch.tensor(b)))


@pytest.mark.parametrize("name", TESTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_tests_match_torch(name, dtype):
    arr = SPECIAL.astype(dtype) if dtype != np.int64 else np.array([0, 3, -2])
    if dtype == np.bool_:
        arr = np.array([True, False])
    _same(getattr(mg, name)(mg.tensor(arr)), getattr(torch, name)(torch.tensor(arr)))
    _same(getattr(mg.tensor(arr), name)(), getattr(torch.tensor(arr), name)())


@given(data=st.data())
@examples(20, deadline=None)
def test_comparisons_broadcast(data):
    sa, sb = data.draw(broadcastable_shapes(2))
    a = np.round(data.draw(arrays(sa)))
    b = np.round(data.draw(arrays(sb)))
    name = data.draw(st.sampled_from(CMP))
    _same(
        getattr(mg, name)(mg.tensor(a), mg.tensor(b)),
        getattr(torch, name)(torch.tensor(a), torch.tensor(b)),
    )


def test_comparison_shape_error_names_op():
    with pytest.raises(ValueError, match=r"lt: shapes \(2,\) and \(3,\)"):
        mg.lt(mg.zeros(2), mg.zeros(3))


@pytest.mark.parametrize(
    "kw",
    [{}, {"rtol": 0.1}, {"atol": 0.5}, {"equal_nan": True}, {"rtol": 0, "atol": 0}],
)
def test_isclose_allclose_match_torch(kw):
    a, b = np.meshgrid(SPECIAL, SPECIAL * 1.05)
    out = mg.isclose(mg.tensor(a), mg.tensor(b), **kw)
    _same(out, torch.isclose(torch.tensor(a), torch.tensor(b), **kw))
    x, y = SPECIAL[3:], SPECIAL[3:] * (1 + 1e-7)
    assert mg.allclose(mg.tensor(x), mg.tensor(y), **kw) == torch.allclose(
        torch.tensor(x), torch.tensor(y), **kw
    )
    assert mg.tensor(x).allclose(mg.tensor(x)) is True


def test_isclose_rejects_negative_tolerance():
    with pytest.raises(ValueError, match="isclose"):
        mg.isclose(mg.zeros(2), mg.zeros(2), rtol=-1)


def test_equal():
    a = mg.tensor([1.0, 2.0])
    assert mg.equal(a, mg.tensor([1.0, 2.0])) is True
    assert a.equal(mg.tensor([1.0, 3.0])) is False
    assert mg.equal(a, mg.tensor([[1.0, 2.0]])) is False  # shape differs
    assert mg.equal(mg.tensor([np.nan]), mg.tensor([np.nan])) is False  # as torch


@pytest.mark.parametrize("op", ["<<", ">>"])
def test_shifts_match_torch(op):
    a = np.array([1, -5, 7, 2**62, -1, 3])
    s = np.array([1, 2, 64, 1, 70, -1])
    ma, ms, ta, ts = mg.tensor(a), mg.tensor(s), torch.tensor(a), torch.tensor(s)
    if op == "<<":
        _same(ma << ms, ta << ts)
        _same(ma << 3, ta << 3)
        _same(mg.bitwise_left_shift(ma, ms), torch.bitwise_left_shift(ta, ts))
    else:
        _same(ma >> ms, ta >> ts)
        _same(ma >> 3, ta >> 3)
        _same(mg.bitwise_right_shift(ma, ms), torch.bitwise_right_shift(ta, ts))
    b = mg.tensor([1, 2])
    b <<= 2
    assert b.tolist() == [4, 8]


def test_shifts_refuse_floats_and_bools():
    with pytest.raises(TypeError, match="bitwise_left_shift"):
        mg.tensor([1.0]) << 1
    with pytest.raises(TypeError, match="bitwise_right_shift"):
        mg.tensor([True]) >> mg.tensor([True])
    # a bool tensor and a Python int promote to int64, as in PyTorch
    _same(mg.tensor([True]) >> 1, torch.tensor([True]) >> 1)


def test_results_do_not_require_grad():
    x = mg.tensor([1.0, np.nan], requires_grad=True)
    for out in (mg.lt(x, 1.0), x.isnan(), mg.logical_not(x), mg.isclose(x, x)):
        assert out.dtype == np.bool_
        assert not out.requires_grad
