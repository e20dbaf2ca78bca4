"""Attention: F.scaled_dot_product_attention, nn.MultiheadAttention,
nn.TransformerEncoderLayer / TransformerEncoder, F.bilinear / nn.Bilinear.

Gradchecks in float64 on hypothesis-drawn shapes run without torch; the torch
comparisons (values, gradients, dtypes, errors; modules loaded from PyTorch's
state_dicts as numpy arrays) take the ``torch`` fixture and skip without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradcheck_module, gradgradcheck
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _leaf(a, dtype=np.float64):
    return mg.tensor(np.asarray(a), dtype=dtype, requires_grad=True)


# -- strategies ----------------------------------------------------------------

_MASKS = ("none", "bool", "float", "causal")


@st.composite
def _sdpa_case(draw, max_batch_dims=2):
    """Shapes of query, key, value (batch dims that broadcast, sizes 0 and 1
    included), a mask kind and a seed."""
    nb = draw(st.integers(0, max_batch_dims))
    batch = tuple(draw(st.integers(0, 2)) for _ in range(nb))
    # key/value may have 1 where the query has a batch dim (broadcast), or
    # fewer leading dims.
    kb = tuple(draw(st.sampled_from((b, 1))) for b in batch)
    kb = kb[draw(st.integers(0, len(kb))) :]
    L, S = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    E, Ev = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    mask = draw(st.sampled_from(_MASKS))
    # The mask broadcasts too: (L, S), (1, S) or the full score shape.
    mshape = draw(st.sampled_from(((L, S), (1, S), (*batch, L, S))))
    scale = draw(st.sampled_from((None, 0.7)))
    seed = draw(st.integers(0, 2**16))
    return batch, kb, L, S, E, Ev, mask, mshape, scale, seed


def _sdpa_inputs(case, dtype=np.float64):
    batch, kb, L, S, E, Ev, mask, mshape, _scale, seed = case
    r = np.random.default_rng(seed)
    q = r.standard_normal((*batch, L, E)).astype(dtype)
    k = r.standard_normal((*kb, S, E)).astype(dtype)
    v = r.standard_normal((*kb, S, Ev)).astype(dtype)
    m = None
    if mask == "bool":
        m = r.random(mshape) < 0.6
    elif mask == "float":
        m = r.standard_normal(mshape).astype(dtype)
    return q, k, v, m


def _sdpa_kwargs(case, m, lib):
    mask, scale = case[6], case[8]
    kw = {"scale": scale, "is_causal": mask == "causal"}
    if m is not None:
        kw["attn_mask"] = lib(m)
    return kw


# -- scaled_dot_product_attention: gradients -----------------------------------


@examples(40)
@given(case=_sdpa_case())
def test_sdpa_gradcheck(case):
    q, k, v, m = _sdpa_inputs(case)
    kw = _sdpa_kwargs(case, m, mg.tensor)
    ins = [_leaf(q), _leaf(k), _leaf(v)]
    if case[6] == "float":
        # A float mask is added to the scores: differentiable too.
        kw["attn_mask"] = _leaf(m)
        ins.append(kw.pop("attn_mask"))

        def fn(q, k, v, m):
            return F.scaled_dot_product_attention(q, k, v, m, **kw)
    else:

        def fn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v, **kw)

    assert gradcheck(fn, tuple(ins))


@examples(10)
@given(case=_sdpa_case(max_batch_dims=1))
def test_sdpa_gradgradcheck(case):
    q, k, v, m = _sdpa_inputs(case)
    kw = _sdpa_kwargs(case, m, mg.tensor)

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **kw)

    assert gradgradcheck(fn, (_leaf(q), _leaf(k), _leaf(v)))


@examples(15)
@given(
    heads=st.sampled_from(((4, 2), (4, 1), (2, 2), (3, 3))),
    n=st.integers(0, 2),
    seed=st.integers(0, 2**16),
)
def test_sdpa_gqa_gradcheck(heads, n, seed):
    hq, hk = heads
    r = np.random.default_rng(seed)
    q = _leaf(r.standard_normal((n, hq, 3, 2)))
    k = _leaf(r.standard_normal((n, hk, 2, 2)))
    v = _leaf(r.standard_normal((n, hk, 2, 3)))

    def fn(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    assert gradcheck(fn, (q, k, v))


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradient():
    r = np.random.default_rng(0)
    q, k, v = (_leaf(r.standard_normal(s)) for s in ((3, 2), (4, 2), (4, 5)))
    keep = np.ones((3, 4), bool)
    keep[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(keep))
    np.testing.assert_array_equal(out.numpy()[1], 0.0)
    assert np.isfinite(out.numpy()).all()
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.numpy()[1], 0.0)
    assert np.isfinite(k.grad.numpy()).all()
    assert np.isfinite(v.grad.numpy()).all()
    assert gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mg.tensor(keep)),
        (q, k, v),
    )


# -- dropout on the attention weights ------------------------------------------


def test_sdpa_dropout_zero_is_exact_and_positive_keeps_the_mean():
    r = np.random.default_rng(1)
    q = mg.tensor(r.standard_normal((64, 64, 8)))
    k = mg.tensor(r.standard_normal((64, 64, 8)))
    ones = mg.ones(64, 64, 1, dtype=mg.float64)
    plain = F.scaled_dot_product_attention(q, k, ones)
    # Each output row is the sum of its softmax weights: exactly 1 without
    # dropout (and dropout_p=0 draws nothing).
    np.testing.assert_allclose(plain.numpy(), 1.0, rtol=1e-12)
    same = F.scaled_dot_product_attention(q, k, ones, dropout_p=0.0)
    np.testing.assert_array_equal(same.numpy(), plain.numpy())
    mg.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, ones, dropout_p=0.5).numpy()
    # Inverted dropout: E[row] stays 1 while single rows move.
    assert abs(dropped.mean() - 1.0) < 0.02
    assert dropped.std() > 0.1
    gone = F.scaled_dot_product_attention(q, k, ones, dropout_p=1.0).numpy()
    np.testing.assert_array_equal(gone, 0.0)


def test_mha_dropout_only_in_training():
    mg.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5, dtype=mg.float64)
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 3, 8)))
    m.eval()
    a, _wa = m(x, x, x)
    b, _wb = m(x, x, x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.train()
    c, wc = m(x, x, x, average_attn_weights=False)
    assert not np.allclose(c.numpy(), a.numpy())
    # Kept weights are scaled by 2, dropped ones are 0; rows sum to 1 on average.
    w = wc.numpy()
    assert set(np.unique(w == 0)) == {False, True}
    assert abs(w.sum(-1).mean() - 1.0) < 0.2


# -- bilinear ------------------------------------------------------------------


@examples(30)
@given(
    lead=st.lists(st.integers(0, 3), max_size=2).map(tuple),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(0, 3)),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bilinear_gradcheck(lead, sizes, bias, seed):
    i, j, o = sizes
    r = np.random.default_rng(seed)
    ins = [
        _leaf(r.standard_normal((*lead, i))),
        _leaf(r.standard_normal((*lead, j))),
        _leaf(r.standard_normal((o, i, j))),
    ]
    if bias:
        ins.append(_leaf(r.standard_normal(o)))
    out = F.bilinear(*ins)
    assert out.shape == (*lead, o)
    assert gradcheck(F.bilinear, tuple(ins))
    assert gradgradcheck(F.bilinear, tuple(ins))


def test_bilinear_module_init_and_gradcheck():
    mg.manual_seed(0)
    m = nn.Bilinear(16, 3, 200)
    assert m.weight.shape == (200, 16, 3)
    assert m.bias.shape == (200,)
    assert m.weight.dtype == np.float32
    bound = 1 / math.sqrt(16)
    for p in (m.weight, m.bias):
        a = p.numpy()
        assert a.min() >= -bound
        assert a.max() <= bound
        assert a.max() > 0.9 * bound
        assert a.min() < -0.9 * bound
    assert nn.Bilinear(2, 3, 4, bias=False).bias is None
    assert "in1_features=16" in repr(m)
    small = nn.Bilinear(2, 3, 2, dtype=mg.float64)
    r = np.random.default_rng(3)
    x1, x2 = mg.tensor(r.standard_normal((4, 2))), mg.tensor(r.standard_normal((4, 3)))
    assert gradcheck_module(small, x1, x2)


def test_bilinear_errors():
    w = mg.zeros(4, 2, 3)
    with pytest.raises(ShapeError, match="bilinear"):
        F.bilinear(mg.zeros(5, 2), mg.zeros(4, 3), w)
    with pytest.raises(ShapeError, match="in2=3"):
        F.bilinear(mg.zeros(5, 2), mg.zeros(5, 4), w)
    with pytest.raises(ShapeError, match="bias"):
        F.bilinear(mg.zeros(5, 2), mg.zeros(5, 3), w, mg.zeros(3))
    with pytest.raises(DTypeError, match="bilinear"):
        F.bilinear(mg.zeros(5, 2, dtype=mg.float64), mg.zeros(5, 3), w)
    with pytest.raises(DTypeError, match="input1"):
        F.bilinear(mg.zeros(5, 2, dtype=mg.int64), mg.zeros(5, 3), w)


def test_identity_exists_and_ignores_arguments():
    x = mg.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x


# -- MultiheadAttention and the encoder: gradients -----------------------------


@examples(12)
@given(
    cfg=st.sampled_from(
        (
            {},
            {"batch_first": True},
            {"kdim": 3, "vdim": 2},
            {"add_bias_kv": True},
            {"add_zero_attn": True},
            {"bias": False},
        )
    ),
    n=st.integers(1, 2),
    masks=st.sampled_from(("none", "kpm", "attn", "both")),
    need_weights=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_mha_gradcheck(cfg, n, masks, need_weights, seed):
    mg.manual_seed(seed)
    m = nn.MultiheadAttention(4, 2, dtype=mg.float64, **cfg)
    r = np.random.default_rng(seed)
    L, S = 3, 2
    bf = cfg.get("batch_first", False)

    def shape(s, e):
        return (n, s, e) if bf else (s, n, e)

    q = mg.tensor(r.standard_normal(shape(L, 4)))
    k = mg.tensor(r.standard_normal(shape(S, cfg.get("kdim", 4))))
    v = mg.tensor(r.standard_normal(shape(S, cfg.get("vdim", 4))))
    kpm = attn = None
    if masks in ("kpm", "both"):
        kpm = mg.tensor(np.array([[False, True]] * n))
    if masks in ("attn", "both"):
        attn = mg.tensor(r.standard_normal((L, S)))

    class Wrapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = m

        def forward(self, q, k, v):
            return self.mha(
                q, k, v, key_padding_mask=kpm, attn_mask=attn,
                need_weights=need_weights,
            )  # fmt: skip

    assert gradcheck_module(Wrapped(), q, k, v)


def test_mha_gradgradcheck_and_unbatched():
    mg.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dtype=mg.float64)
    r = np.random.default_rng(0)
    x, y = _leaf(r.standard_normal((3, 4))), _leaf(r.standard_normal((2, 4)))
    out, w = m(x, y, y)
    assert out.shape == (3, 4)
    assert w.shape == (3, 2)
    batched, wb = m(x.unsqueeze(1), y.unsqueeze(1), y.unsqueeze(1))
    np.testing.assert_allclose(out.numpy(), batched.numpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(w.numpy(), wb.numpy()[0], rtol=1e-12)
    assert gradgradcheck(lambda a, b: m(a, b, b)[0], (x, y))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_gradcheck(norm_first, activation):
    mg.manual_seed(1)
    layer = nn.TransformerEncoderLayer(
        4, 2, dim_feedforward=6, dropout=0.0, activation=activation,
        norm_first=norm_first, dtype=mg.float64,
    )  # fmt: skip
    x = mg.tensor(np.random.default_rng(1).standard_normal((3, 2, 4)))
    kpm = mg.tensor(np.array([[False, False, True], [False, False, False]]))
    assert gradcheck_module(layer, x, None, kpm)


# -- errors --------------------------------------------------------------------


def test_sdpa_errors():
    q, k, v = mg.zeros(2, 3, 4), mg.zeros(2, 5, 4), mg.zeros(2, 5, 6)
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(ArgumentError, match="is_causal"):
        sdpa(q, k, v, attn_mask=mg.ones(3, 5, dtype=mg.bool), is_causal=True)
    with pytest.raises(DTypeError, match="same dtype"):
        sdpa(q, k.double(), v)
    with pytest.raises(DTypeError, match="query"):
        sdpa(q.long(), k.long(), v.long())
    with pytest.raises(DTypeError, match="attn_mask"):
        sdpa(q, k, v, attn_mask=mg.zeros(3, 5, dtype=mg.int64))
    with pytest.raises(DTypeError, match="attn_mask"):
        sdpa(q, k, v, attn_mask=mg.zeros(3, 5, dtype=mg.float64))
    with pytest.raises(ShapeError, match="attn_mask"):
        sdpa(q, k, v, attn_mask=mg.zeros(2, 5))
    with pytest.raises(ShapeError, match="last dim"):
        sdpa(q, mg.zeros(2, 5, 3), v)
    with pytest.raises(ShapeError, match="sequence"):
        sdpa(q, k, mg.zeros(2, 4, 6))
    with pytest.raises(ShapeError, match="2-D"):
        sdpa(mg.zeros(4), k, v)
    with pytest.raises(ShapeError, match="batch"):
        sdpa(mg.zeros(3, 3, 4), k, v)
    with pytest.raises(ArgumentError, match="dropout"):
        sdpa(q, k, v, dropout_p=1.5)
    with pytest.raises(ShapeError, match="multiple"):
        sdpa(mg.zeros(1, 3, 2, 4), mg.zeros(1, 2, 5, 4), mg.zeros(1, 2, 5, 6),
             enable_gqa=True)  # fmt: skip
    with pytest.raises(TypeError):
        sdpa(q, k, v, None, 0.0, False, 0.5)  # scale is keyword-only
    with pytest.raises(TypeError, match="query"):
        sdpa(np.zeros((3, 4)), k, v)


def test_mha_errors():
    with pytest.raises(ArgumentError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(ArgumentError, match="dropout"):
        nn.MultiheadAttention(8, 2, dropout=2.0)
    m = nn.MultiheadAttention(8, 2)
    x = mg.zeros(4, 2, 8)
    with pytest.raises(ArgumentError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ShapeError, match="attn_mask"):
        m(x, x, x, attn_mask=mg.zeros(3, 4))
    with pytest.raises(ShapeError, match="attn_mask"):
        m(x, x, x, attn_mask=mg.zeros(5, 4, 4))
    with pytest.raises(ShapeError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=mg.zeros(4, 2, dtype=mg.bool))
    with pytest.raises(DTypeError, match="attn_mask"):
        m(x, x, x, attn_mask=mg.zeros(4, 4, dtype=mg.int64))
    with pytest.raises(ShapeError, match="end with 8"):
        m(x, x, mg.zeros(4, 2, 4))
    with pytest.raises(ShapeError, match="all be 2-D"):
        m(mg.zeros(4, 8), x, x)
    with pytest.raises(ShapeError, match="batch"):
        m(x, mg.zeros(4, 3, 8), mg.zeros(4, 3, 8))
    with pytest.raises(DTypeError, match="dtype"):
        m(x.double(), x.double(), x.double())
    with pytest.raises(ArgumentError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


# -- against PyTorch -----------------------------------------------------------


def _load_from_torch(mine, theirs):
    """Our module takes the torch module's state_dict as numpy arrays."""
    sd = {k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()}
    result = mine.load_state_dict({k: mg.tensor(a) for k, a in sd.items()})
    assert not result.missing_keys
    assert not result.unexpected_keys
    assert sorted(dict(mine.named_parameters())) == sorted(
        dict(theirs.named_parameters())
    )


