"""Tensor: a numpy array plus what autograd needs. Layer: core.

A Tensor wraps one ``np.ndarray`` (``.data``). When it requires grad and was made
by an op, ``grad_fn`` is the op's :class:`~minigrad.autograd.function.Context`
and ``_out_idx`` says which output of it this is. Methods are one-line calls of
the functional forms in :mod:`minigrad.ops`.
"""

from __future__ import annotations

import builtins
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minigrad._C import _core
from minigrad.autograd._tape import note_read, recorded
from minigrad.autograd.grad_mode import STATE
from minigrad.device import CPU, check_device, device, parse_to
from minigrad.dtypes import (
    TENSOR_TYPE_NAMES,
    DTypeError,
    canonical_dtype,
    float32,
    to_array,
)
from minigrad.errors import ShapeError
from minigrad.inplace import InplaceMixin

__all__ = ["Tensor"]


class Tensor(_core.TensorBase, InplaceMixin):
    """An n-dimensional array that records the ops applied to it.

    Parameters
    ----------
    data : array-like
        Copied into a new numpy array. Python floats become float32.
    dtype : optional
        One of minigrad.dtypes.SUPPORTED: float16/32/64, int8/16/32/64, uint8, bool.
    requires_grad : bool
        Whether backward should compute ``.grad`` for this tensor (floats only).
    """

    # The fields (data, grad, grad_fn, requires_grad, _out_idx, _vc, _hooks,
    # _base) are those of the compiled base (Note [Compiled core]).
    __slots__ = ()
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators
    _is_node = False  # a leaf is an edge of the graph, not a node

    def __init__(
        self, *args: Any, dtype: Any = None, requires_grad: bool = False
    ) -> None:
        self.data: np.ndarray = _constructor_array(args, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Any = None
        self.requires_grad = False
        self._out_idx = 0
        self._vc: list[int] | None = [0]
        self._hooks: list[Callable[[Tensor], Any]] | None = None
        self._base: Tensor | None = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, arr: np.ndarray) -> Tensor:
        """A Tensor around ``arr`` (no copy, no checks): the ops' fast path."""
        return _wrap(arr)

    @property
    def _version(self) -> list[int]:
        """The version counter, ``[n]``: bumped by every in-place change, and
        shared by tensors that share memory (views, ``detach``). Created lazily."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        return vc

    @_version.setter
    def _version(self, vc: list[int]) -> None:
        self._vc = vc

    @recorded()
    def _alias(self) -> Tensor:
        """Another Tensor object for the same value, node and version counter."""
        t = _wrap(self.data)
        t.grad_fn, t._out_idx, t._vc = self.grad_fn, self._out_idx, self._version
        t.requires_grad = self.requires_grad
        return t

    # -- attributes ------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*range(self.ndim - 1, -1, -1)) if self.ndim > 1 else self

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    @property
    def device(self) -> device:
        return CPU

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def item(self) -> Any:
        note_read("Tensor.item")
        if self.data.size != 1:
            raise ShapeError(
                f"item: a Tensor with {self.data.size} elements (shape {self.shape}) "
                "cannot be converted to a Python scalar"
            )
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        note_read("Tensor.tolist")
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared memory, no copy)."""
        note_read("Tensor.numpy")
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        note_read("Tensor.__array__")
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self) -> bool:
        note_read("Tensor.__bool__")
        if self.data.size != 1:
            raise ShapeError(
                f"bool: the truth value of a tensor with {self.data.size} elements "
                f"(shape {self.shape}) is ambiguous"
            )
        return bool(self.data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        note_read("Tensor.__repr__")
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if (
            self.data.dtype not in (np.float32, np.int64, np.bool_)
            or self.data.size == 0
        ):
            extra += f", dtype={self.data.dtype}"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd --------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise DTypeError(
                f"requires_grad: only floating point tensors can require gradients, "
                f"got dtype {self.data.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    @recorded("grads")
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulates d(self)/d(leaf) · gradient into every leaf's ``.grad``."""
        engine = _engine or _load_engine()
        if retain_graph is None:
            retain_graph = create_graph
        if (
            gradient is None
            and inputs is None
            and engine.backward_scalar(self, retain_graph, create_graph)
        ):
            return
        _roots_and_seeds, run_backward = engine._roots_and_seeds, engine.run_backward
        roots, seeds = _roots_and_seeds([self], [gradient], "backward")
        if inputs is not None:
            ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            grads = run_backward(roots, seeds, retain_graph, create_graph, inputs=ins)
            for t, g in zip(ins, grads or []):
                if g is not None:
                    g = g if create_graph else g.detach()
                    t.grad = g if t.grad is None else t.grad + g
            return
        run_backward(roots, seeds, retain_graph, create_graph)

    @recorded()
    def detach(self) -> Tensor:
        """The same data (shared memory and version counter), cut from the graph."""
        t = _wrap(self.data)
        t._vc = self._version
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor during backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: tensor does not require grad")
        if self.grad_fn is None:
            return
        node = self.grad_fn
        node._plain = False
        if node._retained is None:
            node._retained = {}
        node._retained[self._out_idx] = weakref.ref(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """``hook(grad)`` runs when this tensor's gradient is computed; it may
        return a replacement. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: tensor does not require grad")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            node._plain = False
            if node._out_hooks is None:
                node._out_hooks = {}
            hooks = node._out_hooks.setdefault(self._out_idx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    # -- dtype -----------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``;
        ``self`` when nothing changes. Devices other than the CPU raise."""
        dtype = parse_to(args, kwargs, "Tensor.to")
        out = self if dtype is None else _ops.to_dtype(self, dtype)
        return out.clone() if out is self and kwargs.get("copy") else out

    def type(self, dtype: Any = None) -> Any:
        """With no dtype, the tensor type's name ('minigrad.FloatTensor', as
        torch's 'torch.FloatTensor'); else ``to(dtype)`` (a dtype or such a
        name)."""
        if dtype is None:
            return "minigrad." + TENSOR_TYPE_NAMES[self.data.dtype]
        return self.to(canonical_dtype(dtype, "Tensor.type"))

    def half(self) -> Tensor:
        return _ops.to_dtype(self, np.float16)

    def short(self) -> Tensor:
        return _ops.to_dtype(self, np.int16)

    def char(self) -> Tensor:
        return _ops.to_dtype(self, np.int8)

    def byte(self) -> Tensor:
        return _ops.to_dtype(self, np.uint8)

    def float(self) -> Tensor:
        return _ops.to_dtype(self, np.float32)

    def double(self) -> Tensor:
        return _ops.to_dtype(self, np.float64)

    def long(self) -> Tensor:
        return _ops.to_dtype(self, np.int64)

    def int(self) -> Tensor:
        return _ops.to_dtype(self, np.int32)

    def bool(self) -> Tensor:
        return _ops.to_dtype(self, np.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return _ops.to_dtype(self, other.dtype)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None) -> Tensor:
        check_device("cuda" if device is None else device, "Tensor.cuda")
        return self

    def clone(self) -> Tensor:
        return _ops.clone(self)

    def contiguous(self) -> Tensor:
        return self if self.data.flags.c_contiguous else _ops.clone(self)

    def is_contiguous(self) -> builtins.bool:
        return bool(self.data.flags.c_contiguous)

    # -- memory layout, as PyTorch reports it ------------------------------------
    def stride(self, dim: builtins.int | None = None) -> Any:
        """Steps between neighbours along each dim, counted in elements. A
        contiguous tensor reports PyTorch's contiguous strides (numpy may give
        any stride to a dim of size 0 or 1); a view its real steps (0 where
        expanded)."""
        a = self.data
        if a.flags.c_contiguous:
            st, step = [], 1
            for n in reversed(a.shape):
                st.append(step)
                step *= builtins.max(n, 1)
            strides = tuple(reversed(st))
        else:
            strides = tuple(s // a.itemsize for s in a.strides)
        if dim is None:
            return strides
        return strides[_shape_ops._dim(dim, a.ndim, "stride")]

    def element_size(self) -> builtins.int:
        """Bytes per element."""
        return int(self.data.itemsize)

    @property
    def itemsize(self) -> builtins.int:
        return int(self.data.itemsize)

    @property
    def nbytes(self) -> builtins.int:
        return int(self.data.nbytes)

    def nelement(self) -> builtins.int:
        return int(self.data.size)

    def ndimension(self) -> builtins.int:
        return self.ndim

    def data_ptr(self) -> builtins.int:
        """Address of the first element (views of one tensor share memory)."""
        return int(self.data.ctypes.data)

    def is_floating_point(self) -> builtins.bool:
        return self.data.dtype.kind == "f"

    def is_signed(self) -> builtins.bool:
        return self.data.dtype.kind in "if"

    # -- arithmetic --------------------------------------------------------------
    # + - * / and unary - are TensorBase's, compiled: Note [Compiled dunders] in
    # minigrad/_C/_dunders.pxi (a Python __add__ here would shadow its C slot).
    def __pow__(self, o: Any) -> Tensor:
        return _ops.pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return _ops.pow(o, self)

    def __floordiv__(self, o: Any) -> Tensor:
        return _integer.floor_divide(self, o)

    def __rfloordiv__(self, o: Any) -> Tensor:
        return _integer.floor_divide(o, self)

    def __mod__(self, o: Any) -> Tensor:
        return _integer.remainder(self, o)

    def __rmod__(self, o: Any) -> Tensor:
        return _integer.remainder(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return _ops.matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return _ops.matmul(_wrap(to_array(o)), self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    # Comparisons give bool tensors and are not differentiable.
    def _cmp(self, o: Any, fn: Any) -> Any:
        if isinstance(o, Tensor):
            if o.data.dtype != self.data.dtype:
                # compared in the promoted dtype, as PyTorch (int64 vs float32
                # compares in float32; a 0-d float64 does not widen float32)
                return _COMPARE_OPS[fn](self, o)
            od: Any = o.data
        elif isinstance(o, (int, float, np.number, np.bool_, np.ndarray, list, tuple)):
            dt = self.data.dtype
            if not ((type(o) is int or type(o) is float) and dt.kind == "f") and not (
                type(o) is int and dt == np.int64
            ):
                return _COMPARE_OPS[fn](self, o)
            od = o  # numpy compares these as PyTorch does (Note [Python scalars])
        else:
            return NotImplemented  # t == None is False, as in PyTorch
        try:
            return _wrap(np.asarray(fn(self.data, od)))
        except ValueError:
            raise ShapeError(
                f"{fn.__name__}: shapes {self.shape} and {np.shape(od)} cannot be "
                "broadcast together"
            ) from None

    def __eq__(self, o: Any) -> Tensor:  # type: ignore[override]
        return self._cmp(o, np.equal)

    def __ne__(self, o: Any) -> Tensor:  # type: ignore[override]
        return self._cmp(o, np.not_equal)

    def __lt__(self, o: Any) -> Tensor:
        return self._cmp(o, np.less)

    def __le__(self, o: Any) -> Tensor:
        return self._cmp(o, np.less_equal)

    def __gt__(self, o: Any) -> Tensor:
        return self._cmp(o, np.greater)

    def __ge__(self, o: Any) -> Tensor:
        return self._cmp(o, np.greater_equal)

    def eq(self, o: Any) -> Tensor:
        return self._cmp(o, np.equal)

    # Bitwise on integers, logical on bools, an error on floats (PyTorch).
    def __invert__(self) -> Tensor:
        return _integer.bitwise_not(self)

    def __and__(self, o: Any) -> Tensor:
        return _integer.bitwise_and(self, o)

    def __rand__(self, o: Any) -> Tensor:
        return _integer.bitwise_and(o, self)

    def __or__(self, o: Any) -> Tensor:
        return _integer.bitwise_or(self, o)

    def __ror__(self, o: Any) -> Tensor:
        return _integer.bitwise_or(o, self)

    def __xor__(self, o: Any) -> Tensor:
        return _integer.bitwise_xor(self, o)

    def __rxor__(self, o: Any) -> Tensor:
        return _integer.bitwise_xor(o, self)

    # -- elementwise ---------------------------------------------------------------
    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def sign(self) -> Tensor:
        return _ops.sign(self)

    def round(self, decimals: builtins.int = 0) -> Tensor:
        return _math.round(self, decimals)

    def square(self) -> Tensor:
        return _elementwise.square(self)

    def neg(self) -> Tensor:
        return _ops.neg(self)

    def add(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return _ops.pow(self, exponent)

    def floor_divide(self, other: Any) -> Tensor:
        return _integer.floor_divide(self, other)

    def remainder(self, other: Any) -> Tensor:
        return _integer.remainder(self, other)

    def clamp(
        self, min: builtins.float | None = None, max: builtins.float | None = None
    ) -> Tensor:
        return _ops.clamp(self, min, max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return _ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return _ops.minimum(self, other)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def leaky_relu(self, negative_slope: builtins.float = 0.01) -> Tensor:
        return _ops.leaky_relu(self, negative_slope)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def gelu(self, approximate: str = "none") -> Tensor:
        return _ops.gelu(self, approximate)

    def silu(self) -> Tensor:
        return _ops.silu(self)

    def hardshrink(self, lambd: builtins.float = 0.5) -> Tensor:
        return _ops.hardshrink(self, lambd)

    def prelu(self, weight: Tensor) -> Tensor:
        return _ops.prelu(self, weight)

    def softplus(
        self, beta: builtins.float = 1.0, threshold: builtins.float = 20.0
    ) -> Tensor:
        return _ops.softplus(self, beta, threshold)

    def erf(self) -> Tensor:
        return _ops.erf(self)

    def softmax(self, dim: builtins.int | None = None) -> Tensor:
        return _ops.softmax(self, dim)

    def log_softmax(self, dim: builtins.int | None = None) -> Tensor:
        return _ops.log_softmax(self, dim)

    # -- reductions ---------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _ops.sum(self, dim, keepdim)

    def mean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _ops.mean(self, dim, keepdim)

    def var(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: builtins.int = 1,
        unbiased: builtins.bool | None = None,
    ) -> Tensor:
        return _ops.var(self, dim, keepdim, correction=correction, unbiased=unbiased)

    def std(
        self,
        dim: Any = None,
        keepdim: builtins.bool = False,
        *,
        correction: builtins.int = 1,
        unbiased: builtins.bool | None = None,
    ) -> Tensor:
        return _ops.std(self, dim, keepdim, correction=correction, unbiased=unbiased)

    def max(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return _ops.max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: builtins.bool = False) -> Any:
        return _ops.min(self, dim, keepdim)

    def amax(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _reduce.amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _reduce.amin(self, dim, keepdim)

    def argmax(
        self, dim: builtins.int | None = None, keepdim: builtins.bool = False
    ) -> Tensor:
        return _ops.argmax(self, dim, keepdim)

    def argmin(
        self, dim: builtins.int | None = None, keepdim: builtins.bool = False
    ) -> Tensor:
        return _ops.argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _ops.logsumexp(self, dim, keepdim)

    def sum_to(self, shape: Any) -> Tensor:
        return _ops.sum_to(self, shape)

    # -- shape -----------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    def flatten(
        self, start_dim: builtins.int = 0, end_dim: builtins.int = -1
    ) -> Tensor:
        return _ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim: Any = None) -> Tensor:
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: builtins.int) -> Tensor:
        return _ops.unsqueeze(self, dim)

    def transpose(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        return _ops.transpose(self, dim0, dim1)

    def permute(self, *dims: Any) -> Tensor:
        return _ops.permute(self, *dims)

    def expand(self, *shape: Any) -> Tensor:
        return _ops.expand(self, *shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return _ops.expand(self, other.shape)

    def split(self, split_size: Any, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        return _ops.split(self, split_size, dim)

    def matmul(self, other: Tensor) -> Tensor:
        return _ops.matmul(self, other)

    def __getitem__(self, idx: Any) -> Tensor:
        return _ops.getitem(self, idx)

    @recorded("self")
    def __setitem__(self, idx: Any, value: Any) -> None:
        _ops.setitem(self, idx, value)

    # -- issue 14: indexing, selection, layout (ops/select, sort, layout, einsum,
    # lapack) ------------------------------------------------------------------------
    def gather(self, dim: builtins.int, index: Any) -> Tensor:
        return _ops.gather(self, dim, index)

    def scatter(
        self, dim: builtins.int, index: Any, src: Any = None, **kw: Any
    ) -> Tensor:
        return _ops.scatter(self, dim, index, src, **kw)

    def scatter_add(self, dim: builtins.int, index: Any, src: Tensor) -> Tensor:
        return _ops.scatter_add(self, dim, index, src)

    def scatter_reduce(
        self,
        dim: builtins.int,
        index: Any,
        src: Tensor,
        reduce: str,
        *,
        include_self: builtins.bool = True,
    ) -> Tensor:
        return _ops.scatter_reduce(
            self, dim, index, src, reduce, include_self=include_self
        )

    def index_select(self, dim: builtins.int, index: Any) -> Tensor:
        return _ops.index_select(self, dim, index)

    def index_add(
        self, dim: builtins.int, index: Any, source: Tensor, *, alpha: Any = 1
    ) -> Tensor:
        return _ops.index_add(self, dim, index, source, alpha=alpha)

    def index_fill(self, dim: builtins.int, index: Any, value: Any) -> Tensor:
        return _ops.index_fill(self, dim, index, value)

    def index_copy(self, dim: builtins.int, index: Any, source: Tensor) -> Tensor:
        return _ops.index_copy(self, dim, index, source)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return _ops.masked_fill(self, mask, value)

    def where(self, condition: Any, other: Any) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (torch.Tensor.where)."""
        return _elementwise.where(condition, self, other)

    def masked_select(self, mask: Any) -> Tensor:
        return _ops.masked_select(self, mask)

    def masked_scatter(self, mask: Any, source: Tensor) -> Tensor:
        return _ops.masked_scatter(self, mask, source)

    def take(self, index: Any) -> Tensor:
        return _ops.take(self, index)

    def take_along_dim(self, indices: Any, dim: builtins.int | None = None) -> Tensor:
        return _ops.take_along_dim(self, indices, dim)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        return _ops.nonzero(self, as_tuple=as_tuple)

    def argwhere(self) -> Tensor:
        return _ops.argwhere(self)

    def sort(
        self,
        dim: builtins.int = -1,
        descending: builtins.bool = False,
        stable: builtins.bool = False,
    ) -> Any:
        return _ops.sort(self, dim, descending, stable)

    def argsort(
        self,
        dim: builtins.int = -1,
        descending: builtins.bool = False,
        stable: builtins.bool = False,
    ) -> Tensor:
        return _ops.argsort(self, dim, descending, stable)

    def topk(
        self,
        k: builtins.int,
        dim: builtins.int = -1,
        largest: builtins.bool = True,
        sorted: builtins.bool = True,
    ) -> Any:
        return _ops.topk(self, k, dim, largest, sorted)

    def kthvalue(
        self, k: builtins.int, dim: builtins.int = -1, keepdim: builtins.bool = False
    ) -> Any:
        return _ops.kthvalue(self, k, dim, keepdim)

    def unique(
        self,
        sorted: builtins.bool = True,
        return_inverse: builtins.bool = False,
        return_counts: builtins.bool = False,
        dim: builtins.int | None = None,
    ) -> Any:
        return _ops.unique(self, sorted, return_inverse, return_counts, dim)

    def flip(self, *dims: Any) -> Tensor:
        return _ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def fliplr(self) -> Tensor:
        return _ops.fliplr(self)

    def flipud(self) -> Tensor:
        return _ops.flipud(self)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return _ops.roll(self, shifts, dims)

    def repeat(self, *sizes: Any) -> Tensor:
        return _layout.repeat(self, *sizes)

    def repeat_interleave(
        self, repeats: Any, dim: builtins.int | None = None, **kw: Any
    ) -> Tensor:
        return _ops.repeat_interleave(self, repeats, dim, **kw)

    def tile(self, dims: Any) -> Tensor:
        return _ops.tile(self, dims)

    def tril(self, diagonal: builtins.int = 0) -> Tensor:
        return _ops.tril(self, diagonal)

    def triu(self, diagonal: builtins.int = 0) -> Tensor:
        return _ops.triu(self, diagonal)

    def diag(self, diagonal: builtins.int = 0) -> Tensor:
        return _ops.diag(self, diagonal)

    def diagonal(
        self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1
    ) -> Tensor:
        return _ops.diagonal(self, offset, dim1, dim2)

    def diag_embed(
        self, offset: builtins.int = 0, dim1: builtins.int = -2, dim2: builtins.int = -1
    ) -> Tensor:
        return _ops.diag_embed(self, offset, dim1, dim2)

    def trace(self) -> Tensor:
        return _ops.trace(self)

    def unfold(
        self, dimension: builtins.int, size: builtins.int, step: builtins.int
    ) -> Tensor:
        return _layout.unfold(self, dimension, size, step)

    def narrow(self, dim: builtins.int, start: Any, length: builtins.int) -> Tensor:
        return _ops.narrow(self, dim, start, length)

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        return _ops.chunk(self, chunks, dim)

    def tensor_split(
        self, indices_or_sections: Any, dim: builtins.int = 0
    ) -> tuple[Tensor, ...]:
        return _ops.tensor_split(self, indices_or_sections, dim)

    def unbind(self, dim: builtins.int = 0) -> tuple[Tensor, ...]:
        return _ops.unbind(self, dim)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        return _ops.movedim(self, source, destination)

    def moveaxis(self, source: Any, destination: Any) -> Tensor:
        return _ops.movedim(self, source, destination)

    def swapaxes(self, axis0: builtins.int, axis1: builtins.int) -> Tensor:
        return _ops.swapaxes(self, axis0, axis1)

    def swapdims(self, dim0: builtins.int, dim1: builtins.int) -> Tensor:
        return _ops.swapaxes(self, dim0, dim1)

    def t(self) -> Tensor:
        return _layout.t(self)

    def view_as(self, other: Tensor) -> Tensor:
        return _ops.reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return _ops.reshape(self, other.shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        return _ops.broadcast_to(self, shape)

    def unflatten(self, dim: builtins.int, sizes: Any) -> Tensor:
        return _ops.unflatten(self, dim, sizes)

    def outer(self, vec2: Tensor) -> Tensor:
        return _ops.outer(self, vec2)

    def inner(self, other: Tensor) -> Tensor:
        return _ops.inner(self, other)

    def dot(self, other: Tensor) -> Tensor:
        return _ops.dot(self, other)

    def vdot(self, other: Tensor) -> Tensor:
        return _ops.vdot(self, other)

    def kron(self, other: Tensor) -> Tensor:
        return _ops.kron(self, other)

    def cross(self, other: Tensor, dim: builtins.int | None = None) -> Tensor:
        return _ops.cross(self, other, dim)

    def bmm(self, mat2: Tensor) -> Tensor:
        return _ops.bmm(self, mat2)

    def mm(self, mat2: Tensor) -> Tensor:
        return _interop.mm(self, mat2)

    def addmm(
        self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1
    ) -> Tensor:
        return _ops.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(
        self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1
    ) -> Tensor:
        return _ops.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def inverse(self) -> Tensor:
        return _lapack.inv(self)

    def det(self) -> Tensor:
        return _lapack.det(self)

    def slogdet(self) -> Any:
        return _lapack.slogdet(self)

    def cholesky(self, upper: builtins.bool = False) -> Tensor:
        return _lapack.cholesky(self, upper=upper)

    # -- end of issue 14: indexing, selection, layout --------------------------------

    # -- in place ---------------------------------------------------------------------
    # Note [In-place ops]
    # An in-place op computes its result out of place from an alias of this tensor
    # (same node, same version counter), writes it into this tensor's memory, bumps
    # the version and makes the result's node this tensor's grad_fn, as PyTorch's
    # in-place ops do. A leaf that requires grad may only be modified under
    # no_grad. If the op saved the alias for backward (``y.mul_(w)`` needs the old
    # y for dL/dw), the saved value is replaced by a copy taken before the write.
    # In-place changes of a view whose base (or new value) requires grad are
    # refused under grad mode: the base's graph would not see them.
    def _check_inplace(
        self, op: str, value_requires_grad: builtins.bool = False
    ) -> None:
        if STATE.grad_enabled:
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad (shape {self.shape}) "
                    "cannot be modified in place; do it under no_grad(), or on a "
                    "copy (t.clone())"
                )
            base = self._base
            if base is not None and (
                self.requires_grad or base.requires_grad or value_requires_grad
            ):
                raise RuntimeError(
                    f"{op}: in-place change of a view (shape {self.shape}) of a "
                    f"tensor of shape {base.shape} while autograd is recording; "
                    "modify the base tensor (base[idx] = value) or clone the view"
                )
        if not self.data.flags.writeable:
            raise RuntimeError(
                f"{op}: tensor of shape {self.shape} is a read-only (expanded) view; "
                "clone it first"
            )

    @recorded("self")
    def _inplace(self, result: Tensor, op: str) -> Tensor:
        """Makes ``result`` this tensor's value, in its memory (Note [In-place ops])."""
        self._check_inplace(op, result.requires_grad)
        if result.shape != self.shape:
            raise ShapeError(
                f"{op}: result of shape {result.shape} cannot be written in place "
                f"into a tensor of shape {self.shape}"
            )
        if result.dtype != self.dtype:
            # PyTorch's can_cast: never down a category (int tensor.add_(0.5))
            if _KIND_RANK[result.dtype.kind] > _KIND_RANK[self.dtype.kind]:
                raise DTypeError(
                    f"{op}: result type {result.dtype} can't be cast to the "
                    f"tensor's dtype {self.dtype}"
                )
            result = result.to(self.dtype)
        recording = STATE.grad_enabled and (self.requires_grad or result.requires_grad)
        if recording:
            if not result.requires_grad:  # the old value gets a zero gradient
                result = _shape_ops.overwrite(self._alias(), result)
            _snapshot_saved_alias(result, self.data)
        np.copyto(self.data, result.data, casting="unsafe")
        self._version[0] += 1
        if recording:
            self.grad_fn, self._out_idx = result.grad_fn, result._out_idx
            self.requires_grad = True
        return self

    def add_(self, other: Any, alpha: builtins.float = 1.0) -> Tensor:
        return self._inplace(
            self._alias() + (other * alpha if alpha != 1 else other), "add_"
        )

    def sub_(self, other: Any, alpha: builtins.float = 1.0) -> Tensor:
        return self._inplace(
            self._alias() - (other * alpha if alpha != 1 else other), "sub_"
        )

    def mul_(self, other: Any) -> Tensor:
        return self._inplace(self._alias() * other, "mul_")

    def div_(self, other: Any) -> Tensor:
        return self._inplace(self._alias() / other, "div_")

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace(self._alias().clamp(min, max), "clamp_")

    @recorded("self")
    def copy_(self, src: Any) -> Tensor:
        src = src if isinstance(src, Tensor) else Tensor(src)
        return self._inplace(src.to(self.dtype).expand(self.shape), "copy_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    @recorded("self")
    def fill_(self, value: builtins.float) -> Tensor:
        const = Tensor._wrap(np.full(self.shape, value, self.data.dtype))
        return self._inplace(const, "fill_")

    def __iadd__(self, o: Any) -> Tensor:
        return self.add_(o)

    def __isub__(self, o: Any) -> Tensor:
        return self.sub_(o)

    def __imul__(self, o: Any) -> Tensor:
        return self.mul_(o)

    def __itruediv__(self, o: Any) -> Tensor:
        return self.div_(o)

    # In place like PyTorch (without these Python would rebind the name to a new
    # tensor, and views and other references would keep the old values).
    def __ifloordiv__(self, o: Any) -> Tensor:
        return self._inplace(_integer.floor_divide(self._alias(), o), "floor_divide_")

    def __imod__(self, o: Any) -> Tensor:
        return self._inplace(_integer.remainder(self._alias(), o), "remainder_")

    def __ipow__(self, o: Any) -> Tensor:
        return self._inplace(_ops.pow(self._alias(), o), "pow_")

    def __iand__(self, o: Any) -> Tensor:
        return self._inplace(_integer.bitwise_and(self._alias(), o), "bitwise_and_")

    def __ior__(self, o: Any) -> Tensor:
        return self._inplace(_integer.bitwise_or(self._alias(), o), "bitwise_or_")

    def __ixor__(self, o: Any) -> Tensor:
        return self._inplace(_integer.bitwise_xor(self._alias(), o), "bitwise_xor_")

    # -- math, comparisons, scans and more reductions (issue 14) ---------------
    # One-line calls of minigrad.ops.math / compare / scan / stats / norm.
    def sin(self) -> Tensor:
        return _math.sin(self)

    def cos(self) -> Tensor:
        return _math.cos(self)

    def tan(self) -> Tensor:
        return _math.tan(self)

    def asin(self) -> Tensor:
        return _math.asin(self)

    def acos(self) -> Tensor:
        return _math.acos(self)

    def atan(self) -> Tensor:
        return _math.atan(self)

    def sinh(self) -> Tensor:
        return _math.sinh(self)

    def cosh(self) -> Tensor:
        return _math.cosh(self)

    def asinh(self) -> Tensor:
        return _math.asinh(self)

    def acosh(self) -> Tensor:
        return _math.acosh(self)

    def atanh(self) -> Tensor:
        return _math.atanh(self)

    def arcsin(self) -> Tensor:
        return _math.arcsin(self)

    def arccos(self) -> Tensor:
        return _math.arccos(self)

    def arctan(self) -> Tensor:
        return _math.arctan(self)

    def exp2(self) -> Tensor:
        return _math.exp2(self)

    def expm1(self) -> Tensor:
        return _math.expm1(self)

    def log2(self) -> Tensor:
        return _math.log2(self)

    def log10(self) -> Tensor:
        return _math.log10(self)

    def log1p(self) -> Tensor:
        return _math.log1p(self)

    def rsqrt(self) -> Tensor:
        return _math.rsqrt(self)

    def reciprocal(self) -> Tensor:
        return _math.reciprocal(self)

    def erfc(self) -> Tensor:
        return _math.erfc(self)

    def erfinv(self) -> Tensor:
        return _math.erfinv(self)

    def floor(self) -> Tensor:
        return _math.floor(self)

    def ceil(self) -> Tensor:
        return _math.ceil(self)

    def trunc(self) -> Tensor:
        return _math.trunc(self)

    def fix(self) -> Tensor:
        return _math.fix(self)

    def frac(self) -> Tensor:
        return _math.frac(self)

    def sgn(self) -> Tensor:
        return _math.sgn(self)

    def atan2(self, other: Any) -> Tensor:
        return _math.atan2(self, other)

    def arctan2(self, other: Any) -> Tensor:
        return _math.arctan2(self, other)

    def hypot(self, other: Any) -> Tensor:
        return _math.hypot(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return _math.logaddexp(self, other)

    def xlogy(self, other: Any) -> Tensor:
        return _math.xlogy(self, other)

    def copysign(self, other: Any) -> Tensor:
        return _math.copysign(self, other)

    def fmod(self, other: Any) -> Tensor:
        return _math.fmod(self, other)

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        return _math.lerp(self, end, weight)

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return _math.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
        return _math.addcdiv(self, tensor1, tensor2, value=value)

    def nan_to_num(
        self,
        nan: builtins.float = 0.0,
        posinf: builtins.float | None = None,
        neginf: builtins.float | None = None,
    ) -> Tensor:
        return _math.nan_to_num(self, nan, posinf, neginf)

    def ne(self, other: Any) -> Tensor:
        return _compare.ne(self, other)

    def lt(self, other: Any) -> Tensor:
        return _compare.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return _compare.le(self, other)

    def gt(self, other: Any) -> Tensor:
        return _compare.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return _compare.ge(self, other)

    def not_equal(self, other: Any) -> Tensor:
        return _compare.not_equal(self, other)

    def less(self, other: Any) -> Tensor:
        return _compare.less(self, other)

    def less_equal(self, other: Any) -> Tensor:
        return _compare.less_equal(self, other)

    def greater(self, other: Any) -> Tensor:
        return _compare.greater(self, other)

    def greater_equal(self, other: Any) -> Tensor:
        return _compare.greater_equal(self, other)

    def logical_and(self, other: Any) -> Tensor:
        return _compare.logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return _compare.logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return _compare.logical_xor(self, other)

    def isnan(self) -> Tensor:
        return _compare.isnan(self)

    def isinf(self) -> Tensor:
        return _compare.isinf(self)

    def isfinite(self) -> Tensor:
        return _compare.isfinite(self)

    def isposinf(self) -> Tensor:
        return _compare.isposinf(self)

    def isneginf(self) -> Tensor:
        return _compare.isneginf(self)

    def logical_not(self) -> Tensor:
        return _compare.logical_not(self)

    def isclose(
        self,
        other: Any,
        rtol: builtins.float = 1e-05,
        atol: builtins.float = 1e-08,
        equal_nan: builtins.bool = False,
    ) -> Tensor:
        return _compare.isclose(self, other, rtol, atol, equal_nan)

    def allclose(
        self,
        other: Any,
        rtol: builtins.float = 1e-05,
        atol: builtins.float = 1e-08,
        equal_nan: builtins.bool = False,
    ) -> builtins.bool:
        return _compare.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> builtins.bool:
        return _compare.equal(self, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return _integer.bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return _integer.bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return _integer.bitwise_xor(self, other)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return _integer.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return _integer.bitwise_right_shift(self, other)

    def bitwise_not(self) -> Tensor:
        return _integer.bitwise_not(self)

    def __lshift__(self, o: Any) -> Tensor:
        return _integer.bitwise_left_shift(self, o)

    def __rlshift__(self, o: Any) -> Tensor:
        return _integer.bitwise_left_shift(o, self)

    def __ilshift__(self, o: Any) -> Tensor:
        return self._inplace(
            _integer.bitwise_left_shift(self._alias(), o), "bitwise_left_shift_"
        )

    def __rshift__(self, o: Any) -> Tensor:
        return _integer.bitwise_right_shift(self, o)

    def __rrshift__(self, o: Any) -> Tensor:
        return _integer.bitwise_right_shift(o, self)

    def __irshift__(self, o: Any) -> Tensor:
        return self._inplace(
            _integer.bitwise_right_shift(self._alias(), o), "bitwise_right_shift_"
        )

    def cumsum(self, dim: builtins.int, *, dtype: Any = None) -> Tensor:
        return _scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: builtins.int, *, dtype: Any = None) -> Tensor:
        return _scan.cumprod(self, dim, dtype=dtype)

    def cummax(self, dim: builtins.int) -> Any:
        return _scan.cummax(self, dim)

    def cummin(self, dim: builtins.int) -> Any:
        return _scan.cummin(self, dim)

    def logcumsumexp(self, dim: builtins.int) -> Tensor:
        return _scan.logcumsumexp(self, dim)

    def prod(
        self,
        dim: builtins.int | None = None,
        keepdim: builtins.bool = False,
        *,
        dtype: Any = None,
    ) -> Tensor:
        return _stats.prod(self, dim, keepdim, dtype=dtype)

    def nansum(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _stats.nansum(self, dim, keepdim)

    def nanmean(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _stats.nanmean(self, dim, keepdim)

    def all(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _stats.all(self, dim, keepdim)

    def multinomial(
        self,
        num_samples: builtins.int,
        replacement: builtins.bool = False,
        *,
        generator: Any = None,
    ) -> Tensor:
        from minigrad import factories

        return factories.multinomial(
            self, num_samples, replacement, generator=generator
        )

    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Tensor:
        from minigrad import factories

        return factories.bernoulli(self, p, generator=generator)

    def any(self, dim: Any = None, keepdim: builtins.bool = False) -> Tensor:
        return _stats.any(self, dim, keepdim)

    def median(
        self, dim: builtins.int | None = None, keepdim: builtins.bool = False
    ) -> Any:
        return _stats.median(self, dim, keepdim)

    def aminmax(
        self, *, dim: builtins.int | None = None, keepdim: builtins.bool = False
    ) -> Any:
        return _stats.aminmax(self, dim=dim, keepdim=keepdim)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return _stats.count_nonzero(self, dim)

    def norm(
        self,
        p: Any = "fro",
        dim: Any = None,
        keepdim: builtins.bool = False,
        dtype: Any = None,
    ) -> Tensor:
        return _norms.norm(self, p, dim, keepdim, dtype)


_KIND_RANK = {"b": 0, "i": 1, "u": 1, "f": 2}


def _snapshot_saved_alias(result: Tensor, data: np.ndarray) -> None:
    """Replaces, in the node that made ``result``, a saved input sharing ``data``
    (about to be overwritten) by a copy (Note [In-place ops])."""
    node = result.grad_fn
    if node is None or not node._saved:
        return
    entries = list(node._saved)
    for k, (kind, val, _ver) in enumerate(entries):
        if kind == 0 and val.data is data:
            snap = _wrap(data.copy())
            snap.grad_fn, snap._out_idx = val.grad_fn, val._out_idx
            snap.requires_grad = val.requires_grad
            entries[k] = (kind, snap, 0)
    node._saved = tuple(entries)


def _constructor_array(args: tuple[Any, ...], dtype: Any) -> np.ndarray:
    """The array of ``Tensor(*args, dtype=...)``, by ``torch.Tensor``'s rules:
    ``Tensor(data)`` converts a list / array / scalar data to float32 (unless
    ``dtype`` is given); ``Tensor(2, 3)`` (ints alone) is a float32 tensor of that
    shape, which PyTorch leaves uninitialised and minigrad fills with zeros;
    ``Tensor()`` is empty; ``Tensor(t)`` shares ``t``'s array."""
    d = float32 if dtype is None else canonical_dtype(dtype, "Tensor")
    if len(args) == 1 and isinstance(args[0], Tensor):
        a = args[0].data
        return a if dtype is None or a.dtype == d else a.astype(d)
    if not args:
        return np.zeros(0, d)
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        if any(a < 0 for a in args):
            raise ShapeError(f"Tensor: negative dimension in size {tuple(args)}")
        return np.zeros(tuple(int(a) for a in args), d)
    if len(args) == 1:
        return to_array(args[0], d)
    raise TypeError(
        "Tensor: expected data (a list, an array or a Tensor) or a shape as ints, "
        f"got {len(args)} arguments of types {[type(a).__name__ for a in args]}"
    )


# ``Tensor._wrap`` without the method lookup (the per-op hot path), compiled:
# Note [Compiled core] in minigrad/_C/_core.pyx.
_core.bind(Tensor=Tensor)
_wrap: Callable[[np.ndarray], Tensor] = _core.wrap


# The backward engine, imported on first use (it imports this module).
_engine: Any = None


def _load_engine() -> Any:
    global _engine
    from minigrad.autograd import engine

    _engine = engine
    return engine


class _HookHandle:
    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


from minigrad import interop as _interop  # noqa: E402
from minigrad import ops as _ops  # noqa: E402  (ops import Tensor; bound last)
from minigrad.ops import compare as _compare  # noqa: E402
from minigrad.ops import elementwise as _elementwise  # noqa: E402
from minigrad.ops import integer as _integer  # noqa: E402
from minigrad.ops import lapack as _lapack  # noqa: E402
from minigrad.ops import layout as _layout  # noqa: E402
from minigrad.ops import math as _math  # noqa: E402
from minigrad.ops import norms as _norms  # noqa: E402
from minigrad.ops import reduce as _reduce  # noqa: E402
from minigrad.ops import scan as _scan  # noqa: E402
from minigrad.ops import shape as _shape_ops  # noqa: E402

_COMPARE_OPS = {
    np.equal: _ops.eq,
    np.not_equal: _ops.ne,
    np.less: _ops.lt,
    np.less_equal: _ops.le,
    np.greater: _ops.gt,
    np.greater_equal: _ops.ge,
}
from minigrad.ops import stats as _stats  # noqa: E402
