"""The second set of nn losses and distances (kl_div, poisson / gaussian NLL,
the margin losses, normalize, cosine_similarity, pairwise_distance,
embedding(max_norm)): gradcheck in float64 on drawn shapes (batch 0 and 1
included), gradgradcheck for the smooth ones, values, gradients and dtypes
against torch for every reduction, errors naming the op, and the modules."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from tests.helpers import examples

REDUCTIONS = ("mean", "sum", "none")


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _sign(r: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.where(r.random(shape) < 0.5, -1.0, 1.0)


@dataclass
class Case:
    """``build(rng, n, d, e)`` gives the arrays in call order (n the batch, d
    the features, e extra dims between them, used where the op takes any
    rank); ``grad`` marks the ones that are differentiated (and compared with
    torch's gradients)."""

    name: str
    op: str
    build: Callable[..., list[np.ndarray]]
    grad: tuple[bool, ...]
    kw: dict[str, Any] = field(default_factory=dict)
    reductions: tuple[str, ...] = REDUCTIONS
    smooth: bool = True  # no kink at all: gradgradcheck applies
    # inputs whose gradient is by design not the derivative (clamped var)
    no_fd: tuple[int, ...] = ()


def _nd(r, n, d, e=()):
    return r.normal(size=(n, *e, d))


def _away_from_0(x):
    """Elements of size >= 0.1: the gradient terms of a cosine or a normalisation
    grow as 1/|x|, and a float32 comparison of two differently rounded formulas
    needs them of order 1 (seed 362, shape (3, 1) failed before)."""
    return np.sign(x) * (0.1 + np.abs(x))


CASES = [
    Case(
        "kl_div",
        "kl_div",
        lambda r, n, d, e: [_nd(r, n, d, e), r.random((n, *e, d)) + 0.05],
        (True, True),
        reductions=(*REDUCTIONS, "batchmean"),
    ),
    Case(
        "kl_div_log_target_bcast",
        "kl_div",
        lambda r, n, d, e: [_nd(r, n, d, e), np.log(r.random(d) + 0.05)],
        (True, True),
        {"log_target": True},
        reductions=(*REDUCTIONS, "batchmean"),
    ),
    Case(
        "poisson_nll_loss",
        "poisson_nll_loss",
        lambda r, n, d, e: [_nd(r, n, d, e), r.random((n, *e, d)) * 4],
        (True, True),
        {"full": True},
    ),
    Case(
        "poisson_nll_loss_rate",
        "poisson_nll_loss",
        lambda r, n, d, e: [r.random((n, d)) + 0.1, r.random((n, d)) * 4],
        (True, True),
        {"log_input": False, "eps": 1e-3},
    ),
    Case(
        "gaussian_nll_loss",
        "gaussian_nll_loss",
        lambda r, n, d, e: [
            _nd(r, n, d, e),
            _nd(r, n, d, e),
            r.random((n, *e, d)) + 0.1,
        ],
        (True, True, True),
        {"full": True},
    ),
    Case(
        "gaussian_nll_loss_var_per_sample",
        "gaussian_nll_loss",
        lambda r, n, d, e: [_nd(r, n, d, e), _nd(r, n, d, e), r.random((n, *e)) + 0.1],
        (True, True, True),
    ),
    Case(
        "gaussian_nll_loss_var_col_clamped",
        "gaussian_nll_loss",
        # some variances below eps: the value is clamped, the gradient is not
        lambda r, n, d, e: [_nd(r, n, d), _nd(r, n, d), r.random((n, 1)) * 2e-3],
        (True, True, True),
        {"eps": 1e-3},
        no_fd=(2,),
    ),
    Case(
        "margin_ranking_loss",
        "margin_ranking_loss",
        lambda r, n, d, e: [r.normal(size=n), r.normal(size=n), _sign(r, (n,))],
        (True, True, False),
        {"margin": 0.3},
        smooth=False,
    ),
    Case(
        "hinge_embedding_loss",
        "hinge_embedding_loss",
        lambda r, n, d, e: [_nd(r, n, d, e), _sign(r, (n, *e, d))],
        (True, False),
        {"margin": 0.7},
        smooth=False,
    ),
    Case(
        "soft_margin_loss",
        "soft_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d, e) * 3, _sign(r, (n, *e, d))],
        (True, False),
    ),
    Case(
        "multilabel_soft_margin_loss",
        "multilabel_soft_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d, e) * 3, r.random((n, *e, d))],
        (True, True),
    ),
    Case(
        "multilabel_soft_margin_loss_weight",
        "multilabel_soft_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d), (r.random((n, d)) < 0.5) * 1.0, r.random(d)],
        (True, False, True),
    ),
    Case(
        "multi_margin_loss",
        "multi_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d), r.integers(0, d, n)],
        (True, False),
        smooth=False,
    ),
    Case(
        "multi_margin_loss_p2_weight",
        "multi_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d), r.integers(0, d, n), 2, 0.6, r.random(d)],
        # torch has no gradient for weight
        (True, False, False, False, False),
        smooth=False,
    ),
    Case(
        "triplet_margin_loss",
        "triplet_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d), _nd(r, n, d), _nd(r, n, d)],
        (True, True, True),
        {"margin": 2.0},
        smooth=False,
    ),
    Case(
        "triplet_margin_loss_swap_p1",
        "triplet_margin_loss",
        lambda r, n, d, e: [_nd(r, n, d), _nd(r, n, d), _nd(r, n, d)],
        (True, True, True),
        {"margin": 2.0, "p": 1, "swap": True},
        smooth=False,
    ),
    Case(
        "cosine_embedding_loss",
        "cosine_embedding_loss",
        lambda r, n, d, e: [
            _away_from_0(_nd(r, n, d)),
            _away_from_0(_nd(r, n, d)),
            _sign(r, (n,)).astype(np.int64),
        ],
        (True, True, False),
        {"margin": -0.2},
        smooth=False,
    ),
    Case(
        "cosine_similarity_bcast",
        "cosine_similarity",
        lambda r, n, d, e: [
            _away_from_0(_nd(r, n, d, e)),
            _away_from_0(r.normal(size=d)),
        ],
        (True, True),
        {"dim": -1},
        reductions=(),
    ),
    Case(
        "cosine_similarity_dim0",
        "cosine_similarity",
        lambda r, n, d, e: [
            _away_from_0(_nd(r, n, d, e)),
            _away_from_0(_nd(r, n, d, e)),
        ],
        (True, True),
        {"dim": 0, "eps": 1e-6},
        reductions=(),
    ),
    Case(
        "pairwise_distance",
        "pairwise_distance",
        lambda r, n, d, e: [
            _away_from_0(_nd(r, n, d, e)),
            _away_from_0(r.normal(size=d)),
        ],
        (True, True),
        {"keepdim": True},
        reductions=(),
    ),
    Case(
        "pairwise_distance_p3",
        "pairwise_distance",
        lambda r, n, d, e: [_nd(r, n, d), _nd(r, n, d), 3.0],
        (True, True, False),
        reductions=(),
    ),
    Case(
        "normalize",
        "normalize",
        lambda r, n, d, e: [_away_from_0(_nd(r, n, d, e))],
        (True,),
        {"dim": -1},
        reductions=(),
    ),
    Case(
        "normalize_p1_dim0",
        "normalize",
        lambda r, n, d, e: [_away_from_0(_nd(r, n, d, e)), 1.0, 0],
        (True, False, False),
        reductions=(),
        smooth=False,
    ),
]
CASES_BY_NAME = {c.name: c for c in CASES}
# Shapes PyTorch refuses: multi_margin_loss needs at least one class
shapes = st.tuples(
    st.integers(0, 3),
    st.integers(1, 4),
    st.sampled_from([(), (), (1,), (2, 1)]),
    st.integers(0, 2**31),
)


def _kwargs(case: Case, reduction: str | None) -> dict[str, Any]:
    kw = dict(case.kw)
    if reduction is not None:
        kw["reduction"] = reduction
    return kw


def _mg_inputs(case: Case, arrays: list[Any]) -> list[Any]:
    out = []
    for a, g in zip(arrays, case.grad):
        if isinstance(a, np.ndarray):
            out.append(mg.tensor(a, requires_grad=g))
        else:
            out.append(a)
    return out


def _call(case: Case, fn: Callable[..., Any], args: list[Any], reduction: Any) -> Any:
    with warnings.catch_warnings():
        # kl_div's reduction='mean' warns, in both libraries
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **_kwargs(case, reduction))


