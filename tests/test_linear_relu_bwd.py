"""Linear+ReLU backward and the bias gradient in one pass (issue 16, Note [ReLU
backward and the bias gradient in one pass] in ops/linalg.py).

- The kernel (``_act.relu_bias_backward``) against numpy: gz = g where not
  y <= 0 else 0, and db = gz.sum(0) bit for bit, for NaN / inf / -0, empty
  arrays, every layout of g (contiguous, broadcast, transposed, strided) and of
  y, float32 and float64, every ISA and thread count.
- The fused op's gradients against its composite (``_linear_composite``), the
  unrecorded path against the recorded one (create_graph), gradcheck and
  gradgradcheck in float64, and the saved output's version check.
- PyTorch (when installed): values, gradients, dtypes, special values, and the
  in-place error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad._C import _act
from minigrad.errors import ArgumentError, ShapeError
from minigrad.ops import linalg
from tests.helpers import examples

ISAS = [i for i in _act.ISAS if _act.has_isa(i)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
SPECIAL = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-40, -1e-40, 3.0, -2.0])


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# -- the kernel -----------------------------------------------------------------


def _reference(y: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gz, and its column sums from +0 down the rows in order (numpy's
    add.reduce over axis 0 sums so too, except for a single column, which it
    sums pairwise as a 1-D array)."""
    gz = np.where(y <= 0, np.zeros((), y.dtype), g)
    start = np.zeros((1, gz.shape[1]), gz.dtype)
    with np.errstate(invalid="ignore"):  # inf - inf
        db = np.add.accumulate(np.concatenate([start, gz]), axis=0)[-1]
        if gz.shape[1] > 1:
            _same_bits(db, np.add.reduce(np.ascontiguousarray(gz), axis=0))
    return gz, db


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Equal values, NaN where NaN, and the same sign on zeros (a NaN's sign
    is not compared: inf - inf gives the CPU's default NaN)."""
    assert a.shape == b.shape
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)
    zero = a == 0
    np.testing.assert_array_equal(np.signbit(a[zero]), np.signbit(b[zero]))


def _layout(g: np.ndarray, kind: str) -> np.ndarray:
    """``g``'s values (or a broadcast of part of them) in layout ``kind``."""
    rows, cols = g.shape
    if kind == "contiguous":
        return g
    if kind == "transposed":
        return np.asfortranarray(g)
    if kind == "scalar":  # what .sum().backward() sends down
        return np.broadcast_to(g.flat[0] if g.size else g.dtype.type(1), g.shape)
    if kind == "row":  # one row for every row (row stride 0)
        return np.broadcast_to(g[:1] if rows else g, g.shape)
    if kind == "column":  # one value per row (column stride 0)
        return np.broadcast_to(g[:, :1] if cols else g, g.shape)
    if kind == "reversed":
        return np.ascontiguousarray(g[::-1, ::-1])[::-1, ::-1]
    if kind == "strided":  # every other column of a wider array
        wide = np.zeros((rows, 2 * cols), g.dtype)
        wide[:, ::2] = g
        return wide[:, ::2]
    raise AssertionError(kind)


LAYOUTS = ["contiguous", "transposed", "scalar", "row", "column", "reversed", "strided"]


def _values(rng, shape, dtype, special):
    a = rng.standard_normal(shape)
    if special and a.size:
        idx = rng.random(shape) < 0.3
        a[idx] = rng.choice(SPECIAL, size=int(idx.sum()))
    return a.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@examples(15, deadline=None)
