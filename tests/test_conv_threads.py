"""Convolution results do not depend on the thread count, bit for bit.

Kernels are asked for fewer threads while other processes hold cores
(Note [Sharing cores] in minigrad/backend.py), so a training run is only
reproducible if no kernel's bits depend on how many threads it got. The
weight gradient, a sum over the batch, is where this can fail (Note [Weight
gradient parts] in csrc/conv/conv_tmpl.h)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
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


def test_conv_layer_gradients_do_not_change_with_the_thread_count():
    """Through the layer and the engine, many images of more than
    MG_CONV_BATCH_MAX_POSITIONS positions: dozens of items per weight
    gradient, the case whose partial sums used to follow the threads."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((13, 3, 36, 36)).astype(np.float32))
    w0 = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
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
