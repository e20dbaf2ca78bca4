"""Learning-rate schedules against their closed forms and torch.optim.lr_scheduler."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler as sched

EPOCHS = 40


def _opt(lrs=(0.1, 0.03)):
    groups = [{"params": [mg.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def _trace(s, epochs=EPOCHS):
    lrs = [s.get_last_lr()]
    for _ in range(epochs):
        s.optimizer.step()
        s.step()
        lrs.append(s.get_last_lr())
    return np.array(lrs)


MAKERS = {
    "StepLR": (
        lambda o: sched.StepLR(o, step_size=7, gamma=0.5),
        lambda base, e: base * 0.5 ** (e // 7),
        {"step_size": 7, "gamma": 0.5},
    ),
    "ExponentialLR": (
        lambda o: sched.ExponentialLR(o, gamma=0.9),
        lambda base, e: base * 0.9**e,
        {"gamma": 0.9},
    ),
    "CosineAnnealingLR": (
        lambda o: sched.CosineAnnealingLR(o, T_max=15, eta_min=0.001),
        lambda base, e: 0.001 + (base - 0.001) * (1 + math.cos(math.pi * e / 15)) / 2,
        {"T_max": 15, "eta_min": 0.001},
    ),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_schedule_matches_closed_form(name):
    make, closed, _ = MAKERS[name]
    got = _trace(make(_opt()))
    expected = np.array(
        [[closed(b, e) for b in (0.1, 0.03)] for e in range(EPOCHS + 1)]
    )
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(MAKERS))
def test_schedule_matches_torch(name):
    torch = pytest.importorskip("torch")
    make, _, kw = MAKERS[name]
    got = _trace(make(_opt()))
    tgroups = [
        {"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.03)
    ]
    topt = torch.optim.SGD(tgroups, lr=0.1)
    ts = getattr(torch.optim.lr_scheduler, name)(topt, **kw)
    expected = [ts.get_last_lr()]
    for _ in range(EPOCHS):
        topt.step()
        ts.step()
        expected.append(ts.get_last_lr())
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-15)


def test_scheduler_sets_the_optimizers_lr():
    opt = _opt((0.1,))
    s = sched.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(2):
        opt.step()
        s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    assert s.get_last_lr() == [opt.param_groups[0]["lr"]]
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_step_with_epoch_uses_closed_form():
    s = sched.CosineAnnealingLR(_opt((1.0,)), T_max=10)
    s.step(5)
    assert s.get_last_lr()[0] == pytest.approx(0.5)
    assert s.last_epoch == 5
    e = sched.ExponentialLR(_opt((1.0,)), gamma=0.5)
    e.step(3)
    assert e.get_last_lr()[0] == pytest.approx(0.125)


def test_scheduler_state_dict_round_trip():
    opt = _opt()
    s = sched.CosineAnnealingLR(opt, T_max=12)
    for _ in range(5):
        opt.step()
        s.step()
    sd = s.state_dict()
    assert "optimizer" not in sd
    assert sd["last_epoch"] == 5
    opt2 = optim.SGD(
        [{"params": [mg.zeros(2, requires_grad=True)], "lr": lr} for lr in (0.1, 0.03)]
    )
    opt2.load_state_dict(opt.state_dict())
    s2 = sched.CosineAnnealingLR(opt2, T_max=12)
    s2.load_state_dict(sd)
    for _ in range(10):
        opt.step()
        s.step()
        opt2.step()
        s2.step()
    np.testing.assert_allclose(s2.get_last_lr(), s.get_last_lr(), rtol=1e-12)


def test_scheduler_validation():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size must be >= 1"):
        sched.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="T_max must be >= 1"):
        sched.CosineAnnealingLR(_opt(), T_max=0)
    with pytest.raises(KeyError, match="initial_lr"):
        sched.ExponentialLR(_opt(), gamma=0.9, last_epoch=3)


def test_resume_with_last_epoch():
    opt = _opt((0.1,))
    s = sched.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        opt.step()
        s.step()
    resumed = sched.ExponentialLR(opt, gamma=0.5, last_epoch=s.last_epoch)
    assert resumed.base_lrs == [0.1]
    opt.step()
    resumed.step()
    assert resumed.get_last_lr()[0] == pytest.approx(0.1 * 0.5**4)
