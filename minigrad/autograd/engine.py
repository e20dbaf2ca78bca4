"""The backward engine: reverse topological order, no recursion.

Layer: autograd. Walks the graph of :class:`~minigrad.autograd.function.Context`
nodes (Note [Graph nodes] in ``function.py``). Imports the grad-mode state and
``minigrad.tensor`` (at the bottom, to break the import cycle).

# Note [Engine order]
A node may run once every node that consumes its outputs has passed its gradient
on; it then runs exactly once, with the sum of those gradients. Nodes carry
sequence numbers that grow with creation, and a consumer is always created after
what it consumes, so the engine keeps the nodes that have received a gradient in
a heap keyed by the sequence number and always runs the newest: by then every
consumer reachable from the roots has already run. This needs no recursion and
no pre-pass over the graph, so a chain a million ops deep backprops in one loop
(PyTorch's engine orders its ready queue the same way).

Gradients meant for leaves are summed over the whole pass and delivered at the
end: each leaf's hooks see, and its ``.grad`` receives, the total once.

# Note [Taking the gradient buffer]
A leaf's ``.grad`` must own its buffer: optimizers update it in place, and one
array may be returned for several inputs (Add) or still be held by a node
(a fused loss that computed its gradient in forward and kept it for a second
backward). So the first gradient a leaf receives is copied, unless nobody else
can see it: an array that owns its memory, whose only references are this
engine's own (counted with ``sys.getrefcount``, as PyTorch's engine checks
``use_count``), wrapped by a Tensor only the engine holds. Any extra reference,
a view of it, or a hook on the leaf makes it a copy. One view is taken as it
is (by the compiled path, ``_core.accumulate_plain``): a C-contiguous view that
spans the whole of an array no one else holds, as a kernel's transposed result
is after the transpose back to the leaf (the copy cost 1.5x the softmax
backward before it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad._C import _core
from minigrad._C._core import backward_scalar
from minigrad._C._core import loop as _loop
from minigrad._C._core import push as _push
from minigrad._C._layout import c_order_copy
from minigrad.autograd._tape import recorded
from minigrad.autograd.function import _FREED
from minigrad.autograd.grad_mode import STATE

__all__ = ["backward_scalar", "grad", "run_backward"]


def run_backward(
    roots: Sequence[Any],
    grad_roots: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Backpropagates ``grad_roots`` from ``roots`` (Note [Engine order]).

    Without ``inputs`` the gradients accumulate into the leaves' ``.grad``. With
    ``inputs`` (``autograd.grad``) they are returned instead, one per input, and no
    ``.grad`` is touched.
    """
    buffers: dict[Any, Any] = {}  # node -> its output gradient (list if several)
    heap: list[tuple[int, Any]] = []
    leaves: dict[Any, Any] = {}  # leaf Tensor -> its summed gradient
    for r, g in zip(roots, grad_roots):
        node = r.grad_fn
        if node is None:
            leaves[r] = g if r not in leaves else leaves[r] + g
        else:
            _push(buffers, heap, node, r._out_idx, g)

    capture: dict[Any, int] | None = None
    captured: list[Any] = []
    if inputs is not None:
        captured = [None] * len(inputs)
        capture = {}
        for i, t in enumerate(inputs):
            capture[id(t) if t.grad_fn is None else (t.grad_fn, t._out_idx)] = i

    prev_mode = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    try:
        _loop(buffers, heap, leaves, retain_graph, capture, captured)
    finally:
        STATE.grad_enabled = prev_mode
    if capture is not None:
        for t, g in leaves.items():
            pos = capture.get(id(t))
            if pos is not None:
                captured[pos] = _apply_hooks(t._hooks, g) if t._hooks else g
        return captured
    if create_graph or not _core.accumulate_plain(leaves):
        _accumulate_all(leaves, create_graph)
    return None


def _accumulate_all(leaves: dict[Any, Any], create_graph: bool) -> None:
    """Delivers each leaf's total gradient when ``_core.accumulate_plain``
    cannot (also for the compiled ``backward_scalar``: the reference counts of
    Note [Taking the gradient buffer] are those of this frame, whichever path
    ran)."""
    for t, g in leaves.items():
        _accumulate(t, g, create_graph)


# Note [Plain nodes]
# A node is "plain" while it has one output, no hooks, no retained grad, a
# built-in backward and was never freed (set when a built-in op creates it); the
# compiled loop (``_core.loop``, Note [Compiled core]) runs plain nodes itself
# and hands any other to ``_run_special``. An edge that is a bare node points at a
# single-output node; several outputs always use (node, index) edges.