def _assert_grads(pairs, atol):
    for name, a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=atol, err_msg=name)


@examples(40)
@given(case=_sdpa_case(), dtype=st.sampled_from((np.float64, np.float32)))
def test_sdpa_matches_torch(torch, case, dtype):
    q, k, v, m = _sdpa_inputs(case, dtype)
    mq, mk, mv = (_leaf(a, dtype) for a in (q, k, v))
    tq, tk, tv = (torch.from_numpy(a.copy()).requires_grad_() for a in (q, k, v))
    out = F.scaled_dot_product_attention(mq, mk, mv, **_sdpa_kwargs(case, m, mg.tensor))
    ref = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, **_sdpa_kwargs(case, m, torch.from_numpy)
    )
    assert out.dtype == np.dtype(dtype)
    assert out.shape == tuple(ref.shape)
    atol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=atol)
    g = np.random.default_rng(7).standard_normal(out.shape).astype(dtype)
    (out * mg.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    _assert_grads(
        [
            (n, a.grad.numpy(), b.grad.numpy())
            for n, a, b in (("q", mq, tq), ("k", mk, tk), ("v", mv, tv))
        ],
        atol,
    )


def test_sdpa_gqa_and_float32_mask_match_torch(torch):
    r = np.random.default_rng(4)
    q, k, v = (r.standard_normal(s) for s in ((2, 6, 3, 4), (2, 2, 5, 4), (2, 3, 5, 2)))
    mask = r.standard_normal((3, 5)).astype(np.float32)
    out = F.scaled_dot_product_attention(
        mg.tensor(q), mg.tensor(k), mg.tensor(v), mg.tensor(mask), enable_gqa=True
    )
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.from_numpy(a) for a in (q, k, v, mask)), enable_gqa=True
    )
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)


