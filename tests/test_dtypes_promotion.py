"""The full dtype set (issue 14): PyTorch's promotion table over every dtype pair,
Python scalars and 0-d tensors; can_cast, finfo, iinfo; float16 ops and their
gradients; in-place ops that refuse a dtype change; the dtype-related Tensor
methods.

The first half runs without PyTorch (written-out expectations and properties);
the torch comparisons take the ``torch`` fixture, which skips them cleanly when
PyTorch is not installed.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.dtypes import DTypeError
from tests.helpers import examples

NAMES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "float32",
    "float64",
]
DT = {n: mg.bool_ if n == "bool" else getattr(mg, n) for n in NAMES}
PAIRS = list(itertools.product(NAMES, NAMES))
SCALARS = [True, 3, -2, 2.5]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _values(name: str, shape: tuple[int, ...] = (3,)) -> np.ndarray:
    """Small values every dtype holds (nonzero, so that division is finite)."""
    n = int(np.prod(shape))
    if name == "bool":
        return (np.arange(n) % 2 == 0).reshape(shape)
    base = np.array([1, 2, 3, 5, 7, 4], np.float64)
    return np.resize(base, n).reshape(shape).astype(DT[name])


def _mg(name: str, shape: tuple[int, ...] = (3,)) -> mg.Tensor:
    return mg.tensor(_values(name, shape), dtype=DT[name])


def _tt(torch, name: str, shape: tuple[int, ...] = (3,)):
    return torch.from_numpy(np.array(_values(name, shape)))


# -- promote_types and friends, without torch --------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("uint8", "int8", "int16"),
        ("uint8", "int16", "int16"),
        ("uint8", "int64", "int64"),
        ("int8", "int32", "int32"),
        ("bool", "uint8", "uint8"),
        ("bool", "bool", "bool"),
        ("float16", "int64", "float16"),
        ("float16", "float32", "float32"),
        ("uint8", "float16", "float16"),
        ("int32", "float64", "float64"),
    ],
)
def test_promote_types_table_entries(a, b, expected):
    assert mg.promote_types(DT[a], DT[b]) == DT[expected]
    assert mg.promote_types(DT[b], DT[a]) == DT[expected]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_promote_types_is_an_upper_bound_in_the_category_order(a, b):
    r = mg.promote_types(DT[a], DT[b])
    assert mg.can_cast(DT[a], r)
    assert mg.can_cast(DT[b], r)
    assert r == mg.promote_types(DT[b], DT[a])


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ((_mg("int8"), 5), "int8"),
        ((_mg("int8"), 2.5), "float32"),
        ((_mg("float16"), 2.5), "float16"),
        ((_mg("bool"), 1), "int64"),
        ((_mg("bool"), True), "bool"),
        ((_mg("uint8"), mg.tensor(3)), "uint8"),  # 0-d int64 does not widen
        ((_mg("int32"), mg.tensor(1.5, dtype=mg.float64)), "float64"),
        ((_mg("float16"), mg.tensor(1.5, dtype=mg.float64)), "float16"),
        ((mg.tensor(1, dtype=mg.int8), mg.tensor(1, dtype=mg.int16)), "int16"),
        ((mg.tensor(1, dtype=mg.int8), 2.5), "float32"),
        ((mg.tensor(True), 7), "int64"),
    ],
)
def test_result_type_ranks_dimensioned_zero_dim_and_scalars(ops, expected):
    assert mg.result_type(*ops) == DT[expected]


def test_result_type_refuses_complex():
    with pytest.raises(TypeError, match="complex"):
        mg.result_type(_mg("float32"), 1j)
    with pytest.raises(TypeError, match="complex"):
        _mg("float32") + 1j


def test_bfloat16_is_refused_with_a_reason():
    assert not hasattr(mg, "bfloat16")
    with pytest.raises(DTypeError, match="bfloat16 is not supported"):
        _ = mg.bfloat16
    with pytest.raises(DTypeError, match="bfloat16"):
        mg.zeros(2).to("bfloat16")


def test_aliases_are_pytorchs():
    assert mg.half == mg.float16
    assert mg.short == mg.int16
    assert mg.int == mg.int32
    assert mg.long == mg.int64
    assert mg.double == mg.float64
    assert mg.float == mg.float32


def test_finfo_and_iinfo_limits():
    f = mg.finfo(mg.float16)
    assert (f.bits, f.max, f.min, f.eps, f.dtype) == (
        16,
        65504.0,
        -65504.0,
        2**-10,
        "float16",
    )
    assert f.tiny == f.smallest_normal == 2.0**-14
    assert f.resolution == 0.001
    assert mg.finfo().dtype == "float32"
    i = mg.iinfo(mg.uint8)
    assert (i.bits, i.min, i.max, i.dtype) == (8, 0, 255, "uint8")
    assert mg.iinfo(mg.int) == mg.iinfo(mg.int32)
    with pytest.raises(TypeError, match="finfo: expected a floating dtype"):
        mg.finfo(mg.int64)
    with pytest.raises(TypeError, match="iinfo: expected an integer dtype"):
        mg.iinfo(mg.float32)
    with pytest.raises(TypeError, match="iinfo: expected an integer dtype, got bool"):
        mg.iinfo(mg.bool)


def test_integer_overflow_wraps_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (mg.tensor([250], dtype=mg.uint8) + 10).tolist() == [4]
        assert (
            mg.tensor([127], dtype=mg.int8) + mg.tensor([1], dtype=mg.int8)
        ).tolist() == [-128]
        assert (mg.tensor([44], dtype=mg.uint8) + 300).tolist() == [88]
        assert (mg.tensor([44], dtype=mg.uint8) == 300).tolist() == [True]
        assert (mg.tensor([200], dtype=mg.uint8) * 2).dtype == mg.uint8
        x = mg.tensor([2**31 - 1], dtype=mg.int32)
        assert (x + 1).tolist() == [-(2**31)]
        assert (mg.tensor([60000.0], dtype=mg.float16) * 2).tolist() == [float("inf")]


def test_integer_true_division_is_float32():
    for n in ("bool", "uint8", "int8", "int16", "int32", "int64"):
        assert (_mg(n) / _mg(n)).dtype == mg.float32
        assert (_mg(n) / 2).dtype == mg.float32
    assert (_mg("int32") / _mg("float16")).dtype == mg.float16


# -- in-place ops refuse a change of dtype ----------------------------------------


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_inplace_add_follows_can_cast(a, b):
    if "bool" in (a, b) and a == b:
        return  # bool + bool is bool; tested below
    x, y = _mg(a), _mg(b)
    r = mg.result_type(x, y)
    if mg.can_cast(r, DT[a]):
        out = x.add_(y)
        assert out is x
        assert x.dtype == DT[a]
    else:
        with pytest.raises(DTypeError, match="add_: result type"):
            x.add_(y)


def test_inplace_refusals_name_the_op():
    with pytest.raises(
        DTypeError, match=r"add_: result type float32 can't be cast.*int32"
    ):
        _mg("int32").add_(1.5)
    with pytest.raises(DTypeError, match="div_"):
        _mg("int64").div_(2)
    with pytest.raises(DTypeError, match="mul_"):
        _mg("bool").mul_(2)
    x = _mg("float32")
    x.add_(_mg("float64"))  # down within the category is fine, as torch
    assert x.dtype == mg.float32
    h = _mg("float16")
    h.mul_(_mg("int64"))
    assert h.dtype == mg.float16


# -- Tensor methods ----------------------------------------------------------------


def test_cast_methods_and_type_names():
    x = mg.tensor([1.5, -2.0])
    cases = {
        "half": ("float16", "HalfTensor"),
        "float": ("float32", "FloatTensor"),
        "double": ("float64", "DoubleTensor"),
        "byte": ("uint8", "ByteTensor"),
        "char": ("int8", "CharTensor"),
        "short": ("int16", "ShortTensor"),
        "int": ("int32", "IntTensor"),
        "long": ("int64", "LongTensor"),
        "bool": ("bool", "BoolTensor"),
    }
    for method, (name, tname) in cases.items():
        y = getattr(x, method)()
        assert y.dtype == DT[name], method
        assert y.type() == "minigrad." + tname
        assert x.type("minigrad." + tname).dtype == DT[name]
        assert x.type(DT[name]).dtype == DT[name]
        assert y.is_floating_point() == (name.startswith("float"))
        assert y.element_size() == y.itemsize == np.dtype(DT[name]).itemsize
        assert y.nbytes == 2 * y.itemsize


def test_layout_methods():
    x = mg.zeros(2, 3, 4)
    assert x.stride() == (12, 4, 1)
    assert x.stride(0) == 12
    assert x.stride(-1) == 1
    assert x.transpose(0, 2).stride() == (1, 4, 12)
    assert not x.transpose(0, 2).is_contiguous()
    assert x.is_contiguous()
    assert mg.zeros(2, 0, 3).stride() == (3, 3, 1)
    assert mg.zeros(3, 1).expand(3, 4).stride() == (1, 0)
    assert x.nelement() == 24
    assert x.ndimension() == 3
    assert x[1].data_ptr() - x.data_ptr() == 12 * 4
    with pytest.raises(IndexError, match="stride"):
        x.stride(3)
    with pytest.raises(IndexError):
        mg.tensor(1.0).stride(0)


# -- float16: values and gradients (without torch) -------------------------------

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)


@examples(20)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_float16_grads_match_float32_rounded(shape, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, shape).astype(np.float16)
    fns = [
        lambda t: (t * 1.5 + t.exp()).sum(),
        lambda t: (mg.sigmoid(t) * mg.tanh(t)).sum(),
        lambda t: mg.relu(t).sum() + mg.nn.functional.gelu(t).sum(),
        lambda t: (mg.softmax(t, -1) * t).sum() if t.ndim else t.sum(),
    ]
    for f in fns:
        h = mg.tensor(a, requires_grad=True)
        f(h).backward()
        s = mg.tensor(a.astype(np.float32), requires_grad=True)
        f(s).backward()
        assert h.grad.dtype == mg.float16
        np.testing.assert_allclose(
            h.grad.data.astype(np.float32), s.grad.data, rtol=2e-2, atol=2e-2
        )


def test_float16_requires_grad_and_double_backward():
    x = mg.tensor([0.5, -1.0], dtype=mg.half, requires_grad=True)
    assert x.requires_grad
    y = mg.sigmoid(x)
    assert y.dtype == mg.float16
    y.sum().backward()
    assert x.grad.dtype == mg.float16
    s = 1 / (1 + np.exp(-np.array([0.5, -1.0])))
    np.testing.assert_allclose(x.grad.data, s * (1 - s), rtol=1e-3)
    # double backward through the float32 detour of a kernel op
    x = mg.tensor([0.5, -1.0], dtype=mg.half, requires_grad=True)
    (g,) = mg.autograd.grad(mg.tanh(x).sum(), x, create_graph=True)
    g.sum().backward()
    assert x.grad.dtype == mg.float16
    t = np.tanh(np.array([0.5, -1.0]))
    np.testing.assert_allclose(x.grad.data, -2 * t * (1 - t * t), rtol=1e-2)


# -- against PyTorch ---------------------------------------------------------------


def _tdt(torch, name: str):
    return getattr(torch, name)


def _same(torch, got: mg.Tensor, want) -> None:
    assert str(got.dtype) == str(want.dtype).removeprefix("torch."), (
        got.dtype,
        want.dtype,
    )
    g = np.asarray(got.data, dtype=np.float64)
    w = want.detach().to(torch.float64).numpy()
    np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-3, equal_nan=True)


def _apply(lib, op: str, x, y):
    if op == "add":
        return x + y
    if op == "mul":
        return x * y
    if op == "div":
        return x / y
    if op == "lt":
        return x < y
    if op == "eq":
        return x == y
    if op == "sub":
        return x - y
    if op == "pow":
        return x**y
    if op == "floor_divide":
        return x // y
    if op == "remainder":
        return x % y
    if op == "bitwise_and":
        return x & y
    if op == "maximum":
        return lib.maximum(x, y)
    if op == "isclose":
        return lib.isclose(x, y)
    if op == "where":
        return lib.where(
            lib.ones((3,), dtype=lib.bool)
            if lib is not mg
            else mg.ones(3, dtype=mg.bool),
            x,
            y,
        )
    raise AssertionError(op)


OPS = ["add", "mul", "div", "lt", "eq", "where", "sub", "pow", "floor_divide"]
OPS += ["remainder", "bitwise_and"]
TENSOR_ONLY_OPS = ["maximum", "isclose"]


@pytest.mark.parametrize("op", OPS + TENSOR_ONLY_OPS)
def test_promote_types_and_ops_match_torch_over_every_pair(torch, op):
    for a, b in PAIRS:
        assert str(mg.promote_types(DT[a], DT[b])) == str(
            torch.promote_types(_tdt(torch, a), _tdt(torch, b))
        ).removeprefix("torch.")
        for sa, sb in [((3,), (3,)), ((3,), ()), ((), (3,)), ((), ())]:
            tx, ty = _tt(torch, a, sa), _tt(torch, b, sb)
            try:
                want = _apply(torch, op, tx, ty)
            except RuntimeError:
                with pytest.raises((TypeError, RuntimeError)):
                    _apply(mg, op, _mg(a, sa), _mg(b, sb))
                continue
            got = _apply(mg, op, _mg(a, sa), _mg(b, sb))
            _same(torch, got, want)
            assert mg.result_type(_mg(a, sa), _mg(b, sb)) == np.dtype(
                str(torch.result_type(tx, ty)).removeprefix("torch.")
            )


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("scalar", SCALARS)
def test_python_scalars_match_torch_for_every_dtype(torch, op, scalar):
    for name in NAMES:
        for shape in [(3,), ()]:
            tx = _tt(torch, name, shape)
            for left in (True, False):
                args_t = (tx, scalar) if left else (scalar, tx)
                args_m = (
                    (_mg(name, shape), scalar) if left else (scalar, _mg(name, shape))
                )
                if op == "where":
                    args_t = (tx, scalar)
                    args_m = (_mg(name, shape), scalar)
                try:
                    want = _apply(torch, op, *args_t)
                except (RuntimeError, TypeError):
                    with pytest.raises((TypeError, RuntimeError)):
                        _apply(mg, op, *args_m)
                    continue
                _same(torch, _apply(mg, op, *args_m), want)


def test_can_cast_finfo_iinfo_match_torch(torch):
    for a, b in PAIRS:
        assert mg.can_cast(DT[a], DT[b]) == torch.can_cast(
            _tdt(torch, a), _tdt(torch, b)
        ), (a, b)
    for n in ("float16", "float32", "float64"):
        f, t = mg.finfo(DT[n]), torch.finfo(_tdt(torch, n))
        for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
            assert getattr(f, k) == getattr(t, k), (n, k)
        assert f.dtype == t.dtype
    for n in ("uint8", "int8", "int16", "int32", "int64"):
        i, t = mg.iinfo(DT[n]), torch.iinfo(_tdt(torch, n))
        assert (i.bits, i.min, i.max, i.dtype) == (t.bits, t.min, t.max, t.dtype)


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_inplace_refusal_matches_torch(torch, a, b):
    tx, ty = _tt(torch, a), _tt(torch, b)
    try:
        tx.add_(ty)
        torch_ok = True
    except RuntimeError:
        torch_ok = False
    x = _mg(a)
    if torch_ok:
        x.add_(_mg(b))
        _same(torch, x, tx)
    else:
        with pytest.raises(RuntimeError):
            x.add_(_mg(b))


F16_OPS = {
    "add_scalar": lambda lib, t: t * 0.1 + 3.3,
    "exp": lambda lib, t: t.exp(),
    "log": lambda lib, t: (t.abs() + 1).log(),
    "sigmoid": lambda lib, t: lib.sigmoid(t),
    "tanh": lambda lib, t: lib.tanh(t),
    "relu": lambda lib, t: lib.relu(t),
    "gelu": lambda lib, t: lib.nn.functional.gelu(t),
    "silu": lambda lib, t: lib.nn.functional.silu(t),
    "softmax": lambda lib, t: lib.softmax(t, -1),
    "log_softmax": lambda lib, t: lib.log_softmax(t, 0),
    "matmul": lambda lib, t: t @ t.T,
    "sum": lambda lib, t: t.sum(-1),
    "mean": lambda lib, t: t.mean(),
    "cross_entropy": lambda lib, t: lib.nn.functional.cross_entropy(
        t, lib.tensor([0, 2, 1])
    ),
    "mse": lambda lib, t: lib.nn.functional.mse_loss(t, t.detach() * 0.5),
    "conv1d": lambda lib, t: lib.nn.functional.conv1d(
        t.reshape(1, 3, 4), t[:, :2].reshape(2, 3, 1)
    ),
    "max_pool1d": lambda lib, t: lib.nn.functional.max_pool1d(t.reshape(1, 3, 4), 2),
    "avg_pool1d": lambda lib, t: lib.nn.functional.avg_pool1d(t.reshape(1, 3, 4), 2),
}


@pytest.mark.parametrize("name", list(F16_OPS))
def test_float16_ops_match_torch(torch, name):
    f = F16_OPS[name]
    a = np.random.default_rng(1).uniform(-3, 3, (3, 4)).astype(np.float16)
    x = mg.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = f(mg, x), f(torch, tx)
    assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")
    np.testing.assert_allclose(
        y.data.astype(np.float32), ty.detach().float().numpy(), rtol=2e-3, atol=2e-3
    )
    g = np.random.default_rng(2).uniform(-1, 1, ty.shape).astype(np.float16)
    y.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    assert x.grad.dtype == mg.float16
    np.testing.assert_allclose(
        x.grad.data.astype(np.float32), tx.grad.float().numpy(), rtol=1e-2, atol=1e-2
    )


def test_tensor_methods_match_torch(torch):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x, tx = mg.tensor(a), torch.tensor(a)
    for v, tv in [
        (x, tx),
        (x.transpose(0, 2), tx.transpose(0, 2)),
        (x[:, 1], tx[:, 1]),
    ]:
        assert v.stride() == tv.stride()
        assert v.is_contiguous() == tv.is_contiguous()
    for m in (
        "half",
        "float",
        "double",
        "byte",
        "char",
        "short",
        "int",
        "long",
        "bool",
    ):
        y, ty = getattr(x, m)(), getattr(tx, m)()
        assert y.type().removeprefix("minigrad.") == ty.type().removeprefix("torch.")
        assert y.element_size() == ty.element_size()
        assert y.itemsize == ty.itemsize
        assert y.nbytes == ty.nbytes
        assert y.is_floating_point() == ty.is_floating_point()
        assert y.is_signed() == ty.is_signed()
        assert y.nelement() == ty.nelement()
        assert y.ndimension() == ty.ndimension()


# -- gradients through promotion ---------------------------------------------------

float_names = st.sampled_from(["float16", "float32", "float64"])
int_names = st.sampled_from(["bool", "uint8", "int8", "int16", "int32", "int64"])


@st.composite
def broadcast_pair(draw):
    base = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))
    other = [draw(st.sampled_from([n, 1])) for n in base]
    drop = draw(st.integers(0, len(other)))
    return tuple(base), tuple(other[drop:])


@examples(25)
@given(shapes=broadcast_pair(), a=float_names, b=float_names, seed=st.integers(0, 99))
def test_binary_grads_reduce_to_each_input_and_keep_its_dtype(shapes, a, b, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes
    xa = rng.uniform(0.5, 2, sa).astype(DT[a])
    xb = rng.uniform(0.5, 2, sb).astype(DT[b])
    x = mg.tensor(xa, requires_grad=True)
    y = mg.tensor(xb, requires_grad=True)
    out = x * y + x / y
    assert out.dtype == mg.result_type(x, y)  # a 0-d y does not widen x
    out.sum().backward()
    assert (x.grad.shape, x.grad.dtype) == (sa, DT[a])
    assert (y.grad.shape, y.grad.dtype) == (sb, DT[b])
    # the expectation: the same values run in float64
    fa, fb = xa.astype(np.float64), xb.astype(np.float64)
    x64 = mg.tensor(fa, requires_grad=True)
    y64 = mg.tensor(fb, requires_grad=True)
    (x64 * y64 + x64 / y64).sum().backward()
    tol = 3e-2 if "float16" in (a, b) else 1e-4
    np.testing.assert_allclose(
        x.grad.data.astype(np.float64), x64.grad.data, rtol=tol, atol=tol * 8
    )
    np.testing.assert_allclose(
        y.grad.data.astype(np.float64), y64.grad.data, rtol=tol, atol=tol * 8
    )


@examples(15)
@given(shapes=broadcast_pair(), i=int_names, seed=st.integers(0, 99))
def test_gradcheck_through_mixed_dtype_operands(shapes, i, seed):
    """float64 mixed with an integer tensor, a 0-d float32 tensor and Python
    scalars stays float64 and differentiates exactly."""
    rng = np.random.default_rng(seed)
    sa, sb = shapes
    x = mg.tensor(rng.uniform(0.5, 2, sa), dtype=mg.float64, requires_grad=True)
    k = mg.tensor(rng.integers(1, 3, sb).astype(DT[i]))
    c = mg.tensor(1.5, dtype=mg.float32)

    def f(t):
        y = t * k + c * t / (k + 1) - 2 * t**2
        assert y.dtype == mg.float64
        return mg.where(k > 1, y, t * 0.5)

    assert mg.autograd.gradcheck(f, (x,))
    assert mg.autograd.gradgradcheck(f, (x,))


def test_module_half_and_legacy_constructors():
    m = mg.nn.Linear(3, 2).half()
    assert m.weight.dtype == mg.float16
    y = m(mg.ones(4, 3, dtype=mg.half))
    assert y.dtype == mg.float16
    y.sum().backward()
    assert m.weight.grad.dtype == mg.float16
    np.testing.assert_allclose(m.weight.grad.data, np.full((2, 3), 4.0))
    assert mg.IntTensor([1, 2]).dtype == mg.int32
    assert mg.HalfTensor(2, 3).dtype == mg.float16
    assert mg.ByteTensor([255]).dtype == mg.uint8
    assert mg.CharTensor([-1]).dtype == mg.int8
    assert mg.ShortTensor([7]).dtype == mg.int16
    a = np.zeros(3, np.int16)
    t = mg.from_numpy(a)
    a[0] = 5
    assert t.tolist() == [5, 0, 0]
