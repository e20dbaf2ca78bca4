"""Fuzz case for ``_act.relu_bias_backward`` (Linear+ReLU backward and the bias
gradient in one pass, csrc/act/relu_bias.c): random shapes, layouts (every
operand layout of tests/fuzz/arrays.py for y and g), values with specials,
dtypes, thread counts and ISAs, against numpy."""

from __future__ import annotations

import numpy as np

from minigrad._C import _act
from tests.fuzz.arrays import side
from tests.fuzz.cases import Args, Call, f64, float_dtype, isa, operand, threads


def case_relu_bias(f) -> Call:
    r, a = f.r, Args()
    dt = float_dtype(f, a)
    nt = threads(f, a)
    rows, cols = side(r), side(r)
    if nt is not None and r.random() < 0.2:
        rows, cols = r.choice(((400, 300), (70, 2000), (100_000, 3)))
    yv = f.values((rows, cols), family="act")
    np.maximum(yv, 0, out=yv, where=~np.isnan(yv))  # a relu's output
    gshape = (rows, cols)
    if r.random() < 0.03:
        gshape = r.choice(((cols, rows), (rows, cols, 1), (rows * cols,)))
        if gshape != (rows, cols):
            a.invalid(f"g shape {gshape}")
    gv = f.values(gshape, family="act")
    y = operand(f, a, yv, dt, "y", "act")
    gdt = dt
    if r.random() < 0.03 and dt.kind == "f":
        gdt = np.dtype(np.float64 if dt == np.float32 else np.float32)
        a.invalid("g dtype")
    g = operand(f, a, gv, gdt, "g", "act")
    if dt.kind != "f" or isinstance(y, list) or isinstance(g, list):
        a.bad = a.bad or ["bad operand"]
    bias = r.random() < 0.8
    kw = {"bias": bias, "isa": isa(f, a)}
    if nt is not None:
        kw["nthreads"] = nt
    # The values the kernel must see (a zero-stride layout repeats one).
    yin = f64(y) if isinstance(y, np.ndarray) else None
    gin = f64(g) if isinstance(g, np.ndarray) else None

    def check(res):
        gz, db = res
        assert gz.shape == (rows, cols)
        assert gz.dtype == dt
        assert gz.flags.c_contiguous
        with np.errstate(all="ignore"):
            yr = yin.astype(dt)
            ref = np.where(yr <= 0, 0, gin.reshape(rows, cols).astype(dt))
        np.testing.assert_array_equal(gz, ref)
        if not bias:
            assert db is None
            return
        start = np.zeros((1, cols), dt)
        with np.errstate(all="ignore"):
            want = np.add.accumulate(np.concatenate([start, ref]), axis=0)[-1]
        np.testing.assert_array_equal(db, want)

    return Call(
        "act.relu_bias_backward",
        _act.relu_bias_backward,
        (y, g),
        kw,
        check,
        a.expect(),
        "; ".join(a.bad),
    )
