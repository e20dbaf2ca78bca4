"""The fused optimizer step's loops for each instruction set (csrc/optim,
Note [Optimizer ISA]) give the numpy reference path's bits, and the wrapper
validates ``isa``."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad._C import _gemm, _optim
from minigrad.errors import ArgumentError
from tests.helpers import examples
from tests.test_optim_fused import CASES, IDS, _assert_same, _trajectory

ISAS = [i for i in _optim.ISAS if _gemm.has_isa(i)]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(("cls", "kw"), CASES, ids=IDS)
@examples(2, deadline=None)
@given(
    shapes=st.lists(
        st.lists(st.integers(0, 40), max_size=2).map(tuple), min_size=1, max_size=4
    ),
    seed=st.integers(0, 2**31),
)
def test_each_isa_equals_numpy_path(isa, cls, kw, shapes, seed):
    # Sizes up to 1600 per segment: full vectors of every width and the tails.
    ref = {}
    for dtype in (np.float64, np.float32):
        ref[dtype] = _trajectory(cls, kw, shapes, dtype, False, 6, seed, {1})
    with pytest.MonkeyPatch.context() as m:
        m.setattr(_optim, "step", functools.partial(_optim.step, isa=isa))
        for dtype in (np.float64, np.float32):
            got = _trajectory(cls, kw, shapes, dtype, True, 6, seed, {1})
            _assert_same(ref[dtype], got, exact=True)


def _adam_args(n: int = 100) -> tuple:
    r = np.random.default_rng(0)
    x, g = r.standard_normal(n), r.standard_normal(n)
    hp = (0.1, 0.9, 0.99, 1e-8, 0.0, 0.0, 0.0, 0.0)
    return ("adam", [x], [g], [np.zeros(n)], [np.zeros(n)], None, [1], None, hp)


def test_isas_agree_on_one_call():
    outs = []
    for isa in [None, *ISAS]:
        args = _adam_args()
        _optim.step(*args, isa=isa)
        outs.append(args[1][0].tobytes() + args[3][0].tobytes())
    assert len(set(outs)) == 1


def test_isa_validation():
    with pytest.raises(ArgumentError, match="unknown instruction set"):
        _optim.step(*_adam_args(), isa="sse9")
    for isa in _optim.ISAS:
        if not _gemm.has_isa(isa):
            with pytest.raises(ArgumentError, match="cannot run"):
                _optim.step(*_adam_args(), isa=isa)
