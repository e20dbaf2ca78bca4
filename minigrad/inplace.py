"""PyTorch's in-place twins (``x.sin_()``, ``x.masked_fill_(m, v)``...) as a mixin
of :class:`~minigrad.tensor.Tensor`. Layer: core (imports nothing above numpy).

Each method is one line that names its out-of-place op: the op runs on the
tensor's old value and :meth:`Tensor._inplace` writes the result into its memory,
bumps the version counter and rebinds ``grad_fn`` (Note [In-place ops] in
``tensor.py``). Methods are written out, not generated, so that editors and mypy
see them. Not here: in-place ops without an out-of-place method in minigrad
(``lgamma_``, ``digamma_``...), ``resize_``/``set_``/``as_strided_`` (a Tensor is
one numpy array, its strides are numpy's), ``index_put_``/``put_`` (no
out-of-place twin; ``t[idx] = v`` covers it).

Note [In-place old value]
When autograd records, the op runs on a *snapshot* of the old value (a copy that
keeps the tensor's node) rather than on an alias of its memory: a composite op
(``lerp``, ``xlogy``, ``nan_to_num``...) may save that operand in any of its inner
nodes, and the write that follows would otherwise make those saved values stale
and backward raise (or, without a version check, compute a wrong gradient).
Without recording nothing is saved, so no copy is made.

Note [In-place metadata ops]
``t_``, ``transpose_``, ``squeeze_``, ``unsqueeze_``, ``swapaxes_`` change the
shape of the tensor in place: its array becomes a numpy view of the same memory
with the new shape, and its node becomes the view op's. As in PyTorch they bump
the version counter, so that a node which saved this tensor (and would now read
it with the wrong shape) raises instead of computing a wrong gradient.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from minigrad.autograd._tape import recorded
from minigrad.autograd.grad_mode import STATE
from minigrad.dtypes import DTypeError
from minigrad.errors import ArgumentError, ShapeError
from minigrad.random import get_generator

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = ["InplaceMixin"]

_Gen = np.random.Generator | None


class InplaceMixin:
    """The ``X_`` methods of Tensor (module docstring)."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Tensor
        data: np.ndarray
        requires_grad: bool
        grad_fn: Any
        _out_idx: int

        @property
        def shape(self) -> tuple[int, ...]: ...
        @property
        def dtype(self) -> np.dtype: ...
        @property
        def ndim(self) -> int: ...
        @property
        def _version(self) -> list[int]: ...
        def _alias(self) -> Tensor: ...
        def _inplace(self, result: Tensor, op: str) -> Tensor: ...
        def _check_inplace(
            self, op: str, value_requires_grad: bool = False
        ) -> None: ...

    def _old(self) -> Tensor:
        """The value before the write (Note [In-place old value])."""
        a = self._alias()
        if STATE.grad_enabled and self.requires_grad:
            a.data = self.data.copy()
            a._vc = None  # a snapshot: nothing writes it
        return a

    # -- unary math --
    def neg_(self) -> Tensor:
        return self._inplace(self._old().neg(), "neg_")

    def abs_(self) -> Tensor:
        return self._inplace(self._old().abs(), "abs_")

    def sign_(self) -> Tensor:
        return self._inplace(self._old().sign(), "sign_")

    def sgn_(self) -> Tensor:
        return self._inplace(self._old().sgn(), "sgn_")

    def square_(self) -> Tensor:
        return self._inplace(self._old().square(), "square_")

    def exp_(self) -> Tensor:
        return self._inplace(self._old().exp(), "exp_")

    def exp2_(self) -> Tensor:
        return self._inplace(self._old().exp2(), "exp2_")

    def expm1_(self) -> Tensor:
        return self._inplace(self._old().expm1(), "expm1_")

    def log_(self) -> Tensor:
        return self._inplace(self._old().log(), "log_")

    def log2_(self) -> Tensor:
        return self._inplace(self._old().log2(), "log2_")

    def log10_(self) -> Tensor:
        return self._inplace(self._old().log10(), "log10_")

    def log1p_(self) -> Tensor:
        return self._inplace(self._old().log1p(), "log1p_")

    def sqrt_(self) -> Tensor:
        return self._inplace(self._old().sqrt(), "sqrt_")

    def rsqrt_(self) -> Tensor:
        return self._inplace(self._old().rsqrt(), "rsqrt_")

    def reciprocal_(self) -> Tensor:
        return self._inplace(self._old().reciprocal(), "reciprocal_")

    def sigmoid_(self) -> Tensor:
        return self._inplace(self._old().sigmoid(), "sigmoid_")

    def tanh_(self) -> Tensor:
        return self._inplace(self._old().tanh(), "tanh_")

    def relu_(self) -> Tensor:
        return self._inplace(self._old().relu(), "relu_")

    def erf_(self) -> Tensor:
        return self._inplace(self._old().erf(), "erf_")

    def erfc_(self) -> Tensor:
        return self._inplace(self._old().erfc(), "erfc_")

    def erfinv_(self) -> Tensor:
        return self._inplace(self._old().erfinv(), "erfinv_")

    def sin_(self) -> Tensor:
        return self._inplace(self._old().sin(), "sin_")

    def cos_(self) -> Tensor:
        return self._inplace(self._old().cos(), "cos_")

    def tan_(self) -> Tensor:
        return self._inplace(self._old().tan(), "tan_")

    def asin_(self) -> Tensor:
        return self._inplace(self._old().asin(), "asin_")

    def acos_(self) -> Tensor:
        return self._inplace(self._old().acos(), "acos_")

    def atan_(self) -> Tensor:
        return self._inplace(self._old().atan(), "atan_")

    def arcsin_(self) -> Tensor:
        return self._inplace(self._old().arcsin(), "arcsin_")

    def arccos_(self) -> Tensor:
        return self._inplace(self._old().arccos(), "arccos_")

    def arctan_(self) -> Tensor:
        return self._inplace(self._old().arctan(), "arctan_")

    def sinh_(self) -> Tensor:
        return self._inplace(self._old().sinh(), "sinh_")

    def cosh_(self) -> Tensor:
        return self._inplace(self._old().cosh(), "cosh_")

    def asinh_(self) -> Tensor:
        return self._inplace(self._old().asinh(), "asinh_")

    def acosh_(self) -> Tensor:
        return self._inplace(self._old().acosh(), "acosh_")

    def atanh_(self) -> Tensor:
        return self._inplace(self._old().atanh(), "atanh_")

    def floor_(self) -> Tensor:
        return self._inplace(self._old().floor(), "floor_")

    def ceil_(self) -> Tensor:
        return self._inplace(self._old().ceil(), "ceil_")

    def trunc_(self) -> Tensor:
        return self._inplace(self._old().trunc(), "trunc_")

    def fix_(self) -> Tensor:
        return self._inplace(self._old().fix(), "fix_")

    def frac_(self) -> Tensor:
        return self._inplace(self._old().frac(), "frac_")

    def round_(self, decimals: int = 0) -> Tensor:
        return self._inplace(self._old().round(decimals), "round_")

    def nan_to_num_(
        self,
        nan: float = 0.0,
        posinf: float | None = None,
        neginf: float | None = None,
    ) -> Tensor:
        return self._inplace(self._old().nan_to_num(nan, posinf, neginf), "nan_to_num_")

    # -- binary and ternary math --
    def pow_(self, exponent: Any) -> Tensor:
        return self._inplace(self._old().pow(exponent), "pow_")

    def fmod_(self, other: Any) -> Tensor:
        return self._inplace(self._old().fmod(other), "fmod_")

    def remainder_(self, other: Any) -> Tensor:
        return self._inplace(self._old().remainder(other), "remainder_")

    def floor_divide_(self, other: Any) -> Tensor:
        return self._inplace(self._old().floor_divide(other), "floor_divide_")

    def atan2_(self, other: Any) -> Tensor:
        return self._inplace(self._old().atan2(other), "atan2_")

    def arctan2_(self, other: Any) -> Tensor:
        return self._inplace(self._old().arctan2(other), "arctan2_")

    def hypot_(self, other: Any) -> Tensor:
        return self._inplace(self._old().hypot(other), "hypot_")

    def xlogy_(self, other: Any) -> Tensor:
        return self._inplace(self._old().xlogy(other), "xlogy_")

    def copysign_(self, other: Any) -> Tensor:
        return self._inplace(self._old().copysign(other), "copysign_")

    def clip_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(self._old().clamp(min, max), "clip_")

    def lerp_(self, end: Tensor, weight: Any) -> Tensor:
        return self._inplace(self._old().lerp(end, weight), "lerp_")

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return self._inplace(
            self._old().addcmul(tensor1, tensor2, value=value), "addcmul_"
        )

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return self._inplace(
            self._old().addcdiv(tensor1, tensor2, value=value), "addcdiv_"
        )

    def addmm_(
        self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1
    ) -> Tensor:
        return self._inplace(
            self._old().addmm(mat1, mat2, beta=beta, alpha=alpha), "addmm_"
        )

    def baddbmm_(
        self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
    ) -> Tensor:
        return self._inplace(
            self._old().baddbmm(batch1, batch2, beta=beta, alpha=alpha), "baddbmm_"
        )

    def cumsum_(self, dim: int, *, dtype: Any = None) -> Tensor:
        return self._inplace(self._old().cumsum(dim, dtype=dtype), "cumsum_")

    def cumprod_(self, dim: int, *, dtype: Any = None) -> Tensor:
        return self._inplace(self._old().cumprod(dim, dtype=dtype), "cumprod_")

    # -- comparisons, logical and bitwise (the result is cast to this dtype) --
    def eq_(self, other: Any) -> Tensor:
        return self._inplace(self._old().eq(other), "eq_")

    def ne_(self, other: Any) -> Tensor:
        return self._inplace(self._old().ne(other), "ne_")

    def lt_(self, other: Any) -> Tensor:
        return self._inplace(self._old().lt(other), "lt_")

    def le_(self, other: Any) -> Tensor:
        return self._inplace(self._old().le(other), "le_")

    def gt_(self, other: Any) -> Tensor:
        return self._inplace(self._old().gt(other), "gt_")

    def ge_(self, other: Any) -> Tensor:
        return self._inplace(self._old().ge(other), "ge_")

    def not_equal_(self, other: Any) -> Tensor:
        return self._inplace(self._old().not_equal(other), "not_equal_")

    def less_(self, other: Any) -> Tensor:
        return self._inplace(self._old().less(other), "less_")

    def less_equal_(self, other: Any) -> Tensor:
        return self._inplace(self._old().less_equal(other), "less_equal_")

    def greater_(self, other: Any) -> Tensor:
        return self._inplace(self._old().greater(other), "greater_")

    def greater_equal_(self, other: Any) -> Tensor:
        return self._inplace(self._old().greater_equal(other), "greater_equal_")

    def logical_and_(self, other: Any) -> Tensor:
        return self._inplace(self._old().logical_and(other), "logical_and_")

    def logical_or_(self, other: Any) -> Tensor:
        return self._inplace(self._old().logical_or(other), "logical_or_")

    def logical_xor_(self, other: Any) -> Tensor:
        return self._inplace(self._old().logical_xor(other), "logical_xor_")

    def logical_not_(self) -> Tensor:
        return self._inplace(self._old().logical_not(), "logical_not_")

    def bitwise_and_(self, other: Any) -> Tensor:
        return self._inplace(self._old().bitwise_and(other), "bitwise_and_")

    def bitwise_or_(self, other: Any) -> Tensor:
        return self._inplace(self._old().bitwise_or(other), "bitwise_or_")

    def bitwise_xor_(self, other: Any) -> Tensor:
        return self._inplace(self._old().bitwise_xor(other), "bitwise_xor_")

    def bitwise_not_(self) -> Tensor:
        return self._inplace(self._old().bitwise_not(), "bitwise_not_")

    def bitwise_left_shift_(self, other: Any) -> Tensor:
        return self._inplace(
            self._old().bitwise_left_shift(other), "bitwise_left_shift_"
        )

    def bitwise_right_shift_(self, other: Any) -> Tensor:
        return self._inplace(
            self._old().bitwise_right_shift(other), "bitwise_right_shift_"
        )

    # -- indexing and triangles --
    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return self._inplace(self._old().masked_fill(mask, value), "masked_fill_")

    def masked_scatter_(self, mask: Any, source: Tensor) -> Tensor:
        return self._inplace(
            self._old().masked_scatter(mask, source), "masked_scatter_"
        )

    def scatter_(
        self,
        dim: int,
        index: Any,
        src: Any = None,
        *,
        value: Any = None,
        reduce: str | None = None,
    ) -> Tensor:
        return self._inplace(
            self._old().scatter(dim, index, src, value=value, reduce=reduce),
            "scatter_",
        )

    def scatter_add_(self, dim: int, index: Any, src: Tensor) -> Tensor:
        return self._inplace(self._old().scatter_add(dim, index, src), "scatter_add_")

    def scatter_reduce_(
        self,
        dim: int,
        index: Any,
        src: Tensor,
        reduce: str,
        *,
        include_self: bool = True,
    ) -> Tensor:
        return self._inplace(
            self._old().scatter_reduce(
                dim, index, src, reduce, include_self=include_self
            ),
            "scatter_reduce_",
        )

    def index_add_(
        self, dim: int, index: Any, source: Tensor, *, alpha: Any = 1
    ) -> Tensor:
        return self._inplace(
            self._old().index_add(dim, index, source, alpha=alpha), "index_add_"
        )

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        return self._inplace(self._old().index_fill(dim, index, value), "index_fill_")

    def index_copy_(self, dim: int, index: Any, source: Tensor) -> Tensor:
        return self._inplace(self._old().index_copy(dim, index, source), "index_copy_")

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(self._old().tril(diagonal), "tril_")

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._inplace(self._old().triu(diagonal), "triu_")

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """Fills the main diagonal (all dims equal when ``ndim > 2``); a tall
        matrix restarts it every ``cols + 1`` rows when ``wrap``, as PyTorch."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise ShapeError(
                "fill_diagonal_: the tensor must be 2-D, or have all dims of "
                f"equal length, got shape {self.shape}"
            )
        mask = np.zeros(self.shape, dtype=bool)
        np.fill_diagonal(mask, True, wrap=wrap)
        return self._inplace(
            self._old().masked_fill(mask, fill_value), "fill_diagonal_"
        )

    # -- shape changes (Note [In-place metadata ops]) --
    def _restride(self, result: Tensor, op: str) -> Tensor:
        t = cast("Tensor", self)
        if STATE.grad_enabled and t.requires_grad and t.grad_fn is None:
            t._check_inplace(op)  # raises: a leaf that requires grad
        t.data = result.data
        t._version[0] += 1
        if result.requires_grad:
            t.grad_fn, t._out_idx = result.grad_fn, result._out_idx
        return t

    def t_(self) -> Tensor:
        return self._restride(self._alias().t(), "t_")

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._restride(self._alias().transpose(dim0, dim1), "transpose_")

    def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
        return self._restride(self._alias().swapaxes(axis0, axis1), "swapaxes_")

    def swapdims_(self, dim0: int, dim1: int) -> Tensor:
        return self._restride(self._alias().swapdims(dim0, dim1), "swapdims_")

    def squeeze_(self, dim: Any = None) -> Tensor:
        return self._restride(self._alias().squeeze(dim), "squeeze_")

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._restride(self._alias().unsqueeze(dim), "unsqueeze_")

    # -- random fills (the old value gets a zero gradient) --
    def _fill_random(self, arr: Any, op: str) -> Tensor:
        from minigrad.tensor import Tensor  # a lazy import: tensor imports us

        return self._inplace(Tensor._wrap(np.asarray(arr, self.dtype)), op)

    def _need_float(self, op: str) -> None:
        if self.dtype.kind != "f":
            raise DTypeError(f"{op}: needs a floating point tensor, got {self.dtype}")

    @recorded("self")
    def uniform_(
        self, from_: float = 0.0, to: float = 1.0, *, generator: _Gen = None, **kw: Any
    ) -> Tensor:
        """Uniform on ``[from, to)``; ``from`` may be passed by keyword as in
        PyTorch (``uniform_(**{'from': -1})``) or as ``from_``."""
        from_ = _keyword_from(kw, from_, "uniform_")
        self._need_float("uniform_")
        if not from_ <= to:
            raise ArgumentError(
                f"uniform_: expects from <= to, got from={from_}, to={to}"
            )
        draw = get_generator(generator).uniform(from_, to, self.shape)
        return self._fill_random(draw, "uniform_")

    @recorded("self")
    def normal_(
        self, mean: float = 0.0, std: float = 1.0, *, generator: _Gen = None
    ) -> Tensor:
        self._need_float("normal_")
        if not std >= 0:
            raise ArgumentError(f"normal_: expects std >= 0.0, got std={std}")
        draw = get_generator(generator).normal(mean, std, self.shape)
        return self._fill_random(draw, "normal_")

    @recorded("self")
    def log_normal_(
        self, mean: float = 1.0, std: float = 2.0, *, generator: _Gen = None
    ) -> Tensor:
        self._need_float("log_normal_")
        if not std > 0:
            raise ArgumentError(f"log_normal_: expects std > 0.0, got std={std}")
        draw = get_generator(generator).lognormal(mean, std, self.shape)
        return self._fill_random(draw, "log_normal_")

    @recorded("self")
    def exponential_(self, lambd: float = 1.0, *, generator: _Gen = None) -> Tensor:
        self._need_float("exponential_")
        if not lambd > 0:
            raise ArgumentError(f"exponential_: expects lambda > 0.0, got {lambd}")
        draw = get_generator(generator).exponential(1.0 / lambd, self.shape)
        return self._fill_random(draw, "exponential_")

    @recorded("self")
    def cauchy_(
        self, median: float = 0.0, sigma: float = 1.0, *, generator: _Gen = None
    ) -> Tensor:
        self._need_float("cauchy_")
        if not sigma > 0:
            raise ArgumentError(f"cauchy_: expects sigma > 0.0, got {sigma}")
        draw = median + sigma * get_generator(generator).standard_cauchy(self.shape)
        return self._fill_random(draw, "cauchy_")

    @recorded("self")
    def geometric_(self, p: float, *, generator: _Gen = None) -> Tensor:
        """The number of Bernoulli(p) trials up to the first success (>= 1)."""
        if not 0 < p < 1:
            raise ArgumentError(f"geometric_: expects p in (0, 1), got p={p}")
        draw = get_generator(generator).geometric(p, self.shape)
        return self._fill_random(draw, "geometric_")

    @recorded("self")
    def bernoulli_(self, p: Any = 0.5, *, generator: _Gen = None) -> Tensor:
        """1 with probability ``p`` (a number, or a tensor broadcast to this
        one), else 0, in this tensor's dtype."""
        probs = np.asarray(getattr(p, "data", p), dtype=np.float64)
        if probs.size and not ((probs >= 0) & (probs <= 1)).all():
            raise ArgumentError("bernoulli_: expects 0 <= p <= 1")
        try:
            probs = np.broadcast_to(probs, self.shape)
        except ValueError:
            raise ShapeError(
                f"bernoulli_: p of shape {probs.shape} does not broadcast to the "
                f"tensor's shape {self.shape}"
            ) from None
        draw = get_generator(generator).random(self.shape) < probs
        return self._fill_random(draw, "bernoulli_")

    @recorded("self")
    def random_(
        self,
        from_: int | None = None,
        to: int | None = None,
        *,
        generator: _Gen = None,
        **kw: Any,
    ) -> Tensor:
        """Integers uniform on ``[from, to)``. ``random_(to)`` is ``[0, to)``;
        with no upper bound the range ends at the dtype's top, included:
        ``2**mantissa`` for floats (the integers they hold exactly), ``2**63 - 1``
        for int64, 1 for bool."""
        if "from" not in kw and to is None and from_ is not None:
            from_, to = 0, from_  # random_(to)
        lo = builtins.int(_keyword_from(kw, from_, "random_") or 0)
        if to is None:
            kind = self.dtype.kind
            if kind == "f":
                top = 2 ** (np.finfo(self.dtype).nmant + 1)
            else:
                top = 1 if kind == "b" else builtins.int(np.iinfo(np.int64).max)
            if not lo <= top:
                raise ArgumentError(f"random_: from={lo} is above the dtype's top")
            draw = get_generator(generator).integers(lo, top, self.shape, endpoint=True)
            return self._fill_random(draw, "random_")
        if not lo < to:
            raise ArgumentError(f"random_: expects from < to, got from={lo}, to={to}")
        draw = get_generator(generator).integers(lo, to, self.shape)
        return self._fill_random(draw, "random_")


def _keyword_from(kw: dict[str, Any], default: Any, op: str) -> Any:
    """PyTorch's ``from=`` keyword (a Python keyword, so it comes in ``**kw``)."""
    value = kw.pop("from", default)
    if kw:
        raise TypeError(f"{op}: unexpected keyword argument(s) {sorted(kw)}")
    return value
