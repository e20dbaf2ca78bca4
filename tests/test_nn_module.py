"""nn.Module: registration, traversal, state_dict round trips (also with torch),
modes, gradients, containers, repr and summary."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from minigrad.nn import StateDictError


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(mg.ones(4))
        self.register_buffer("steps", mg.zeros(1))
        self.register_buffer("cache", mg.zeros(2), persistent=False)
        self.plain = mg.zeros(3)  # a Tensor attribute that is not registered

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))

    def forward(self, x):
        return self.head(self.block(x))


# -- registration and traversal ------------------------------------------------------


def test_module_registers_parameters_buffers_and_children():
    b = Block()
    assert list(b._parameters) == ["scale"]
    assert list(b._buffers) == ["steps", "cache"]
    assert list(b._modules) == ["fc", "bn"]
    assert "plain" in b.__dict__
    assert b.scale is b._parameters["scale"]


def test_module_named_parameters_use_dotted_pytorch_names():
    names = [n for n, _ in Net().named_parameters()]
    assert names == [
        "block.scale",
        "block.fc.weight",
        "block.fc.bias",
        "block.bn.weight",
        "block.bn.bias",
        "head.1.weight",
        "head.1.bias",
    ]


def test_module_parameters_recurse_false_gives_own_only():
    b = Block()
    assert [p.shape for p in b.parameters(recurse=False)] == [(4,)]
    assert len(list(b.parameters())) == 5


def test_module_named_buffers_include_non_persistent():
    names = [n for n, _ in Block().named_buffers()]
    assert names == [
        "steps",
        "cache",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]


def test_module_children_and_modules_orders():
    net = Net()
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "block",
        "block.fc",
        "block.bn",
        "head",
        "head.0",
        "head.1",
    ]
    assert len(list(net.modules())) == 7


def test_module_shared_parameter_is_listed_once():
    a = nn.Linear(2, 2)
    seq = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    # state_dict keeps both paths, like PyTorch's
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_module_reassigning_attribute_changes_registry():
    b = Block()
    b.fc = nn.Identity()
    assert isinstance(b._modules["fc"], nn.Identity)
    b.scale = None
    assert b.scale is None
    assert "scale" not in dict(b.named_parameters())
    b.steps = mg.ones(1)
    assert b._buffers["steps"].item() == 1.0
    del b.fc
    assert "fc" not in b._modules
    with pytest.raises(AttributeError):
        _ = b.fc


def test_module_assignment_type_errors():
    b = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        b.scale = mg.ones(4)  # a plain Tensor where a Parameter is registered
    with pytest.raises(TypeError, match="child module 'fc'"):
        b.fc = 3
    with pytest.raises(TypeError, match="buffer 'steps'"):
        b.steps = np.zeros(1)
    with pytest.raises(TypeError, match=r"nn\.Parameter or None required"):
        b.register_parameter("w", mg.ones(2))
    with pytest.raises(KeyError, match="contain"):
        b.register_buffer("a.b", mg.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        b.register_buffer("plain", mg.ones(1))


def test_module_assignment_before_init_is_an_error():
    class Bad(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(mg.ones(2))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\)"):
        Bad()


def test_module_without_super_init_call_gets_a_hint():
    class Bad(nn.Module):
        def __init__(self) -> None:
            pass

        def forward(self, x):
            return x

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Bad()(mg.ones(1))


def test_module_missing_attribute_message():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
        _ = nn.Linear(2, 2).nope


def test_module_without_forward_raises():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(mg.ones(1))


def test_module_get_submodule():
    net = Net()
    assert net.get_submodule("head.1") is net.head[1]
    assert net.get_submodule("") is net
    with pytest.raises(AttributeError, match="no submodule 'x'"):
        net.get_submodule("block.x")


# -- parameter -----------------------------------------------------------------------


def test_parameter_requires_grad_and_shares_tensor_memory():
    t = mg.ones(3)
    p = nn.Parameter(t)
    assert p.requires_grad
    assert p.is_leaf
    assert np.shares_memory(p.data, t.data)
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(mg.tensor([1, 2]))
    q = nn.Parameter(np.arange(3.0))
    assert q.dtype == np.float64
    assert isinstance(q, mg.Tensor)


def test_parameter_grad_accumulates_through_module():
    lin = nn.Linear(3, 2)
    x = mg.randn(4, 3)
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.bias.grad.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(
        lin.weight.grad.numpy(), np.tile(x.numpy().sum(0), (2, 1)), rtol=1e-5
    )


# -- state_dict ----------------------------------------------------------------------


def test_state_dict_has_parameters_and_persistent_buffers_in_order():
    sd = Block().state_dict()
    # PyTorch's order: own parameters, own buffers, then each child in turn
    assert list(sd) == [
        "scale",
        "steps",
        "fc.weight",
        "fc.bias",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    ]
    assert "cache" not in sd


def test_state_dict_values_are_detached_and_share_memory():
    lin = nn.Linear(2, 3)
    sd = lin.state_dict()
    w = sd["weight"]
    assert not w.requires_grad
    assert not isinstance(w, nn.Parameter)
    assert np.shares_memory(w.data, lin.weight.data)
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight


def test_state_dict_prefix():
    sd = nn.Linear(2, 3).state_dict(prefix="enc.")
    assert list(sd) == ["enc.weight", "enc.bias"]


def test_load_state_dict_round_trip_copies_values():
    mg.manual_seed(0)
    a, b = Net(), Net()
    a.block.bn.running_mean.data[:] = 7.0
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == []
    assert res.unexpected_keys == []
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
        assert not np.shares_memory(va.data, vb.data)
    x = mg.randn(5, 3)
    a.eval(), b.eval()
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_load_state_dict_keeps_parameter_identity_and_bumps_version():
    lin = nn.Linear(2, 2)
    w = lin.weight
    v = w._version[0]
    lin.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.ones(2)})
    assert lin.weight is w
    assert w._version[0] == v + 1
    assert w.dtype == np.float32  # cast into the parameter's dtype
    np.testing.assert_array_equal(lin.bias.numpy(), [1.0, 1.0])


def test_load_state_dict_strict_reports_missing_and_unexpected():
    lin = nn.Linear(2, 2)
    sd = {"weight": np.zeros((2, 2)), "extra": np.zeros(1)}
    with pytest.raises(StateDictError, match=r'Missing key.*"bias"') as info:
        lin.load_state_dict(sd)
    assert 'Unexpected key(s) in state_dict: "extra"' in str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, ValueError)
    np.testing.assert_raises(
        AssertionError,
        np.testing.assert_array_equal,
        lin.weight.numpy(),
        np.zeros((2, 2)),
    )


def test_load_state_dict_non_strict_returns_keys_and_loads_the_rest():
    lin = nn.Linear(2, 2)
    res = lin.load_state_dict(
        {"weight": np.zeros((2, 2)), "extra": np.zeros(1)}, strict=False
    )
    assert res.missing_keys == ["bias"]
    assert res.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(lin.weight.numpy(), np.zeros((2, 2)))


def test_load_state_dict_shape_mismatch_names_shapes_even_non_strict():
    lin = nn.Linear(2, 3)
    for strict in (True, False):
        with pytest.raises(
            StateDictError, match=r"size mismatch for weight.*\(2, 3\).*\(3, 2\)"
        ):
            lin.load_state_dict(
                {"weight": np.zeros((2, 3)), "bias": np.zeros(3)}, strict=strict
            )


def test_load_state_dict_rejects_non_mapping_and_bad_values():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="mapping"):
        lin.load_state_dict([1, 2])
    with pytest.raises(TypeError, match="'weight'"):
        lin.load_state_dict(
            {"weight": np.array([["a", "b"], ["c", "d"]]), "bias": np.zeros(2)}
        )


def test_load_state_dict_accepts_minigrad_tensors():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())


# -- state_dict interop with torch ---------------------------------------------------


def _to_torch_sd(module, torch):
    return {
        k: torch.from_numpy(v.numpy().copy()) for k, v in module.state_dict().items()
    }


def _from_torch_sd(tmodule):
    return {k: v.detach().numpy() for k, v in tmodule.state_dict().items()}


def _mlp_pair(torch):
    mine = nn.Sequential(
        nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 3),
    )
    return mine, theirs, (4, 5), np.float32


def _module_pairs(torch):
    return {
        "linear": (nn.Linear(4, 3), torch.nn.Linear(4, 3), (5, 4), np.float32),
        "mlp": _mlp_pair(torch),
        "batchnorm": (nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4), (6, 4), np.float32),
        "layernorm": (
            nn.LayerNorm((2, 3)),
            torch.nn.LayerNorm((2, 3)),
            (4, 2, 3),
            np.float32,
        ),
        "embedding": (nn.Embedding(7, 3), torch.nn.Embedding(7, 3), (2, 5), np.int64),
    }


def _input(shape, dtype, rng):
    if dtype == np.int64:
        return rng.integers(0, 7, shape)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize(
    "kind", ["linear", "mlp", "batchnorm", "layernorm", "embedding"]
)
def test_state_dict_moves_from_torch_with_identical_outputs(torch, kind):
    torch.manual_seed(0)
    mine, theirs, shape, dtype = _module_pairs(torch)[kind]
    rng = np.random.default_rng(1)
    with torch.no_grad():  # non-trivial affine and running stats
        for p in theirs.parameters():
            p.add_(torch.randn(p.shape) * 0.1)
        for name, b in theirs.named_buffers():
            if b.is_floating_point():
                b.add_(torch.rand(b.shape) + 0.5 * name.endswith("var"))
    assert list(mine.state_dict()) == list(theirs.state_dict())
    mine.load_state_dict(_from_torch_sd(theirs))
    mine.eval(), theirs.eval()
    x = _input(shape, dtype, rng)
    want = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(mine(mg.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kind", ["linear", "mlp", "batchnorm", "layernorm", "embedding"]
)
def test_state_dict_moves_to_torch_with_identical_outputs(torch, kind):
    mg.manual_seed(3)
    mine, theirs, shape, dtype = _module_pairs(torch)[kind]
    for p in mine.parameters():
        with mg.no_grad():
            p.add_(mg.randn(*p.shape) * 0.1)
    theirs.load_state_dict(_to_torch_sd(mine, torch))
    mine.eval(), theirs.eval()
    x = _input(shape, dtype, np.random.default_rng(2))
    want = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(mine(mg.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


def test_load_state_dict_accepts_torch_tensors_directly(torch):
    t = torch.nn.Linear(3, 2)
    lin = nn.Linear(3, 2)
    lin.load_state_dict(t.state_dict())
    np.testing.assert_array_equal(lin.weight.numpy(), t.weight.detach().numpy())


# -- modes, gradients, apply ---------------------------------------------------------


def test_train_eval_set_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_zero_grad_to_none_and_to_zeros():
    lin = nn.Linear(3, 2)
    lin(mg.randn(2, 3)).sum().backward()
    g = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is g
    np.testing.assert_array_equal(g.numpy(), np.zeros((2, 3)))
    lin.zero_grad()
    assert lin.weight.grad is None
    assert lin.bias.grad is None


def test_zero_grad_then_backward_gives_fresh_gradient():
    lin = nn.Linear(3, 1)
    x = mg.randn(4, 3)
    lin(x).sum().backward()
    first = lin.weight.grad.numpy().copy()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * first, rtol=1e-6)
    lin.zero_grad()
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), first, rtol=1e-6)


def test_apply_visits_children_before_parent():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == [
        "Linear",
        "BatchNorm1d",
        "Block",
        "ReLU",
        "Linear",
        "Sequential",
        "Net",
    ]


def test_apply_can_reinitialize_weights():
    net = Net()

    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init)
    assert not net.block.fc.weight.numpy().any()
    assert not net.head[1].weight.numpy().any()


def test_requires_grad_freezes_parameters():
    net = Net()
    net.block.requires_grad_(False)
    assert not any(p.requires_grad for p in net.block.parameters())
    assert all(p.requires_grad for p in net.head.parameters())
    net.train()
    net(mg.randn(4, 3)).sum().backward()
    assert net.block.fc.weight.grad is None
    assert net.head[1].weight.grad is not None


def test_module_double_casts_in_place_keeping_identity():
    lin = nn.Linear(2, 2)
    w = lin.weight
    assert lin.double() is lin
    assert lin.weight is w
    assert w.dtype == np.float64
    assert w.requires_grad
    bn = nn.BatchNorm1d(2).double()
    assert bn.running_var.dtype == np.float64
    assert bn.num_batches_tracked.dtype == np.int64
    assert lin.float().weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating"):
        lin.to(mg.int64)


def test_module_deepcopy_is_independent():
    a = Net()
    b = copy.deepcopy(a)
    with mg.no_grad():
        b.head[1].weight.fill_(0.0)
    assert a.head[1].weight.numpy().any()
    assert isinstance(b.head[1].weight, nn.Parameter)


def test_forward_hooks_see_and_replace_output():
    lin = nn.Linear(2, 2)
    calls = []
    h = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape))
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = lin(mg.ones(3, 2))
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(lin.bias.numpy(), (3, 2)))
    assert calls == [(3, 2)]
    h.remove(), pre.remove()
    lin(mg.ones(3, 2))
    assert calls == [(3, 2)]


# -- containers ----------------------------------------------------------------------


def test_sequential_indexing_len_iteration_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert len(seq) == 2
    assert isinstance(seq[-1], nn.ReLU)
    assert [type(m) for m in seq] == [nn.Linear, nn.ReLU]
    sub = seq[:1]
    assert isinstance(sub, nn.Sequential)
    assert len(sub) == 1
    assert sub[0] is seq[0]
    seq.append(nn.Linear(3, 1))
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert seq(mg.randn(4, 2)).shape == (4, 1)
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), 3)


def test_sequential_delete_renumbers_and_setitem_replaces():
    seq = nn.Sequential(nn.Linear(1, 1), nn.ReLU(), nn.Linear(1, 2))
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    seq.insert(0, nn.Identity())
    assert [type(m).__name__ for m in seq] == ["Identity", "Linear", "Tanh"]


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq[1], nn.ReLU)


def test_module_list_registers_children():
    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    s = Stack()
    assert len(s.layers) == 3
    assert len(list(s.parameters())) == 6
    assert "layers.2.bias" in s.state_dict()
    s.layers.append(nn.Linear(2, 1))
    s.layers += [nn.ReLU()]
    assert s(mg.randn(3, 2)).shape == (3, 1)
    with pytest.raises(TypeError, match="not a Module"):
        s.layers.append(5)


def test_module_dict_registers_children():
    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
    assert list(md) == ["a", "b"]
    assert "a" in md
    assert len(md) == 2
    assert list(md.state_dict()) == ["a.weight", "a.bias"]
    md["c"] = nn.Tanh()
    assert [k for k, _ in md.items()] == ["a", "b", "c"]


# -- repr and summary ----------------------------------------------------------------


def test_repr_matches_pytorch_layout():
    seq = nn.Sequential(
        nn.Linear(2, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 1, bias=False)
    )
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=4, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.1, inplace=False)\n"
        "  (3): Linear(in_features=4, out_features=1, bias=False)\n"
        ")"
    )


def test_repr_nests_and_matches_torch(torch):
    mine = nn.Sequential(
        nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)),
        nn.LayerNorm(3),
        nn.GELU(approximate="tanh"),
        nn.LeakyReLU(0.2),
        nn.Softmax(dim=1),
        nn.Flatten(),
        nn.Embedding(4, 2, padding_idx=0),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)),
        torch.nn.LayerNorm(3),
        torch.nn.GELU(approximate="tanh"),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Softmax(dim=1),
        torch.nn.Flatten(),
        torch.nn.Embedding(4, 2, padding_idx=0),
    )
    assert repr(mine) == repr(theirs)


def test_summary_lists_layers_shapes_and_counts():
    model = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)
    )
    model.train()
    rm = model[1].running_mean.numpy().copy()
    s = model.summary((2, 4))
    text = str(s)
    assert [r.output_shape for r in s.rows] == ["[2, 8]"] * 4 + ["[2, 3]"]
    assert [r.params for r in s.rows] == [40, 16, 0, 0, 27]
    assert s.total_params == 83 == s.trainable_params
    assert "Total params: 83" in text
    assert "0 (Linear)" in text
    assert "[2, 3]" in text
    assert "4 (Linear)" in text
    assert "Output shape: [2, 3]" in text
    # no side effects: training mode restored, running stats untouched
    assert all(m.training for m in model.modules())
    np.testing.assert_array_equal(model[1].running_mean.numpy(), rm)
    assert model[1].num_batches_tracked.item() == 0


def test_summary_with_example_input_nested_modules_and_frozen_params():
    net = Net()
    net.block.fc.requires_grad_(False)
    s = net.summary(mg.randn(5, 3))
    names = [r.name for r in s.rows]
    assert names == ["block", "block.fc", "block.bn", "head", "head.0", "head.1"]
    assert [r.depth for r in s.rows] == [0, 1, 1, 0, 1, 1]
    assert s.rows[0].params == 4
    assert s.rows[3].params == 0
    assert s.total_params == 4 + 16 + 8 + 10
    assert s.non_trainable_params == 16
    assert "--" in str(s)  # the head container has no parameters of its own
    assert repr(s) == str(s)


def test_summary_rejects_bad_input():
    with pytest.raises(TypeError, match="summary: input"):
        nn.Linear(2, 2).summary("x")
    with pytest.raises(ValueError, match="negative"):
        nn.Linear(2, 2).summary((-1, 2))


# -- Sequential fusion (Note [Sequential fusion] in container.py) --------------------

ACT_MODULES = [nn.Sigmoid, nn.Tanh, nn.ReLU]


def _unfused(seq, x):
    """The children called one by one, as Sequential did before fusing."""
    for m in seq:
        x = m(x)
    return x


def _grads(seq, out, g):
    for p in seq.parameters():
        p.grad = None
    out.backward(g)
    return [p.grad.numpy().copy() for p in seq.parameters()]


@pytest.mark.parametrize("act", ACT_MODULES)
@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_sequential_fused_linear_activation_matches_unfused(act, dtype):
    mg.manual_seed(3)
    seq = nn.Sequential(
        nn.Linear(3, 5, dtype=dtype), act(), nn.Linear(5, 2, dtype=dtype), act()
    )
    x = mg.randn(4, 3, dtype=dtype, requires_grad=True)
    g = mg.randn(4, 2, dtype=dtype)
    fused = seq(x)
    # one fused node per Linear+activation pair
    assert fused.grad_fn.name() == "LinearBackward"
    ref = _unfused(seq, x)
    assert ref.grad_fn.name() != "LinearBackward"
    tol = 1e-6 if dtype == mg.float32 else 1e-12
    np.testing.assert_allclose(fused.numpy(), ref.numpy(), rtol=tol, atol=tol)
    got = _grads(seq, fused, g)
    gx = x.grad.numpy().copy()
    x.grad = None
    want = _grads(seq, ref, g)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol * 10, atol=tol * 10)
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=tol * 10, atol=tol * 10)


def test_sequential_fused_path_supports_double_backward():
    mg.manual_seed(4)
    seq = nn.Sequential(nn.Linear(2, 3, dtype=mg.float64), nn.Tanh())
    x = mg.randn(2, 2, dtype=mg.float64, requires_grad=True)
    assert mg.autograd.gradgradcheck(seq, (x,))
    (gx,) = mg.autograd.grad(seq(x).sum(), x, create_graph=True)
    (gx_ref,) = mg.autograd.grad(_unfused(seq, x).sum(), x, create_graph=True)
    np.testing.assert_allclose(gx.numpy(), gx_ref.numpy(), rtol=1e-12)
    assert gx.requires_grad


@pytest.mark.parametrize("where", ["linear", "act"])
@pytest.mark.parametrize("kind", ["forward", "pre"])
def test_sequential_does_not_fuse_when_a_hook_is_registered(where, kind):
    seq = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid())
    seen = []
    target = seq[0] if where == "linear" else seq[1]
    if kind == "forward":
        h = target.register_forward_hook(lambda m, a, out: seen.append(out))
    else:
        h = target.register_forward_pre_hook(lambda m, a: seen.append(a[0]))
    out = seq(mg.randn(4, 2))
    assert out.grad_fn.name() == "SigmoidBackward"
    assert len(seen) == 1
    if where == "act" and kind == "pre":  # the hook saw the Linear's output
        assert seen[0].grad_fn.name() == "LinearBackward"
    h.remove()
    assert seq(mg.randn(4, 2)).grad_fn.name() == "LinearBackward"


def test_sequential_does_not_fuse_inplace_relu_subclasses_or_patched_forward():
    class MyLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    class MySigmoid(nn.Sigmoid):
        pass

    x = mg.randn(4, 2)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True))
    assert seq(x).grad_fn.name() != "LinearBackward"
    lin = MyLinear(2, 3)
    out = nn.Sequential(lin, nn.Sigmoid())(x)
    np.testing.assert_allclose(
        out.numpy(), (lin(x)).sigmoid().numpy(), rtol=1e-6, atol=1e-7
    )
    assert nn.Sequential(nn.Linear(2, 3), MySigmoid())(x).grad_fn.name() == (
        "SigmoidBackward"
    )
    with pytest.MonkeyPatch.context() as mp:  # so is a class-level one
        mp.setattr(nn.Tanh, "forward", lambda self, t: t * 0)
        out = nn.Sequential(nn.Linear(2, 3), nn.Tanh())(x)
        np.testing.assert_array_equal(out.numpy(), np.zeros((4, 3)))
    sig = nn.Sigmoid()
    sig.forward = lambda t: t * 0  # an instance-level replacement is honoured
    np.testing.assert_array_equal(
        nn.Sequential(nn.Linear(2, 3), sig)(x).numpy(), np.zeros((4, 3))
    )


def test_sequential_fusion_same_in_train_and_eval_and_with_non_fusable_neighbours():
    mg.manual_seed(5)
    seq = nn.Sequential(
        nn.Linear(3, 4), nn.Linear(4, 4), nn.ReLU(), nn.Dropout(0.0), nn.Linear(4, 2)
    )
    x = mg.randn(5, 3)
    for mode in ("train", "eval"):
        getattr(seq, mode)()
        np.testing.assert_allclose(
            seq(x).numpy(), _unfused(seq, x).numpy(), rtol=1e-6, atol=1e-7
        )
    # errors of a fused Linear are the Linear's own
    with pytest.raises(ValueError, match="in_features=3"):
        nn.Sequential(nn.Linear(3, 4), nn.Tanh())(mg.randn(5, 2))