_MHA_CONFIGS = (
    {},
    {"batch_first": True},
    {"kdim": 3, "vdim": 5},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"bias": False},
    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 5,
     "batch_first": True},
)  # fmt: skip
_MHA_CALLS = (
    {},
    {"need_weights": False},
    {"average_attn_weights": False},
    {"kpm": "bool"},
    {"kpm": "float"},
    {"attn": "bool"},
    {"attn": "float"},
    {"attn": "bool3", "kpm": "bool"},
    {"attn": "causal", "is_causal": True, "need_weights": False},
)


def _mha_masks(call, L, S, N, H, r):
    kpm = attn = None
    if call.get("kpm") == "bool":
        kpm = r.random((N, S)) < 0.3
        kpm[:, 0] = False  # no fully masked query (PyTorch's weights are NaN)
    elif call.get("kpm") == "float":
        kpm = r.standard_normal((N, S))
    a = call.get("attn")
    if a == "bool":
        attn = r.random((L, S)) < 0.3
        attn[:, 1] = False
    elif a == "float":
        attn = r.standard_normal((L, S))
    elif a == "bool3":
        attn = r.random((N * H, L, S)) < 0.3
        attn[..., 0] = False
    elif a == "causal":
        attn = ~np.tri(L, S, dtype=bool)
    return kpm, attn