@given(
    rows=st.sampled_from([0, 1, 2, 3, 4, 5, 8, 17, 64]),
    cols=st.sampled_from([0, 1, 2, 15, 16, 17, 33, 128, 530]),
    special=st.booleans(),
    isa=st.sampled_from(ISAS),
    nthreads=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**31),
)
def test_kernel_matches_numpy(dtype, layout, rows, cols, special, isa, nthreads, seed):
    rng = np.random.default_rng(seed)
    y = _values(rng, (rows, cols), dtype, special)
    np.maximum(y, 0, out=y, where=~np.isnan(y))  # a relu's output (NaN kept)
    if special and y.size:
        y.flat[rng.integers(0, y.size)] = -0.0  # cannot come from max(z, 0)...
    g = _layout(_values(rng, (rows, cols), dtype, special), layout)
    gz, db = _act.relu_bias_backward(y, g, nthreads=nthreads, isa=isa)
    want_gz, want_db = _reference(y, g)
    _same_bits(gz, want_gz)
    _same_bits(db, want_db)
    assert gz.flags.c_contiguous
    gz2, none = _act.relu_bias_backward(y, g, bias=False, nthreads=nthreads, isa=isa)
    assert none is None
    _same_bits(gz2, want_gz)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("y_layout", ["transposed", "padded_rows", "misaligned"])
def test_kernel_any_layout_of_y(dtype, y_layout):
    rng = np.random.default_rng(3)
    y = np.maximum(rng.standard_normal((9, 21)), 0).astype(dtype)
    g = rng.standard_normal((9, 21)).astype(dtype)
    if y_layout == "transposed":
        yl = np.asfortranarray(y)
    elif y_layout == "padded_rows":  # row stride > cols (a slice of a wider y)
        wide = np.zeros((9, 30), dtype)
        wide[:, :21] = y
        yl = wide[:, :21]
    else:
        yl = _shifted(y)
    gz, db = _act.relu_bias_backward(yl, g, nthreads=1)
    want_gz, want_db = _reference(y, g)
    _same_bits(gz, want_gz)
    _same_bits(db, want_db)
    if y_layout == "misaligned":  # and g so (caught by tools/sanitize.sh)
        gz, db = _act.relu_bias_backward(y, _shifted(g))
        _same_bits(gz, want_gz)
        _same_bits(db, want_db)


