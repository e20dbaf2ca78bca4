"""Factories, dtypes, PyTorch's type promotion and the global seed."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

F32, F64, I64, B = mg.float32, mg.float64, mg.int64, np.dtype(np.bool_)


# -- mg.tensor and its dtype inference -----------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        (1.5, F32),
        ([1.0, 2.0], F32),
        ([1, 2.5], F32),
        (3, I64),
        ([[1, 2], [3, 4]], I64),
        (True, B),
        ([True, False], B),
        (np.array([1.0, 2.0]), F64),  # a numpy array keeps its float64
        (np.array([1.0], np.float32), F32),
        (np.array([1, 2], np.int32), np.dtype(np.int32)),  # kept, as torch
        (np.array([1.0], np.float16), np.dtype(np.float16)),
        (np.float64(2.0), F64),
    ],
)
def test_tensor_infers_dtype_like_pytorch(data, dtype):
    assert mg.tensor(data).dtype == dtype


def test_tensor_explicit_dtype_and_aliases():
    assert mg.tensor([1, 2], dtype=mg.float64).dtype == F64
    assert mg.tensor([1.7, 2.2], dtype=mg.int64).tolist() == [1, 2]
    assert mg.tensor([1], dtype=float).dtype == F32
    assert mg.tensor([1.0], dtype=int).dtype == I64
    assert mg.tensor([1], dtype=bool).dtype == B
    assert mg.tensor([1], dtype="float64").dtype == F64
    assert mg.float is mg.float32
    assert mg.double is mg.float64
    assert mg.long is mg.int64


def test_tensor_unsupported_dtype_raises_type_error():
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        mg.tensor([1.0], dtype=np.complex128)
    with pytest.raises(TypeError, match="tensor"):
        mg.tensor(np.array(["a", "b"]))


def test_tensor_copies_its_input():
    arr = np.array([1.0, 2.0])
    t = mg.tensor(arr)
    arr[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    u = mg.tensor(t)
    t.data[1] = 7.0
    assert u.tolist() == [1.0, 2.0]
    assert not np.shares_memory(mg.Tensor(arr).data, arr)


def test_tensor_of_tensors_and_nested_lists():
    t = mg.tensor([mg.tensor(1.0), mg.tensor(2.0)])
    assert t.shape == (2,)
    assert t.dtype == F32
    assert mg.tensor([[1.0, 2.0], [3.0, 4.0]]).shape == (2, 2)
    assert mg.tensor([]).shape == (0,)


@pytest.mark.parametrize("dtype", [mg.int64, np.bool_])
def test_only_float_tensors_can_require_grad(dtype):
    with pytest.raises(
        RuntimeError, match=r"requires_grad.*floating point.*int64|bool"
    ):
        mg.tensor([1, 0], dtype=dtype, requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):  # also a TypeError
        mg.zeros(2, dtype=dtype).requires_grad_()
    assert mg.tensor([1.0], requires_grad=True).requires_grad


def test_requires_grad_false_on_non_leaf_raises():
    y = mg.tensor([1.0], requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad_(False)


# -- factories -----------------------------------------------------------------


def test_zeros_ones_full_shapes_and_dtypes():
    assert mg.zeros(2, 3).shape == (2, 3)
    assert mg.zeros(2, 3).dtype == F32
    assert mg.zeros((2, 3)).shape == (2, 3)
    assert mg.zeros([4]).shape == (4,)
    assert mg.zeros(()).shape == ()
    assert mg.ones().shape == ()
    assert mg.ones(2, dtype=mg.int64).tolist() == [1, 1]
    assert mg.full((2,), 3).dtype == I64
    assert mg.full((2,), 3.0).dtype == F32
    assert mg.full((2,), True).dtype == B
    assert mg.full(3, 7.0).tolist() == [7.0, 7.0, 7.0]
    np.testing.assert_array_equal(mg.full((2, 2), 2.5, dtype=mg.float64).data, 2.5)


def test_like_factories_keep_shape_and_dtype():
    t = mg.tensor([[1, 2, 3]])
    assert mg.zeros_like(t).dtype == I64
    assert mg.zeros_like(t).shape == (1, 3)
    assert mg.ones_like(t, dtype=mg.float64).dtype == F64
    assert mg.full_like(t, 5).tolist() == [[5, 5, 5]]
    z = mg.zeros_like(mg.tensor([1.0]), requires_grad=True)
    assert z.requires_grad
    assert z.is_leaf


def test_arange_linspace_eye():
    assert mg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(5).dtype == I64
    assert mg.arange(1, 2, 0.5).dtype == F32
    np.testing.assert_allclose(mg.arange(1, 2, 0.25).data, [1.0, 1.25, 1.5, 1.75])
    np.testing.assert_allclose(mg.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1])
    assert mg.linspace(0, 1, 5).dtype == F32
    np.testing.assert_array_equal(mg.eye(3).data, np.eye(3))
    assert mg.eye(2, 3).shape == (2, 3)


def test_random_factories_shapes_ranges_and_dtypes():
    r = mg.rand(100, 3)
    assert r.shape == (100, 3)
    assert r.dtype == F32
    assert float(r.data.min()) >= 0.0
    assert float(r.data.max()) < 1.0
    n = mg.randn(2000, dtype=mg.float64)
    assert n.dtype == F64
    assert abs(float(n.data.mean())) < 0.1
    i = mg.randint(3, 7, (50,))
    assert i.dtype == I64
    assert set(i.tolist()) <= {3, 4, 5, 6}
    j = mg.randint(4, (20,))  # randint(high, size), as torch
    assert j.shape == (20,)
    assert set(j.tolist()) <= {0, 1, 2, 3}
    assert mg.randn(2, 2, requires_grad=True).requires_grad


def test_manual_seed_makes_draws_reproducible():
    mg.manual_seed(1234)
    a = (mg.rand(5).tolist(), mg.randn(3).tolist(), mg.randint(0, 100, (4,)).tolist())
    mg.manual_seed(1234)
    b = (mg.rand(5).tolist(), mg.randn(3).tolist(), mg.randint(0, 100, (4,)).tolist())
    assert a == b
    mg.manual_seed(4321)
    assert mg.rand(5).tolist() != a[0]


def test_explicit_generator_is_independent_of_global_seed():
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    mg.manual_seed(0)
    x = mg.randn(4, generator=g1)
    mg.rand(10)
    y = mg.randn(4, generator=g2)
    assert x.tolist() == y.tolist()


# -- type promotion ------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (mg.tensor([1, 2]), 2.5, F32),  # int64 tensor * Python float
        (mg.tensor([1, 2]), 2, I64),
        (mg.tensor([1.0], dtype=mg.float64), 2.0, F64),  # a scalar never widens
        (mg.tensor([1.0]), mg.tensor([1.0], dtype=mg.float64), F64),
        (mg.tensor([1, 2]), mg.tensor([1.0, 2.0]), F32),  # int + float32 -> float32
        (mg.tensor([True]), mg.tensor([2]), I64),
        (mg.tensor([True]), 2, I64),
        (mg.tensor([True]), 2.0, F32),
        (mg.tensor([True]), True, B),
        (mg.tensor([1.0]), np.float64(2.0), F32),  # numpy scalars act as scalars
        (mg.tensor([1.0]), np.array([2.0]), F64),  # numpy arrays act as tensors
    ],
)
def test_promotion_follows_pytorch(a, b, expected):
    assert (a * b).dtype == expected
    assert (b * a).dtype == expected
    assert (a + b).dtype == expected
    if not any(isinstance(x, mg.Tensor) and x.dtype == B for x in (a, b)):
        assert (b - a).dtype == expected
    else:  # PyTorch refuses a subtraction with a bool tensor, whatever the other
        with pytest.raises(TypeError, match="sub: subtraction with a bool"):
            b - a


def test_promotion_division_is_true_division():
    assert (mg.tensor([1, 2]) / 2).dtype == F32
    assert (mg.tensor([1, 2]) / mg.tensor([2, 4])).tolist() == [0.5, 0.5]
    assert (1 / mg.tensor([2, 4])).dtype == F32
    assert (mg.tensor([1.0], dtype=mg.float64) / mg.tensor([2])).dtype == F64


def test_promotion_pow_and_unary_math():
    assert (mg.tensor([1, 2]) ** 2).dtype == I64
    assert (mg.tensor([1, 2]) ** 2.0).dtype == F32
    assert (2 ** mg.tensor([1, 2])).dtype == I64  # as PyTorch
    assert (2.0 ** mg.tensor([1, 2])).dtype == F32
    assert mg.tensor([1, 2]).exp().dtype == F32
    assert mg.tensor([1.0], dtype=mg.float64).sqrt().dtype == F64
    with pytest.raises(ValueError, match=r"pow: Integers to negative integer"):
        mg.tensor([1, 2]) ** -1


def test_promotion_matches_torch_on_a_grid():
    torch = pytest.importorskip("torch")
    ours = {
        "f32": mg.tensor([1.0, 2.0]),
        "f64": mg.tensor([1.0, 2.0], dtype=mg.float64),
        "i64": mg.tensor([1, 2]),
        "b": mg.tensor([True, False]),
    }
    theirs = {
        "f32": torch.tensor([1.0, 2.0]),
        "f64": torch.tensor([1.0, 2.0], dtype=torch.float64),
        "i64": torch.tensor([1, 2]),
        "b": torch.tensor([True, False]),
    }
    names = {
        torch.float32: F32,
        torch.float64: F64,
        torch.int64: I64,
        torch.bool: B,
    }
    scalars = [2, 2.5, True]
    for ka, a in ours.items():
        for kb, b in ours.items():
            expected = names[(theirs[ka] * theirs[kb]).dtype]
            assert (a * b).dtype == expected, (ka, kb)
        for s in scalars:
            expected = names[(theirs[ka] * s).dtype]
            assert (a * s).dtype == expected, (ka, s)
            assert (s * a).dtype == expected, (s, ka)
        if ka != "b":
            expected = names[(theirs[ka] / 2).dtype]
            assert (a / 2).dtype == expected, ka


def test_casts_and_grad_through_them():
    x = mg.tensor([1.5, -2.5], requires_grad=True)
    assert x.double().dtype == F64
    assert x.long().tolist() == [1, -2]
    assert x.to(mg.float64).dtype == F64
    assert x.float() is x
    assert x.bool().dtype == B
    assert x.to("cpu") is x
    assert not x.long().requires_grad
    y = x.double() * 2.0
    y.sum().backward()
    assert x.grad.dtype == F32
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    with pytest.raises(TypeError, match="to: unsupported dtype"):
        x.to(np.uint16)


def test_comparisons_give_bool_without_grad():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for m in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2):
        assert m.dtype == B
        assert not m.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]
    assert (~(x > 1.5)).tolist() == [True, False, False]
    assert ((x > 1.5) & (x < 2.5)).tolist() == [False, True, False]