def _run_special(
    node: Any, grads: Any, capture: dict[Any, int] | None, captured: list[Any]
) -> tuple[Any, ...]:
    """Runs a node that is not plain (Note [Plain nodes])."""
    if node._saved is _FREED:
        raise RuntimeError(
            f"{node.name()}: trying to backward through the graph a second "
            "time. The graph is freed after backward; pass retain_graph=True "
            "to the first backward if you need to run backward through it again."
        )
    multi = node._n_out != 1
    grads = _output_hooks(node, grads if multi else [grads])
    if capture is not None:
        for idx, g in enumerate(grads):
            i = capture.get((node, idx))
            if i is not None:
                captured[i] = g
    if node._node_hooks is not None:
        for h in node._node_hooks:
            h(tuple(grads))
    if multi and node.materialize_grads:
        assert node._out_meta is not None
        for idx, (shape, dtype) in enumerate(node._out_meta):
            if grads[idx] is None:
                grads[idx] = _wrap(np.zeros(shape, dtype))
    res = node._fn.backward(node, *grads)
    if type(res) is not tuple:
        res = (res,)
    if not node._fn._array_forward:
        if len(res) != len(node._edges):
            res = _fix_arity(node, res)
        res = _check_grads(node, res)
    return res


def _output_hooks(node: Any, grads: list[Any]) -> list[Any]:
    """Tensor hooks of non-leaf outputs, then their retained ``.grad``."""
    hooks, retained = node._out_hooks, node._retained
    if not hooks and not retained:
        return grads
    for idx, g in enumerate(grads):
        if g is None:
            continue
        if hooks and hooks.get(idx):
            g = grads[idx] = _apply_hooks(hooks[idx], g)
        if retained and idx in retained:
            t = retained[idx]()
            if t is not None:
                g2 = g if STATE.grad_enabled else g.detach()
                t.grad = g2 if t.grad is None else t.grad + g2
    return grads


def _apply_hooks(hooks: list[Any], g: Any) -> Any:
    for h in list(hooks):
        r = h(g)
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(
                    f"hook {getattr(h, '__name__', h)!r} returned a "
                    f"{type(r).__name__}; a tensor hook must return a Tensor or None"
                )
            if r.shape != g.shape:
                raise RuntimeError(
                    f"hook {getattr(h, '__name__', h)!r} returned a gradient of "
                    f"shape {r.shape} for a gradient of shape {g.shape}"
                )
            g = r
    return g


def _fix_arity(node: Any, res: tuple[Any, ...]) -> tuple[Any, ...]:
    if len(res) == 1 and isinstance(res[0], list):
        res = tuple(res[0])
    n_in = len(node._edges)
    if len(res) != n_in:
        # PyTorch allows trailing Nones to be omitted for non-tensor arguments.
        if len(res) < n_in and all(e is None for e in node._edges[len(res) :]):
            res = res + (None,) * (n_in - len(res))
        else:
            raise RuntimeError(
                f"{node.name()}: backward returned {len(res)} gradients, "
                f"but forward had {n_in} inputs"
            )
    return res


def _check_grads(node: Any, res: tuple[Any, ...]) -> tuple[Any, ...]:
    """Validates what a user-defined backward returned: Tensors of the input's
    shape (a broadcast gradient is summed down) and dtype."""
    out: list[Tensor | None] = []
    for i, (edge, g) in enumerate(zip(node._edges, res)):
        if edge is None or g is None:
            out.append(None)
            continue
        if not isinstance(g, Tensor):
            g = _wrap(np.asarray(g))
        shape, dtype = node._in_meta[i]
        if g.shape != shape:
            if not _broadcastable(shape, g.shape):
                raise RuntimeError(
                    f"{node.name()}: backward returned a gradient of shape "
                    f"{g.shape} for input {i}, which has shape {shape}"
                )
            g = g.sum_to(shape)
        if g.dtype != dtype:
            g = g.to(dtype)
        out.append(g)
    return tuple(out)