@pytest.mark.parametrize("name", list(CASES_BY_NAME))
@given(shape=shapes)
@examples(8)
def test_loss_more_gradcheck(name, shape):
    case = CASES_BY_NAME[name]
    n, d, e, seed = shape
    arrays = case.build(np.random.default_rng(seed), n, d, e)
    f, inputs = _of_grad_inputs(case, _mg_inputs(case, arrays))
    assert gradcheck(f, inputs)
    if case.reductions:

        def f_sum(*xs):
            return f(*xs).sum()

        assert gradcheck(f_sum, inputs)


@pytest.mark.parametrize("name", [c.name for c in CASES if c.smooth])
def test_loss_more_gradgradcheck(name):
    case = CASES_BY_NAME[name]
    args = _mg_inputs(case, case.build(np.random.default_rng(7), 3, 4, (2,)))
    assert gradgradcheck(*_of_grad_inputs(case, args))


def _of_grad_inputs(case: Case, args: list) -> tuple:
    """The loss (unreduced) as a function of the inputs that get a finite-
    difference check, the others fixed at ``args``; and those inputs."""
    slots = [i for i, g in enumerate(case.grad) if g and i not in case.no_fd]
    fn = getattr(F, case.op)

    def f(*xs):
        full = list(args)
        for i, x in zip(slots, xs):
            full[i] = x
        return _call(case, fn, full, "none" if case.reductions else None)

    return f, [args[i] for i in slots]


