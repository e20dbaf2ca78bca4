"""The backward engine: reverse topological order, no recursion.

Layer: autograd. Walks the graph of :class:`~minigrad.autograd.function.Context`
nodes. An edge is ``None`` (no gradient needed), a leaf Tensor (accumulate into its
``.grad``) or ``(node, output_index)``.

# Note [Engine order]
Nodes are counted by how many edges point at them from the part of the graph
reachable from the roots; a node runs once every consumer has passed its gradient
on (Kahn's algorithm with an explicit stack), so each node's backward runs exactly
once with its whole gradient, and a chain a million ops deep needs no recursion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import STATE

__all__ = ["grad", "run_backward"]


def _count_deps(roots: list[Any]) -> dict[Any, int]:
    deps: dict[Any, int] = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for e in node._edges:
            if type(e) is tuple:
                child = e[0]
                deps[child] = deps.get(child, 0) + 1
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
    return deps


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _apply_hooks(hooks: list[Any], g: Any) -> Any:
    for h in hooks:
        r = h(g)
        if r is not None:
            g = r
    return g


def run_backward(
    roots: Sequence[Any],
    grad_roots: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Any] | None = None,
) -> list[Any] | None:
    """Backpropagates ``grad_roots`` from ``roots``.

    Without ``inputs`` the gradients accumulate into the leaves' ``.grad``. With
    ``inputs`` (``autograd.grad``) they are returned instead, one per input, and no
    ``.grad`` is touched.
    """
    capture_leaf: dict[int, int] = {}
    capture_node: dict[tuple[Any, int], int] = {}
    captured: list[Any] = []
    if inputs is not None:
        captured = [None] * len(inputs)
        for i, t in enumerate(inputs):
            if t.grad_fn is None:
                capture_leaf[id(t)] = i
            else:
                capture_node[(t.grad_fn, t._out_idx)] = i

    buffers: dict[Any, list[Any]] = {}
    root_nodes = []
    for r, g in zip(roots, grad_roots):
        node = r.grad_fn
        if node is None:
            _to_leaf(r, g, create_graph, capture_leaf, captured)
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
            root_nodes.append(node)
        buf[r._out_idx] = _add(buf[r._out_idx], g)

    deps = _count_deps(root_nodes)
    ready = [n for n in root_nodes if n not in deps]
    prev_mode = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node)
            _run_node(
                node,
                grads,
                retain_graph,
                create_graph,
                capture_leaf,
                capture_node,
                captured,
                buffers,
                deps,
                ready,
            )
    finally:
        STATE.grad_enabled = prev_mode
    return captured if inputs is not None else None


def _run_node(
    node: Any,
    grads: list[Any],
    retain_graph: bool,
    create_graph: bool,
    capture_leaf: dict[int, int],
    capture_node: dict[tuple[Any, int], int],
    captured: list[Any],
    buffers: dict[Any, list[Any]],
    deps: dict[Any, int],
    ready: list[Any],
) -> None:
    from minigrad.tensor import Tensor

    if node._freed:
        raise RuntimeError(
            f"{node.name()}: trying to backward through the graph a second time. "
            "The graph is freed after backward; pass retain_graph=True to the "
            "first backward if you need to run backward through it again."
        )
    for idx in range(node._n_out):
        g = grads[idx]
        if node._out_hooks and idx in node._out_hooks and g is not None:
            g = grads[idx] = _apply_hooks(node._out_hooks[idx], g)
        if node._retained and idx in node._retained:
            t = node._retained[idx]()
            if t is not None and g is not None:
                t.grad = g if create_graph else g.detach()
        if capture_node and (node, idx) in capture_node:
            captured[capture_node[(node, idx)]] = g
    node_hooks = node.__dict__.get("_node_hooks")
    if node_hooks:
        for h in node_hooks:
            h(grads)
    if all(g is None for g in grads):
        grads_in: tuple[Any, ...] = (None,) * len(node._edges)
    else:
        if node.materialize_grads:
            for idx, (shape, dtype) in enumerate(node._out_meta):
                if grads[idx] is None:
                    grads[idx] = Tensor._wrap(np.zeros(shape, dtype))
        grads_in = _call_backward(node, grads)
    if STATE.anomaly:
        _check_anomaly(node, grads_in)
    if not retain_graph:
        node._freed = True
        node._saved = None
    for edge, g in zip(node._edges, grads_in):
        if edge is None:
            continue
        if type(edge) is tuple:
            child, idx = edge
            buf = buffers.get(child)
            if buf is None:
                buf = buffers[child] = [None] * child._n_out
            if g is not None:
                buf[idx] = _add(buf[idx], g)
            deps[child] -= 1
            if deps[child] == 0:
                ready.append(child)
        elif g is not None:
            _to_leaf(edge, g, create_graph, capture_leaf, captured)


def _call_backward(node: Any, grads: list[Any]) -> tuple[Any, ...]:
    from minigrad.tensor import Tensor

    res = node._fn.backward(node, *grads)
    if not isinstance(res, tuple):
        res = (res,)
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
    out = []
    for i, (edge, g) in enumerate(zip(node._edges, res)):
        if edge is None or g is None:
            out.append(None)
            continue
        if not isinstance(g, Tensor):
            g = Tensor._wrap(np.asarray(g))
        shape, dtype = _input_meta(edge)
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


def _input_meta(edge: Any) -> tuple[tuple[int, ...], Any]:
    if type(edge) is tuple:
        return edge[0]._out_meta[edge[1]]
    return edge.shape, edge.dtype


def _to_leaf(
    t: Any,
    g: Any,
    create_graph: bool,
    capture_leaf: dict[int, int],
    captured: list[Any],
) -> None:
    if capture_leaf or captured:
        i = capture_leaf.get(id(t))
        if i is not None:
            captured[i] = _add(captured[i], g)
        return
    hooks = t._hooks
    if hooks:
        g = _apply_hooks(hooks, g)
    if t.grad is None:
        # Own the buffer: one array may be returned for several inputs (Add), and
        # optimizers update .grad in place.
        t.grad = g if create_graph else g.detach().clone()
    elif create_graph or t.grad.requires_grad:
        t.grad = t.grad + g
    else:
        np.add(t.grad.data, g.data, out=t.grad.data, casting="unsafe")


def _check_anomaly(node: Any, grads_in: tuple[Any, ...]) -> None:
    for i, g in enumerate(grads_in):
        if g is not None and not np.all(np.isfinite(g.data)):
            where = "".join(node._trace or []) if node._trace else ""
            kind = "nan" if np.isnan(g.data).any() else "inf"
            raise RuntimeError(
                f"Function '{node.name()}' returned {kind} values in its {i}th "
                f"output.\nForward call that created it:\n{where}"
            )


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
    inputs : Tensor or sequence of Tensors that require grad
    grad_outputs : matching sequence (None for scalars: ones)
    retain_graph : defaults to ``create_graph``
    create_graph : record the backward so its result can be differentiated again
    allow_unused : return None for inputs the outputs do not depend on (else error)
    """
    from minigrad.tensor import Tensor

    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        gos = [grad_outputs] * len(outs)
    else:
        gos = list(grad_outputs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    roots, seeds = _roots_and_seeds(outs, gos, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    res = run_backward(roots, seeds, retain_graph, create_graph, inputs=ins)
    assert res is not None
    for i, g in enumerate(res):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {ins[i].shape}) was not used in the graph "
                "of the outputs; pass allow_unused=True to get None for it"
            )
        if g is not None and not create_graph:
            res[i] = g.detach()
    return tuple(res)


def _roots_and_seeds(outs: list[Any], gos: list[Any], op: str) -> tuple[list, list]:
    from minigrad.tensor import Tensor

    roots, seeds = [], []
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
            g = Tensor._wrap(np.ones(o.shape, o.dtype))
        elif not isinstance(g, Tensor):
            g = Tensor._wrap(np.asarray(g, dtype=o.dtype))
        if g.shape != o.shape:
            raise RuntimeError(
                f"{op}: gradient of shape {g.shape} does not match output shape "
                f"{o.shape}"
            )
        roots.append(o)
        seeds.append(g)
    return roots, seeds
