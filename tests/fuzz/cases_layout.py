"""Fuzz case for ``_layout.c_order_copy`` (csrc/layout/transpose_copy.c):
random 2-D shapes, mostly column-major (the tiled kernel's input, also with a
leading dimension past the rows), else any operand layout of
tests/fuzz/arrays.py; values with specials, both dtypes, every ISA; the copy
must be numpy's C-order copy, bit for bit."""

from __future__ import annotations

import numpy as np

from minigrad._C import _layout
from tests.fuzz.arrays import layout, side
from tests.fuzz.cases import Args, Call, float_dtype, isa


def case_layout(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a, p_bad=0.0)
    rows, cols = side(r), side(r)
    v = f.values((rows, cols), family="act")
    if r.random() < 0.7:
        # Column-major, its columns ld >= rows values apart.
        extra = r.choice((0, 0, 1, 5, 16))
        base = np.zeros((cols, rows + extra), dt)
        base[:, :rows] = v.T.astype(dt)
        x = base[:, :rows].T
    else:
        x, kind = layout(r, v, dt)
        if kind == "swap" or kind == "misaligned_swap":
            a.lenient.append("byte-swapped")
    want = np.array(x, order="C")

    def check(res):
        assert res.flags.c_contiguous
        assert res.flags.owndata
        assert res.dtype == want.dtype
        assert res.shape == want.shape
        assert res.tobytes() == want.tobytes()

    return Call(
        "layout.c_order_copy",
        _layout.c_order_copy,
        (x,),
        {"isa": isa(f, a)},
        check,
        a.expect(),
        "; ".join(a.bad),
    )