def _compare_with_torch(torch, case: Case, arrays, dtype, reduction) -> None:
    tfn = getattr(torch.nn.functional, case.op)
    fn = getattr(F, case.op)
    margs, targs = [], []
    for a, g in zip(arrays, case.grad):
        if isinstance(a, np.ndarray):
            a = a.astype(dtype) if a.dtype.kind == "f" else a
            margs.append(mg.tensor(a, requires_grad=g))
            targs.append(torch.tensor(a, requires_grad=g))
        else:
            margs.append(a)
            targs.append(a)
    y = _call(case, fn, margs, reduction)
    ty = _call(case, tfn, targs, reduction)
    expected = ty.detach().numpy()
    assert y.shape == expected.shape
    assert y.dtype == expected.dtype
    if case.op == "multi_margin_loss" and reduction != "none" and not margs[0].numel():
        return  # torch returns an uninitialised value when reducing no sample
    # atol: losses of order 1 that cancel to ~0 (1 - cos of parallel vectors)
    # are round-off in both
    tol = (
        {"rtol": 1e-4, "atol": 1e-5}
        if dtype == np.float32
        else {"rtol": 1e-9, "atol": 1e-12}
    )
    tol_grad = tol
    np.testing.assert_allclose(y.data, expected, equal_nan=True, **tol)
    if y.numel() == 0 or not np.isfinite(expected).all():
        return
    w = np.random.default_rng(1).random(expected.shape).astype(expected.dtype)
    (y * mg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for m, t in zip(margs, targs):
        if isinstance(m, mg.Tensor) and m.requires_grad:
            assert m.grad.dtype == m.dtype
            np.testing.assert_allclose(m.grad.data, t.grad.numpy(), **tol_grad)


@pytest.mark.parametrize("name", list(CASES_BY_NAME))
@given(shape=shapes)
@examples(5)
def test_loss_more_matches_torch(torch, name, shape):
    case = CASES_BY_NAME[name]
    n, d, e, seed = shape
    arrays = case.build(np.random.default_rng(seed), n, d, e)
    for reduction in case.reductions or (None,):
        for dtype in (np.float64, np.float32):
            _compare_with_torch(torch, case, arrays, dtype, reduction)


def test_loss_more_mixed_dtypes_promote(torch):
    x = np.random.default_rng(0).normal(size=(3, 4))
    t = np.random.default_rng(1).random((3, 4))
    for op in ("kl_div", "poisson_nll_loss", "soft_margin_loss"):
        y = getattr(F, op)(
            mg.tensor(x, dtype=mg.float32), mg.tensor(t), reduction="sum"
        )
        ty = getattr(torch.nn.functional, op)(
            torch.tensor(x, dtype=torch.float32), torch.tensor(t), reduction="sum"
        )
        assert y.dtype == ty.detach().numpy().dtype, op
    c = F.cosine_similarity(mg.tensor(x, dtype=mg.float32), mg.tensor(t))
    assert c.dtype == np.float64


# -- unbatched inputs and edge cases ------------------------------------------------


def test_unbatched_forms_match_torch(torch):
    r = np.random.default_rng(3)
    x, y, z = (r.normal(size=5) for _ in range(3))
    x0, y0 = x[:1].reshape(()), y[:1].reshape(())  # 0-d float64 arrays
    tt = torch.tensor
    T = torch.nn.functional
    pairs = [
        (
            F.multi_margin_loss(mg.tensor(x), mg.tensor(2)),
            T.multi_margin_loss(tt(x), tt(2)),
        ),
        (
            F.cosine_embedding_loss(
                mg.tensor(x), mg.tensor(y), mg.tensor(-1), margin=-0.5
            ),
            T.cosine_embedding_loss(tt(x), tt(y), tt(-1), margin=-0.5),
        ),
        (
            F.triplet_margin_loss(mg.tensor(x), mg.tensor(y), mg.tensor(z), margin=3.0),
            T.triplet_margin_loss(tt(x), tt(y), tt(z), margin=3.0),
        ),
        (
            F.multilabel_soft_margin_loss(mg.tensor(x), mg.tensor(y)),
            T.multilabel_soft_margin_loss(tt(x), tt(y)),
        ),
        (
            F.pairwise_distance(mg.tensor(x0), mg.tensor(y0)),
            T.pairwise_distance(tt(x0), tt(y0)),
        ),
        (
            F.cosine_similarity(mg.tensor(x0), mg.tensor(y0), dim=0),
            T.cosine_similarity(tt(x0), tt(y0), dim=0),
        ),
        (F.normalize(mg.tensor(x0), dim=0), T.normalize(tt(x0), dim=0)),
        (
            F.gaussian_nll_loss(mg.tensor(x), mg.tensor(y), 0.5),
            T.gaussian_nll_loss(tt(x), tt(y), 0.5),
        ),
        (
            F.gaussian_nll_loss(mg.tensor(x), mg.tensor(y), mg.tensor(np.array([0.7]))),
            T.gaussian_nll_loss(tt(x), tt(y), tt(np.array([0.7]))),
        ),
    ]
    for got, want in pairs:
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-10)


