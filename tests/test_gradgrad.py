"""Second derivatives of every op against finite differences of the first.

Each entry of ``CASES`` is checked by ``gradgradcheck`` in float64, with inputs
kept away from kinks (relu, abs, clamp, max ties, the smooth-l1 / huber knees):
the Jacobian of the recorded backward (create_graph=True) is compared with
central differences of plain backward, and the recorded first derivative with
the plain one. ``test_every_function_is_covered`` fails when an op module gains
a Function that no case runs.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
import minigrad.ops
from minigrad.autograd import Function, GradcheckError, gradgradcheck
from minigrad.autograd.grad_mode import STATE
from minigrad.ops import activation as act_ops
from minigrad.ops.index import IndexAdd
from minigrad.ops.loss import (
    binary_cross_entropy_composite,
    cross_entropy_composite,
)
from minigrad.ops.shape import overwrite


@dataclass
class Case:
    """fn of float64 inputs of ``shapes``, drawn by ``kinds`` (one per input, or
    one for all): "x" = ±[0.25, 2] (away from 0), "u" = [-2, 2], "pos" =
    [0.5, 2], "prob" = [0.15, 0.85]."""

    name: str
    fn: Callable[..., Any]
    shapes: list[tuple[int, ...]]
    kinds: str | tuple[str, ...] = "x"
    opts: dict[str, float] = field(default_factory=dict)

    def inputs(self) -> tuple[mg.Tensor, ...]:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        kinds = (
            (self.kinds,) * len(self.shapes)
            if isinstance(self.kinds, str)
            else self.kinds
        )
        return tuple(
            mg.tensor(_draw(rng, k, s), dtype=mg.float64, requires_grad=True)
            for k, s in zip(kinds, self.shapes)
        )


def _draw(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    if kind == "x":
        return rng.uniform(0.25, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    lo, hi = {"u": (-2.0, 2.0), "pos": (0.5, 2.0), "prob": (0.15, 0.85)}[kind]
    return rng.uniform(lo, hi, shape)


# Constants (not differentiated) used by the cases.
_COND = np.array([[True, False, True], [False, False, True]])
_T3 = mg.tensor(np.array([2, 0, 1]))
_T3_IGN = mg.tensor(np.array([2, -100, 1]))
_T_SPATIAL = mg.tensor(np.array([[0, 2], [1, 1]]))
_W_CLASS = mg.tensor(np.array([0.5, 2.0, 1.5]))
_W_ELEM = mg.tensor(np.array([[0.5, 2.0, 1.0], [1.5, 0.25, 3.0]]))
_POS_W = mg.tensor(np.array([2.0, 0.5, 1.5]))
_IDX = mg.tensor(np.array([[0, 2], [3, 0]]))
_OFF = np.array([[0.6, -0.7, 1.1], [-1.3, 0.4, -0.9]])
# issue 14: indexing, selection, layout
_IDX14 = mg.tensor(np.array([[0, 0], [2, 1]]))
_IDX14_UNIQ = mg.tensor(np.array([[2, 0], [1, 2]]))
_EYE3 = mg.eye(3, dtype=mg.float64)


def _setitem(x, v):
    a = x.clone()
    a[1, 1:] = v
    return a * a


def _setitem_advanced(x, v):
    a = x * 1.0
    a[np.array([0, 2]), 1] = v
    return a.tanh()


def _dropout(x):
    # A fresh generator per call: the same mask at every finite-difference step.
    return F.dropout(x.tanh(), 0.4, generator=np.random.default_rng(3))


def _max_pool_adjoints(x, g, u):
    # IndexScatter (max pooling's backward) of g, then its own backward,
    # IndexGather of u: both in the forward graph, so both get checked.
    (dx,) = mg.autograd.grad(F.max_pool2d(x, 2), x, g, create_graph=True)
    (dg,) = mg.autograd.grad(dx, g, u, create_graph=True)
    return (dx * dx).sum() + (dg * dg * g).sum()


def _to32(x):
    return (x.to(mg.float32) * 1.5).to(mg.float64) ** 2


CASES = [
    # -- elementwise arithmetic (broadcasting included) ----------------------
    Case("add", lambda a, b: (a + b) ** 2, [(2, 3), (3,)]),
    Case("add_scalar", lambda a: (a + 1.5).tanh(), [(2, 3)]),
    Case("sub", lambda a, b: (a - b) ** 3, [(2, 3), (2, 1)]),
    Case("rsub", lambda a: (2.0 - a).exp(), [(4,)]),
    Case("mul", lambda a, b: a * b * a, [(2, 3), (3,)]),
    Case("div", lambda a, b: a / b, [(2, 3), (3,)]),
    Case("rdiv", lambda a: 1.5 / a, [(5,)]),
    Case("neg", lambda a: -(a**2), [(5,)]),
    Case("pow", lambda a, b: a**b, [(2, 3), (3,)], ("pos", "u")),
    Case("pow_c2", lambda a: a**2, [(5,)]),
    Case("pow_c3", lambda a: a**3, [(5,)]),
    Case("pow_c_half", lambda a: a**0.5, [(5,)], "pos"),
    Case("pow_c_neg", lambda a: a**-1.5, [(5,)], "pos"),
    Case("pow_c1", lambda a: (a**1) * a, [(5,)]),
    Case("pow_c0", lambda a: (a**0) * a, [(5,)]),
    Case("rpow", lambda a: 2.0**a, [(5,)], "u"),
    Case("exp", lambda a: a.exp(), [(5,)], "u"),
    Case("log", lambda a: a.log(), [(5,)], "pos"),
    Case("sqrt", lambda a: a.sqrt(), [(5,)], "pos"),
    Case("abs", lambda a: a.abs() * a, [(6,)]),
    Case("sign", lambda a: a.sign() * a * a, [(6,)]),
    Case("clamp", lambda a: mg.clamp(a, -1.0, 1.0) * a, [(8,)]),
    Case("clamp_min", lambda a: a.clamp(min=0.0) ** 2, [(8,)]),
    Case("clamp_max", lambda a: a.clamp(max=0.5) ** 2, [(8,)]),
    Case(
        "clamp_tensor_bounds",
        lambda a, lo, hi: mg.clamp(a, lo - 1.5, hi + 0.5) ** 2 * (lo + hi),
        [(2, 4), (4,), (2, 1)],
        "u",
    ),
    # Smooth away from a / b integer (the random draws are far from it).
    Case("remainder", lambda a, b: (a % b) * a * b, [(2, 3), (3,)], ("u", "pos")),
    Case("maximum", lambda a, b: mg.maximum(a, b) ** 2, [(2, 3), (3,)]),
    Case("minimum", lambda a, b: mg.minimum(a, b) ** 2, [(2, 3), (2, 3)]),
    Case("maximum_tie_free", lambda a: mg.maximum(a, a + _OFF) * a, [(2, 3)]),
    Case("where", lambda a, b: mg.where(_COND, a * a, b.exp()), [(2, 3), (3,)]),
    Case("where_scalar", lambda a: mg.where(_COND, a**3, 0.0), [(2, 3)]),
    # -- activations ---------------------------------------------------------
    Case("relu", lambda a: a.relu() * a, [(2, 4)]),
    Case("leaky_relu", lambda a: F.leaky_relu(a, 0.2) ** 2, [(2, 4)]),
    Case("sigmoid", lambda a: a.sigmoid(), [(2, 4)], "u"),
    Case("tanh", lambda a: a.tanh(), [(2, 4)], "u"),
    Case("erf", lambda a: a.erf(), [(2, 4)], "u"),
    Case("gelu", lambda a: F.gelu(a), [(2, 4)], "u"),
    Case("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), [(2, 4)], "u"),
    Case("silu", lambda a: F.silu(a), [(2, 4)], "u"),
    Case("softplus", lambda a: F.softplus(a), [(2, 4)], "u"),
    Case("softplus_beta", lambda a: F.softplus(a, beta=2.0, threshold=1.5), [(8,)]),
    # issue 14 activations (minigrad.ops.activation_more); piecewise-linear ones
    # times the input, so that their second derivative is not identically 0
    Case("elu", lambda a: F.elu(a, 1.5), [(2, 4)], "u"),
    Case("selu", lambda a: F.selu(a), [(2, 4)], "u"),
    Case("celu", lambda a: F.celu(a, 0.7), [(2, 4)], "u"),
    Case("hardtanh", lambda a: F.hardtanh(a, -0.5, 1.5) * a, [(2, 4)]),
    Case("hardswish", lambda a: F.hardswish(a * 2.0), [(2, 4)], "u"),
    Case("hardsigmoid", lambda a: F.hardsigmoid(a * 2.0) * a, [(2, 4)], "u"),
    Case("hardshrink", lambda a: F.hardshrink(a, 0.2) * a, [(2, 4)]),
    Case("softshrink", lambda a: F.softshrink(a, 0.2) * a, [(2, 4)]),
    Case("tanhshrink", lambda a: F.tanhshrink(a), [(2, 4)], "u"),
    Case("logsigmoid", lambda a: F.logsigmoid(a * 3.0), [(2, 4)], "u"),
    Case("softsign", lambda a: F.softsign(a), [(2, 4)]),
    Case("mish", lambda a: F.mish(a * 2.0), [(2, 4)], "u"),
    Case("threshold", lambda a: F.threshold(a, 0.1, -2.0) * a, [(2, 4)]),
    Case("softmax_dim1", lambda a: F.softmax(a, dim=1), [(2, 4)], "u"),
    Case("softmax_dim0", lambda a: F.softmax(a, dim=0), [(3, 2)], "u"),
    Case("softmax_3d", lambda a: a.softmax(-1) * a, [(2, 2, 3)], "u"),
    Case("log_softmax", lambda a: F.log_softmax(a, dim=1), [(2, 4)], "u"),
    Case("log_softmax_dim0", lambda a: a.log_softmax(0) ** 2, [(3, 2)], "u"),
    # -- reductions ------------------------------------------------------------
    Case("sum", lambda a: a.sum() ** 2, [(2, 3)]),
    Case("sum_dim", lambda a: a.sum(1) ** 2, [(2, 3)]),
    Case("sum_dims_keepdim", lambda a: a.sum((0, 2), keepdim=True) * a, [(2, 2, 2)]),
    Case("mean", lambda a: a.mean(0) ** 3, [(3, 2)]),
    Case("var", lambda a: a.var(1), [(2, 4)], "u"),
    Case("std", lambda a: a.std(), [(5,)], "u"),
    Case("max_all", lambda a: a.max() * a, [(2, 3)]),
    Case("max_dim", lambda a: a.max(1)[0] ** 2, [(2, 3)]),
    Case("min_dim_keepdim", lambda a: mg.min(a, 0, keepdim=True)[0] * a, [(3, 2)]),
    Case("amax_dims", lambda a: a.amax((0, 1)) ** 2, [(2, 3, 2)]),
    Case("amin", lambda a: a.amin(1) ** 2, [(2, 3)]),
    Case("logsumexp", lambda a: a.logsumexp(1), [(2, 4)], "u"),
    Case("logsumexp_all", lambda a: mg.logsumexp(a) * a, [(2, 3)], "u"),
    # -- shape and indexing ------------------------------------------------------
    Case("reshape", lambda a: a.reshape(3, 2) ** 2, [(2, 3)]),
    Case("view_flatten", lambda a: a.flatten() ** 3, [(2, 1, 3)]),
    Case("transpose", lambda a: a.transpose(0, 1) ** 2, [(2, 3)]),
    Case("permute", lambda a: a.permute(2, 0, 1) * a.permute(2, 0, 1), [(2, 1, 3)]),
    Case("expand", lambda a: a.expand(2, 3) ** 2, [(1, 3)]),
    Case("sum_to", lambda a: a.sum_to((1, 3)) ** 2, [(2, 3)]),
    Case("squeeze", lambda a: a.squeeze(1) ** 2, [(2, 1, 3)]),
    Case("unsqueeze", lambda a: a.unsqueeze(0) ** 3, [(3,)]),
    Case("cat", lambda a, b: mg.cat([a * a, b], 1) ** 2, [(2, 1), (2, 3)]),
    Case("cat_dim0", lambda a, b: mg.cat([a, b.exp()]) * 2.0, [(2,), (3,)]),
    Case("stack", lambda a, b: mg.stack([a, b * a], 1) ** 2, [(3,), (3,)]),
    Case("split", lambda a: tuple(p**2 for p in mg.split(a, [1, 2], 1)), [(2, 3)]),
    Case("split_equal", lambda a: a.split(2)[1] ** 3, [(4,)]),
    Case("unbind", lambda a: tuple(p**2 * a[0, 0] for p in a.unbind(1)), [(2, 3)]),
    Case("getitem_basic", lambda a: a[1:, ::2] ** 2, [(3, 4)]),
    Case("getitem_int", lambda a: a[1] * a[0], [(2, 3)]),
    Case("getitem_advanced", lambda a: a[np.array([0, 2, 0])] ** 2, [(3, 2)]),
    Case("getitem_mask", lambda a: a[_COND] ** 3, [(2, 3)]),
    Case(
        "index_add",
        lambda g: IndexAdd.apply(g, shape=(4,), idx=np.array([0, 2, 0])) ** 2,
        [(3,)],
    ),
    Case("setitem", _setitem, [(2, 3), (2,)]),
    Case("setitem_advanced", _setitem_advanced, [(3, 2), (2,)]),
    Case("overwrite", lambda a, v: overwrite(a, v) ** 2 * a, [(2, 3), (3,)]),
    Case("clone", lambda a: a.clone() ** 2, [(3,)]),
    Case("to_dtype", _to32, [(3,)], "x", {"eps": 1e-3, "atol": 1e-4}),
    # -- linear algebra --------------------------------------------------------------
    Case("matmul", lambda a, b: mg.matmul(a, b) ** 2, [(2, 3), (3, 2)]),
    Case("matmul_vec", lambda a, b: (a @ b) ** 2, [(3,), (3, 2)]),
    Case("matmul_mat_vec", lambda a, b: (a @ b) ** 2, [(2, 3), (3,)]),
    Case("matmul_batch_2d", lambda a, b: (a @ b) ** 2, [(2, 2, 3), (3, 2)]),
    Case("matmul_batch_bcast", lambda a, b: (a @ b) ** 2, [(2, 2, 3), (1, 3, 2)]),
    Case("linear", lambda x, w, b: F.linear(x, w, b) ** 2, [(2, 3), (2, 3), (2,)]),
    Case("linear_nobias", lambda x, w: F.linear(x, w) ** 2, [(2, 3), (2, 3)]),
    Case(
        "linear_3d", lambda x, w, b: F.linear(x, w, b) ** 2, [(2, 2, 3), (2, 3), (2,)]
    ),
    Case(
        "linear_relu",
        lambda x, w, b: mg.ops.linalg.linear(x, w, b, activation="relu") ** 2,
        [(3, 3), (2, 3), (2,)],
    ),
    Case(
        "linear_sigmoid",
        lambda x, w, b: mg.ops.linalg.linear(x, w, b, activation="sigmoid"),
        [(2, 3), (2, 3), (2,)],
        "u",
    ),
    Case(
        "linear_tanh",
        lambda x, w, b: mg.ops.linalg.linear(x, w, b, activation="tanh"),
        [(2, 3), (2, 3), (2,)],
        "u",
    ),
    # -- normalisation, embedding, dropout --------------------------------------------
    Case("layer_norm", lambda x: F.layer_norm(x, 4), [(2, 4)], "u"),
    Case(
        "layer_norm_affine",
        lambda x, w, b: F.layer_norm(x, (2, 2), w, b),
        [(2, 2, 2), (2, 2), (2, 2)],
        "u",
    ),
    Case(
        "batch_norm",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(3, 2), (2,), (2,)],
        "u",
    ),
    Case("embedding", lambda w: F.embedding(_IDX, w) ** 2, [(4, 2)]),
    Case("embedding_pad", lambda w: F.embedding(_IDX, w, padding_idx=0) ** 2, [(4, 2)]),
    Case("dropout", _dropout, [(2, 4)], "u"),
    # -- losses ----------------------------------------------------------------
    Case("cross_entropy", lambda x: F.cross_entropy(x, _T3), [(3, 3)], "u"),
    Case(
        "cross_entropy_sum_w",
        lambda x: F.cross_entropy(x, _T3, weight=_W_CLASS, reduction="sum"),
        [(3, 3)],
        "u",
    ),
    Case(
        "cross_entropy_none_ls",
        lambda x: F.cross_entropy(x, _T3, reduction="none", label_smoothing=0.2),
        [(3, 3)],
        "u",
    ),
    Case(
        "cross_entropy_ignore",
        lambda x: F.cross_entropy(x, _T3_IGN, weight=_W_CLASS),
        [(3, 3)],
        "u",
    ),
    Case(
        "cross_entropy_spatial",
        lambda x: F.cross_entropy(x, _T_SPATIAL),
        [(2, 3, 2)],
        "u",
    ),
    Case("cross_entropy_1d", lambda x: F.cross_entropy(x, _T3[0]), [(3,)], "u"),
    Case(
        "cross_entropy_probs",
        lambda x, p: F.cross_entropy(x, p.softmax(1)),
        [(2, 3), (2, 3)],
        "u",
    ),
    Case(
        "cross_entropy_composite",
        lambda x: cross_entropy_composite(x, _T3, label_smoothing=0.1),
        [(3, 3)],
        "u",
    ),
    Case(
        "nll_loss",
        lambda x: F.nll_loss(x.log_softmax(1), _T3, weight=_W_CLASS),
        [(3, 3)],
        "u",
    ),
    Case(
        "nll_loss_none",
        lambda x: F.nll_loss(x.log_softmax(1), _T3_IGN, reduction="none") ** 2,
        [(3, 3)],
        "u",
    ),
    Case(
        "bce",
        lambda p, t: F.binary_cross_entropy(p, t),
        [(2, 3), (2, 3)],
        "prob",
    ),
    Case(
        "bce_weight_sum",
        lambda p, t: F.binary_cross_entropy(p, t, weight=_W_ELEM, reduction="sum"),
        [(2, 3), (2, 3)],
        "prob",
    ),
    Case(
        "bce_none",
        lambda p, t: F.binary_cross_entropy(p, t, reduction="none"),
        [(2, 3), (2, 3)],
        "prob",
    ),
    Case(
        "bce_composite",
        lambda p, t: binary_cross_entropy_composite(p, t),
        [(2, 3), (2, 3)],
        "prob",
    ),
    Case(
        "bce_logits",
        lambda x, t: F.binary_cross_entropy_with_logits(x, t),
        [(2, 3), (2, 3)],
        ("u", "prob"),
    ),
    Case(
        "bce_logits_weights",
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, weight=_W_ELEM, pos_weight=_POS_W, reduction="sum"
        ),
        [(2, 3), (2, 3)],
        ("u", "prob"),
    ),
    Case(
        "bce_logits_none",
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=_POS_W, reduction="none"
        ),
        [(2, 3), (2, 3)],
        ("u", "prob"),
    ),
    Case("mse_loss", lambda x, t: F.mse_loss(x, t), [(2, 3), (2, 3)], "u"),
    Case(
        "mse_loss_none", lambda x, t: F.mse_loss(x, t, reduction="none"), [(4,), (4,)]
    ),
    Case("l1_loss", lambda x: F.l1_loss(x * x, x + _OFF), [(2, 3)]),
    Case(
        "smooth_l1_loss",
        lambda x, t: F.smooth_l1_loss(x, t, beta=1.0),
        [(2, 3), (2, 3)],
        "u",
    ),
    Case(
        "huber_loss", lambda x, t: F.huber_loss(x, t, "sum", 0.8), [(2, 3), (2, 3)], "u"
    ),
    # -- convolution, pooling, padding (tiny: gradcheck is O(numel^2)) --------
    Case(
        "conv2d",
        lambda x, w, b: F.conv2d(x, w, b, padding=1).tanh(),
        [(1, 2, 4, 4), (3, 2, 3, 3), (3,)],
        "u",
    ),
    Case(
        "conv1d_groups_stride",
        lambda x, w: F.conv1d(x, w, stride=2, groups=2) ** 2,
        [(2, 4, 7), (4, 2, 3)],
        "u",
    ),
    Case(
        "conv_transpose2d",
        lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1).tanh(),
        [(1, 2, 3, 3), (2, 3, 2, 2)],
        "u",
    ),
    # Random draws have no ties inside a window.
    Case("max_pool2d", lambda x: F.max_pool2d(x * x, 2) ** 2, [(1, 2, 4, 4)], "u"),
    Case(
        "max_pool2d_adjoints",
        _max_pool_adjoints,
        [(1, 1, 4, 4), (1, 1, 2, 2), (1, 1, 4, 4)],
        "u",
    ),
    Case(
        "avg_pool2d",
        lambda x: F.avg_pool2d(x, 2, stride=1, padding=1) ** 2,
        [(1, 1, 3, 3)],
        "u",
    ),
    Case("pad_constant", lambda x: F.pad(x, (1, 2), value=0.5) ** 2, [(2, 3)], "u"),
    Case(
        "unfold_fold",
        lambda x: F.fold(F.unfold(x, 2) ** 2, (3, 3), 2),
        [(1, 2, 3, 3)],
        "u",
    ),
    # -- math, scans and more reductions (issue 14) -----------------------------
    *(
        Case(f"math_{n}", lambda a, n=n: getattr(a, n)() * a, [(2, 3)], kind)
        for n, kind in [
            ("sin", "u"),
            ("cos", "u"),
            ("tan", "prob"),
            ("asin", "prob"),
            ("acos", "prob"),
            ("atan", "u"),
            ("sinh", "u"),
            ("cosh", "u"),
            ("asinh", "u"),
            ("atanh", "prob"),
            ("exp2", "u"),
            ("expm1", "u"),
            ("log2", "pos"),
            ("log10", "pos"),
            ("log1p", "pos"),
            ("rsqrt", "pos"),
            ("reciprocal", "x"),
            ("erfc", "u"),
            ("erfinv", "prob"),
            ("frac", "prob"),
            ("nan_to_num", "u"),
        ]
    ),
    Case("math_acosh", lambda a: (a + 1.0).acosh() * a, [(2, 3)], "pos"),
    Case(
        "math_rounding",
        lambda a: (a.floor() + a.ceil() + a.trunc() + a.round(decimals=1)) * a,
        [(2, 3)],
        "prob",
    ),
    *(
        Case(f"math_{n}", lambda a, b, n=n: getattr(mg, n)(a, b) * a, shapes, kind)
        for n, shapes, kind in [
            ("atan2", [(2, 3), (3,)], "x"),
            ("hypot", [(2, 3), (2, 1)], "x"),
            ("logaddexp", [(2, 3), (3,)], "u"),
            ("xlogy", [(2, 3), (3,)], ("x", "pos")),
            ("copysign", [(2, 3), (3,)], "x"),
            ("fmod", [(2, 3), (3,)], ("x", "pos")),
        ]
    ),
    Case("cumsum", lambda a: a.cumsum(1) ** 2, [(2, 3)], "u"),
    Case("cumprod", lambda a: a.cumprod(-1) * a, [(2, 4)], "x"),
    Case("cumprod_zeros", lambda a: (a * _ZMASK).cumprod(1) * a, [(2, 4)], "x"),
    Case("cummax", lambda a: a.cummax(1).values ** 2, [(2, 4)], "u"),
    Case("logcumsumexp", lambda a: a.logcumsumexp(0) * a, [(3, 2)], "u"),
    Case("prod", lambda a: a.prod(1) ** 2, [(2, 3)], "x"),
    Case("prod_zeros", lambda a: (a * _ZMASK).prod(1) * a.sum(1), [(2, 4)], "x"),
    Case("median", lambda a: a.median(0).values ** 2, [(3, 2)], "u"),
    Case("median_all", lambda a: a.median() * a, [(3, 2)], "u"),
    Case("prod_dim_zeros_nan_free", lambda a: (a * _ZMASK).prod(0) * a, [(2, 4)], "x"),
    # -- resampling, group / instance norm (appended with issue 13's rest) ----
    Case(
        "max_unpool2d",
        lambda x: F.max_unpool2d(
            x * x, mg.tensor(np.array([[[[0, 3], [9, 15]]]])), 2
        ).tanh(),
        [(1, 1, 2, 2)],
        "u",
    ),
    Case(
        "interpolate_bicubic",
        lambda x: F.interpolate(x, size=(3, 4), mode="bicubic") ** 2,
        [(1, 1, 2, 3)],
        "u",
    ),
    Case(
        "adaptive_max_pool2d",
        lambda x: F.adaptive_max_pool2d(x * x, (2, 1)) ** 2,
        [(1, 1, 3, 3)],
        "u",
    ),
    Case(
        "group_norm",
        lambda x, w: F.group_norm(x, 2, w) ** 2,
        [(2, 4, 2), (4,)],
        "u",
    ),
    # -- issue 14: indexing, selection, layout --
    Case("gather", lambda x: x.gather(1, _IDX14) ** 2, [(2, 3)], "u"),
    Case(
        "scatter_add",
        lambda x, s: x.scatter_add(1, _IDX14, s) ** 2,
        [(2, 3), (2, 2)],
        "u",
    ),
    Case(
        "scatter",
        lambda x, s: x.scatter(1, _IDX14_UNIQ, s) ** 2,
        [(2, 3), (2, 2)],
        "u",
    ),
    # drawn values: no ties between self and src
    Case(
        "scatter_reduce_amax",
        lambda x, s: x.scatter_reduce(1, _IDX14, s, "amax") ** 2,
        [(2, 3), (2, 2)],
        "u",
    ),
    Case("sort_values", lambda x: x.sort(descending=True).values ** 2, [(2, 4)], "u"),
    Case("flip", lambda x: x.flip(0, 1) * x, [(2, 3)], "u"),
    Case("roll", lambda x: x.roll(1, 1) * x, [(2, 3)], "u"),
    Case("diagonal", lambda x: x.diagonal(1) ** 2, [(3, 4)], "u"),
    Case("diag_embed", lambda x: x.diag_embed(-1) ** 2, [(2, 3)], "u"),
    Case("einsum", lambda x, y: mg.einsum("ij,jk,ik->k", x, y, x), [(2, 3), (3, 3)]),
    Case("inv", lambda x: mg.linalg.inv(x + 4 * _EYE3), [(3, 3)], "u"),
    Case("det", lambda x: mg.linalg.det(x + 4 * _EYE3), [(3, 3)], "u"),
    Case("slogdet", lambda x: mg.linalg.slogdet(x + 4 * _EYE3)[1], [(3, 3)], "u"),
    Case(
        "solve",
        lambda x, b: mg.linalg.solve(x + 4 * _EYE3, b),
        [(3, 3), (3, 2)],
        "u",
    ),
    Case(
        "cholesky",
        lambda x: mg.linalg.cholesky(x @ x.mT + 3 * _EYE3),
        [(3, 3)],
        "u",
    ),
]

# cumprod_zeros, prod_zeros: one zero in row 0, two in row 1 (PyTorch's cases)
_ZMASK = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])

CASES_BY_NAME = {c.name: c for c in CASES}


def test_case_names_are_unique():
    assert len(CASES_BY_NAME) == len(CASES)


@pytest.mark.parametrize("name", list(CASES_BY_NAME))
def test_gradgradcheck(name):
    case = CASES_BY_NAME[name]
    assert gradgradcheck(case.fn, case.inputs(), **case.opts)


# -- every Function is covered ----------------------------------------------------

# Function subclasses that no case has to run, and why.
EXCLUDED = {
    # Abstract base of the elementwise activations; each subclass is covered.
    "minigrad.ops.activation._Activation",
    # Abstract base of the issue-14 activations; each subclass is covered.
    "minigrad.ops.activation_more._Pointwise",
}


def _op_functions() -> set[type]:
    """Every Function subclass defined in minigrad.ops and minigrad.nn."""
    import minigrad.nn

    found = set()
    for pkg in (minigrad.ops, minigrad.nn):
        for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
            mod = importlib.import_module(info.name)
            for obj in vars(mod).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, Function)
                    and obj is not Function
                    and obj.__module__ == mod.__name__
                ):
                    found.add(obj)
    return found


def _graph_functions(outputs: Any) -> set[type]:
    """The Function classes of every node in the graphs of ``outputs``."""
    seen, stack, fns = set(), [], set()
    for o in outputs:
        if isinstance(o, mg.Tensor) and o.grad_fn is not None:
            stack.append(o.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        fns.add(node._fn)
        for nxt, _ in node.next_functions:
            if (
                nxt is not None
                and getattr(nxt, "_is_node", False)
                and not isinstance(nxt, mg.Tensor)
            ):
                stack.append(nxt)
    return fns


def _case_functions(case: Case) -> set[type]:
    """Functions in the graph of the case's outputs and of its recorded first
    derivative (IndexAdd appears only there: it is GetItem's backward)."""
    ins = case.inputs()
    res = case.fn(*ins)
    outs = [o for o in (res if isinstance(res, tuple) else (res,)) if o.requires_grad]
    grads = mg.autograd.grad(
        outs,
        list(ins),
        [mg.ones_like(o) for o in outs],
        create_graph=True,
        allow_unused=True,
    )
    return _graph_functions(outs) | _graph_functions(
        [g for g in grads if g is not None]
    )


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_every_function_is_covered():
    covered = set()
    for case in CASES:
        covered |= _case_functions(case)
    missing = sorted(
        _qualname(f)
        for f in _op_functions()
        if _qualname(f) not in EXCLUDED and f not in covered
    )
    assert not missing, (
        f"Functions without a gradgradcheck case in tests/test_gradgrad.py: {missing}; "
        "add a case to CASES (or, with a comment, to EXCLUDED)"
    )


def test_exclusions_are_functions():
    # A stale exclusion (renamed or removed Function) would hide nothing.
    names = {_qualname(f) for f in _op_functions()}
    assert names >= EXCLUDED


def test_coverage_sees_the_ops():
    # The graph walk finds what the cases run (it would otherwise pass vacuously).
    assert act_ops.Silu in _case_functions(CASES_BY_NAME["silu"])
    assert IndexAdd in _case_functions(CASES_BY_NAME["getitem_advanced"])


# -- the checks catch wrong second derivatives of real ops ---------------------------


def _wrong_when_recorded(monkeypatch, cls, wrong):
    """Replaces cls.backward by ``wrong`` only on the recorded (create_graph)
    path: plain backward, which gradcheck sees, stays right."""
    plain = cls.backward

    def backward(ctx, *gs):
        if STATE.grad_enabled:
            return wrong(ctx, *gs)
        return plain(ctx, *gs)

    monkeypatch.setattr(cls, "backward", staticmethod(backward))


def test_catches_a_wrong_recorded_softmax_backward(monkeypatch):
    def wrong(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g + (g * y).sum(ctx.dim, keepdim=True))  # sign flipped

    case = CASES_BY_NAME["softmax_dim1"]
    assert mg.autograd.gradcheck(case.fn, case.inputs())
    _wrong_when_recorded(monkeypatch, act_ops.Softmax, wrong)
    assert mg.autograd.gradcheck(case.fn, case.inputs())  # first order: blind
    with pytest.raises(GradcheckError, match="create_graph=True"):
        gradgradcheck(case.fn, case.inputs())


def test_catches_a_recorded_softmax_backward_with_a_detached_factor(monkeypatch):
    # Right values, wrong graph: only the Jacobian comparison can see it.
    def wrong(ctx, g):
        (y,) = ctx.saved_tensors
        return y.detach() * (g - (g * y).sum(ctx.dim, keepdim=True))

    case = CASES_BY_NAME["softmax_dim1"]
    _wrong_when_recorded(monkeypatch, act_ops.Softmax, wrong)
    with pytest.raises(GradcheckError, match="finite differences"):
        gradgradcheck(case.fn, case.inputs())


@pytest.mark.parametrize(
    "deriv",
    [
        # s·(x·(1 - s) + 1) with a sign flipped: the first derivative is wrong.
        lambda x, s: s * (x * (s - 1.0) + 1.0),
        # A factor of 1.03: a near miss.
        lambda x, s: s * (x * (1.0 - s) + 1.0) * 1.03,
    ],
)
def test_catches_a_wrong_recorded_silu_derivative(monkeypatch, deriv):
    monkeypatch.setattr(
        act_ops.Silu,
        "_deriv",
        staticmethod(lambda x, p0, p1: deriv(x, act_ops.sigmoid(x))),
    )
    case = CASES_BY_NAME["silu"]
    assert mg.autograd.gradcheck(case.fn, case.inputs())
    assert gradgradcheck(case.fn, case.inputs(), raise_exception=False) is False