@pytest.mark.parametrize("cfg", _MHA_CONFIGS)
@pytest.mark.parametrize("call", _MHA_CALLS)
def test_mha_matches_torch(torch, cfg, call):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, dtype=torch.float64, **cfg)
    mine = nn.MultiheadAttention(8, 2, dtype=mg.float64, **cfg)
    _load_from_torch(mine, theirs)
    r = np.random.default_rng(5)
    L, S, N = 4, 5 if call.get("attn") != "causal" else 4, 3
    bf = cfg.get("batch_first", False)

    def shape(s, e):
        return (N, s, e) if bf else (s, N, e)

    arrays = (
        r.standard_normal(shape(L, 8)),
        r.standard_normal(shape(S, cfg.get("kdim", 8))),
        r.standard_normal(shape(S, cfg.get("vdim", 8))),
    )
    kpm, attn = _mha_masks(call, L, S, N, 2, r)
    kw = {
        k: call[k]
        for k in ("need_weights", "average_attn_weights", "is_causal")
        if k in call
    }
    mi = [_leaf(a) for a in arrays]
    ti = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]

    def masks(lib):
        return {
            "key_padding_mask": None if kpm is None else lib(kpm),
            "attn_mask": None if attn is None else lib(attn),
        }

    out, w = mine(*mi, **masks(mg.tensor), **kw)
    ref, rw = theirs(*ti, **masks(torch.from_numpy), **kw)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)
    if rw is None:
        assert w is None
    else:
        assert w.shape == tuple(rw.shape)
        assert w.dtype == np.float64
        np.testing.assert_allclose(w.numpy(), rw.detach().numpy(), atol=1e-12)
    g = r.standard_normal(out.shape)
    loss_m = (out * mg.tensor(g)).sum()
    loss_t = (ref * torch.from_numpy(g)).sum()
    if w is not None:
        gw = r.standard_normal(w.shape)
        loss_m = loss_m + (w * mg.tensor(gw)).sum()
        loss_t = loss_t + (rw * torch.from_numpy(gw)).sum()
    loss_m.backward()
    loss_t.backward()
    tp = dict(theirs.named_parameters())
    _assert_grads(
        [(f"input {i}", a.grad.numpy(), b.grad.numpy()) for i, (a, b) in
         enumerate(zip(mi, ti))]
        + [(n, p.grad.numpy(), tp[n].grad.numpy()) for n, p in
           mine.named_parameters()],
        1e-11,
    )  # fmt: skip