def test_zero_vectors_stay_finite(torch):
    zeros = np.zeros((2, 3))
    x = np.random.default_rng(0).normal(size=(2, 3))
    assert np.allclose(F.normalize(mg.tensor(zeros)).data, 0)
    c = F.cosine_similarity(mg.tensor(zeros, requires_grad=True), mg.tensor(x))
    assert np.allclose(c.data, 0)
    a = mg.tensor(zeros, requires_grad=True)
    ta = torch.tensor(zeros, requires_grad=True)
    F.cosine_embedding_loss(a, mg.tensor(x), mg.tensor([1, -1])).backward()
    torch.nn.functional.cosine_embedding_loss(
        ta, torch.tensor(x), torch.tensor([1, -1])
    ).backward()
    np.testing.assert_allclose(a.grad.data, ta.grad.numpy())


def test_soft_margin_and_multilabel_do_not_overflow():
    x = mg.tensor([1000.0, -1000.0], dtype=mg.float32, requires_grad=True)
    y = F.soft_margin_loss(x, mg.tensor([-1.0, 1.0]), reduction="none")
    assert np.allclose(y.data, 1000.0)
    y.sum().backward()
    assert np.allclose(x.grad.data, [1.0, -1.0])
    m = F.multilabel_soft_margin_loss(x[None], mg.tensor([[0.0, 1.0]]))
    assert np.isclose(m.item(), 1000.0)


