"""Captured steps (``mg.compile``, Note [Captured steps] in
minigrad/autograd/capture.py): a replayed step gives the eager step's results
bit for bit, and a step the tape cannot replay runs eagerly with a warning that
names the reason."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.autograd.capture import CaptureWarning
from minigrad.nn import functional as F


def _xor_data(dtype: Any = np.float32) -> tuple[mg.Tensor, mg.Tensor]:
    x = mg.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype))
    y = mg.tensor(np.array([[0], [1], [1], [0]], dtype))
    return x, y


def _mlp(dropout: float = 0.0, dtype: Any = mg.float32) -> nn.Module:
    mg.manual_seed(0)
    layers: list[nn.Module] = [nn.Linear(6, 8), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(8, 3)]
    return nn.Sequential(*layers).to(dtype)


def _twins(make: Callable[[], Any], n: int = 7, **compile_kw: Any) -> tuple[Any, Any]:
    """Runs ``make()``'s step eagerly and compiled, ``n`` times each, with the
    same seeds; returns both states after checking every result is equal."""
    eager, compiled = make(), make()
    step = mg.compile(compiled["step"], **compile_kw)
    for i in range(n):
        mg.manual_seed(100 + i)
        a = eager["step"](*eager["args"](i))
        mg.manual_seed(100 + i)
        b = step(*compiled["args"](i))
        _assert_same(a, b, f"call {i + 1}")
        for p, q in zip(eager["params"], compiled["params"], strict=True):
            _assert_same(p, q, f"parameter after call {i + 1}")
    compiled["compiled"] = step
    return eager, compiled


def _assert_same(a: Any, b: Any, what: str) -> None:
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b), what
        assert len(a) == len(b), what
        for u, v in zip(a, b):
            _assert_same(u, v, what)
        return
    if isinstance(a, mg.Tensor):
        assert isinstance(b, mg.Tensor), what
        assert a.dtype == b.dtype, what
        assert a.shape == b.shape, what
        assert a.data.tobytes() == b.data.tobytes(), f"{what}: {a} != {b}"
        return
    assert a == b, what


def _xor_case(dtype: Any = np.float32) -> dict[str, Any]:
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    model.to(mg.float64 if dtype == np.float64 else mg.float32)
    opt = optim.SGD(model.parameters(), lr=0.5)
    loss_fn = nn.BCELoss()
    x, y = _xor_data(dtype)

    def step(x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return {"step": step, "args": lambda i: (x, y), "params": list(model.parameters())}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xor_replays_bit_for_bit(dtype: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CaptureWarning)
        _, c = _twins(lambda: _xor_case(dtype), n=8)
    assert c["compiled"].replays == 6  # two recordings, then replays
    assert c["compiled"].fallback_reason is None


def _mlp_case(opt_name: str, dropout: float = 0.0) -> dict[str, Any]:
    model = _mlp(dropout)
    opt = {
        "adam": lambda p: optim.Adam(p, lr=1e-2),
        "sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "rmsprop": lambda p: optim.RMSprop(p, lr=1e-2),
    }[opt_name](model.parameters())
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    batches = [
        (
            mg.tensor(rng.standard_normal((5, 6)).astype(np.float32)),
            mg.tensor(rng.integers(0, 3, 5)),
        )
        for _ in range(3)
    ]

    def step(x: mg.Tensor, y: mg.Tensor) -> tuple[mg.Tensor, mg.Tensor]:
        opt.zero_grad()
        out = model(x)
        loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        sched.step()  # the learning rate changes on replays too
        return loss, out

    return {
        "step": step,
        "args": lambda i: batches[i % 3],  # new data each call
        "params": list(model.parameters()),
    }


@pytest.mark.parametrize("opt_name", ["adam", "sgd", "rmsprop"])
def test_mlp_with_scheduler_replays_bit_for_bit(opt_name: str) -> None:
    _, c = _twins(lambda: _mlp_case(opt_name), n=9)
    assert c["compiled"].replays == 7


def test_dropout_draws_the_eager_masks() -> None:
    _, c = _twins(lambda: _mlp_case("adam", dropout=0.5), n=6)
    assert c["compiled"].replays == 4


def test_cnn_with_batchnorm_and_dropout_replays_bit_for_bit() -> None:
    """Running statistics (in-place updates), channel dropout, convolution,
    pooling, and a new batch each call."""

    def make() -> dict[str, Any]:
        mg.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Dropout2d(0.25),
            nn.Flatten(),
            nn.Linear(4 * 3 * 3, 5),
        )
        opt = optim.Adam(model.parameters(), lr=1e-2)
        rng = np.random.default_rng(2)
        xs = [rng.standard_normal((6, 1, 6, 6)).astype(np.float32) for _ in range(3)]
        ys = [rng.integers(0, 5, 6) for _ in range(3)]

        def step(x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return {
            "step": step,
            "args": lambda i: (mg.tensor(xs[i % 3]), mg.tensor(ys[i % 3])),
            "params": [*model.parameters(), *model.buffers()],
        }

    _, c = _twins(make, n=6)
    assert c["compiled"].replays == 4


def test_lstm_replays_bit_for_bit() -> None:
    """A zero initial state made inside the module is a constant of the tape."""

    def make() -> dict[str, Any]:
        mg.manual_seed(0)
        emb, lstm, head = (
            nn.Embedding(9, 4),
            nn.LSTM(4, 6, batch_first=True),
            nn.Linear(6, 9),
        )
        params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
        opt = optim.SGD(params, lr=0.1)
        rng = np.random.default_rng(3)
        seqs = [mg.tensor(rng.integers(0, 9, (3, 5))) for _ in range(2)]

        def step(x: mg.Tensor) -> mg.Tensor:
            opt.zero_grad()
            h, _ = lstm(emb(x))
            loss = F.cross_entropy(head(h[:, -1]), x[:, 0])
            loss.backward()
            opt.step()
            return loss

        return {"step": step, "args": lambda i: (seqs[i % 2],), "params": params}

    _, c = _twins(make, n=5)
    assert c["compiled"].replays == 3


def test_manual_update_with_inplace_tensor_ops() -> None:
    """micrograd's loop on Tensors: ``p -= lr * p.grad`` under no_grad and
    ``p.grad.zero_()``, recorded as calls and .grad reads."""

    def make() -> dict[str, Any]:
        model = _mlp()
        params = list(model.parameters())
        x = mg.tensor(np.linspace(-1, 1, 30, dtype=np.float32).reshape(5, 6))

        def step(x: mg.Tensor) -> mg.Tensor:
            loss = (model(x) ** 2).mean()
            loss.backward()
            with mg.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
                    p.grad.zero_()
            return loss

        return {"step": step, "args": lambda i: (x,), "params": params}

    _, c = _twins(make, n=6)
    assert c["compiled"].replays == 4


def test_gradient_penalty_replays_double_backward() -> None:
    """create_graph inside the step: the replayed backward records its graph
    again, and the second derivative is the eager one."""

    def make() -> dict[str, Any]:
        model = _mlp(dtype=mg.float64)
        opt = optim.SGD(model.parameters(), lr=0.05)
        x = mg.tensor(np.linspace(-1, 1, 30).reshape(5, 6), requires_grad=True)

        def step(x: mg.Tensor) -> mg.Tensor:
            opt.zero_grad()
            (gx,) = mg.autograd.grad(model(x).sum(), [x], create_graph=True)
            loss = (gx**2).sum()
            loss.backward()
            x.grad = None
            opt.step()
            return loss

        return {
            "step": step,
            "args": lambda i: (x,),
            "params": list(model.parameters()),
        }

    _, c = _twins(make, n=5)
    assert c["compiled"].replays == 3


def test_accumulating_gradients_without_zero_grad() -> None:
    def make() -> dict[str, Any]:
        model = _mlp()
        x = mg.tensor(np.ones((2, 6), np.float32))

        def step(x: mg.Tensor) -> mg.Tensor:
            loss = model(x).sum()
            loss.backward()
            return loss

        params = list(model.parameters())
        return {"step": step, "args": lambda i: (x,), "params": [*params, params[0]]}

    e, c = _twins(make, n=5)
    for p, q in zip(e["params"], c["params"]):
        _assert_same(p.grad, q.grad, "accumulated .grad")


# -- fallbacks name their reason -------------------------------------------------


def _fallback(make: Callable[[], dict[str, Any]], match: str, n: int = 5) -> Any:
    with pytest.warns(CaptureWarning, match=match):
        _, c = _twins(make, n=n)
    assert c["compiled"].replays == 0
    return c["compiled"]


def _simple(
    body: Callable[[nn.Module, Any, mg.Tensor], mg.Tensor],
) -> Callable[[], Any]:
    def make() -> dict[str, Any]:
        model = _mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        x = mg.tensor(np.linspace(-1, 1, 30, dtype=np.float32).reshape(5, 6))

        def step(x: mg.Tensor) -> mg.Tensor:
            return body(model, opt, x)

        return {
            "step": step,
            "args": lambda i: (x,),
            "params": list(model.parameters()),
        }

    return make


def _sgd_body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
    opt.zero_grad()
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
    return loss


def test_reading_a_value_falls_back() -> None:
    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        loss = _sgd_body(model, opt, x)
        if loss.item() > 1e9:  # data-dependent control flow
            opt.zero_grad()
        return loss

    step = _fallback(
        _simple(body), r"reads a tensor's value into Python \(Tensor.item at"
    )
    assert "test_capture.py" in step.fallback_reason


def test_branching_on_data_through_numpy_falls_back() -> None:
    calls: dict[int, int] = {}

    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        n = calls[id(model)] = calls.get(id(model), 0) + 1
        loss = _sgd_body(model, opt, x)
        return loss * 2 if n % 2 else loss.exp()  # changes every call

    _fallback(_simple(body), "its calls record different tapes")


def test_tensor_made_inside_the_step_is_a_constant_while_it_does_not_change() -> None:
    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        target = mg.Tensor(np.full((5, 3), 0.5, np.float32))  # not an op or call
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    _, c = _twins(_simple(body), n=5)
    assert c["compiled"].replays == 3


def test_tensor_made_inside_the_step_that_changes_falls_back() -> None:
    calls: dict[int, int] = {}

    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        n = calls[id(model)] = calls.get(id(model), 0) + 1
        target = mg.Tensor(np.full((5, 3), n, np.float32))  # Python state
        opt.zero_grad()
        loss = ((model(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    _fallback(
        _simple(body),
        "made inside the step by something that is not a recorded op",
    )


def test_update_through_data_falls_back() -> None:
    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        model.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data  # numpy: the tape cannot see it
        return loss

    _fallback(_simple(body), "changes in a way the tape cannot see")


def test_grad_reset_by_assignment_falls_back() -> None:
    def body(model: nn.Module, opt: Any, x: mg.Tensor) -> mg.Tensor:
        for p in model.parameters():
            p.grad = None
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    _fallback(_simple(body), r"\.grad of a tensor of shape .* is replaced")


# -- guards ------------------------------------------------------------------------


def test_new_shapes_and_modes_are_recorded_anew() -> None:
    model = _mlp(dropout=0.3)
    twin = _mlp(dropout=0.3)
    opts = [optim.Adam(m.parameters(), lr=1e-2) for m in (model, twin)]

    def make_step(m: nn.Module, opt: Any) -> Callable[..., Any]:
        def step(x: mg.Tensor, scale: float) -> mg.Tensor:
            opt.zero_grad()
            loss = (m(x) * scale).pow(2).mean()
            loss.backward()
            opt.step()
            return loss

        return step

    eager, compiled = make_step(model, opts[0]), mg.compile(make_step(twin, opts[1]))
    rng = np.random.default_rng(0)
    plan = [(5, 1.0, True)] * 3 + [(7, 1.0, True)] * 3 + [(5, 2.0, True)] * 3
    plan += [(5, 1.0, False)] * 3 + [(5, 1.0, True)] * 2 + [(7, 1.0, True)]
    for i, (rows, scale, training) in enumerate(plan):
        x = mg.tensor(rng.standard_normal((rows, 6)).astype(np.float32))
        model.train(training)
        twin.train(training)
        mg.manual_seed(i)
        a = eager(x, scale)
        mg.manual_seed(i)
        b = compiled(x, scale)
        _assert_same(a, b, f"call {i + 1} {rows, scale, training}")
        for p, q in zip(model.parameters(), twin.parameters()):
            _assert_same(p, q, f"parameter after call {i + 1}")
    # four signatures, each recorded twice then replayed
    assert compiled.eager_calls == 8
    assert compiled.replays == len(plan) - 8


def test_no_grad_call_is_another_signature() -> None:
    model = _mlp()
    step = mg.compile(lambda x: model(x).sum())
    x = mg.tensor(np.ones((2, 6), np.float32))
    for _ in range(3):
        assert step(x).requires_grad
    with mg.no_grad():
        for _ in range(3):
            assert not step(x).requires_grad


def test_too_many_signatures_warn_and_run_eagerly() -> None:
    model = _mlp()
    step = mg.compile(lambda x: model(x).sum(), max_signatures=2)
    for rows in (1, 2):
        step(mg.tensor(np.ones((rows, 6), np.float32)))
    with pytest.warns(CaptureWarning, match="more than 2 signatures"):
        out = step(mg.tensor(np.ones((3, 6), np.float32)))
    assert out.shape == ()


def test_nested_compiled_step_runs_inside_the_outer_tape() -> None:
    model = _mlp()
    inner = mg.compile(lambda x: model(x).sum())
    outer = mg.compile(lambda x: inner(x) * 2)
    x = mg.tensor(np.ones((2, 6), np.float32))
    ref = model(x).sum() * 2
    for _ in range(4):
        _assert_same(outer(x), ref, "nested")
    assert outer.replays == 2
    assert inner.replays == 0


def test_compile_arguments() -> None:
    with pytest.raises(TypeError, match="expected a callable"):
        mg.compile(3)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="max_signatures must be >= 1"):
        mg.compile(lambda: None, max_signatures=0)
    with pytest.raises(TypeError, match="max_signatures must be an int"):
        mg.compile(lambda: None, max_signatures=1.5)  # type: ignore[arg-type]

    @mg.compile(max_signatures=3)
    def f(x: mg.Tensor) -> mg.Tensor:
        return x * 2

    assert f.__name__ == "f"
    t = mg.tensor([1.0, 2.0])
    for _ in range(3):
        _assert_same(f(t), mg.tensor([2.0, 4.0]), "decorated")
    assert f.replays == 1


def test_replay_is_checked_against_the_eager_results() -> None:
    """The comparisons above can fail: a tape whose optimizer call is dropped
    gives other parameters than the eager step."""
    e, c = _xor_case(), _xor_case()
    step = mg.compile(c["step"])
    for _ in range(3):
        step(*c["args"](0))
        e["step"](*e["args"](0))
    tape = step._hot[0]
    tape.entries = [
        en for en in tape.entries if en[0] != 4 or en[1].name() != "Optimizer.step"
    ]
    step(*c["args"](0))
    e["step"](*e["args"](0))
    same = [
        p.data.tobytes() == q.data.tobytes()
        for p, q in zip(e["params"], c["params"], strict=True)
    ]
    assert not any(same)


def test_keyword_and_nested_arguments_and_results() -> None:
    def make() -> dict[str, Any]:
        model = _mlp()
        opt = optim.SGD(model.parameters(), lr=0.1)
        rng = np.random.default_rng(4)
        xs = [
            mg.tensor(rng.standard_normal((4, 6)).astype(np.float32)) for _ in range(2)
        ]

        def step(batch: tuple[mg.Tensor, ...], *, scale: float) -> dict[str, Any]:
            (x,) = batch
            opt.zero_grad()
            out = model(x)
            loss = (out * scale).pow(2).mean()
            loss.backward()
            opt.step(closure=None)
            return {"loss": loss, "parts": [out, scale]}

        return {"step": step, "batch": lambda i: (xs[i % 2],)}

    def as_list(d: dict[str, Any]) -> list[Any]:
        return [d["loss"], *d["parts"]]

    eager, compiled = make(), make()
    step = mg.compile(compiled["step"])
    for i in range(5):
        a = eager["step"](eager["batch"](i), scale=0.5)
        b = step(compiled["batch"](i), scale=0.5)
        _assert_same(as_list(a), as_list(b), f"call {i + 1}")
    assert step.replays == 3