def _broadcastable(target: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether a gradient of ``shape`` sums down to ``target`` (unbroadcast)."""
    if len(target) > len(shape):
        return False
    tail = shape[len(shape) - len(target) :]
    return all(t == s or t == 1 for t, s in zip(target, tail))


def _accumulate(t: Any, g: Any, create_graph: bool) -> None:
    """Adds a leaf's total gradient (after its hooks) into ``t.grad``."""
    if t._hooks:
        g = _apply_hooks(t._hooks, g)
    data = g.data
    if data.shape != t.data.shape or data.dtype != t.data.dtype:
        g = _conform(t, g)
    if t.grad is None:
        # Own the buffer: one array may be returned for several inputs (Add), and
        # optimizers update .grad in place.
        t.grad = g if create_graph or _unshared(g) else _wrap(c_order_copy(g.data))
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        np.add(t.grad.data, g.data, out=t.grad.data, casting="unsafe")


# The references to a gradient's Tensor and array that only the engine holds when
# _unshared runs (Note [Taking the gradient buffer]). Tensor: the ``leaves``
# dict, its items() tuple, the loop variable, _accumulate's and _unshared's
# parameters, getrefcount's argument. Array: the Tensor's attribute, the
# ``data`` locals of _accumulate and _unshared, getrefcount's argument.
# tests/test_autograd.py checks that the plain case is taken without a copy.
_ENGINE_REFS_TENSOR = 6
_ENGINE_REFS_ARRAY = 4


def _unshared(g: Any) -> bool:
    data = g.data
    return (
        data.base is None
        and data.flags.owndata
        and data.flags.writeable
        and sys.getrefcount(g) <= _ENGINE_REFS_TENSOR
        and sys.getrefcount(data) <= _ENGINE_REFS_ARRAY
    )


def _conform(t: Any, g: Any) -> Any:
    if g.shape != t.shape:
        if not _broadcastable(t.shape, g.shape):
            raise RuntimeError(
                f"backward: a gradient of shape {g.shape} reached a leaf of shape "
                f"{t.shape}"
            )
        g = g.sum_to(t.shape)
    return g if g.dtype == t.dtype else g.to(t.dtype)


def _check_anomaly(node: Any, grads_in: tuple[Any, ...]) -> None:
    for i, g in enumerate(grads_in):
        if g is not None and not np.all(np.isfinite(g.data)):
            where = "".join(node._trace) if node._trace else ""
            kind = "nan" if np.isnan(g.data).any() else "inf"
            raise RuntimeError(
                f"Function '{node.name()}' returned {kind} values in its {i}th "
                f"output.\nForward call that created it:\n{where}"
            )


@recorded()
def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    Parameters
    ----------
    outputs : Tensor or sequence of Tensors
    inputs : Tensor or sequence of Tensors that require grad (leaves or not)
    grad_outputs : Tensor or matching sequence; None for scalar outputs (ones)
    retain_graph : bool, optional
        Keep the graph for another backward; defaults to ``create_graph``.
    create_graph : bool
        Record the backward so its result can be differentiated again.
    allow_unused : bool
        Return None for inputs the outputs do not depend on (else an error).

    Returns
    -------
    tuple of Tensor or None, one per input

    Raises
    ------
    RuntimeError
        An input does not require grad, an output has no graph, a non-scalar
        output has no gradient, or an input is unused without ``allow_unused``.
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        gos = [grad_outputs] * len(outs)
    else:
        gos = list(grad_outputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(
                f"grad: input {i} (shape {t.shape}) does not require grad"
            )
    roots, seeds = _roots_and_seeds(outs, gos, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(roots, seeds, retain_graph, create_graph, inputs=ins)
    assert res is not None
    for i, g in enumerate(res):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {ins[i].shape}) was not used in the "
                    "graph of the outputs; pass allow_unused=True to get None for it"
                )
            continue
        g = _conform(ins[i], g) if g.shape != ins[i].shape else g
        res[i] = g if create_graph else g.detach()
    return tuple(res)


def _roots_and_seeds(outs: list[Any], gos: list[Any], op: str) -> tuple[list, list]:
    roots, seeds = [], []
    if len(gos) != len(outs):
        raise RuntimeError(f"{op}: got {len(gos)} gradients for {len(outs)} outputs")
    for o, g in zip(outs, gos):
        if not o.requires_grad:
            raise RuntimeError(
                f"{op}: element of the outputs does not require grad and has no "
                "grad_fn (was it computed under no_grad, or from tensors that do "
                "not require grad?)"
            )
        if g is None:
            if o.numel() != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs; "
                    f"got an output of shape {o.shape}: pass a gradient"
                )
            g = _wrap(np.ones(o.shape, o.dtype))
        elif not isinstance(g, Tensor):
            g = _wrap(np.asarray(g, dtype=o.dtype))
        if g.shape != o.shape:
            raise RuntimeError(
                f"{op}: gradient of shape {g.shape} does not match output shape "
                f"{o.shape}"
            )
        if g.dtype != o.dtype:
            g = _wrap(g.data.astype(o.dtype))
        roots.append(o)
        seeds.append(g)
    return roots, seeds


# Bound last: tensor imports ops, ops import us.
from minigrad.tensor import Tensor, _wrap  # noqa: E402

_core.bind(
    run_special=_run_special,
    fix_arity=_fix_arity,
    check_anomaly=_check_anomaly,
    accumulate_all=_accumulate_all,
)