def test_kl_div_batchmean_and_mean_warning():
    x = mg.tensor(np.log(np.full((4, 5), 0.2)))
    t = mg.tensor(np.random.default_rng(0).dirichlet(np.ones(5), 4))
    total = F.kl_div(x, t, reduction="sum").item()
    assert np.isclose(F.kl_div(x, t, reduction="batchmean").item(), total / 4)
    with pytest.warns(UserWarning, match="batchmean"):
        assert np.isclose(F.kl_div(x, t).item(), total / 20)


def test_gaussian_var_clamp_passes_gradient(torch):
    v = mg.tensor([1e-9, 0.5], requires_grad=True)
    tv = torch.tensor([1e-9, 0.5], dtype=torch.float64, requires_grad=True)
    F.gaussian_nll_loss(mg.tensor([0.1, 0.2]), mg.tensor([0.0, 0.0]), v).backward()
    torch.nn.functional.gaussian_nll_loss(
        torch.tensor([0.1, 0.2], dtype=torch.float64),
        torch.tensor([0.0, 0.0], dtype=torch.float64),
        tv,
    ).backward()
    np.testing.assert_allclose(v.grad.data, tv.grad.numpy())


# -- errors -------------------------------------------------------------------------


def _t(*shape, dtype=mg.float64):
    return mg.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: F.kl_div(_t(3, 4), _t(5)), ShapeError, "kl_div"),
        (
            lambda: F.poisson_nll_loss(_t(3, 4), _t(3, 5)),
            ShapeError,
            "poisson_nll_loss",
        ),
        (lambda: F.gaussian_nll_loss(_t(3, 4), _t(3, 4), _t(3, 5)), ShapeError, "var"),
        (lambda: F.gaussian_nll_loss(_t(3, 4), _t(3, 4), _t(4)), ShapeError, "var"),
        (
            lambda: F.gaussian_nll_loss(_t(2), _t(2), -mg.ones(2)),
            ArgumentError,
            "negative",
        ),
        (lambda: F.gaussian_nll_loss(_t(2), _t(2), -1.0), ArgumentError, "negative"),
        (lambda: F.gaussian_nll_loss(_t(2), _t(3), _t(2)), ShapeError, "gaussian_nll"),
        (
            lambda: F.margin_ranking_loss(_t(3), _t(3, 1), _t(3)),
            ShapeError,
            "margin_ranking_loss.*dims",
        ),
        (
            lambda: F.margin_ranking_loss(_t(3), _t(2), _t(3)),
            ShapeError,
            "margin_ranking",
        ),
        (lambda: F.hinge_embedding_loss(_t(3), _t(4)), ShapeError, "hinge_embedding"),
        (lambda: F.soft_margin_loss(_t(3), _t(2, 3)), ShapeError, "soft_margin_loss"),
        (
            lambda: F.multilabel_soft_margin_loss(_t(3, 4), _t(3, 5)),
            ShapeError,
            "multilabel",
        ),
        (lambda: F.multilabel_soft_margin_loss(_t(), _t()), ShapeError, "multilabel"),
        (
            lambda: F.multi_margin_loss(_t(3, 4), mg.tensor([0, 1])),
            ShapeError,
            "multi_margin_loss",
        ),
        (
            lambda: F.multi_margin_loss(_t(3, 0), mg.tensor([0, 1, 0])),
            ShapeError,
            "multi_m",
        ),
        (
            lambda: F.multi_margin_loss(_t(2, 3, 4), mg.tensor([0, 1])),
            ShapeError,
            "multi_m",
        ),
        (
            lambda: F.multi_margin_loss(_t(2, 4), mg.tensor([0, 4])),
            IndexError,
            "out of range",
        ),
        (
            lambda: F.multi_margin_loss(_t(2, 4), mg.tensor([0, -1])),
            IndexError,
            "out of range",
        ),
        (lambda: F.multi_margin_loss(_t(2, 4), _t(2)), DTypeError, "int64"),
        (
            lambda: F.multi_margin_loss(_t(2, 4), mg.tensor([0, 1]), p=3),
            ArgumentError,
            "p ==",
        ),
        (
            lambda: F.multi_margin_loss(_t(2, 4), mg.tensor([0, 1]), weight=_t(3)),
            ShapeError,
            "weight",
        ),
        (
            lambda: F.triplet_margin_loss(_t(3, 4), _t(4), _t(3, 4)),
            ShapeError,
            "triplet_margin_loss",
        ),
        (
            lambda: F.triplet_margin_loss(_t(3, 4), _t(3, 4), _t(2, 4)),
            ShapeError,
            "pairwise",
        ),
        (
            lambda: F.triplet_margin_loss(_t(2), _t(2), _t(2), margin=-1.0),
            ArgumentError,
            "margin",
        ),
        (
            lambda: F.cosine_embedding_loss(_t(4), _t(4), mg.tensor([1])),
            ShapeError,
            "cosine_embedding_loss",
        ),
        (
            lambda: F.cosine_embedding_loss(_t(2, 3, 4), _t(2, 3, 4), mg.ones(2, 3)),
            ShapeError,
            "multi-target",
        ),
        (
            lambda: F.cosine_embedding_loss(_t(3, 4), _t(3, 4), mg.tensor([1, -1])),
            ShapeError,
            "cosine_embedding_loss",
        ),
        (
            lambda: F.cosine_similarity(_t(3, 4), _t(5, 4)),
            ShapeError,
            "cosine_similarity",
        ),
        (lambda: F.cosine_similarity(_t(4), _t(4)), IndexError, "cosine_similarity"),
        (
            lambda: F.pairwise_distance(_t(3, 4), _t(3, 5)),
            ShapeError,
            "pairwise_distance",
        ),
        (lambda: F.normalize(_t(4)), IndexError, "normalize"),
        (lambda: F.normalize(_t(4), dim=0, out=_t(4)), TypeError, "out"),
        (lambda: F.normalize(mg.tensor([1, 2]), dim=0), DTypeError, "normalize"),
        (lambda: F.kl_div(_t(2), _t(2), reduction="avg"), ArgumentError, "reduction"),
        (
            lambda: F.soft_margin_loss(_t(2), _t(2), reduction="batchmean"),
            ArgumentError,
            "red",
        ),
        (lambda: F.kl_div(mg.tensor([1, 2]), _t(2)), DTypeError, "kl_div"),
        (lambda: nn.MultiMarginLoss(p=3), ArgumentError, "p =="),
        (
            lambda: nn.TripletMarginLoss(reduction="batchmean"),
            ArgumentError,
            "reduction",
        ),
        (lambda: nn.KLDivLoss(reduction="avg"), ArgumentError, "reduction"),
    ],
)
def test_loss_more_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_legacy_size_average_and_reduce():
    x, y = mg.tensor([0.5, -1.0]), mg.tensor([1.0, -1.0])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        s = F.soft_margin_loss(x, y, size_average=False)
    assert np.isclose(s.item(), F.soft_margin_loss(x, y, reduction="sum").item())
    with pytest.warns(UserWarning, match="reduction='none'"):
        m = nn.SoftMarginLoss(reduce=False)
    assert m.reduction == "none"
    with pytest.warns(UserWarning, match="reduction='mean'"):
        assert nn.MarginRankingLoss(0.5, True, True).reduction == "mean"


