"""nn.utils.rnn: pad_sequence, PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence against PyTorch and gradchecked, and the
RNN layers on packed batches (outputs and gradients wrt input, initial states
and every parameter, as PyTorch's)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.nn.utils.rnn import pad_sequence
from tests.helpers import examples

MODES = ["RNN", "RNN_RELU", "LSTM", "GRU"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _make(lib, mode, *args, **kw):
    """nn.RNN / LSTM / GRU of ``lib`` (minigrad.nn or torch.nn)."""
    if mode == "RNN_RELU":
        return lib.RNN(*args, nonlinearity="relu", **kw)
    return getattr(lib, mode)(*args, **kw)


# --- pad_sequence -----------------------------------------------------------------


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch(torch, side, batch_first):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((n, 2, 3)) for n in (3, 1, 0, 4)]
    ms = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    mo = mg.nn.utils.rnn.pad_sequence(ms, batch_first, -2.5, side)
    to = torch.nn.utils.rnn.pad_sequence(ts, batch_first, -2.5, side)
    np.testing.assert_array_equal(mo.numpy(), to.detach().numpy())
    w = rng.standard_normal(tuple(to.shape))
    mg.sum(mo * mg.tensor(w)).backward()
    (to * torch.tensor(w)).sum().backward()
    for a, b in zip(ms, ts, strict=True):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_pad_sequence_int_and_defaults(torch):
    seqs = [[1, 2, 3], [4]]
    mo = pad_sequence([mg.tensor(s) for s in seqs])
    to = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs])
    assert mo.dtype == np.int64
    np.testing.assert_array_equal(mo.numpy(), to.numpy())


@given(
    lengths=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    batch_first=st.booleans(),
    side=st.sampled_from(["left", "right"]),
)
@examples(10)
def test_pad_sequence_grad_matches_numerical(lengths, batch_first, side):
    rng = np.random.default_rng(0)
    xs = tuple(
        mg.tensor(rng.standard_normal((n, 2)), requires_grad=True) for n in lengths
    )
    mg.autograd.gradcheck(lambda *a: pad_sequence(list(a), batch_first, 1.0, side), xs)


def test_pad_sequence_errors():
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([mg.zeros(2)], padding_side="middle")
    with pytest.raises(ValueError, match="all dims but the first"):
        pad_sequence([mg.zeros(2, 3), mg.zeros(2, 4)])
    with pytest.raises(ValueError, match="empty"):
        pad_sequence([])


# --- packed sequences -------------------------------------------------------------


@pytest.mark.parametrize("enforce_sorted", [False, True])
@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_rnn_on_packed_input_matches_torch(torch, mode, bidir, enforce_sorted):
    torch.manual_seed(0)
    kw = dict(bidirectional=bidir, dtype=torch.float64)
    tm = _make(torch.nn, mode, 3, 4, 2, **kw)
    kw["dtype"] = mg.float64
    m = _make(mg.nn, mode, 3, 4, 2, **kw)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(4)
    lens = [5, 4, 2, 1] if enforce_sorted else [3, 5, 1, 5]
    d = 2 if bidir else 1
    arrays = [rng.standard_normal((5, 4, 3)), rng.standard_normal((2 * d, 4, 4))]
    if mode == "LSTM":
        arrays.append(rng.standard_normal((2 * d, 4, 4)))
    ms = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    tu = torch.nn.utils.rnn
    mp = mg.nn.utils.rnn.pack_padded_sequence(ms[0], lens, False, enforce_sorted)
    tp = tu.pack_padded_sequence(ts[0], lens, False, enforce_sorted)
    mo, mh = m(mp, tuple(ms[1:]) if mode == "LSTM" else ms[1])
    to, th = tm(tp, tuple(ts[1:]) if mode == "LSTM" else ts[1])
    assert isinstance(mo, mg.nn.utils.rnn.PackedSequence)
    np.testing.assert_array_equal(mo.batch_sizes.numpy(), to.batch_sizes.numpy())
    mouts = [mo.data, *(mh if mode == "LSTM" else (mh,))]
    touts = [to.data, *(th if mode == "LSTM" else (th,))]
    ws = [rng.standard_normal(tuple(t.shape)) for t in touts]
    for a, b in zip(mouts, touts, strict=True):
        np.testing.assert_allclose(
            a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12
        )
    sum(mg.sum(o * mg.tensor(w)) for o, w in zip(mouts, ws)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(touts, ws)).backward()
    for a, b in zip(ms, ts, strict=True):
        np.testing.assert_allclose(
            a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12
        )
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-10, atol=1e-12
        )
    padded, lengths = mg.nn.utils.rnn.pad_packed_sequence(mo, True, -1.0, 6)
    tpadded, tlengths = tu.pad_packed_sequence(to, True, -1.0, 6)
    np.testing.assert_allclose(padded.numpy(), tpadded.detach().numpy(), rtol=1e-10)
    np.testing.assert_array_equal(lengths.numpy(), tlengths.numpy())


@given(
    lengths=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    batch_first=st.booleans(),
    enforce_sorted=st.booleans(),
)
@examples(10)
def test_pack_and_pad_packed_grad_matches_numerical(
    lengths, batch_first, enforce_sorted
):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    rng = np.random.default_rng(0)
    shape = (len(lengths), 3, 2) if batch_first else (3, len(lengths), 2)
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    ru = mg.nn.utils.rnn

    def fn(a):
        p = ru.pack_padded_sequence(a, lengths, batch_first, enforce_sorted)
        return p.data, ru.pad_packed_sequence(p, batch_first, 0.5)[0]

    mg.autograd.gradcheck(fn, (x,))


def test_packed_rnn_grad_matches_numerical():
    rng = np.random.default_rng(5)
    m = mg.nn.LSTM(2, 2, bidirectional=True, dtype=mg.float64)
    x = mg.tensor(rng.standard_normal((3, 3, 2)), requires_grad=True)
    h = mg.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    c = mg.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)
    ru = mg.nn.utils.rnn

    def fn(*a):
        out, (hn, cn) = m(ru.pack_padded_sequence(x, [2, 3, 1], False, False), (h, c))
        return out.data, hn, cn

    mg.autograd.gradcheck(fn, (x, h, c, *m.parameters()))


def test_pack_sequence_matches_torch(torch):
    seqs = [np.arange(3.0), np.arange(2.0) + 5, np.arange(4.0) + 9]
    mp = mg.nn.utils.rnn.pack_sequence([mg.tensor(s) for s in seqs], False)
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], False)
    np.testing.assert_array_equal(mp.data.numpy(), tp.data.numpy())
    np.testing.assert_array_equal(mp.batch_sizes.numpy(), tp.batch_sizes.numpy())
    np.testing.assert_array_equal(mp.sorted_indices.numpy(), tp.sorted_indices.numpy())
    np.testing.assert_array_equal(
        mp.unsorted_indices.numpy(), tp.unsorted_indices.numpy()
    )


def test_pack_errors():
    ru = mg.nn.utils.rnn
    with pytest.raises(ValueError, match="sorted in decreasing order"):
        ru.pack_padded_sequence(mg.zeros(3, 2, 1), [2, 3])
    with pytest.raises(ValueError, match="greater than 0"):
        ru.pack_padded_sequence(mg.zeros(3, 2, 1), [2, 0], enforce_sorted=False)
    with pytest.raises(ValueError, match="batch_size"):
        ru.pack_padded_sequence(mg.zeros(3, 2, 1), [2, 1, 1])
    p = ru.pack_padded_sequence(mg.zeros(3, 2, 1), [3, 1])
    with pytest.raises(ValueError, match="total_length"):
        ru.pad_packed_sequence(p, total_length=2)
