"""nn layers: forward and gradients against torch, gradcheck in float64 with
respect to the input and every parameter, BatchNorm running statistics, Dropout
statistics and reproducibility, initialization of Linear and Embedding."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.autograd import gradcheck


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _copy_params(mine, theirs, torch):
    """Gives the torch module the same parameters and buffers as ours."""
    theirs.load_state_dict(
        {k: torch.from_numpy(v.numpy().copy()) for k, v in mine.state_dict().items()}
    )


def _compare_with_torch(mine, theirs, x, torch, rtol=1e-10, atol=1e-12):
    """Forward values, input gradient and parameter gradients for vᵀ·out with a
    random non-uniform v, in float64."""
    _copy_params(mine, theirs, torch)
    xm = mg.tensor(x, requires_grad=x.dtype.kind == "f")
    xt = torch.from_numpy(x.copy())
    if x.dtype.kind == "f":
        xt.requires_grad_(True)
    out_m, out_t = mine(xm), theirs(xt)
    np.testing.assert_allclose(
        out_m.numpy(), out_t.detach().numpy(), rtol=rtol, atol=atol
    )
    v = _rng(99).standard_normal(out_m.shape)
    (out_m * mg.tensor(v)).sum().backward()
    (out_t * torch.from_numpy(v)).sum().backward()
    if x.dtype.kind == "f":
        np.testing.assert_allclose(
            xm.grad.numpy(), xt.grad.numpy(), rtol=rtol, atol=atol
        )
    tp = dict(theirs.named_parameters())
    for name, p in mine.named_parameters():
        if p.requires_grad:
            np.testing.assert_allclose(
                p.grad.numpy(),
                tp[name].grad.numpy(),
                rtol=rtol,
                atol=atol,
                err_msg=name,
            )


def _gradcheck_module(module, x):
    """gradcheck of module(x) w.r.t. x (if floating) and every parameter."""
    params = [p for p in module.parameters() if p.requires_grad]
    inputs = [*params]
    if x.dtype.kind == "f":
        inputs.insert(0, mg.tensor(x, requires_grad=True))

        def fn(xx, *ps):
            return module(xx)
    else:
        xi = mg.tensor(x)

        def fn(*ps):
            return module(xi)

    assert gradcheck(fn, tuple(inputs))


# -- layers against torch and gradcheck, float64 ------------------------------------

LAYER_CASES = {
    "linear": (lambda m: m.Linear(4, 3), (5, 4)),
    "linear_nobias": (lambda m: m.Linear(4, 3, bias=False), (2, 3, 4)),
    "relu": (lambda m: m.ReLU(), (4, 5)),
    "leaky_relu": (lambda m: m.LeakyReLU(0.2), (4, 5)),
    "sigmoid": (lambda m: m.Sigmoid(), (4, 5)),
    "tanh": (lambda m: m.Tanh(), (4, 5)),
    "gelu": (lambda m: m.GELU(), (4, 5)),
    "gelu_tanh": (lambda m: m.GELU(approximate="tanh"), (4, 5)),
    "silu": (lambda m: m.SiLU(), (4, 5)),
    "softplus": (lambda m: m.Softplus(beta=2.0, threshold=3.0), (4, 5)),
    "softmax": (lambda m: m.Softmax(dim=1), (3, 4)),
    "softmax0": (lambda m: m.Softmax(dim=0), (3, 4)),
    "log_softmax": (lambda m: m.LogSoftmax(dim=-1), (3, 4)),
    "identity": (lambda m: m.Identity(), (3, 4)),
    "flatten": (lambda m: m.Flatten(), (2, 3, 2)),
    "flatten_all": (lambda m: m.Flatten(0, -1), (2, 3, 2)),
    "layernorm": (lambda m: m.LayerNorm(5), (3, 5)),
    "layernorm_2d": (lambda m: m.LayerNorm((2, 3)), (4, 2, 3)),
    "layernorm_noaffine": (lambda m: m.LayerNorm(4, elementwise_affine=False), (3, 4)),
    "batchnorm_train": (lambda m: m.BatchNorm1d(3), (6, 3)),
    "batchnorm_train_3d": (lambda m: m.BatchNorm1d(3), (4, 3, 5)),
    "batchnorm_noaffine": (lambda m: m.BatchNorm1d(3, affine=False), (5, 3)),
    "batchnorm_nostats": (
        lambda m: m.BatchNorm1d(3, track_running_stats=False),
        (5, 3),
    ),
    "dropout_eval": (lambda m: m.Dropout(0.5), (3, 4)),
    "embedding": (lambda m: m.Embedding(6, 3), (2, 4)),
    "embedding_pad": (lambda m: m.Embedding(6, 3, padding_idx=2), (3, 4)),
}


def _make_input(kind, shape, rng):
    if kind.startswith("embedding"):
        x = rng.integers(0, 6, shape)
        x.flat[0] = 2  # the padding index appears, and is repeated below
        x.flat[-1] = 2
        return x
    x = rng.uniform(-2, 2, shape)
    # keep away from the kinks of relu / leaky_relu
    return np.where(np.abs(x) < 0.05, 0.3, x)


def _build(kind):
    mg.manual_seed(0)
    factory, shape = LAYER_CASES[kind]
    mod = factory(nn).double()
    if kind == "dropout_eval":
        mod.eval()
    with mg.no_grad():  # non-trivial affine parameters
        for p in mod.parameters():
            p.add_(mg.randn(*p.shape, dtype=mg.float64) * 0.3)
    return mod, shape


@pytest.mark.parametrize("kind", sorted(LAYER_CASES))
def test_layer_matches_torch_values_and_grads(torch, kind):
    mod, shape = _build(kind)
    theirs = LAYER_CASES[kind][0](torch.nn).double()
    if kind == "dropout_eval":
        theirs.eval()
    x = _make_input(kind, shape, _rng(1))
    _compare_with_torch(mod, theirs, x, torch)


# NOTE: the padding row's gradient is zero by design, not the true derivative,
# so embedding_pad is checked against torch and in the Embedding tests instead.
@pytest.mark.parametrize("kind", sorted(set(LAYER_CASES) - {"embedding_pad"}))
def test_layer_gradcheck_input_and_parameters(kind):
    mod, shape = _build(kind)
    _gradcheck_module(mod, _make_input(kind, shape, _rng(2)))


@pytest.mark.parametrize("kind", ["linear", "layernorm", "batchnorm_train", "tanh"])
def test_layer_float32_output_dtype_and_zero_upstream_grad(kind):
    mg.manual_seed(0)
    mod = LAYER_CASES[kind][0](nn)
    x = mg.tensor(_make_input(kind, LAYER_CASES[kind][1], _rng(3)), dtype=mg.float32)
    x.requires_grad_()
    out = mod(x)
    assert out.dtype == np.float32
    (out * 0.0).sum().backward()
    assert not x.grad.numpy().any()
    for p in mod.parameters():
        assert p.grad.shape == p.shape
        assert not p.grad.numpy().any()


# -- Linear ------------------------------------------------------------------------


def test_linear_weight_layout_and_default_init_bounds():
    mg.manual_seed(0)
    lin = nn.Linear(400, 300)
    assert lin.weight.shape == (300, 400)
    assert lin.bias.shape == (300,)
    assert lin.weight.dtype == np.float32
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=√5): gain·√3/√fan_in = 1/√fan_in
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert np.abs(w).max() <= bound
    assert np.abs(b).max() <= bound
    # U(-bound, bound): std bound/√3, and the extremes are approached
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.01 * bound


def test_linear_init_is_reproducible_under_manual_seed():
    mg.manual_seed(7)
    a = nn.Linear(5, 4)
    mg.manual_seed(7)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    np.testing.assert_array_equal(a.bias.numpy(), b.bias.numpy())


def test_linear_batched_input_and_errors():
    lin = nn.Linear(3, 2)
    assert lin(mg.randn(4, 5, 3)).shape == (4, 5, 2)
    assert lin(mg.randn(3)).shape == (2,)
    with pytest.raises(
        ValueError, match=r"Linear: input of shape \(4, 2\).*in_features=3"
    ):
        lin(mg.randn(4, 2))
    with pytest.raises(TypeError, match="Linear: expected a Tensor"):
        lin(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="dtype"):
        nn.Linear(2, 2, dtype=mg.int64)


# -- BatchNorm1d -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "shape"),
    [
        ({}, (8, 3)),
        ({"momentum": 0.3}, (5, 3, 4)),
        ({"momentum": None}, (6, 3)),
        ({"affine": False, "eps": 1e-3}, (4, 3)),
    ],
)
def test_batchnorm_running_stats_match_torch_over_steps_then_eval(torch, kwargs, shape):
    mine = nn.BatchNorm1d(3, dtype=mg.float64, **kwargs)
    theirs = torch.nn.BatchNorm1d(3, dtype=torch.float64, **kwargs)
    if mine.affine:
        with mg.no_grad():
            mine.weight.copy_(mg.tensor([0.5, 2.0, -1.0], dtype=mg.float64))
            mine.bias.copy_(mg.tensor([0.1, 0.0, 3.0], dtype=mg.float64))
    _copy_params(mine, theirs, torch)
    rng = _rng(5)
    for step in range(6):
        x = rng.standard_normal(shape) * (step + 1) + step
        out_m = mine(mg.tensor(x))
        out_t = theirs(torch.from_numpy(x))
        np.testing.assert_allclose(
            out_m.numpy(), out_t.detach().numpy(), rtol=1e-10, atol=1e-12
        )
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(
                getattr(mine, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12
            )
        assert (
            mine.num_batches_tracked.item()
            == theirs.num_batches_tracked.item()
            == step + 1
        )
    mine.eval(), theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(
        mine(mg.tensor(x)).numpy(),
        theirs(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-10,
        atol=1e-12,
    )


def test_batchnorm_running_stats_hand_computed():
    bn = nn.BatchNorm1d(2, momentum=0.1, dtype=mg.float64)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    y = bn(mg.tensor(x)).numpy()
    mean, var_b, var_u = x.mean(0), x.var(0), x.var(0, ddof=1)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var_b + 1e-5))
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.9 + 0.1 * var_u)
    assert bn.num_batches_tracked.dtype == np.int64


def test_batchnorm_eval_uses_running_stats_and_does_not_update():
    bn = nn.BatchNorm1d(2, dtype=mg.float64)
    with mg.no_grad():
        bn.running_mean.copy_(mg.tensor([1.0, -1.0], dtype=mg.float64))
        bn.running_var.copy_(mg.tensor([4.0, 0.25], dtype=mg.float64))
    bn.eval()
    x = np.array([[3.0, 0.0]])  # a batch of one is fine in eval
    np.testing.assert_allclose(
        bn(mg.tensor(x)).numpy(),
        [[2 / math.sqrt(4 + 1e-5), 1 / math.sqrt(0.25 + 1e-5)]],
    )
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, -1.0])
    assert bn.num_batches_tracked.item() == 0


def test_batchnorm_without_running_stats_has_no_buffers():
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    assert bn.running_mean is None
    assert list(bn.state_dict()) == ["weight", "bias"]
    bn.eval()
    x = mg.randn(4, 3)
    y = bn(x).numpy()  # batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(mg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="num_features=3"):
        bn(mg.randn(4, 2))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(mg.randn(1, 3))


def test_batchnorm_state_dict_keys_and_reset():
    bn = nn.BatchNorm1d(2)
    assert list(bn.state_dict()) == [
        "weight",
        "bias",
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    bn(mg.randn(4, 2))
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_var.numpy(), [1.0, 1.0])
    assert bn.num_batches_tracked.item() == 0


# -- LayerNorm ---------------------------------------------------------------------


def test_layernorm_normalizes_each_sample():
    ln = nn.LayerNorm(6, dtype=mg.float64)
    x = _rng(4).standard_normal((3, 6)) * 5 + 2
    y = ln(mg.tensor(x)).numpy()
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-5)
    assert ln.weight.shape == (6,)
    assert list(ln.state_dict()) == ["weight", "bias"]


def test_layernorm_shape_errors():
    with pytest.raises(ValueError, match=r"does not end with normalized_shape \(4,\)"):
        nn.LayerNorm(4)(mg.randn(3, 5))


# -- Embedding ---------------------------------------------------------------------


def test_embedding_init_padding_and_gradient():
    mg.manual_seed(0)
    emb = nn.Embedding(5000, 4, padding_idx=-1)
    assert emb.padding_idx == 4999
    w = emb.weight.numpy()
    assert not w[4999].any()
    assert abs(w[:-1].mean()) < 0.03
    assert abs(w[:-1].std() - 1) < 0.03
    idx = mg.tensor([[1, 4999, 1], [2, 2, 4999]])
    out = emb(idx)
    assert out.shape == (2, 3, 4)
    out.sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_array_equal(g[1], [2.0] * 4)  # repeated index accumulates
    np.testing.assert_array_equal(g[2], [2.0] * 4)
    assert not g[4999].any()
    assert not g[0].any()


def test_embedding_errors_and_from_pretrained():
    emb = nn.Embedding(3, 2)
    with pytest.raises(IndexError, match="index 3 is out of range for 3 embeddings"):
        emb(mg.tensor([0, 3]))
    with pytest.raises(IndexError, match="index -1"):
        emb(mg.tensor([-1]))
    with pytest.raises(TypeError, match="int64 index"):
        emb(mg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    table = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    pre = nn.Embedding.from_pretrained(table)
    assert not pre.weight.requires_grad
    np.testing.assert_array_equal(pre(mg.tensor([1, 0])).numpy(), [[3, 4], [1, 2]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


# -- Dropout -----------------------------------------------------------------------


def test_dropout_statistics_and_scaling():
    mg.manual_seed(0)
    p, n = 0.3, 200_000
    x = mg.ones(n, requires_grad=True)
    drop = nn.Dropout(p)
    y = drop(x)
    vals = y.numpy()
    zero_frac = float((vals == 0).mean())
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(zero_frac - p) < 5 * sigma
    np.testing.assert_allclose(vals[vals != 0], 1 / (1 - p), rtol=1e-6)
    assert abs(vals.mean() - 1.0) < 5 * math.sqrt(p / (1 - p) / n)
    v = mg.tensor(_rng(0).standard_normal(n).astype(np.float32))
    (y * v).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), v.numpy() * vals, rtol=1e-6)


def test_dropout_eval_is_identity_and_p_edge_cases():
    x = mg.randn(4, 5)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="floating"):
        nn.Dropout(0.5)(mg.tensor([1, 2]))


def test_dropout_is_reproducible_with_manual_seed_and_generator():
    x = mg.ones(1000)
    mg.manual_seed(123)
    a = nn.Dropout(0.5)(x).numpy()
    mg.manual_seed(123)
    b = nn.Dropout(0.5)(x).numpy()
    c = nn.Dropout(0.5)(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    g1 = nn.Dropout(0.5, generator=np.random.default_rng(5))(x).numpy()
    g2 = nn.Dropout(0.5, generator=np.random.default_rng(5))(x).numpy()
    np.testing.assert_array_equal(g1, g2)


# -- activations ---------------------------------------------------------------------


def test_activation_inplace_relu_overwrites_input():
    x = mg.tensor([-1.0, 2.0])
    y = nn.ReLU(inplace=True)(x)
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])
    leaf = mg.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        nn.ReLU(inplace=True)(leaf)
    h = leaf * 2.0
    nn.LeakyReLU(0.5, inplace=True)(h)
    h.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [1.0, 2.0])


def test_activation_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