# -- modules ----------------------------------------------------------------------


def _module_cases(r):
    x, y, z = (r.normal(size=(3, 4)) for _ in range(3))
    sgn = np.where(r.random(3) < 0.5, -1.0, 1.0)
    w = r.random(4)
    cls = r.integers(0, 4, 3)
    p = r.random((3, 4))
    return [
        (
            "KLDivLoss",
            {"reduction": "batchmean", "log_target": True},
            (x, np.log(p + 0.1)),
        ),
        ("PoissonNLLLoss", {"log_input": False, "full": True}, (p + 0.1, p * 3)),
        ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, (x, y, p[:, 0] + 0.1)),
        (
            "MarginRankingLoss",
            {"margin": 0.2, "reduction": "sum"},
            (x[:, 0], y[:, 0], sgn),
        ),
        ("HingeEmbeddingLoss", {"margin": 2.0}, (x, np.sign(y))),
        ("TripletMarginLoss", {"margin": 1.5, "p": 1.0, "swap": True}, (x, y, z)),
        ("CosineEmbeddingLoss", {"margin": 0.1, "reduction": "none"}, (x, y, sgn)),
        ("MultiLabelSoftMarginLoss", {"weight": w}, (x, p)),
        ("SoftMarginLoss", {"reduction": "none"}, (x, np.sign(y))),
        ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": w}, (x, cls)),
        ("CosineSimilarity", {"dim": 0, "eps": 1e-6}, (x, y)),
        ("PairwiseDistance", {"p": 3.0, "keepdim": True}, (x, y)),
    ]


