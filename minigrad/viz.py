"""Pictures of a computation graph: Graphviz DOT text, rendered when possible.

Layer: tools, above both engines. Imports :mod:`minigrad.scalar` and reads a
Tensor's graph through its public autograd API only (``grad_fn``,
``next_functions``, ``name()``). Rendering needs the optional ``graphviz``
package (``pip install minigrad[viz]``) and Graphviz's ``dot`` program;
:func:`to_dot` needs neither.

A Value graph is drawn like micrograd's ``draw_dot``: one record per Value
(data and grad) and, for each computed Value, an oval with its op. A Tensor
graph shows the root Tensor and the leaf Tensors as records (shape, dtype,
grad) and each backward node (``MulBackward``...) as a box. Edges point from
inputs to outputs. Both walks are iterative, so deep graphs are fine (though
Graphviz itself is slow beyond a few thousand nodes).

:func:`draw_dot` is micrograd's notebook function for code written against
it: it returns a ``graphviz.Digraph`` (shown inline by Jupyter), and needs the
``graphviz`` package but not the ``dot`` program until the graph is rendered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from minigrad._C._scalar import _topo
from minigrad.errors import ArgumentError
from minigrad.scalar import Value

__all__ = ["draw", "draw_dot", "to_dot"]

_FORMATS = ("svg", "png", "pdf")
_INSTALL_HINT = (
    "install the graphviz Python package (pip install graphviz, or "
    "pip install 'minigrad[viz]') and the Graphviz programs that provide 'dot' "
    "(apt install graphviz, brew install graphviz, or https://graphviz.org)"
)


def _esc(text: str) -> str:
    """Escapes a string for a field of a DOT record label."""
    for ch in '\\"{}|<>':
        text = text.replace(ch, "\\" + ch)
    return text.replace("\n", "\\n")


def _num(x: float) -> str:
    return f"{x:.4g}"


def _value_dot(root: Value, lines: list[str]) -> None:
    order = _topo(root)
    ids = {id(v): f"v{k}" for k, v in enumerate(order)}
    for v in order:
        vid = ids[id(v)]
        name = f"{_esc(str(v.label))} | " if v.label else ""
        lines.append(
            f'  {vid} [shape=record, label="{{ {name}data {_num(v.data)} | '
            f'grad {_num(v.grad)} }}"];'
        )
        children = v._children
        if not children and not v._op:
            continue
        lines.append(f'  {vid}_op [shape=oval, label="{_esc(v._label)}"];')
        lines.append(f"  {vid}_op -> {vid};")
        lines.extend(f"  {ids[id(c)]} -> {vid}_op;" for c in children)


def _array_text(a: Any) -> str:
    arr = np.asarray(a.data if hasattr(a, "data") else a)
    if arr.size <= 4:
        return np.array2string(arr.ravel(), precision=4, separator=", ")
    return f"shape {tuple(arr.shape)}"


def _tensor_label(t: Any, kind: str) -> str:
    grad = t.grad
    grad_text = "none" if grad is None else _array_text(grad)
    return (
        f'shape=record, label="{{ {kind} | shape {_esc(str(tuple(t.shape)))} '
        f'{_esc(str(t.dtype))} | grad {_esc(grad_text)} }}"'
    )


def _node_name(fn: Any) -> str:
    name = getattr(fn, "name", None)
    return name() if callable(name) else type(fn).__name__


def _tensor_dot(root: Any, lines: list[str]) -> None:
    lines.append(f"  t0 [{_tensor_label(root, 'tensor')}];")
    if root.grad_fn is None:
        return
    ids: dict[int, str] = {}
    keep: list[Any] = []  # holds the objects whose id() is used as a key

    def node_id(obj: Any, prefix: str) -> tuple[str, bool]:
        key = id(obj)
        if key in ids:
            return ids[key], False
        ids[key] = f"{prefix}{len(ids)}"
        keep.append(obj)
        return ids[key], True

    fid, _ = node_id(root.grad_fn, "f")
    lines.append(f'  {fid} [shape=box, label="{_esc(_node_name(root.grad_fn))}"];')
    lines.append(f"  {fid} -> t0;")
    stack = [root.grad_fn]
    while stack:
        fn = stack.pop()
        dst = ids[id(fn)]
        for nxt, _idx in fn.next_functions:
            if nxt is None:
                continue
            if hasattr(nxt, "next_functions"):
                nid, new = node_id(nxt, "f")
                if new:
                    label = _esc(_node_name(nxt))
                    lines.append(f'  {nid} [shape=box, label="{label}"];')
                    stack.append(nxt)
            else:  # a leaf Tensor (it stands for its AccumulateGrad)
                nid, new = node_id(nxt, "t")
                if new:
                    lines.append(f"  {nid} [{_tensor_label(nxt, 'leaf')}];")
            lines.append(f"  {nid} -> {dst};")


def to_dot(root: Any, *, rankdir: str = "LR") -> str:
    """The computation graph that produced ``root``, as Graphviz DOT text.

    Parameters
    ----------
    root : Value or Tensor
        A Value: every Value it depends on, with data and grad, and each op.
        A Tensor: its backward nodes (``grad_fn`` and their
        ``next_functions``), the leaf Tensors with shape, dtype and grad.
    rankdir : str
        Graphviz layout direction: "LR" (left to right) or "TB".

    Returns
    -------
    str
        A ``digraph`` in the DOT language.

    Raises
    ------
    TypeError
        ``root`` is neither a Value nor a Tensor.
    """
    lines = [
        "digraph minigrad {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
    ]
    if isinstance(root, Value):
        _value_dot(root, lines)
    elif hasattr(root, "grad_fn") and hasattr(root, "shape"):
        _tensor_dot(root, lines)
    else:
        raise TypeError(
            f"to_dot: expected a Value or a Tensor, got {type(root).__name__}"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(
    root: Any, path: str | os.PathLike[str], format: str = "svg", *, rankdir: str = "LR"
) -> Path:
    """Renders the graph of ``root`` (see :func:`to_dot`) to an image file.

    Parameters
    ----------
    root : Value or Tensor
    path : str or PathLike
        The file to write (written as given; the format is not appended).
    format : {"svg", "png", "pdf"}
    rankdir : str
        Graphviz layout direction.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        An unknown format.
    ImportError
        The ``graphviz`` Python package is not installed.
    RuntimeError
        Graphviz's ``dot`` program is not installed or failed.
    """
    if format not in _FORMATS:
        raise ArgumentError(f"draw: format must be one of {_FORMATS}, got {format!r}")
    source = to_dot(root, rankdir=rankdir)
    try:
        import graphviz
    except ImportError as e:
        raise ImportError(f"minigrad.viz.draw: to render, {_INSTALL_HINT}") from e
    try:
        image = graphviz.Source(source).pipe(format=format)
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(
            f"minigrad.viz.draw: Graphviz's 'dot' program was not found; "
            f"{_INSTALL_HINT}"
        ) from e
    except graphviz.CalledProcessError as e:
        raise RuntimeError(f"minigrad.viz.draw: dot failed: {e}") from e
    out = Path(path)
    out.write_bytes(image)
    return out


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR") -> Any:
    """The graph of a Value as a ``graphviz.Digraph``, micrograd's ``draw_dot``.

    One record per Value (its ``label`` when it has one, data, grad) and an
    oval per op, as in micrograd's notebook; a Jupyter cell shows the result,
    and ``.render()`` / ``.pipe()`` write it (those need Graphviz's ``dot``).

    Parameters
    ----------
    root : Value
    format : str
        The Digraph's output format ("svg", "png", ...).
    rankdir : {"LR", "TB"}
        Layout direction.

    Returns
    -------
    graphviz.Digraph

    Raises
    ------
    ImportError
        The ``graphviz`` Python package is not installed.
    TypeError
        ``root`` is not a Value.
    ValueError
        ``rankdir`` is neither "LR" nor "TB".
    """
    if not isinstance(root, Value):
        raise TypeError(
            f"draw_dot: expected a Value, got {type(root).__name__}; "
            "for a Tensor use minigrad.viz.to_dot or draw"
        )
    if rankdir not in ("LR", "TB"):
        raise ArgumentError(f"draw_dot: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    try:
        from graphviz import Digraph
    except ImportError as e:
        raise ImportError(
            "minigrad.viz.draw_dot needs the graphviz Python package: "
            "pip install graphviz (rendering also needs Graphviz's 'dot' "
            "program: apt install graphviz, brew install graphviz)"
        ) from e
    dot = Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in _topo(root):  # iterative, unlike micrograd's recursive trace
        uid = str(id(n))
        label = n.label
        fields = f"data {n.data:.4f} | grad {n.grad:.4f}"
        if label:
            fields = f"{_esc(str(label))} | {fields}"
        dot.node(name=uid, label=f"{{ {fields} }}", shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._label)
            dot.edge(uid + n._op, uid)
        for child in n._prev:
            dot.edge(str(id(child)), uid + n._op)
    return dot
