"""Optimizers: trajectories against the update rules written out here and against
torch.optim, param groups, state_dict round trips, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.tensor import Tensor

STEPS = 50
SHAPES = [(3, 4), (5,)]


def _grad(x: np.ndarray, t: int, k: int) -> np.ndarray:
    """A deterministic gradient that depends on the parameter and the step, with
    both signs and varied magnitudes (so every branch of every rule matters)."""
    c = np.cos(np.arange(x.size, dtype=np.float64).reshape(x.shape) + 0.7 * k)
    return np.sin(3.0 * x + 0.1 * t) + 0.5 * x + c * (1.0 + (t % 3))


def _init() -> list[np.ndarray]:
    rng = np.random.default_rng(42)
    return [rng.standard_normal(s) for s in SHAPES]


# -- the update rules, written out from PyTorch's algorithm boxes ---------------
def ref_sgd(
    xs,
    lr,
    momentum=0.0,
    dampening=0.0,
    weight_decay=0.0,
    nesterov=False,
    maximize=False,
):
    bufs = [None] * len(xs)
    traj = []
    for t in range(1, STEPS + 1):
        for k, x in enumerate(xs):
            g = _grad(x, t, k)
            g = -g if maximize else g
            g = g + weight_decay * x
            if momentum:
                if bufs[k] is None:
                    bufs[k] = g.copy()
                else:
                    bufs[k] = momentum * bufs[k] + (1 - dampening) * g
                g = g + momentum * bufs[k] if nesterov else bufs[k]
            xs[k] = x - lr * g
        traj.append([x.copy() for x in xs])
    return traj


def ref_adam(
    xs,
    lr,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    maximize=False,
    decoupled=False,
):
    b1, b2 = betas
    m = [np.zeros_like(x) for x in xs]
    v = [np.zeros_like(x) for x in xs]
    vmax = [np.zeros_like(x) for x in xs]
    traj = []
    for t in range(1, STEPS + 1):
        for k, x in enumerate(xs):
            g = _grad(x, t, k)
            g = -g if maximize else g
            if decoupled:
                x = x * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * x
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            mhat = m[k] / (1 - b1**t)
            if amsgrad:
                vmax[k] = np.maximum(vmax[k], v[k])
                vhat = vmax[k] / (1 - b2**t)
            else:
                vhat = v[k] / (1 - b2**t)
            xs[k] = x - lr * mhat / (np.sqrt(vhat) + eps)
        traj.append([x.copy() for x in xs])
    return traj


def ref_rmsprop(
    xs,
    lr,
    alpha=0.99,
    eps=1e-8,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    maximize=False,
):
    s = [np.zeros_like(x) for x in xs]
    a = [np.zeros_like(x) for x in xs]
    b = [np.zeros_like(x) for x in xs]
    traj = []
    for t in range(1, STEPS + 1):
        for k, x in enumerate(xs):
            g = _grad(x, t, k)
            g = -g if maximize else g
            g = g + weight_decay * x
            s[k] = alpha * s[k] + (1 - alpha) * g * g
            if centered:
                a[k] = alpha * a[k] + (1 - alpha) * g
                d = np.sqrt(s[k] - a[k] ** 2) + eps
            else:
                d = np.sqrt(s[k]) + eps
            if momentum > 0:
                b[k] = momentum * b[k] + g / d
                xs[k] = x - lr * b[k]
            else:
                xs[k] = x - lr * g / d
        traj.append([x.copy() for x in xs])
    return traj


def ref_adagrad(
    xs,
    lr,
    lr_decay=0.0,
    weight_decay=0.0,
    initial_accumulator_value=0.0,
    eps=1e-10,
    maximize=False,
):
    s = [np.full_like(x, initial_accumulator_value) for x in xs]
    traj = []
    for t in range(1, STEPS + 1):
        for k, x in enumerate(xs):
            g = _grad(x, t, k)
            g = -g if maximize else g
            g = g + weight_decay * x
            clr = lr / (1 + (t - 1) * lr_decay)
            s[k] = s[k] + g * g
            xs[k] = x - clr * g / (np.sqrt(s[k]) + eps)
        traj.append([x.copy() for x in xs])
    return traj


CASES = [
    ("SGD", {"lr": 0.05}, ref_sgd),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, ref_sgd),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, ref_sgd),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, ref_sgd),
    ("SGD", {"lr": 0.05, "weight_decay": 0.1}, ref_sgd),
    (
        "SGD",
        {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1, "maximize": True},
        ref_sgd,
    ),
    ("Adam", {"lr": 0.01}, ref_adam),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}, ref_adam),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}, ref_adam),
    ("Adam", {"lr": 0.01, "amsgrad": True}, ref_adam),
    (
        "Adam",
        {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True},
        ref_adam,
    ),
    ("AdamW", {"lr": 0.01}, ref_adam),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, ref_adam),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "maximize": True}, ref_adam),
    ("RMSprop", {"lr": 0.01}, ref_rmsprop),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6}, ref_rmsprop),
    ("RMSprop", {"lr": 0.01, "centered": True}, ref_rmsprop),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}, ref_rmsprop),
    (
        "RMSprop",
        {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
        ref_rmsprop,
    ),
    ("RMSprop", {"lr": 0.01, "maximize": True}, ref_rmsprop),
    ("Adagrad", {"lr": 0.1}, ref_adagrad),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}, ref_adagrad),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1}, ref_adagrad),
    (
        "Adagrad",
        {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6},
        ref_adagrad,
    ),
    ("Adagrad", {"lr": 0.1, "maximize": True}, ref_adagrad),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw, _ in CASES]


def run_minigrad(name, kw, xs0, steps=STEPS, opt=None, params=None, t0=1):
    params = params or [mg.tensor(x, dtype=mg.float64, requires_grad=True) for x in xs0]
    opt = opt or getattr(optim, name)(params, **kw)
    traj = []
    for t in range(t0, t0 + steps):
        for k, p in enumerate(params):
            p.grad = mg.tensor(_grad(p.data, t, k), dtype=mg.float64)
        opt.step()
        traj.append([p.data.copy() for p in params])
    return traj, params, opt


def _reference(name, kw, ref):
    extra = {"decoupled": True} if name == "AdamW" else {}
    if name == "AdamW":
        kw = {"weight_decay": 0.01, **kw}
    return ref(_init(), **kw, **extra)


@pytest.mark.parametrize(("name", "kw", "ref"), CASES, ids=IDS)
def test_optimizer_trajectory_matches_update_rule(name, kw, ref):
    expected = _reference(name, kw, ref)
    got, params, _ = run_minigrad(name, kw, _init())
    for step, (g, e) in enumerate(zip(got, expected)):
        for a, b in zip(g, e):
            np.testing.assert_allclose(
                a, b, rtol=1e-6, atol=1e-6, err_msg=f"step {step}"
            )
    assert all(p.dtype == np.float64 for p in params)


@pytest.mark.parametrize(("name", "kw", "ref"), CASES, ids=IDS)
def test_optimizer_trajectory_matches_torch(name, kw, ref):
    torch = pytest.importorskip("torch")
    xs = _init()
    tparams = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    topt = getattr(torch.optim, name)(tparams, **kw)
    got, _, _ = run_minigrad(name, kw, xs)
    for t in range(1, STEPS + 1):
        for k, p in enumerate(tparams):
            p.grad = torch.from_numpy(_grad(p.detach().numpy(), t, k))
        topt.step()
        for a, p in zip(got[t - 1], tparams):
            np.testing.assert_allclose(a, p.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_adamw_default_weight_decay_is_0_01():
    p = mg.zeros(2, requires_grad=True)
    assert optim.AdamW([p]).param_groups[0]["weight_decay"] == 0.01
    assert optim.Adam([p]).param_groups[0]["weight_decay"] == 0.0


def test_sgd_one_step_by_hand():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    p.grad = mg.tensor([0.5, 0.5])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step()  # g = 0.5 + 0.1 p = [0.6, 0.3]; the first buffer is g itself
    np.testing.assert_allclose(p.data, [1.0 - 0.06, -2.0 - 0.03], rtol=1e-6)
    assert p.dtype == np.float32


def test_adam_first_step_moves_each_weight_by_lr():
    # At t = 1, m_hat = g and v_hat = g^2, so the step is lr * sign(g).
    p = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    p.grad = mg.tensor([10.0, -0.01, 3.0], dtype=mg.float64)
    optim.Adam([p], lr=0.1, eps=0.0).step()
    np.testing.assert_allclose(p.data, [0.9, 2.1, 2.9], rtol=1e-12)


def test_optimizer_trains_through_autograd():
    mg.manual_seed(0)
    w = mg.randn(3, requires_grad=True)
    target = mg.tensor([1.0, -2.0, 0.5])
    opt = optim.Adam([w], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        loss = ((w - target) ** 2).sum()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.data, target.data, atol=1e-3)


def test_param_groups_have_their_own_options():
    torch = pytest.importorskip("torch")
    xs = _init()
    a, b = (mg.tensor(x, dtype=mg.float64, requires_grad=True) for x in xs)
    opt = optim.SGD(
        [{"params": [a]}, {"params": [b], "lr": 0.2, "momentum": 0.0}],
        lr=0.05,
        momentum=0.9,
    )
    assert opt.param_groups[1]["lr"] == 0.2
    assert opt.param_groups[0]["momentum"] == 0.9
    ta, tb = (torch.tensor(x, requires_grad=True) for x in xs)
    topt = torch.optim.SGD(
        [{"params": [ta]}, {"params": [tb], "lr": 0.2, "momentum": 0.0}],
        lr=0.05,
        momentum=0.9,
    )
    for t in range(1, 11):
        for k, (p, tp) in enumerate(((a, ta), (b, tb))):
            p.grad = mg.tensor(_grad(p.data, t, k), dtype=mg.float64)
            tp.grad = torch.from_numpy(_grad(tp.detach().numpy(), t, k))
        opt.step()
        topt.step()
    np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=1e-10)


def test_add_param_group_fills_defaults_and_rejects_duplicates():
    a = mg.zeros(2, requires_grad=True)
    b = mg.zeros(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.5)
    opt.add_param_group({"params": b, "betas": (0.5, 0.6)})
    g = opt.param_groups[1]
    assert g["params"] == [b] or g["params"][0] is b
    assert g["lr"] == 0.5
    assert g["betas"] == (0.5, 0.6)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="no 'params'"):
        opt.add_param_group({"lr": 1.0})


def test_parameters_without_grad_are_skipped():
    a = mg.ones(2, requires_grad=True)
    b = mg.ones(2, requires_grad=True)
    a.grad = mg.ones(2)
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    assert b not in opt.state
    assert opt.state[a]["step"] == 1


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none):
    a = mg.ones(2, requires_grad=True)
    (a * 3).sum().backward()
    opt = optim.SGD([a], lr=0.1)
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert a.grad is None
    else:
        np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
        assert a.grad.shape == a.shape


def test_step_bumps_version_so_stale_graphs_refuse_backward():
    p = mg.randn(3, requires_grad=True)
    y = (p * p).sum()
    p.grad = mg.ones(3)
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_step_with_closure_returns_loss_and_enables_grad():
    w = mg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with mg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(4.0)
    np.testing.assert_allclose(w.data, [1.0])  # 2 - 0.25 * 4


def test_float32_parameters_stay_float32():
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        p = mg.randn(4, requires_grad=True)
        p.grad = mg.randn(4)
        getattr(optim, name)([p], lr=0.01).step()
        assert p.dtype == np.float32, name
        for v in getattr(optim, name)([p], lr=0.01).state.values():
            for s in v.values():
                if isinstance(s, Tensor):
                    assert s.dtype == np.float32


# -- state_dict ------------------------------------------------------------------
ROUND_TRIP = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
]


@pytest.mark.parametrize(("name", "kw"), ROUND_TRIP)
def test_state_dict_round_trip_continues_identically(name, kw):
    _, params, opt = run_minigrad(name, kw, _init(), steps=10)
    sd = opt.state_dict()
    fresh = [mg.tensor(p.data, dtype=mg.float64, requires_grad=True) for p in params]
    restored = getattr(optim, name)(fresh, lr=123.0)  # options come from sd
    restored.load_state_dict(sd)
    assert restored.param_groups[0]["lr"] == kw["lr"]
    # Both continue for 20 steps with the same gradients (t = 11..30).
    cont, _, _ = run_minigrad(name, kw, None, steps=20, opt=opt, params=params, t0=11)
    rest, _, _ = run_minigrad(
        name, kw, None, steps=20, opt=restored, params=fresh, t0=11
    )
    for a, b in zip(rest, cont):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_state_dict_layout_is_pytorchs():
    torch = pytest.importorskip("torch")
    xs = _init()
    params = [mg.tensor(x, dtype=mg.float64, requires_grad=True) for x in xs]
    tparams = [torch.tensor(x, requires_grad=True) for x in xs]
    for name, kw in ROUND_TRIP:
        opt = getattr(optim, name)(
            [{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], **kw
        )
        topt = getattr(torch.optim, name)(
            [{"params": tparams[:1]}, {"params": tparams[1:], "lr": 0.5}], **kw
        )
        for p, tp in zip(params, tparams):
            p.grad = mg.ones(*p.shape, dtype=mg.float64)
            tp.grad = torch.ones_like(tp)
        opt.step()
        topt.step()
        sd, tsd = opt.state_dict(), topt.state_dict()
        assert [g["params"] for g in sd["param_groups"]] == [
            g["params"] for g in tsd["param_groups"]
        ]
        for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
            assert set(g) <= set(tg), name
            for k in g:
                if k != "params":
                    assert g[k] == tg[k], (name, k)
        assert set(sd["state"]) == set(tsd["state"])
        for i in sd["state"]:
            assert set(sd["state"][i]) == set(tsd["state"][i]), name
            for k, v in sd["state"][i].items():
                np.testing.assert_allclose(np.asarray(v), tsd["state"][i][k].numpy())


@pytest.mark.parametrize(("name", "kw"), ROUND_TRIP)
def test_load_torch_state_dict_then_continue_like_torch(name, kw):
    torch = pytest.importorskip("torch")
    xs = _init()
    tparams = [torch.tensor(x, requires_grad=True) for x in xs]
    topt = getattr(torch.optim, name)(tparams, **kw)
    for t in range(1, 6):
        for k, p in enumerate(tparams):
            p.grad = torch.from_numpy(_grad(p.detach().numpy(), t, k))
        topt.step()
    tsd = topt.state_dict()
    sd = {
        "state": {
            i: {k: (v.numpy() if k != "step" else v.item()) for k, v in s.items()}
            for i, s in tsd["state"].items()
        },
        "param_groups": tsd["param_groups"],
    }
    params = [
        mg.tensor(p.detach().numpy(), dtype=mg.float64, requires_grad=True)
        for p in tparams
    ]
    opt = getattr(optim, name)(params, lr=1.0)
    opt.load_state_dict(sd)
    for t in range(6, 16):
        for k, (p, tp) in enumerate(zip(params, tparams)):
            p.grad = mg.tensor(_grad(p.data, t, k), dtype=mg.float64)
            tp.grad = torch.from_numpy(_grad(tp.detach().numpy(), t, k))
        opt.step()
        topt.step()
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_state_dict_is_a_snapshot():
    p = mg.ones(2, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = mg.ones(2)
    opt.step()
    sd = opt.state_dict()
    saved = sd["state"][0]["exp_avg"].data.copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].data, saved)
    assert sd["state"][0]["step"] == 1


def test_load_state_dict_casts_state_to_parameter_dtype():
    p64 = mg.ones(2, dtype=mg.float64, requires_grad=True)
    opt = optim.Adam([p64], lr=0.1)
    p64.grad = mg.ones(2, dtype=mg.float64)
    opt.step()
    p32 = mg.ones(2, requires_grad=True)
    opt32 = optim.Adam([p32], lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    assert opt32.state[p32]["exp_avg"].dtype == np.float32
    assert opt32.state[p32]["step"] == 1


def test_load_state_dict_rejects_mismatches():
    a, b = mg.ones(2, requires_grad=True), mg.ones(3, requires_grad=True)
    opt = optim.Adam([a, b])
    a.grad, b.grad = mg.ones(2), mg.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameters, the saved group has 2"):
        optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(
        ValueError, match=r"has 1 parameter group\(s\), this optimizer has 2"
    ):
        optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match=r"shape \(3,\), the parameter has shape"):
        optim.Adam([a, mg.ones(4, requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_adagrad_state_exists_before_the_first_step():
    p = mg.ones(2, requires_grad=True)
    sd = optim.Adagrad([p], initial_accumulator_value=0.25).state_dict()
    assert sd["state"][0]["step"] == 0
    np.testing.assert_array_equal(sd["state"][0]["sum"].data, [0.25, 0.25])


# -- validation --------------------------------------------------------------------
def test_params_validation():
    t = mg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(t, lr=0.1)
    with pytest.raises(TypeError, match="set has no stable order"):
        optim.SGD({t}, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([t, t], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([t * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([mg.tensor([1, 2])], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)


@pytest.mark.parametrize(
    ("name", "kw", "match"),
    [
        ("SGD", {"lr": -1.0}, "invalid lr"),
        ("SGD", {"momentum": -0.1}, "invalid momentum"),
        ("SGD", {"nesterov": True}, "nesterov momentum requires"),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
        ("Adam", {"betas": (1.0, 0.999)}, "invalid betas"),
        ("Adam", {"betas": (0.9,)}, "invalid betas"),
        ("Adam", {"eps": -1e-8}, "invalid eps"),
        ("AdamW", {"weight_decay": -0.1}, "invalid weight_decay"),
        ("RMSprop", {"alpha": -0.5}, "invalid alpha"),
        ("Adagrad", {"lr_decay": -1.0}, "invalid lr_decay"),
    ],
)
def test_invalid_options_raise(name, kw, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([mg.ones(2, requires_grad=True)], **kw)


def test_repr_lists_groups():
    opt = optim.SGD([mg.ones(2, requires_grad=True)], lr=0.1, momentum=0.9)
    r = repr(opt)
    assert r.startswith("SGD (")
    assert "Parameter Group 0" in r
    assert "momentum: 0.9" in r
    assert math.isclose(opt.param_groups[0]["lr"], 0.1)


def test_state_dict_survives_save_and_load(tmp_path):
    from minigrad.serialization import load, save

    name, kw = "Adam", {"lr": 0.01, "amsgrad": True}
    _, params, opt = run_minigrad(name, kw, _init(), steps=10)
    sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "c.st")
    ckpt = load(tmp_path / "c.st")
    fresh = [mg.tensor(p.data, dtype=mg.float64, requires_grad=True) for p in params]
    restored = optim.Adam(fresh)
    restored.load_state_dict(ckpt["optim"])
    rsched = optim.lr_scheduler.ExponentialLR(restored, gamma=0.9)
    rsched.load_state_dict(ckpt["sched"])
    assert restored.param_groups[0]["betas"] == (0.9, 0.999)
    cont, _, _ = run_minigrad(name, kw, None, steps=5, opt=opt, params=params, t0=11)
    rest, _, _ = run_minigrad(
        name, kw, None, steps=5, opt=restored, params=fresh, t0=11
    )
    for a, b in zip(rest, cont):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_plain_sgd_path_skips_gradless_params_and_bumps_every_version():
    # momentum, weight_decay and maximize all off: the short update loop
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0], requires_grad=True)
    c = Tensor._wrap(np.array([5.0], np.float32))  # lazily created version counter
    c.requires_grad = True
    a.grad, c.grad = mg.tensor([1.0, -1.0]), mg.tensor([2.0])
    va = a._version[0]
    opt = optim.SGD([a, b, c], lr=0.5)
    opt.step()
    np.testing.assert_array_equal(a.data, [0.5, 2.5])
    np.testing.assert_array_equal(b.data, [3.0])
    np.testing.assert_array_equal(c.data, [4.0])
    assert a.dtype == np.float32
    assert c.dtype == np.float32
    assert a._version[0] == va + 1
    assert c._version[0] == 1
    assert b.grad is None
    assert not opt.state