def test_modules_match_torch(torch):
    for name, kw, arrays in _module_cases(np.random.default_rng(5)):
        mkw = {
            k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()
        }
        tkw = {
            k: torch.tensor(v) if isinstance(v, np.ndarray) else v
            for k, v in kw.items()
        }
        m, tm = getattr(nn, name)(**mkw), getattr(torch.nn, name)(**tkw)
        xs = [
            mg.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0)
            for i, a in enumerate(arrays)
        ]
        txs = [
            torch.tensor(a, requires_grad=a.dtype.kind == "f" and i == 0)
            for i, a in enumerate(arrays)
        ]
        got, want = m(*xs), tm(*txs)
        np.testing.assert_allclose(
            got.data, want.detach().numpy(), rtol=1e-9, err_msg=name
        )
        got.sum().backward()
        want.sum().backward()
        np.testing.assert_allclose(
            xs[0].grad.data, txs[0].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )
        if "weight" in kw:
            assert "weight" in dict(m.named_buffers()), name


def test_identity_exists():
    x = mg.randn(2, 3)
    assert nn.Identity(54, unused="ok")(x) is x


# -- embedding(max_norm) -------------------------------------------------------------


def test_embedding_max_norm_matches_torch(torch):
    w = np.random.default_rng(0).normal(size=(6, 3)) * 2
    idx = np.array([[1, 1, 4], [0, 4, 5]])
    for norm_type in (2.0, 1.0, math.inf):
        mw = mg.tensor(w, requires_grad=True)
        tw = torch.tensor(w, requires_grad=True)
        v0 = mw._version[0]
        y = F.embedding(mg.tensor(idx), mw, max_norm=1.5, norm_type=norm_type)
        ty = torch.nn.functional.embedding(
            torch.tensor(idx), tw, max_norm=1.5, norm_type=norm_type
        )
        assert mw._version[0] > v0  # renormalised in place
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(mw.data, tw.detach().numpy(), rtol=1e-12)
        assert np.allclose(mw.data[[2, 3]], w[[2, 3]])  # rows not referenced
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(mw.grad.data, tw.grad.numpy())


def test_embedding_module_max_norm(torch):
    mg.manual_seed(0)
    emb = nn.Embedding(5, 4, max_norm=1.0, padding_idx=0)
    temb = torch.nn.Embedding(5, 4, max_norm=1.0, padding_idx=0)
    with torch.no_grad():
        temb.weight.copy_(torch.from_numpy(emb.weight.data.copy()))
    idx = np.array([0, 2, 3, 2])
    out, tout = emb(mg.tensor(idx)), temb(torch.tensor(idx))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6)
    norms = np.linalg.norm(emb.weight.data[[2, 3]], axis=1)
    assert (norms <= 1.0 + 1e-6).all()
    assert "max_norm=1.0" in repr(emb)
    pre = nn.Embedding.from_pretrained(mg.tensor(np.full((3, 2), 3.0)), max_norm=2.0)
    pre(mg.tensor([1]))
    assert np.allclose(
        np.linalg.norm(pre.weight.data, axis=1), [np.sqrt(18), 2.0, np.sqrt(18)]
    )
