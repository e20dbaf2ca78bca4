"""The exercises: what each one asks, and the inputs it is checked on.

Layer: exercises (a tool on top of the tensor engine). Holds no solution: a
Function exercise is checked against central differences (and its forward against
the formula below), a by-hand exercise against minigrad's autograd
(``minigrad.exercises.by_hand``).

Inputs are seeded float64 arrays with shapes that expose the common mistakes:
non-square matrices (a transposed gradient then has the wrong shape), square ones
(a transposed gradient then has the right shape and wrong values), batches larger
than one (a broadcast dimension left unsummed), values away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EXERCISES", "Exercise", "get"]

Arrays = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    ``kind`` is ``"function"`` (the learner writes an ``mg.autograd.Function``
    named ``cls``, checked by gradcheck on ``cases``) or ``"by_hand"`` (the
    learner writes numpy functions, checked against autograd). ``explain``
    recognises a mistake of this exercise that the generic diagnosis cannot
    name: given a case's arrays and the first input's gradient (yours and the
    numerical one, input-shaped, for a scalar output), it returns the kind of
    mistake and what is wrong, or None.
    """

    name: str
    title: str
    kind: str
    cls: str = ""
    args: tuple[str, ...] = ()
    requires_grad: tuple[bool, ...] = ()
    forward: Callable[..., np.ndarray] | None = None
    cases: Callable[[np.random.Generator], list[Arrays]] | None = None
    sizes: Callable[[Arrays], dict[str, int]] = field(default=lambda arrays: {})
    seed: int = 0
    explain: (
        Callable[[Arrays, np.ndarray, np.ndarray], tuple[str, str] | None] | None
    ) = None


def _away_from_zero(x: np.ndarray, gap: float = 0.05) -> np.ndarray:
    return np.where(np.abs(x) < gap, np.where(x < 0, -gap, gap) * 2, x)


def _elementwise_cases(rng: np.random.Generator) -> list[Arrays]:
    return [(1.5 * rng.standard_normal(s),) for s in ((3, 4), (5,), (2, 3, 2))]


def _relu_cases(rng: np.random.Generator) -> list[Arrays]:
    return [(_away_from_zero(a),) for (a,) in _elementwise_cases(rng)]


def _neuron_cases(rng: np.random.Generator) -> list[Arrays]:
    return [
        (rng.standard_normal((n, d)), rng.standard_normal(d), rng.standard_normal(()))
        for n, d in ((3, 4), (4, 4), (5, 2))
    ]


def _pair_cases(rng: np.random.Generator) -> list[Arrays]:
    return [
        (rng.standard_normal(s), rng.standard_normal(s)) for s in ((4, 3), (5,), (3, 3))
    ]


def _bce_cases(rng: np.random.Generator) -> list[Arrays]:
    out: list[Arrays] = []
    for s in ((6,), (3, 4)):
        p = rng.uniform(0.05, 0.95, s)
        y = (rng.uniform(size=s) < 0.5).astype(np.float64)
        out.append((p, y))
    return out


def _ce_cases(rng: np.random.Generator) -> list[Arrays]:
    return [
        (2 * rng.standard_normal((n, c)), rng.integers(0, c, n).astype(np.int64))
        for n, c in ((4, 3), (2, 5), (3, 3))
    ]


def _matmul_cases(rng: np.random.Generator) -> list[Arrays]:
    return [
        (rng.standard_normal((n, k)), rng.standard_normal((k, m)))
        for n, k, m in ((2, 3, 4), (3, 3, 3), (1, 4, 2))
    ]


def _linear_cases(rng: np.random.Generator) -> list[Arrays]:
    return [
        (
            rng.standard_normal((n, i)),
            rng.standard_normal((o, i)),
            rng.standard_normal(o),
        )
        for n, i, o in ((4, 3, 2), (3, 3, 3), (2, 5, 1))
    ]


def _conv_cases(rng: np.random.Generator) -> list[Arrays]:
    # Non-square images and kernels (a transposed gradient has the wrong
    # shape), then square ones, batches of more than one.
    return [
        (
            rng.standard_normal((n, c, h, w)),
            rng.standard_normal((o, c, kh, kw)),
            rng.standard_normal(o),
        )
        for n, c, h, w, o, kh, kw in ((2, 2, 5, 4, 3, 3, 2), (2, 1, 4, 4, 2, 2, 2))
    ]


