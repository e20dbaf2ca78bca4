"""MultiStepLR, LambdaLR and ReduceLROnPlateau against PyTorch's."""

from __future__ import annotations

import pytest

import minigrad as mg
from minigrad import optim


def _pair(lr=1.0):
    torch = pytest.importorskip("torch")
    p = mg.tensor([1.0], requires_grad=True)
    q = torch.zeros(1, requires_grad=True)
    return optim.SGD([p], lr=lr), torch.optim.SGD([q], lr=lr), torch


def _run(ours, theirs, opt_ours, opt_theirs, steps, values=None):
    got, want = [], []
    for i in range(steps):
        if values is None:
            ours.step()
            theirs.step()
        else:
            ours.step(values[i])
            theirs.step(values[i])
        got.append(opt_ours.param_groups[0]["lr"])
        want.append(opt_theirs.param_groups[0]["lr"])
    assert got == pytest.approx(want)
    return got


def test_multistep_matches_torch():
    a, b, torch = _pair()
    s1 = optim.lr_scheduler.MultiStepLR(a, milestones=[2, 5, 5], gamma=0.5)
    s2 = torch.optim.lr_scheduler.MultiStepLR(b, milestones=[2, 5, 5], gamma=0.5)
    lrs = _run(s1, s2, a, b, 8)
    assert lrs[-1] == pytest.approx(0.125)
    s1.step(3)
    assert a.param_groups[0]["lr"] == pytest.approx(0.5)


def test_lambda_matches_torch():
    a, b, torch = _pair(0.1)
    s1 = optim.lr_scheduler.LambdaLR(a, lambda e: 0.9**e)
    s2 = torch.optim.lr_scheduler.LambdaLR(b, lambda e: 0.9**e)
    _run(s1, s2, a, b, 5)
    assert "lr_lambdas" not in s1.state_dict()


@pytest.mark.parametrize("mode", ["rel", "abs"])
def test_reduce_on_plateau_matches_torch(mode):
    a, b, torch = _pair()
    kw = {
        "factor": 0.5,
        "patience": 1,
        "cooldown": 1,
        "threshold_mode": mode,
        "min_lr": 0.1,
    }
    s1 = optim.lr_scheduler.ReduceLROnPlateau(a, **kw)
    s2 = torch.optim.lr_scheduler.ReduceLROnPlateau(b, **kw)
    values = [1.0, 0.9, 0.9, 0.9, 0.95, 0.9, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    lrs = _run(s1, s2, a, b, len(values), values)
    assert lrs[-1] < 1.0
    assert s1.get_last_lr() == pytest.approx(s2.get_last_lr())


def test_reduce_on_plateau_validation():
    a = optim.SGD([mg.tensor([1.0], requires_grad=True)], lr=1.0)
    with pytest.raises(ValueError, match="factor"):
        optim.lr_scheduler.ReduceLROnPlateau(a, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        optim.lr_scheduler.ReduceLROnPlateau(a, mode="up")