def _shifted(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` one byte into a buffer: not aligned for its dtype."""
    buf = np.zeros(a.nbytes + 1, np.uint8)
    out = np.frombuffer(buf.data, a.dtype, a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_same_bits_for_any_thread_count_and_isa(dtype):
    # Large enough to run on two threads (columns split; MG_ACT_PAR_MIN).
    rng = np.random.default_rng(5)
    y = np.maximum(rng.standard_normal((400, 700)), 0).astype(dtype)
    g = (rng.standard_normal((400, 700)) * 1e3).astype(dtype)
    ref = _act.relu_bias_backward(y, g, nthreads=1, isa="generic")
    want_gz, want_db = _reference(y, g)
    _same_bits(ref[0], want_gz)
    _same_bits(ref[1], want_db)
    for isa in ISAS:
        for nt in (1, 2, 3):
            gz, db = _act.relu_bias_backward(y, g, nthreads=nt, isa=isa)
            assert gz.tobytes() == ref[0].tobytes()
            assert db.tobytes() == ref[1].tobytes()


def test_kernel_byte_swapped_operands():
    y = np.maximum(np.arange(-3.0, 9.0).reshape(3, 4), 0).astype(">f4")
    g = np.linspace(-1, 1, 12).reshape(3, 4).astype(">f4")
    gz, db = _act.relu_bias_backward(y, g)
    want_gz, want_db = _reference(y.astype(np.float32), g.astype(np.float32))
    _same_bits(gz, want_gz)
    _same_bits(db, want_db)


def test_kernel_errors():
    f32 = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match="relu_bias_backward: y is float32 but g is"):
        _act.relu_bias_backward(f32, f32.astype(np.float64))
    with pytest.raises(ShapeError, match=r"got y \(2, 3\) and g \(3, 2\)"):
        _act.relu_bias_backward(f32, f32.T.copy())
    with pytest.raises(ShapeError, match="must be 2-D"):
        _act.relu_bias_backward(f32[0], f32[0])
    with pytest.raises(TypeError, match="must be float32 or float64"):
        _act.relu_bias_backward(f32.astype(np.int64), f32.astype(np.int64))
    with pytest.raises(TypeError, match="must be a numpy array"):
        _act.relu_bias_backward([[1.0]], f32)
    with pytest.raises(ArgumentError, match="unknown instruction set"):
        _act.relu_bias_backward(f32, f32, isa="sse9")
    with pytest.raises(ArgumentError, match="nthreads"):
        _act.relu_bias_backward(f32, f32, nthreads=0)
    with pytest.raises(TypeError):
        _act.relu_bias_backward(f32, f32, bogus=1)


# -- the Linear op ----------------------------------------------------------------


def _inputs(rng, lead, k, m, dtype, bias):
    x = mg.tensor(rng.standard_normal((*lead, k)).astype(dtype), requires_grad=True)
    w = mg.tensor(rng.standard_normal((m, k)).astype(dtype), requires_grad=True)
    b = mg.tensor(rng.standard_normal(m).astype(dtype), requires_grad=True)
    return [x, w, b] if bias else [x, w]


def _loss(y: mg.Tensor, how: str, c: mg.Tensor) -> mg.Tensor:
    """A scalar of y whose gradient reaches y in a given layout (``c`` has
    y's shape)."""
    if how == "sum":  # a broadcast scalar (zero strides)
        return y.sum()
    if how == "mean_rows":  # mean over dim -2: broadcast along the rows
        return y.mean(-2).sum()
    if how == "transposed":  # through a transpose: an F-ordered gradient
        ct = mg.tensor(np.ascontiguousarray(np.swapaxes(c.data, -1, -2)))
        return (y.transpose(-1, -2) * ct).sum()
    return (y * c).sum()  # contiguous


HOWS = ["mul", "sum", "mean_rows", "transposed"]


def _grads(fn, ins, how, c, create_graph=False):
    for t in ins:
        t.grad = None
    y = fn(*ins)
    gs = mg.autograd.grad(_loss(y, how, c), ins, create_graph=create_graph)
    return y, gs


def _fused(*ins):
    return linalg.linear(*ins, activation="relu")


def _composite(*ins):
    return linalg._linear_composite(*ins, activation="relu")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", HOWS)
@examples(12, deadline=None)
@given(
    n=st.sampled_from([0, 1, 2, 5, 64]),
    k=st.sampled_from([1, 3, 17]),
    m=st.sampled_from([1, 2, 16, 33]),
    bias=st.booleans(),
    batch=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_linear_relu_grads_match_composite(dtype, how, n, k, m, bias, batch, seed):
    rng = np.random.default_rng(seed)
    lead = (2, n) if batch else (n,)
    ins = _inputs(rng, lead, k, m, dtype, bias)
    c = mg.tensor(rng.standard_normal((*lead, m)).astype(dtype))
    y1, fast = _grads(_fused, ins, how, c)
    y2, ref = _grads(_composite, ins, how, c)
    _, rec = _grads(_fused, ins, how, c, create_graph=True)
    np.testing.assert_allclose(y1.data, y2.data, **TOL[dtype])
    for a, r, rr in zip(fast, ref, rec):
        assert a.dtype == r.dtype == rr.dtype == dtype
        assert a.shape == r.shape
        np.testing.assert_allclose(a.data, r.data, **TOL[dtype])
        np.testing.assert_allclose(a.data, rr.data, **TOL[dtype])
    if bias and not batch and m > 1:
        # Both paths sum the bias gradient down the rows in order: same bits
        # (numpy sums a single column pairwise).
        _same_bits(fast[2].data, rec[2].data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_relu_gradient_selected_not_multiplied(dtype):
    """inf / NaN in g where the unit is off give 0 (not inf·0 = NaN), NaN in y
    passes g, on both paths, as PyTorch's threshold_backward."""
    x = mg.tensor(np.array([[1.0], [-1.0], [np.nan]], dtype), requires_grad=True)
    w = mg.tensor(np.array([[1.0], [-1.0]], dtype), requires_grad=True)
    b = mg.tensor(np.zeros(2, dtype), requires_grad=True)
    g = np.array([[np.inf, np.nan], [np.nan, -np.inf], [3.0, 4.0]], dtype)
    for create_graph in (False, True):
        y = linalg.linear(x, w, b, "relu")
        # y = [[1, 0], [0, 1], [nan, nan]]: gz = [[inf, 0], [0, -inf], [3, 4]]
        _same_bits(y.data, np.array([[1, 0], [0, 1], [np.nan, np.nan]], dtype))
        (gb,) = mg.autograd.grad(y, [b], mg.tensor(g), create_graph=create_graph)
        _same_bits(gb.data, np.array([np.inf, -np.inf], dtype))


def _away_from_kink(rng, n, k, m, bias):
    """float64 inputs whose pre-activations are all at least 0.2 from 0 (finite
    differences must not step across the kink)."""
    for _ in range(200):
        ins = _inputs(rng, (n,), k, m, np.float64, bias)
        z = ins[0].data @ ins[1].data.T + (ins[2].data if bias else 0)
        if z.size == 0 or np.abs(z).min() >= 0.2:
            return ins
    raise AssertionError("no draw away from the kink")


@examples(15, deadline=None)
@given(
    n=st.sampled_from([0, 1, 3]),
    k=st.sampled_from([1, 2, 3]),
    m=st.sampled_from([1, 2, 4]),
    bias=st.booleans(),
    how=st.sampled_from(HOWS),
    seed=st.integers(0, 2**31),
)
def test_linear_relu_gradcheck_and_gradgradcheck(n, k, m, bias, how, seed):
    rng = np.random.default_rng(seed)
    ins = _away_from_kink(rng, n, k, m, bias)
    c = mg.tensor(rng.standard_normal((n, m)))
    if n == 0 and how == "mean_rows":  # the mean of no rows is NaN
        how = "mul"
    assert mg.autograd.gradcheck(lambda *t: _loss(_fused(*t), how, c), ins)
    assert mg.autograd.gradgradcheck(lambda *t: _fused(*t) * c, ins)


def test_linear_relu_output_modified_in_place_is_an_error():
    rng = np.random.default_rng(0)
    x, w, b = _inputs(rng, (4,), 3, 2, np.float32, True)
    y = linalg.linear(x, w, b, "relu")
    with mg.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"LinearBackward.*modified by an in-place"):
        y.sum().backward()


def test_sequential_relu_output_modified_in_place_is_an_error():
    # Sequential fuses Linear + ReLU (Note [Sequential fusion]); an in-place
    # change of the ReLU's output is then refused, as PyTorch's ReLU refuses it.
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    h = model(mg.ones(4, 3))
    with mg.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        h.sum().backward()


# -- PyTorch ----------------------------------------------------------------------


def _torch_grads(torch, ins, g):
    ts = [torch.from_numpy(t.data.copy()).requires_grad_(True) for t in ins]
    y = torch.nn.functional.relu(torch.nn.functional.linear(*ts))
    y.backward(torch.from_numpy(g.copy()))
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("special", [False, True])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_relu_matches_torch(torch, dtype, special, bias):
    rng = np.random.default_rng(7)
    ins = _inputs(rng, (64,), 20, 33, dtype, bias)
    g = _values(rng, (64, 33), dtype, special)
    want_y, want = _torch_grads(torch, ins, g)
    y = linalg.linear(*ins, activation="relu")
    got = mg.autograd.grad(y, ins, mg.tensor(g))
    np.testing.assert_allclose(y.data, want_y, **TOL[dtype])
    for a, r in zip(got, want):
        assert a.data.dtype == r.dtype == dtype
        np.testing.assert_allclose(a.data, r, **TOL[dtype])


def test_in_place_error_is_the_same_kind_as_torch(torch):
    x = torch.ones(4, 3, requires_grad=True)
    w = torch.ones(2, 3, requires_grad=True)
    y = torch.nn.functional.relu(torch.nn.functional.linear(x, w))
    with torch.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError):
        y.sum().backward()