def test_mha_unbatched_matches_torch(torch):
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(6, 3, dtype=torch.float64)
    mine = nn.MultiheadAttention(6, 3, dtype=mg.float64)
    _load_from_torch(mine, theirs)
    r = np.random.default_rng(6)
    x, y = r.standard_normal((4, 6)), r.standard_normal((5, 6))
    # Both masks float (PyTorch deprecates mixing a bool and a float one).
    kpm = np.where([False, True, False, False, True], -np.inf, 0.0)
    attn = r.standard_normal((3, 4, 5))
    out, w = mine(
        mg.tensor(x), mg.tensor(y), mg.tensor(y),
        key_padding_mask=mg.tensor(kpm), attn_mask=mg.tensor(attn),
    )  # fmt: skip
    ref, rw = theirs(
        *(torch.from_numpy(a) for a in (x, y, y)),
        key_padding_mask=torch.from_numpy(kpm), attn_mask=torch.from_numpy(attn),
    )  # fmt: skip
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(w.numpy(), rw.detach().numpy(), atol=1e-12)


def test_mha_parameter_names_and_init(torch):
    for kw in ({}, {"kdim": 3, "vdim": 5, "add_bias_kv": True}, {"bias": False}):
        ours = nn.MultiheadAttention(8, 2, **kw)
        theirs = torch.nn.MultiheadAttention(8, 2, **kw)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        for n, p in ours.named_parameters():
            assert p.shape == tuple(dict(theirs.named_parameters())[n].shape), n
            assert p.dtype == np.float32
    m = nn.MultiheadAttention(64, 4)
    np.testing.assert_array_equal(m.in_proj_bias.numpy(), 0.0)
    np.testing.assert_array_equal(m.out_proj.bias.numpy(), 0.0)
    bound = math.sqrt(6 / (64 + 3 * 64))  # xavier_uniform_ on (3E, E)
    w = m.in_proj_weight.numpy()
    assert w.max() <= bound
    assert w.max() > 0.9 * bound


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(torch, norm_first, activation, batch_first):
    torch.manual_seed(2)
    kw = {
        "dim_feedforward": 16, "activation": activation, "norm_first": norm_first,
        "batch_first": batch_first,
    }  # fmt: skip
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dtype=torch.float64, **kw).eval()
    mine = nn.TransformerEncoderLayer(8, 2, dtype=mg.float64, **kw).eval()
    _load_from_torch(mine, theirs)
    names = [n for n, _ in mine.named_children()]
    assert names == [n for n, _ in theirs.named_children()]
    r = np.random.default_rng(8)
    x = r.standard_normal((3, 5, 8) if batch_first else (5, 3, 8))
    kpm = r.random((3, 5)) < 0.3
    kpm[:, 0] = False
    causal = ~np.tri(5, 5, dtype=bool)
    xm, xt = _leaf(x), torch.from_numpy(x.copy()).requires_grad_()
    out = mine(xm, mg.tensor(causal), mg.tensor(kpm))
    ref = theirs(xt, torch.from_numpy(causal), torch.from_numpy(kpm))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)
    g = r.standard_normal(out.shape)
    (out * mg.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    tp = dict(theirs.named_parameters())
    _assert_grads(
        [("input", xm.grad.numpy(), xt.grad.numpy())]
        + [(n, p.grad.numpy(), tp[n].grad.numpy()) for n, p in mine.named_parameters()],
        1e-11,
    )


def test_encoder_layer_callable_activation_and_encoder_match_torch(torch):
    torch.manual_seed(3)
    layer_t = torch.nn.TransformerEncoderLayer(
        8, 2, 12, activation=torch.nn.functional.silu, dtype=torch.float64
    )
    theirs = torch.nn.TransformerEncoder(
        layer_t, 2, norm=torch.nn.LayerNorm(8, dtype=torch.float64),
        enable_nested_tensor=False,
    ).eval()  # fmt: skip
    layer_m = nn.TransformerEncoderLayer(8, 2, 12, activation=F.silu, dtype=mg.float64)
    mine = nn.TransformerEncoder(
        layer_m, 2, norm=nn.LayerNorm(8, dtype=mg.float64)
    ).eval()
    _load_from_torch(mine, theirs)
    # The copies are independent: each layer has its own parameters.
    assert mine.layers[0].linear1.weight is not mine.layers[1].linear1.weight
    x = np.random.default_rng(9).standard_normal((4, 2, 8))
    out = mine(mg.tensor(x))
    ref = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(torch, bias):
    torch.manual_seed(4)
    theirs = torch.nn.Bilinear(3, 4, 5, bias=bias, dtype=torch.float64)
    mine = nn.Bilinear(3, 4, 5, bias=bias, dtype=mg.float64)
    _load_from_torch(mine, theirs)
    r = np.random.default_rng(10)
    a, b = r.standard_normal((2, 6, 3)), r.standard_normal((2, 6, 4))
    ma, mb = _leaf(a), _leaf(b)
    ta, tb = (torch.from_numpy(x.copy()).requires_grad_() for x in (a, b))
    out, ref = mine(ma, mb), theirs(ta, tb)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-12)
    g = r.standard_normal(out.shape)
    (out * mg.tensor(g)).sum().backward()
    (ref * torch.from_numpy(g)).sum().backward()
    tp = dict(theirs.named_parameters())
    _assert_grads(
        [("input1", ma.grad.numpy(), ta.grad.numpy()),
         ("input2", mb.grad.numpy(), tb.grad.numpy())]
        + [(n, p.grad.numpy(), tp[n].grad.numpy()) for n, p in
           mine.named_parameters()],
        1e-12,
    )  # fmt: skip
    # float32 in, float32 out, as in PyTorch; unbatched 1-D inputs too.
    m32 = nn.Bilinear(3, 4, 5)
    assert m32(mg.zeros(3), mg.zeros(4)).dtype == np.float32
    assert m32(mg.zeros(3), mg.zeros(4)).shape == (5,)
