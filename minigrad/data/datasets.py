"""Built-in datasets for the classic exercises. Layer: data.

Imports ``minigrad.data`` and ``minigrad.random``; :func:`load_digits` reads
scikit-learn's data file (importing scikit-learn only if it cannot find it).
Every function returns a :class:`TensorDataset` of ``(X, y)``; ``X, y =
ds.tensors`` gets the whole tensors.

Label conventions, so that each set plugs into the usual loss:

- two classes (logic gates, moons, circles, exam scores): ``y`` is float32 of
  shape ``(N, 1)`` holding 0.0 / 1.0, ready for a sigmoid output and
  ``nn.BCELoss`` (or ``BCEWithLogitsLoss``);
- several classes (spirals, digits, MNIST): ``y`` is int64 of shape ``(N,)``
  holding class indices, ready for ``nn.CrossEntropyLoss``.

The synthetic sets draw from ``generator``: a ``numpy.random.Generator``, an
int seed, or None for minigrad's global generator (``mg.manual_seed``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from minigrad.data.dataset import TensorDataset
from minigrad.data.idx import read_idx
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator

__all__ = [
    "GATES",
    "exam_scores",
    "load_digits",
    "load_mnist",
    "logic_gate",
    "make_circles",
    "make_moons",
    "make_spirals",
]

GeneratorLike = np.random.Generator | int | None

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES: dict[str, tuple[int, int, int, int]] = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "NOR": (1, 0, 0, 0),
    "XOR": (0, 1, 1, 0),
    "XNOR": (1, 0, 0, 1),
}


def _rng(generator: GeneratorLike) -> np.random.Generator:
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    if generator is None or isinstance(generator, np.random.Generator):
        return get_generator(generator)
    raise TypeError(
        "generator must be a numpy.random.Generator, an int seed or None, got "
        f"{type(generator).__name__}"
    )


def _binary(x: np.ndarray, y: np.ndarray) -> TensorDataset:
    return TensorDataset(x.astype(np.float32), y.astype(np.float32).reshape(-1, 1))


def _check_n(name: str, n: int, minimum: int = 1) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < minimum:
        raise ArgumentError(f"{name}: n_samples must be an int >= {minimum}, got {n!r}")
    return int(n)


def logic_gate(name: str) -> TensorDataset:
    """The truth table of a two-input logic gate.

    Parameters
    ----------
    name : str
        ``"AND"``, ``"OR"``, ``"NAND"``, ``"NOR"``, ``"XOR"`` or ``"XNOR"``
        (any case).

    Returns
    -------
    TensorDataset
        ``X`` float32 ``(4, 2)``: the inputs 00, 01, 10, 11; ``y`` float32
        ``(4, 1)``: the gate's output.

    Raises
    ------
    ValueError
        An unknown gate.
    """
    key = str(name).upper()
    if key not in GATES:
        raise ArgumentError(
            f"logic_gate: unknown gate {name!r}; choose from {list(GATES)}"
        )
    return _binary(_INPUTS.copy(), np.array(GATES[key]))


def make_moons(
    n_samples: int = 200, noise: float = 0.1, generator: GeneratorLike = None
) -> TensorDataset:
    """Two interleaving half circles (two classes), shuffled.

    Class 0 lies on ``(cos a, sin a)`` and class 1 on ``(1 - cos a, 0.5 - sin a)``
    for angles ``a`` drawn uniformly from ``[0, pi]``; Gaussian noise of standard
    deviation ``noise`` is added to both coordinates.

    Parameters
    ----------
    n_samples : int
        Total points; class 0 gets ``n_samples // 2``.
    noise : float
        Standard deviation of the noise (>= 0).
    generator : numpy.random.Generator, int or None

    Returns
    -------
    TensorDataset
        ``X`` float32 ``(n, 2)``, ``y`` float32 ``(n, 1)``.
    """
    n = _check_n("make_moons", n_samples, 2)
    rng = _rng(generator)
    n0 = n // 2
    a = rng.uniform(0.0, np.pi, n)
    x = np.stack([np.cos(a), np.sin(a)], axis=1)
    x[n0:] = 1.0 - x[n0:]
    x[n0:, 1] -= 0.5
    x += rng.normal(0.0, noise, x.shape)
    y = (np.arange(n) >= n0).astype(np.float32)
    perm = rng.permutation(n)
    return _binary(x[perm], y[perm])


def make_circles(
    n_samples: int = 200,
    noise: float = 0.05,
    factor: float = 0.5,
    generator: GeneratorLike = None,
) -> TensorDataset:
    """A circle inside another (two classes), shuffled.

    Class 0 lies on the unit circle, class 1 on the circle of radius ``factor``,
    at angles drawn uniformly from ``[0, 2 pi)``; Gaussian noise of standard
    deviation ``noise`` is added to both coordinates.

    Parameters
    ----------
    n_samples : int
        Total points; the outer circle gets ``n_samples // 2``.
    noise : float
        Standard deviation of the noise (>= 0).
    factor : float
        Radius of the inner circle, in (0, 1).
    generator : numpy.random.Generator, int or None

    Returns
    -------
    TensorDataset
        ``X`` float32 ``(n, 2)``, ``y`` float32 ``(n, 1)`` (1 = inner circle).
    """
    n = _check_n("make_circles", n_samples, 2)
    if not 0.0 < factor < 1.0:
        raise ArgumentError(f"make_circles: factor must be in (0, 1), got {factor!r}")
    rng = _rng(generator)
    n0 = n // 2
    a = rng.uniform(0.0, 2 * np.pi, n)
    r = np.where(np.arange(n) < n0, 1.0, factor)
    x = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    x += rng.normal(0.0, noise, x.shape)
    y = (np.arange(n) >= n0).astype(np.float32)
    perm = rng.permutation(n)
    return _binary(x[perm], y[perm])


def make_spirals(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    generator: GeneratorLike = None,
) -> TensorDataset:
    """Interleaved spiral arms, one per class (the CS231n toy problem).

    Class ``k`` has points at radius ``r`` (evenly spaced in [0, 1]) and angle
    ``4 r + 2 pi k / K`` radians plus Gaussian noise of standard deviation
    ``noise`` on the angle, so each arm winds about two thirds of a turn.

    Parameters
    ----------
    n_samples : int
        Total points, dealt as evenly as possible among the classes.
    n_classes : int
        Number of arms (>= 2).
    noise : float
        Standard deviation of the angular noise (>= 0).
    generator : numpy.random.Generator, int or None

    Returns
    -------
    TensorDataset
        ``X`` float32 ``(n, 2)``, ``y`` int64 ``(n,)`` in ``[0, n_classes)``.
    """
    if n_classes < 2:
        raise ArgumentError(f"make_spirals: n_classes must be >= 2, got {n_classes!r}")
    n = _check_n("make_spirals", n_samples, n_classes)
    rng = _rng(generator)
    y = np.arange(n) % n_classes
    y.sort()
    xs = np.empty((n, 2))
    for k in range(n_classes):
        idx = np.flatnonzero(y == k)
        r = np.linspace(0.0, 1.0, len(idx))
        a = 4.0 * r + 2 * np.pi * k / n_classes + rng.normal(0.0, noise, len(idx))
        xs[idx] = np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
    perm = rng.permutation(n)
    return TensorDataset(xs[perm].astype(np.float32), y[perm].astype(np.int64))


def exam_scores(n_samples: int = 100, generator: GeneratorLike = 0) -> TensorDataset:
    """Two exam scores per student and whether the student passed (synthetic).

    The generating process, so the learned model can be checked against it:
    both scores are drawn independently and uniformly from [30, 100]; a student
    with scores ``s1, s2`` passes with probability
    ``sigmoid((s1 + s2 - 130) / 5)``. The best possible decision boundary is
    therefore the line ``s1 + s2 = 130``, and labels near it are noisy, so even
    the best classifier misses a few percent. The default seed 0 gives the same
    students on every machine.

    Parameters
    ----------
    n_samples : int
        Number of students.
    generator : numpy.random.Generator, int or None
        0 by default (a fixed dataset); None draws from minigrad's generator.

    Returns
    -------
    TensorDataset
        ``X`` float32 ``(n, 2)``: the raw scores (standardize them before
        training); ``y`` float32 ``(n, 1)``: 1.0 = passed.
    """
    n = _check_n("exam_scores", n_samples)
    rng = _rng(generator)
    x = rng.uniform(30.0, 100.0, (n, 2))
    p = 1.0 / (1.0 + np.exp(-(x.sum(axis=1) - 130.0) / 5.0))
    y = rng.random(n) < p
    return _binary(x, y)


_DIGITS_FILE = ("datasets", "data", "digits.csv.gz")
_digits_cache: tuple[np.ndarray, np.ndarray] | None = None


def _digits_path() -> Path | None:
    """scikit-learn's digits.csv.gz, found without importing scikit-learn (its
    import takes seconds: it loads scipy)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root).joinpath(*_DIGITS_FILE)
        if path.is_file():
            return path
    return None


