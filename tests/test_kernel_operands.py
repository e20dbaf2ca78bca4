"""What reaches the activation and softmax-family C kernels: every entry point
of minigrad._C._act and minigrad._C._softmax gives the same bits for an
operand in the other byte order ('>f4' on x86) or at a misaligned address
(a view at a byte offset) as for a plain one, and refuses an `out` it cannot
write as is.

A byte-swapped operand has float32's type number, and the fused loss entry
points once passed its bytes to C as native floats (cross-entropy of 1.69
came out as 8e37). A misaligned operand (np.ascontiguousarray keeps it as it
is) gave the right values on x86 but is undefined behaviour in C: those
cases fail under the sanitizer build (UBSan's alignment check).
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad._C import _act
from minigrad._C import _softmax as S

DTYPES = [np.float32, np.float64]


def swapped(a):
    """a in the other byte order, same values."""
    a = np.asarray(a)
    return a.astype(a.dtype.newbyteorder("S"))


def misaligned(a):
    """A C-contiguous copy of a at an odd byte address."""
    a = np.asarray(a)
    buf = np.zeros(a.nbytes + 1, np.uint8)
    m = np.frombuffer(buf, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    m[...] = a
    assert not m.flags.aligned
    assert m.flags.c_contiguous
    return m


def misaligned_strided(a):
    """A 1-D view with stride 2 elements at an odd byte address."""
    a = np.asarray(a).reshape(-1)
    buf = np.zeros(2 * a.nbytes + 1, np.uint8)
    m = np.frombuffer(buf, dtype=a.dtype, count=2 * a.size, offset=1)[::2]
    m[...] = a
    assert not m.flags.aligned
    return m


def _operands(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((37, 11)) * 3).astype(dtype)
    return {
        "x": x,
        "g": rng.standard_normal((37, 11)).astype(dtype),
        "p": rng.uniform(0.02, 0.98, (37, 11)).astype(dtype),  # probabilities
        "t": rng.uniform(0, 1, (37, 11)).astype(dtype),  # BCE targets
        "w": rng.uniform(0.5, 2, (37, 11)).astype(dtype),
        "cls": rng.integers(0, 11, 37),  # class targets, int64
        "cw": rng.uniform(0.5, 2, 11).astype(dtype),  # class weights
        "lse": S.xent_fwd(x, rng.integers(0, 11, 37))[1],
        "sc": rng.uniform(0.5, 2, 37).astype(dtype),
    }


def _outputs(result):
    if isinstance(result, tuple):
        return [r for r in result if r is not None]
    return [result]


# Every entry point, as a function of its array operands (a dict as made by
# _operands, with some converted).
ENTRY_POINTS = {
    "act.forward": lambda o: _act.forward("gelu", o["x"]),
    "act.backward": lambda o: _act.backward("silu", o["x"], o["g"]),
    "act.backward(sigmoid)": lambda o: _act.backward("sigmoid", o["p"], o["g"]),
    "softmax_fwd": lambda o: S.softmax_fwd(o["x"], 1),
    "log_softmax_fwd(dim 0)": lambda o: S.softmax_fwd(o["x"], 0, log=True),
    "softmax_bwd": lambda o: S.softmax_bwd(o["p"], o["g"], 1),
    "log_softmax_bwd": lambda o: S.softmax_bwd(-o["p"], o["g"], 1, log=True),
    "xent_fwd": lambda o: S.xent_fwd(o["x"], o["cls"], o["cw"], label_smoothing=0.1),
    "xent_bwd": lambda o: S.xent_bwd(o["x"], o["lse"], o["cls"], o["sc"], o["cw"]),
    "xent_fused": lambda o: S.xent_fused(o["x"], o["cls"], o["cw"], grad=True),
    "bce_fwd": lambda o: S.bce_fwd(o["p"], o["t"], o["w"]),
    "bce_bwd": lambda o: S.bce_bwd(o["p"], o["t"], o["g"], o["w"], target_grad=True),
    "bce_fused": lambda o: S.bce_fused(
        o["p"], o["t"], o["w"], input_grad=True, target_grad=True
    ),
    "bce_logits_fwd": lambda o: S.bce_logits_fwd(o["x"], o["t"], o["w"], o["w"]),
    "bce_logits_bwd": lambda o: S.bce_logits_bwd(
        o["x"], o["t"], o["g"], o["w"], o["w"], target_grad=True
    ),
    "bce_logits_fused": lambda o: S.bce_logits_fused(
        o["x"], o["t"], o["w"], o["w"], input_grad=True, target_grad=True
    ),
}


@pytest.mark.parametrize("convert", [swapped, misaligned], ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_entry_points_read_any_byte_order_and_alignment(entry, dtype, convert):
    ops = _operands(dtype)
    fn = ENTRY_POINTS[entry]
    want = _outputs(fn(ops))
    for name in ops:  # one operand converted at a time, then all of them
        got = _outputs(fn({**ops, name: convert(ops[name])}))
        for g, w in zip(got, want, strict=True):
            assert g.dtype == w.dtype, (entry, name, g.dtype)
            assert g.dtype.isnative, (entry, name, g.dtype)
            np.testing.assert_array_equal(g, w, err_msg=f"{entry}: {name}")
    got = _outputs(fn({k: convert(v) for k, v in ops.items()}))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w, err_msg=f"{entry}: all")


@pytest.mark.parametrize("dtype", DTYPES)
def test_act_strided_misaligned_operands(dtype):
    x = (np.random.default_rng(1).standard_normal(100) * 3).astype(dtype)
    g = np.random.default_rng(2).standard_normal(100).astype(dtype)
    for op in _act.OPS:
        want = _act.forward(op, x, p0=0.5, p1=5.0)
        got = _act.forward(op, misaligned_strided(x), p0=0.5, p1=5.0)
        np.testing.assert_array_equal(got, want, err_msg=op)
        want = _act.backward(op, x, g, p0=0.5, p1=5.0)
        got = _act.backward(op, misaligned_strided(x), swapped(g), p0=0.5, p1=5.0)
        np.testing.assert_array_equal(got, want, err_msg=op)


def test_cross_entropy_of_big_endian_logits():
    """The reported case: F.cross_entropy on big-endian logits, reached
    through tensor creation and through a tensor's data set directly."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    want = F.cross_entropy(mg.tensor(x), mg.tensor(t)).item()
    assert 1.0 < want < 5.0
    be = x.astype(">f4")
    assert F.cross_entropy(mg.tensor(be), mg.tensor(t)).item() == want
    assert F.cross_entropy(mg.Tensor(be), mg.tensor(t)).item() == want
    direct = mg.tensor(x)
    direct.data = be  # the caller's (big-endian) buffer, as is
    target = mg.tensor(t)
    target.data = t.astype(">i8")
    assert F.cross_entropy(direct, target).item() == want
    ref = mg.tensor(x)
    for f in (F.softmax, F.log_softmax):
        np.testing.assert_array_equal(f(direct, dim=1).numpy(), f(ref, dim=1).numpy())
    np.testing.assert_array_equal(mg.sigmoid(direct).numpy(), mg.sigmoid(ref).numpy())


