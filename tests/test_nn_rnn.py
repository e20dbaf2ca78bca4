"""Recurrent layers: RNN / LSTM / GRU and their cells gradchecked in float64 on
hypothesis-drawn sizes, the cells gradgradchecked; a PyTorch state_dict loads
and gives PyTorch's outputs and gradients (input, initial state, every
parameter) over every layout; errors, init, dropout; and the char-LSTM
example learns. (nn.utils.rnn and packed input: test_nn_rnn_utils.py.)"""

from __future__ import annotations

import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.dtypes import DTypeError
from tests.helpers import examples

ROOT = Path(__file__).resolve().parents[1]
MODES = ["RNN", "RNN_RELU", "LSTM", "GRU"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _make(lib, mode, *args, **kw):
    """nn.RNN / LSTM / GRU of ``lib`` (minigrad.nn or torch.nn)."""
    if mode == "RNN_RELU":
        return lib.RNN(*args, nonlinearity="relu", **kw)
    return getattr(lib, mode)(*args, **kw)


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) as a flat tuple."""
    o, h = out
    return (o, *h) if isinstance(h, tuple) else (o, h)


def _states(rng, mode, shape_h, shape_c):
    h0 = mg.tensor(rng.standard_normal(shape_h), requires_grad=True)
    if mode != "LSTM":
        return h0, (h0,)
    c0 = mg.tensor(rng.standard_normal(shape_c), requires_grad=True)
    return (h0, c0), (h0, c0)


# --- gradcheck / gradgradcheck ------------------------------------------------


@st.composite
def rnn_configs(draw):
    mode = draw(st.sampled_from(MODES))
    return dict(
        mode=mode,
        seq=draw(st.integers(1, 3)),
        batch=draw(st.integers(0, 2)),
        inp=draw(st.integers(1, 3)),
        hidden=draw(st.integers(1, 3)),
        layers=draw(st.integers(1, 2)),
        bidir=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        unbatched=draw(st.booleans()),
        with_h0=draw(st.booleans()),
        proj=draw(st.booleans()) if mode == "LSTM" else False,
    )


@given(cfg=rnn_configs(), seed=st.integers(0, 2**16))
@examples(10)
def test_rnn_grad_matches_numerical(cfg, seed):
    rng = np.random.default_rng(seed)
    mode, hidden = cfg["mode"], cfg["hidden"] + (1 if cfg["proj"] else 0)
    proj = {"proj_size": 1} if cfg["proj"] else {}
    m = _make(
        mg.nn,
        mode,
        cfg["inp"],
        hidden,
        cfg["layers"],
        bias=cfg["bias"],
        batch_first=cfg["batch_first"],
        bidirectional=cfg["bidir"],
        dtype=mg.float64,
        **proj,
    )
    d = 2 if cfg["bidir"] else 1
    lead = (
        (cfg["seq"],)
        if cfg["unbatched"]
        else (
            (cfg["batch"], cfg["seq"])
            if cfg["batch_first"]
            else (cfg["seq"], cfg["batch"])
        )
    )
    x = mg.tensor(rng.standard_normal((*lead, cfg["inp"])), requires_grad=True)
    nb = () if cfg["unbatched"] else (cfg["batch"],)
    h_size = 1 if cfg["proj"] else hidden
    hx, leaves = _states(
        rng, mode, (d * cfg["layers"], *nb, h_size), (d * cfg["layers"], *nb, hidden)
    )
    if not cfg["with_h0"]:
        hx, leaves = None, ()
    params = tuple(m.parameters())
    mg.autograd.gradcheck(lambda *a: _flat(m(x, hx)), (x, *leaves, *params))


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@given(
    batch=st.integers(0, 2),
    inp=st.integers(1, 3),
    hidden=st.integers(1, 3),
    bias=st.booleans(),
    unbatched=st.booleans(),
    seed=st.integers(0, 2**16),
)
@examples(10)
def test_cell_grad_matches_numerical(cell, batch, inp, hidden, bias, unbatched, seed):
    rng = np.random.default_rng(seed)
    m = getattr(mg.nn, cell)(inp, hidden, bias=bias, dtype=mg.float64)
    nb = () if unbatched else (batch,)
    x = mg.tensor(rng.standard_normal((*nb, inp)), requires_grad=True)
    h = mg.tensor(rng.standard_normal((*nb, hidden)), requires_grad=True)
    c = mg.tensor(rng.standard_normal((*nb, hidden)), requires_grad=True)
    params = tuple(m.parameters())
    if cell == "LSTMCell":
        mg.autograd.gradcheck(lambda *a: m(x, (h, c)), (x, h, c, *params))
    else:
        mg.autograd.gradcheck(lambda *a: m(x, h), (x, h, *params))


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradgrad_matches_numerical(cell):
    rng = np.random.default_rng(0)
    m = getattr(mg.nn, cell)(2, 3, dtype=mg.float64)
    x = mg.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    h = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w_ih, w_hh = m.weight_ih, m.weight_hh
    if cell == "LSTMCell":
        mg.autograd.gradgradcheck(lambda *a: m(x, (h, c)), (x, h, c, w_ih, w_hh))
    else:
        mg.autograd.gradgradcheck(lambda *a: m(x, h), (x, h, w_ih, w_hh))


def test_lstm_gradgrad_over_two_steps():
    rng = np.random.default_rng(1)
    m = mg.nn.LSTM(2, 2, dtype=mg.float64)
    x = mg.tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    mg.autograd.gradgradcheck(lambda a, w: m(a)[0], (x, m.weight_hh_l0))


# --- against PyTorch ----------------------------------------------------------


def _compare(
    torch,
    mode,
    layers,
    bidir,
    batch_first,
    unbatched,
    with_h0=True,
    bias=True,
    proj=0,
    dtype="float64",
    train_dropout=None,
):
    """Builds the torch layer, loads its state_dict (numpy arrays) into
    minigrad's, and compares outputs and the gradients of a random weighted sum
    of them wrt input, initial states and every parameter."""
    torch.manual_seed(0)
    tdt = getattr(torch, dtype)
    inp, hidden, seq, batch = 3, 4, 5, 2
    kw = dict(bias=bias, batch_first=batch_first, bidirectional=bidir)
    if proj:
        kw["proj_size"] = proj
    if train_dropout is not None:
        kw["dropout"] = train_dropout
    tm = _make(torch.nn, mode, inp, hidden, layers, dtype=tdt, **kw)
    m = _make(mg.nn, mode, inp, hidden, layers, dtype=np.dtype(dtype), **kw)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(m.state_dict()) == list(sd)
    m.load_state_dict(sd)
    if train_dropout is None:
        tm.eval()
        m.eval()
    rng = np.random.default_rng(1)
    d = 2 if bidir else 1
    lead = (seq,) if unbatched else ((batch, seq) if batch_first else (seq, batch))
    nb = () if unbatched else (batch,)
    x = rng.standard_normal((*lead, inp)).astype(dtype)
    hs = [rng.standard_normal((d * layers, *nb, proj or hidden)).astype(dtype)]
    if mode == "LSTM":
        hs.append(rng.standard_normal((d * layers, *nb, hidden)).astype(dtype))
    mx = mg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    mh = [mg.tensor(h, requires_grad=True) for h in hs]
    th = [torch.tensor(h, requires_grad=True) for h in hs]

    def hx(states):
        if not with_h0:
            return None
        return tuple(states) if mode == "LSTM" else states[0]

    mouts = _flat(m(mx, hx(mh)))
    touts = _flat(tm(tx, hx(th)))
    tol = (
        {"rtol": 1e-10, "atol": 1e-12}
        if dtype == "float64"
        else {"rtol": 1e-4, "atol": 1e-5}
    )
    ws = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in touts]
    for mo, to in zip(mouts, touts, strict=True):
        assert mo.shape == tuple(to.shape)
        assert mo.dtype == np.dtype(dtype)
        np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **tol)
    sum(mg.sum(o * mg.tensor(w)) for o, w in zip(mouts, ws)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(touts, ws)).backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), **tol)
    if with_h0:
        for a, b in zip(mh, th, strict=True):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tparams[name].grad.numpy(), err_msg=name, **tol
        )


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidir", [False, True])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("mode", MODES)
def test_rnn_matches_torch(torch, mode, layers, bidir, batch_first, unbatched):
    _compare(torch, mode, layers, bidir, batch_first, unbatched)


@pytest.mark.parametrize("mode", MODES)
def test_rnn_without_bias_or_h0_matches_torch(torch, mode):
    _compare(torch, mode, 2, True, False, False, with_h0=False, bias=False)


@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("bidir", [False, True])
def test_lstm_proj_size_matches_torch(torch, bidir, unbatched):
    _compare(torch, "LSTM", 2, bidir, True, unbatched, proj=2)


@pytest.mark.parametrize("mode", MODES)
def test_rnn_float32_matches_torch(torch, mode):
    _compare(torch, mode, 2, True, True, False, dtype="float32")


@pytest.mark.parametrize("mode", MODES)
def test_rnn_dropout_one_in_training_matches_torch(torch, mode):
    # p = 1 zeroes the second layer's input: deterministic, so comparable.
    _compare(torch, mode, 2, False, False, False, train_dropout=1.0)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("with_h", [False, True])
def test_cell_matches_torch(torch, cell, unbatched, with_h):
    torch.manual_seed(0)
    kw = {"nonlinearity": "relu"} if cell == "RNNCell" else {}
    tm = getattr(torch.nn, cell)(3, 4, dtype=torch.float64, **kw)
    m = getattr(mg.nn, cell)(3, 4, dtype=mg.float64, **kw)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(m.state_dict()) == list(sd)
    m.load_state_dict(sd)
    rng = np.random.default_rng(2)
    nb = () if unbatched else (2,)
    arrays = [rng.standard_normal((*nb, 3))] + [
        rng.standard_normal((*nb, 4)) for _ in range(2 if cell == "LSTMCell" else 1)
    ]
    ms = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]

    def run(mod, xs):
        if not with_h:
            return mod(xs[0])
        return mod(xs[0], tuple(xs[1:]) if cell == "LSTMCell" else xs[1])

    mo, to = run(m, ms), run(tm, ts)
    mo = mo if isinstance(mo, tuple) else (mo,)
    to = to if isinstance(to, tuple) else (to,)
    ws = [rng.standard_normal(tuple(t.shape)) for t in to]
    for a, b in zip(mo, to, strict=True):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10)
    sum(mg.sum(o * mg.tensor(w)) for o, w in zip(mo, ws)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(to, ws)).backward()
    for a, b in zip(ms if with_h else ms[:1], ts, strict=False):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-10, err_msg=name
        )


@pytest.mark.parametrize(
    ("mode", "kw"),
    [
        ("LSTM", dict(proj_size=2, num_layers=2, bidirectional=True)),
        ("RNN_RELU", dict(num_layers=2, batch_first=True, dropout=0.5)),
        ("GRU", dict(bias=False)),
    ],
)
def test_rnn_names_shapes_and_repr_match_torch(torch, mode, kw):
    tm = _make(torch.nn, mode, 3, 4, **kw)
    m = _make(mg.nn, mode, 3, 4, **kw)
    assert repr(m) == repr(tm)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in tm.named_parameters()
    ]
    assert [[tuple(p.shape) for p in g] for g in m.all_weights] == [
        [tuple(p.shape) for p in g] for g in tm.all_weights
    ]


def test_cell_repr_matches_torch(torch):
    for a, b in [
        (
            mg.nn.RNNCell(3, 4, nonlinearity="relu"),
            torch.nn.RNNCell(3, 4, nonlinearity="relu"),
        ),
        (mg.nn.GRUCell(3, 4, bias=False), torch.nn.GRUCell(3, 4, bias=False)),
        (mg.nn.LSTMCell(3, 4), torch.nn.LSTMCell(3, 4)),
    ]:
        assert repr(a) == repr(b)


# --- init, dropout, errors ------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_rnn_init_is_uniform_in_one_over_sqrt_hidden(mode):
    mg.manual_seed(0)
    m = _make(mg.nn, mode, 30, 25, 2, bidirectional=True)
    bound = 1 / np.sqrt(25)
    values = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert values.dtype == np.float32
    assert values.min() >= -bound
    assert values.max() <= bound
    # spread over the whole interval, not a smaller one
    assert values.min() < -0.98 * bound
    assert values.max() > 0.98 * bound
    assert abs(values.mean()) < 0.01
    assert abs(values.std() - bound / np.sqrt(3)) < 0.01


def test_rnn_dropout_only_in_training():
    mg.manual_seed(0)
    m = mg.nn.GRU(3, 8, 2, dropout=0.5)
    x = mg.randn(4, 2, 3)
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a.numpy(), b.numpy())  # two different masks
    m.eval()
    c, _ = m(x)
    m.dropout = 0.0
    m.train()
    d, _ = m(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_rnn_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        mg.nn.LSTM(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.nn.LSTM(3, 4, 2, dropout=0.2)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(nonlinearity="sigmoid"), "Unknown nonlinearity"),
        (dict(dropout=1.5), "dropout"),
        (dict(num_layers=0), "num_layers"),
        (dict(hidden_size=0), "hidden_size"),
    ],
)
def test_rnn_bad_arguments_raise(kw, match):
    args = dict(input_size=3, hidden_size=4)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        mg.nn.RNN(**args)


def test_rnn_unknown_keyword_raises():
    with pytest.raises(TypeError):
        mg.nn.GRU(3, 4, nonlinearity="relu")
    with pytest.raises(TypeError):
        mg.nn.LSTM(3, 4, batchfirst=True)


@pytest.mark.parametrize(
    ("ps", "match"), [(-1, "positive"), (4, "smaller"), (5, "smaller")]
)
def test_lstm_bad_proj_size_raises(ps, match):
    with pytest.raises(ValueError, match=match):
        mg.nn.LSTM(3, 4, proj_size=ps)


def test_gru_proj_size_is_not_accepted():
    with pytest.raises(TypeError):
        mg.nn.GRU(3, 4, proj_size=2)


@pytest.mark.parametrize(
    ("call", "err", "match"),
    [
        (lambda: mg.nn.RNN(3, 4)(mg.zeros(0, 2, 3)), ValueError, "sequence length"),
        (lambda: mg.nn.RNN(3, 4)(mg.zeros(0, 3)), ValueError, "sequence length"),
        (
            lambda: mg.nn.RNN(3, 4)(mg.zeros(2, 3, 5)),
            ValueError,
            "input_size. Expected 3, got 5",
        ),
        (lambda: mg.nn.RNN(3, 4)(mg.zeros(2, 2, 3, 5)), ValueError, "2D or 3D, got 4D"),
        (
            lambda: mg.nn.RNN(3, 4)(mg.zeros(2, 2, 3), mg.zeros(1, 3, 4)),
            ValueError,
            r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]",
        ),
        (
            lambda: mg.nn.RNN(3, 4)(mg.zeros(2, 3), mg.zeros(1, 1, 4)),
            ValueError,
            "unbatched 2-D input, hx should also be 2-D",
        ),
        (
            lambda: mg.nn.LSTM(3, 4)(mg.zeros(2, 2, 3), mg.zeros(1, 2, 4)),
            TypeError,
            "tuple",
        ),
        (
            lambda: mg.nn.LSTM(3, 4)(
                mg.zeros(2, 2, 3), (mg.zeros(1, 2, 4), mg.zeros(1, 2, 5))
            ),
            ValueError,
            r"hidden\[1\] size \(1, 2, 4\)",
        ),
        (
            lambda: mg.nn.RNN(3, 4)(mg.zeros(2, 2, 3, dtype=mg.float64)),
            DTypeError,
            "float64",
        ),
        (
            lambda: mg.nn.LSTMCell(3, 4)(mg.zeros(2, 2, 3)),
            ValueError,
            "1D or 2D, got 3D",
        ),
        (
            lambda: mg.nn.LSTMCell(3, 4)(
                mg.zeros(2, 3), (mg.zeros(3, 4), mg.zeros(3, 4))
            ),
            ValueError,
            "batch size 2 doesn't match",
        ),
        (
            lambda: mg.nn.RNNCell(3, 4)(mg.zeros(2, 5)),
            ValueError,
            "inconsistent input_size: got 5 expected 3",
        ),
        (
            lambda: mg.nn.GRUCell(3, 4)(mg.zeros(2, 3), mg.zeros(2, 5)),
            ValueError,
            "inconsistent hidden_size",
        ),
    ],
)
def test_rnn_bad_input_raises(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_rnn_empty_batch_gives_empty_outputs():
    out, (h, c) = mg.nn.LSTM(3, 4, bidirectional=True)(mg.zeros(2, 0, 3))
    assert out.shape == (2, 0, 8)
    assert h.shape == (2, 0, 4)
    assert c.shape == (2, 0, 4)


def test_rnn_flatten_parameters_is_a_noop():
    m = mg.nn.LSTM(3, 4)
    m.flatten_parameters()
    assert m(mg.zeros(2, 1, 3))[0].shape == (2, 1, 4)


# --- the example ------------------------------------------------------------------


def test_char_lstm_example_loss_falls(monkeypatch, capsys):
    script = ROOT / "examples" / "char_lstm.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--steps", "40"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    losses = [
        float(line.split("loss")[1].split()[0])
        for line in out.splitlines()
        if line.startswith("step")
    ]
    assert len(losses) >= 3, out
    assert losses[-1] < 0.7 * losses[0], out
    assert out.count("sample:") == 4, out


# --- unbind (one node for all slices, which the layers read time steps with) ------


def test_unbind_outputs_are_views_sharing_the_version():
    a = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = a * 1.0
    y = b * b  # saves b
    first = b.unbind(0)[0]
    with mg.no_grad():
        first.mul_(0.0)
    np.testing.assert_array_equal(b.numpy()[0], [0.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_unbind_backward_is_one_node_and_handles_unused_slices():
    a = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    parts = a.unbind(1)
    assert len({id(p.grad_fn) for p in parts}) == 1
    (parts[2] * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 0, 2], [0, 0, 2]])
    assert mg.zeros(0, 2).unbind(0) == ()