def _parse_digits(raw: bytes) -> np.ndarray | None:
    """The (1797, 65) table of digits.csv (64 pixels 0..16, then the label) as
    int64, parsed with array operations: every field is one or two decimal
    digits. None when the text is not of that form (np.loadtxt then reads it).
    """
    b = np.frombuffer(raw, np.uint8)
    sep = (b == ord(",")) | (b == ord("\n"))
    if b.size == 0 or not sep[-1] or not ((b[~sep] >= 48) & (b[~sep] <= 57)).all():
        return None
    ends = np.flatnonzero(sep)
    starts = np.concatenate(([0], ends[:-1] + 1))
    width = ends - starts
    rows = int(np.count_nonzero(b == ord("\n")))
    if width.min() < 1 or width.max() > 2 or rows == 0 or ends.size % rows:
        return None
    d = b.astype(np.int64) - 48
    values = d[ends - 1] + np.where(width == 2, 10 * d[ends - 2], 0)
    return values.reshape(rows, -1)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    global _digits_cache
    if _digits_cache is None:
        path = _digits_path()
        if path is None:
            try:
                from sklearn.datasets import load_digits as _sk_load_digits
            except ImportError:
                raise ImportError(
                    "load_digits needs scikit-learn, which ships the 8x8 digits; "
                    "install it with: pip install 'minigrad[demo]'  (or: pip "
                    "install scikit-learn)"
                ) from None
            bunch = _sk_load_digits()
            table = np.column_stack([bunch.data, bunch.target])
        else:
            import gzip

            raw = gzip.decompress(path.read_bytes())
            parsed = _parse_digits(raw)
            # None: another layout than the one parsed above
            table = np.loadtxt(path, delimiter=",") if parsed is None else parsed
        x = np.asarray(table[:, :-1], dtype=np.float32) / np.float32(16.0)
        _digits_cache = (x, np.asarray(table[:, -1], dtype=np.int64))
    return _digits_cache