def test_tensor_creation_makes_native_byte_order():
    for dt, want in (("<f8", np.float64), (">f8", np.float64), (">f4", np.float32)):
        a = (np.arange(4) / 3).astype(dt)
        t = mg.tensor(a)
        assert t.dtype == want, dt
        assert t.data.dtype.isnative
        np.testing.assert_array_equal(t.numpy(), a.astype(want))
    assert mg.tensor(np.arange(3, dtype=">i8")).data.dtype.isnative


# -- out= ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_act_out_is_validated(dtype):
    x = np.ones(16, dtype)
    ok = _act.forward("relu", x)
    with pytest.raises(ValueError, match="aligned"):
        _act.forward("relu", x, out=misaligned(ok))
    with pytest.raises(ValueError, match="aligned"):
        _act.backward("relu", x, x, out=misaligned_strided(ok))
    with pytest.raises(TypeError, match=r"out has dtype [<>]f"):
        _act.forward("relu", x, out=swapped(ok))
    with pytest.raises(ValueError, match=r"out has shape \(15,\)"):
        _act.forward("relu", x, out=ok[:15])
    big = np.zeros(32, dtype)
    with pytest.raises(ValueError, match="overlaps an input"):
        _act.forward("relu", big[:16], out=big[1:17])
    with pytest.raises(ValueError, match="overlaps an input"):
        _act.backward("relu", x, big[:16], out=big[8:24])
    # A writeable zero-stride out: every element and thread one location.
    zero = np.lib.stride_tricks.as_strided(np.zeros(1, dtype), (16,), (0,))
    with pytest.raises(ValueError, match="nonzero stride"):
        _act.forward("relu", x, out=zero)
    # In place, also through a strided view, is fine.
    y = np.arange(32, dtype=dtype) - 16
    _act.forward("relu", y[::2], out=y[::2])
    np.testing.assert_array_equal(y[::2], np.maximum(np.arange(0, 32, 2) - 16, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_out_is_validated(dtype):
    x = np.ones((4, 5), dtype)
    ok = S.softmax_fwd(x, 1)
    with pytest.raises(ValueError, match="aligned"):
        S.softmax_fwd(x, 1, out=misaligned(ok))
    with pytest.raises(TypeError, match="out has dtype"):
        S.softmax_fwd(x, 1, out=swapped(ok))
    with pytest.raises(ValueError, match=r"out has shape"):
        S.softmax_fwd(x, 1, out=ok[:3])
    big = np.zeros(40, dtype)
    with pytest.raises(ValueError, match="overlaps an input"):
        S.softmax_fwd(big[:20].reshape(4, 5), 1, out=big[1:21].reshape(4, 5))
    with pytest.raises(ValueError, match="overlaps an input"):
        S.softmax_bwd(ok, big[:20].reshape(4, 5), 1, out=big[5:25].reshape(4, 5))
    lse = np.zeros(4, dtype)
    with pytest.raises(ValueError, match="aligned"):
        S.xent_bwd(x, lse, np.zeros(4, np.int64), np.ones((), dtype), out=misaligned(x))
    with pytest.raises(TypeError, match="out has dtype"):
        S.xent_bwd(x, lse, np.zeros(4, np.int64), np.ones((), dtype), out=swapped(x))
