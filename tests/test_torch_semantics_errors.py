"""``arange``'s range rules and the exception types of bad calls, as in PyTorch.

Each convention is checked twice: against written-out expected values (runs
without PyTorch) and against PyTorch itself where it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from tests.semantics_helpers import _dtype_name

gradcheck, gradgradcheck = mg.autograd.gradcheck, mg.autograd.gradgradcheck


# -- arange ----------------------------------------------------------------------

# args: (dtype, length) -- the length is ceil((end - start) / step) in float64
ARANGE = {
    (0, 1, 0.1): ("float32", 10),
    (1, 2.5, 0.3): ("float32", 5),
    (-1, 1, 0.1): ("float32", 20),
    (0, 10, 3): ("int64", 4),
    (0, -5, -1): ("int64", 5),
    (5, 5, 1): ("int64", 0),
    (0, 1.0, 0.3): ("float32", 4),
    (0.5, 3): ("float32", 3),
    (0, 1, 1 / 3): ("float32", 3),
    (10, 0, -0.7): ("float32", 15),
    (0, 0.9, 0.3): ("float32", 3),
    (1, 1.7, 0.1): ("float32", 7),  # (1.7 - 1) / 0.1 = 6.999999999999999
}


@pytest.mark.parametrize("args", sorted(ARANGE, key=str))
def test_arange_length_and_dtype(args):
    dtype, n = ARANGE[args]
    t = mg.arange(*args)
    assert str(t.dtype) == dtype
    assert t.shape == (n,)
    start, step = (args[0], args[2]) if len(args) == 3 else (args[0], 1)
    np.testing.assert_allclose(t.numpy(), start + step * np.arange(n), atol=1e-6)


@pytest.mark.parametrize("args", sorted(ARANGE, key=str))
def test_arange_matches_torch(args):
    torch = pytest.importorskip("torch")
    t, tt = mg.arange(*args), torch.arange(*args)
    assert str(t.dtype) == _dtype_name(tt)
    assert t.shape == tuple(tt.shape)
    # torch's vectorized kernel rounds some float32 values differently (ulp)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-6, atol=1e-7)


# (args, dtype): values; with an integer dtype the bounds and step are first
# truncated to integers, as in PyTorch
ARANGE_WITH_DTYPE = {
    ((-1.5, 2), "int64"): [-1, 0, 1],
    ((0.5, 3), "int64"): [0, 1, 2],
    ((0, 10, 3), "float32"): [0.0, 3.0, 6.0, 9.0],
    ((0, 5.5, 2.5), "int64"): [0, 2, 4],
}


@pytest.mark.parametrize("key", sorted(ARANGE_WITH_DTYPE, key=str))
def test_arange_with_dtype_expected_values(key):
    args, dtype = key
    t = mg.arange(*args, dtype=getattr(mg, dtype))
    assert str(t.dtype) == dtype
    assert t.tolist() == ARANGE_WITH_DTYPE[key]


@pytest.mark.parametrize("key", sorted(ARANGE_WITH_DTYPE, key=str))
def test_arange_with_dtype_matches_torch(key):
    torch = pytest.importorskip("torch")
    args, dtype = key
    assert (
        mg.arange(*args, dtype=getattr(mg, dtype)).tolist()
        == torch.arange(*args, dtype=getattr(torch, dtype)).tolist()
    )


def test_arange_fractional_step_truncated_to_zero_for_int_dtype_raises():
    with pytest.raises(ValueError, match="step must be nonzero"):
        mg.arange(0, 1, 0.3, dtype=mg.int64)
    with pytest.raises(TypeError, match="bool"):
        mg.arange(5, dtype=mg.bool_)


BAD_ARANGE = {
    (0, 5, 0): "step must be nonzero",
    (0.0, 1.0, 0.0): "step must be nonzero",
    (0, 5, -1): "inconsistent with step sign",
    (5, 0, 1): "inconsistent with step sign",
    (0.0, -1.0, 0.5): "inconsistent with step sign",
    (0, math.inf, 1): "unsupported range",
}


@pytest.mark.parametrize("args", sorted(BAD_ARANGE, key=str))
def test_arange_bad_range_raises_clear_error(args):
    with pytest.raises(ValueError, match=BAD_ARANGE[args]) as info:
        mg.arange(*args)
    assert isinstance(info.value, RuntimeError)
    assert "arange" in str(info.value)


@pytest.mark.parametrize("args", sorted(BAD_ARANGE, key=str))
def test_arange_bad_range_raises_in_torch_too(args):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=BAD_ARANGE[args]):
        torch.arange(*args)


# -- exception types: ValueError and RuntimeError both catch a bad call -----------

# name: (call(T), words the message must hold: the op and the shapes)
BAD_CALLS = {
    "matmul": (lambda T: T.ones(2, 3) @ T.ones(4, 5), ["matmul", "(2, 3)", "(4, 5)"]),
    "matmul_batch": (
        lambda T: T.ones(2, 2, 3) @ T.ones(3, 3, 4),
        ["matmul", "(2, 2, 3)", "(3, 3, 4)"],
    ),
    "reshape": (lambda T: T.ones(2, 3).reshape(4, 2), ["reshape", "(2, 3)", "(4, 2)"]),
    "view": (lambda T: T.ones(2, 3).view(7), ["reshape", "(2, 3)", "(7,)"]),
    "cat": (lambda T: T.cat([T.ones(2, 3), T.ones(4, 5)]), ["cat", "(2, 3)", "(4, 5)"]),
    "stack": (lambda T: T.stack([T.ones(2), T.ones(3)]), ["stack", "(2,)", "(3,)"]),
    "add": (lambda T: T.ones(2, 3) + T.ones(4, 5), ["add", "(2, 3)", "(4, 5)"]),
    "mul_int": (
        lambda T: T.ones(2, 3, dtype=T.int64) * T.ones(4, dtype=T.int64),
        ["mul", "(2, 3)", "(4,)"],
    ),
    "where": (
        lambda T: T.where(T.ones(4) > 0, T.ones(2, 3), T.ones(2, 3)),
        ["where", "(4,)", "(2, 3)"],
    ),
    "sum_bad_dim": (lambda T: T.ones(2, 3).sum(5), ["sum", "dim 5", "2 dims"]),
    "mean_bad_dim": (lambda T: T.ones(2, 3).mean(-3), ["mean", "dim -3", "2 dims"]),
    "max_bad_dim": (lambda T: T.ones(2, 3).max(2), ["max", "dim 2", "2 dims"]),
    "softmax_bad_dim": (lambda T: T.ones(2, 3).softmax(4), ["softmax", "dim 4"]),
    "transpose_bad_dim": (
        lambda T: T.ones(2, 3).transpose(0, 2),
        ["transpose", "dim 2"],
    ),
    "cat_bad_dim": (lambda T: T.cat([T.ones(2), T.ones(2)], 1), ["cat", "dim 1"]),
    "expand": (lambda T: T.ones(2, 3).expand(4, 3), ["expand", "(2, 3)", "(4, 3)"]),
    "setitem_value": (
        lambda T: T.zeros(2, 3).__setitem__(0, T.ones(4)),
        ["setitem", "(4,)", "(2, 3)"],
    ),
    "zeros_negative": (lambda T: T.zeros(2, -1), ["zeros", "negative"]),
    "ragged": (lambda T: T.tensor([[1, 2], [3]]), ["tensor"]),
    "max_empty": (lambda T: T.ones(0).max(), ["max", "(0,)"]),
    "item": (lambda T: T.ones(2, 3).item(), ["item", "6 elements"]),
    "arange_step0": (lambda T: T.arange(0, 5, 0), ["arange", "step"]),
    "int_div_zero": (
        lambda T: T.tensor([1, 2]) // T.tensor([1, 0]),
        ["floor_divide", "ZeroDivisionError"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_call_is_value_and_runtime_error(name):
    call, words = BAD_CALLS[name]
    with pytest.raises(ValueError) as info:
        call(mg)
    assert isinstance(info.value, RuntimeError)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_call_fails_in_torch_too(name):
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, ValueError, IndexError, TypeError)):
        BAD_CALLS[name][0](torch)


def test_bad_dim_is_also_an_index_error_as_in_torch():
    with pytest.raises(IndexError, match="sum: dim 5"):
        mg.ones(2, 3).sum(5)


@pytest.mark.parametrize(
    "idx", [5, (0, 7), ([0, 7],), (0, 0, 0)], ids=["int", "pair", "list", "too_many"]
)
def test_index_out_of_range_is_index_error_naming_the_shape(idx):
    with pytest.raises(IndexError, match=r"\(2, 3\)"):
        mg.ones(2, 3)[idx]


def test_dtype_errors_are_type_and_runtime_errors():
    for call in (
        lambda: mg.tensor([1, 2]).mean(),
        lambda: mg.ones(2).to("bfloat16"),
        lambda: mg.ones(2) & mg.ones(2),
    ):
        with pytest.raises(TypeError) as info:
            call()
        assert isinstance(info.value, RuntimeError)


# a bad argument type: a TypeError naming the op (PyTorch raises TypeError too)
BAD_TYPES = {
    "reshape_float": (lambda T: T.ones(2, 3).reshape(2.5, 2), "reshape"),
    "zeros_float": (lambda T: T.zeros(2.5), "zeros"),
    "rand_str": (lambda T: T.rand("a"), "rand"),
    "sum_float_dim": (lambda T: T.ones(2, 3).sum(1.5), "sum"),
    "setitem_str": (lambda T: T.zeros(2).__setitem__(0, "abc"), "setitem"),
}


@pytest.mark.parametrize("name", sorted(BAD_TYPES))
def test_bad_argument_type_is_type_error_naming_the_op(name):
    call, op = BAD_TYPES[name]
    with pytest.raises(TypeError, match=op):
        call(mg)


@pytest.mark.parametrize("name", sorted(BAD_TYPES))
def test_bad_argument_type_is_type_error_in_torch_too(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError):
        BAD_TYPES[name][0](torch)


def test_split_negative_section_and_where_non_bool_condition():
    with pytest.raises(ValueError, match="split: section sizes must be non-negative"):
        mg.ones(2, 3).split([3, -1], 0)
    with pytest.raises(RuntimeError, match="where: condition must be bool"):
        mg.where(mg.ones(3), mg.ones(3), mg.zeros(3))