def load_digits(flatten: bool = True) -> TensorDataset:
    """The 1797 handwritten 8x8 digits that scikit-learn ships (UCI optdigits).

    Read from scikit-learn's data file directly, without importing
    scikit-learn, and kept for later calls: a few milliseconds instead of
    seconds.

    Parameters
    ----------
    flatten : bool
        ``X`` of shape ``(1797, 64)`` if true, else ``(1797, 8, 8)``.

    Returns
    -------
    TensorDataset
        ``X`` float32 scaled to [0, 1] (the raw pixels are 0..16); ``y`` int64
        ``(1797,)`` in 0..9. Fresh arrays on every call.

    Raises
    ------
    ImportError
        scikit-learn is not installed (it is in the ``demo`` extra).
    """
    x, y = _digits_arrays()
    x = x.copy()
    if not flatten:
        x = x.reshape(-1, 8, 8)
    return TensorDataset(x, y.copy())


_MNIST_NAMES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root: Path, stem: str) -> Path:
    # Distributions spell the files with "-" or "." before idx, gzipped or not.
    alt = stem.replace("-idx", ".idx")
    tried = [root / f"{s}{ext}" for s in (stem, alt) for ext in ("", ".gz")]
    for p in tried:
        if p.is_file():
            return p
    raise FileNotFoundError(
        f"load_mnist: none of {[p.name for p in tried]} in {root}; download MNIST's "
        "IDX files there first"
    )


def load_mnist(
    root: str | os.PathLike[str], train: bool = True, flatten: bool = True
) -> TensorDataset:
    """MNIST (or a drop-in such as Fashion-MNIST) from IDX files you already have.

    Parameters
    ----------
    root : str or path-like
        The directory holding ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]`` and the ``t10k-`` pair.
    train : bool
        The training set (60000 images) or the test set (10000).
    flatten : bool
        ``X`` of shape ``(N, rows * cols)`` if true, else ``(N, rows, cols)``.

    Returns
    -------
    TensorDataset
        ``X`` float32 in [0, 1] (pixels / 255); ``y`` int64 ``(N,)``.

    Raises
    ------
    FileNotFoundError
        A file is missing.
    ValueError
        A corrupted file, images that are not 3-D uint8, labels that are not 1-D
        uint8, or image and label counts that differ.
    """
    root = Path(root)
    img_path, lab_path = (_find(root, s) for s in _MNIST_NAMES[bool(train)])
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ShapeError(
            f"load_mnist: {img_path.name}: expected 3-D uint8 images, got shape "
            f"{images.shape} of {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ShapeError(
            f"load_mnist: {lab_path.name}: expected 1-D uint8 labels, got shape "
            f"{labels.shape} of {labels.dtype}"
        )
    if len(images) != len(labels):
        raise ArgumentError(
            f"load_mnist: {len(images)} images in {img_path.name} but "
            f"{len(labels)} labels in {lab_path.name}"
        )
    x = images.astype(np.float32) / 255.0
    if flatten:
        x = x.reshape(len(x), -1)
    return TensorDataset(x, labels.astype(np.int64))
