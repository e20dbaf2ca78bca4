"""The kernels leave the FPU as they found it: an MMX instruction without emms
(GCC 12 vectorised an int reduction of xent_bwd's generic float32 kernel into
one) leaves the x87 unit in MMX state, and every later long-double operation of
the process gives NaN (numpy's longdouble, matplotlib's tick code, qr). Run in a
subprocess: a broken state would poison the rest of the test session."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CODE = textwrap.dedent(
    """
    import numpy as np
    from minigrad._C import _act, _softmax as S

    def x87_ok():
        return bool(np.isfinite(np.longdouble(1) + 1))

    rng = np.random.default_rng(0)
    bad = []
    for isa in [i for i in _act.ISAS if _act.has_isa(i)]:
        for dt in (np.float32, np.float64):
            for c in (10, 100):
                x = rng.standard_normal((3, c)).astype(dt)
                t = np.array([1, 2, 3])
                for special in ("nan", "inf", "-inf", "1e30", "-0.0"):
                    lse = np.array([0.5, float(special), -1.0], dt)
                    S.xent_bwd(x, lse, t, np.ones((), dt), isa=isa)
                    S.softmax_bwd(x, x, -1, log=True, isa=isa)
                    S.xent_fused(x, t, reduction=1, grad=True, isa=isa)
                    xs = x.copy()
                    xs[0, 0] = dt(float(special))
                    S.softmax_fwd(xs, -1, log=True, isa=isa)
                    for op in _act.OPS:
                        _act.forward(op, xs, isa=isa)
                        _act.backward(op, xs, x, isa=isa)
                    if not x87_ok():
                        bad.append((isa, dt.__name__, c, special))
    print(bad)
    """
)


def test_kernels_leave_the_x87_unit_usable():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
