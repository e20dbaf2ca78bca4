"""Results do not depend on the thread count, bit for bit.

Kernels are asked for fewer threads while other processes hold cores
(Note [Sharing cores] in minigrad/backend.py), so a training run is only
reproducible if no kernel's bits depend on how many threads it got. The
weight gradient, a sum over the batch, is where this can fail (Note [Weight
gradient parts] in csrc/conv/conv_tmpl.h)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn, optim
from minigrad._C import _conv
from minigrad.nn import functional as F
from tests.helpers import examples

THREADS = (1, 2, 3, 5)


@st.composite
def geometries(draw):
    nd = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, 1)) for _ in range(nd))
    # Up to 40 x 40: past MG_CONV_BATCH_MAX_POSITIONS, one image per item.
    side = draw(st.sampled_from([3, 9, 40] if nd == 2 else [5, 300, 1500]))
    size = tuple(max(side, ki) for ki in k)
    n = draw(st.integers(0, 13))
    return n, cin, cout, groups, size, k, s, p


@examples(40, deadline=None)
@given(
    geometry=geometries(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_conv_kernels_give_the_same_bits_on_any_thread_count(geometry, dtype, seed):
    n, cin, cout, groups, size, k, s, p = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, *size)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *k)).astype(dtype)
    geo = {"stride": s, "padding": p, "dilation": (1,) * len(k), "groups": groups}
    out = _conv.output_size(size, k, s, p, geo["dilation"])
    gy = rng.standard_normal((n, cout, *out)).astype(dtype)

    def run(threads: int) -> list[np.ndarray]:
        kw = {**geo, "num_threads": threads}
        return [
            _conv.conv_forward(x, w, **kw),
            _conv.conv_backward_input(gy, w, input_size=size, **kw),
            _conv.conv_backward_weight(x, gy, kernel_size=k, **kw),
        ]

    one = run(1)
    for threads in THREADS[1:]:
        for name, a, b in zip(
            ("forward", "input grad", "weight grad"), one, run(threads)
        ):
            assert a.tobytes() == b.tobytes(), (name, threads)


@pytest.fixture
def exact_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels get the count set, not fewer while other processes hold cores
    (as when the process sees only part of the machine): else, on a busy
    machine, every run would get one thread and the tests could not fail."""
    monkeypatch.setattr(backend._Load, "cpus", 0)


def test_conv_layer_gradients_do_not_change_with_the_thread_count(exact_threads):
    """Through the layer and the engine, many images of more than
    MG_CONV_BATCH_MAX_POSITIONS positions: dozens of items per weight
    gradient, the case whose partial sums used to follow the threads."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((13, 16, 36, 36)).astype(np.float32))
    w0 = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    before = mg.get_num_threads()
    grads = []
    try:
        for threads in THREADS:
            mg.set_num_threads(threads)
            w = mg.tensor(w0, requires_grad=True)
            (F.conv2d(x, w, padding=1) ** 2).mean().backward()
            grads.append(w.grad.numpy().tobytes())
    finally:
        mg.set_num_threads(before)
    assert len(set(grads)) == 1


def _train(threads: int) -> list[bytes]:
    """Three Adam steps of a CNN (convolution, pooling, batch norm, GEMMs,
    fused cross-entropy) and a BCE head, large enough for every kernel to
    split its work when it has threads."""
    mg.set_num_threads(threads)
    mg.manual_seed(0)
    body = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 9 * 9, 256),
        nn.Tanh(),
    )
    heads = nn.Linear(256, 10), nn.Linear(256, 1)
    params = [*body.parameters(), *heads[0].parameters(), *heads[1].parameters()]
    opt = optim.Adam(params, lr=1e-3)
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((48, 3, 36, 36)).astype(np.float32))
    y = mg.tensor(rng.integers(0, 10, 48))
    z = mg.tensor((rng.random((48, 1)) > 0.5).astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        h = body(x)
        loss = F.cross_entropy(heads[0](h), y) + F.binary_cross_entropy_with_logits(
            heads[1](h), z
        )
        loss.backward()
        opt.step()
    return [p.detach().numpy().tobytes() for p in params]


def test_training_steps_give_the_same_bits_on_any_thread_count(exact_threads):
    before = mg.get_num_threads()
    try:
        runs = [_train(threads) for threads in THREADS[:3]]
    finally:
        mg.set_num_threads(before)
    for threads, run in zip(THREADS[1:3], runs[1:]):
        assert run == runs[0], threads
