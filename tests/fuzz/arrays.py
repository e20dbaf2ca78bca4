"""Random operands for the fuzzer: shapes, values and memory layouts.

Every array is made from its logical values (a float64 array) and a layout:
C order, transposed, stepped or reversed slices, zero strides, a view into a
bigger buffer, the other byte order, or a buffer misaligned by 1-7 bytes. The
values a reference should see are always ``np.asarray(a, np.float64)``: numpy
reads every layout correctly, so a kernel that does not is caught by the
comparison.
"""

from __future__ import annotations

import random

import numpy as np

LAYOUTS = (
    "c", "c", "c", "f", "step", "neg", "zero", "view", "swap", "misaligned",
    "misaligned_swap", "bigbase",
)  # fmt: skip
SPECIALS = (
    np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 1e-40, 3.4e38, -3.4e38,
    1e300, -1e300, 88.7, -88.7, 89.0, -104.0, 709.8, -745.2, 710.0, 20.0, -20.0,
)  # fmt: skip


def side(r: random.Random, large: bool = True) -> int:
    """One dimension: mostly 0-3 and small, sometimes past a SIMD width or a
    block size, rarely large."""
    u = r.random()
    if u < 0.35:
        return r.choice((0, 1, 1, 2, 3))
    if u < 0.8:
        return r.randint(4, 17)
    if u < 0.97 or not large:
        return r.choice((31, 32, 33, 63, 64, 65, 127, 129))
    return r.choice((255, 257, 511, 1000))


def shape(
    r: random.Random,
    min_dims: int = 0,
    max_dims: int = 4,
    max_size: int = 40_000,
    big: bool = False,
) -> tuple[int, ...]:
    """Mostly small shapes; with ``big`` (or rarely), one of 70 000 - 400 000
    elements: past the kernels' thresholds for using threads."""
    if big or r.random() < 0.003:
        total = r.choice((70_000, 131_072, 400_001))
        nd = max(min_dims, min(max_dims, r.choice((1, 2))))
        if nd == 0:
            return ()
        if nd == 1:
            return (total,)
        c = r.choice((1, 7, 64, 1000))
        return (total // c, c) + (1,) * (nd - 2)
    nd = r.randint(min_dims, max_dims)
    s = [side(r) for _ in range(nd)]
    while int(np.prod(s, dtype=np.int64)) > max_size:
        i = max(range(nd), key=lambda j: s[j])
        s[i] //= 3
    return tuple(s)


def values(
    r: random.Random,
    rng: np.random.Generator,
    shp: tuple[int, ...],
    lo: float = -4.0,
    hi: float = 4.0,
    specials: bool = True,
) -> np.ndarray:
    """float64 values in [lo, hi], sometimes with special values sprinkled in
    (or, when ``specials`` is a float in (0, 1], that fraction of them)."""
    v = np.asarray(rng.uniform(lo, hi, shp))
    if specials and v.size and r.random() < 0.15:
        k = max(1, int(v.size * r.choice((0.01, 0.1, 0.5, 1.0))))
        idx = rng.integers(0, v.size, k)
        v.reshape(-1)[idx] = rng.choice(np.array(SPECIALS), k)
    return v


def has_nonfinite(a: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        return not bool(np.isfinite(np.asarray(a, np.float64)).all())


def layout(
    r: random.Random,
    v: np.ndarray,
    dtype: np.dtype,
    kind: str | None = None,
    writeable: bool = False,
) -> tuple[np.ndarray, str]:
    """(array with the values ``v`` as ``dtype`` in layout ``kind``, kind).

    With ``writeable``, layouts that numpy makes read-only (zero strides) are
    replaced by C order."""
    kind = kind or r.choice(LAYOUTS)
    dt = np.dtype(dtype)
    x = v.astype(dt)
    if (
        kind == "c"
        or dt.kind not in "fc"
        or (x.ndim == 0 and kind in ("f", "step", "neg", "zero"))
    ):
        return np.array(x), "c"
    if kind == "f":
        return np.asfortranarray(x), kind
    if kind == "step":
        big = np.zeros(tuple(2 * n + 1 for n in x.shape), dt)
        sl = tuple(slice(1, None, 2) for _ in x.shape)
        big[sl] = x
        return big[sl], kind
    if kind == "neg":
        flip = tuple(slice(None, None, -1) for _ in x.shape)
        return np.array(x[flip])[flip], kind
    if kind == "zero":
        if writeable or x.ndim == 0:
            return np.array(x), "c"
        # Broadcast a row: every index along axis 0 reads the same memory.
        ax = r.randrange(x.ndim)
        row = np.take(x, [0], axis=ax) if x.shape[ax] else x
        xv = np.broadcast_to(row, x.shape)
        return xv, kind  # note: values differ from v; callers use asarray(xv)
    if kind == "view":
        flat = np.zeros(x.size + 3, dt)
        flat[2 : 2 + x.size] = x.reshape(-1)
        return flat[2 : 2 + x.size].reshape(x.shape), kind
    if kind == "bigbase":
        big = np.zeros((3, *x.shape), dt)
        big[1] = x
        return big[1, ...], kind
    if kind == "swap":
        return x.astype(dt.newbyteorder()), kind
    if kind in ("misaligned", "misaligned_swap"):
        d = dt.newbyteorder() if kind == "misaligned_swap" else dt
        off = r.randint(1, dt.itemsize - 1)
        buf = bytearray(x.nbytes + off)
        m = np.frombuffer(buf, dtype=d, count=x.size, offset=off).reshape(x.shape)
        m[...] = x
        return m, kind
    raise AssertionError(kind)


def describe(a: object) -> str:
    if not isinstance(a, np.ndarray):
        s = repr(a)
        return s if len(s) < 80 else s[:77] + "..."
    f = a.flags
    lay = []
    if not f.aligned:
        lay.append("misaligned")
    if not a.dtype.isnative:
        lay.append("swapped")
    if not f.c_contiguous:
        lay.append(f"strides={a.strides}")
    if not f.writeable:
        lay.append("readonly")
    nf = " nonfinite" if a.dtype.kind == "f" and a.size and has_nonfinite(a) else ""
    return f"array{a.shape}:{a.dtype.str}{' ' + ','.join(lay) if lay else ''}{nf}"