def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, w) + b[None, :, None, None]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _bce(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _softmax_ce(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return np.asarray(-logp[np.arange(len(y)), y].mean())


def _ce_missing_target(
    arrays: Arrays, yours: np.ndarray, ref: np.ndarray
) -> tuple[str, str] | None:
    """Cross-entropy's gradient without the -1 at the target class."""
    z, y = arrays
    n = z.shape[0]
    onehot = np.zeros(z.shape)
    onehot[np.arange(n), y] = 1.0
    if yours.shape != z.shape or not np.allclose(yours - ref, onehot / n, atol=1e-6):
        return None
    return "ce_target", (
        f"the -1 at the target class is missing: yours is exactly 1/N = {1 / n:.4g} "
        "too large at each row's target class and right elsewhere. The gradient "
        "is (softmax(z) - onehot(target)) / N"
    )


def _numel(label: str) -> Callable[[Arrays], dict[str, int]]:
    return lambda arrays: {label: int(arrays[0].size)}


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise(
            "neuron",
            "a neuron's weighted sum plus bias, y = x @ w + b",
            "function",
            "Neuron",
            ("x", "w", "b"),
            (True, True, True),
            lambda x, w, b: x @ w + b,
            _neuron_cases,
        ),
        Exercise(
            "sigmoid",
            "the logistic sigmoid, y = 1 / (1 + exp(-x))",
            "function",
            "Sigmoid",
            ("x",),
            (True,),
            _sigmoid,
            _elementwise_cases,
        ),
        Exercise(
            "tanh",
            "the hyperbolic tangent, y = tanh(x)",
            "function",
            "Tanh",
            ("x",),
            (True,),
            np.tanh,
            _elementwise_cases,
        ),
        Exercise(
            "relu",
            "the rectifier, y = max(x, 0)",
            "function",
            "ReLU",
            ("x",),
            (True,),
            lambda x: np.maximum(x, 0.0),
            _relu_cases,
        ),
        Exercise(
            "mse",
            "mean squared error, L = mean((pred - target)^2)",
            "function",
            "MSE",
            ("pred", "target"),
            (True, True),
            lambda p, t: np.asarray(np.mean((p - t) ** 2)),
            _pair_cases,
            _numel("the number of elements N"),
        ),
        Exercise(
            "bce",
            "binary cross-entropy on probabilities p, targets y",
            "function",
            "BCE",
            ("p", "y"),
            (True, False),
            _bce,
            _bce_cases,
            _numel("the number of elements N"),
        ),
        Exercise(
            "softmax_cross_entropy",
            "softmax with cross-entropy on logits, for a batch",
            "function",
            "SoftmaxCrossEntropy",
            ("logits", "target"),
            (True, False),
            _softmax_ce,
            _ce_cases,
            lambda arrays: {"the batch size N": int(arrays[0].shape[0])},
            explain=_ce_missing_target,
        ),
        Exercise(
            "matmul",
            "matrix product, C = A @ B",
            "function",
            "MatMul",
            ("a", "b"),
            (True, True),
            lambda a, b: a @ b,
            _matmul_cases,
        ),
        Exercise(
            "linear",
            "a linear layer, y = x @ W.T + b (W has shape (out, in))",
            "function",
            "Linear",
            ("x", "W", "b"),
            (True, True, True),
            lambda x, w, b: x @ w.T + b,
            _linear_cases,
        ),
        Exercise(
            "conv2d",
            "a 2-d convolution layer (stride 1, no padding), forward and backward",
            "function",
            "Conv2d",
            ("x", "W", "b"),
            (True, True, True),
            _conv2d,
            _conv_cases,
            lambda arrays: {"the batch size N": int(arrays[0].shape[0])},
        ),
        Exercise(
            "backprop_222",
            "backprop and one SGD step by hand in a 2-2-2 sigmoid network",
            "by_hand",
        ),
        Exercise(
            "xor_numpy",
            "the full backprop of a 2-layer XOR network in numpy",
            "by_hand",
        ),
        Exercise(
            "mlp_batch",
            "a 2-layer MLP on a batch: backprop and one SGD step by hand",
            "by_hand",
        ),
        Exercise(
            "softmax_classifier",
            "a softmax classifier (softmax with cross-entropy) by hand in numpy",
            "by_hand",
        ),
        Exercise(
            "mlp_relu",
            "a 2-layer ReLU MLP with a softmax cross-entropy output, by hand",
            "by_hand",
        ),
    ]
}


def get(name: str) -> Exercise:
    """The exercise called ``name``.

    Raises
    ------
    KeyError
        No such exercise (the message lists the names).
    """
    try:
        return EXERCISES[name]
    except KeyError:
        raise KeyError(
            f"no exercise named {name!r}; the exercises are: {', '.join(EXERCISES)}"
        ) from None


def make_inputs(ex: Exercise, arrays: Arrays) -> list[Any]:
    """Tensors for one case: floats as float64 (requiring grad as the exercise
    says), integers (labels) as int64."""
    from minigrad.creation import tensor
    from minigrad.dtypes import float64, int64

    out = []
    for a, rg in zip(arrays, ex.requires_grad):
        if a.dtype.kind == "f":
            out.append(tensor(a, dtype=float64, requires_grad=rg))
        else:
            out.append(tensor(a, dtype=int64))
    return out
