"""minigrad.viz: DOT text of Value and Tensor graphs, and rendering."""

from __future__ import annotations

import re
import shutil
import sys
import types

import pytest

import minigrad as mg
from minigrad import viz
from minigrad.scalar import Value


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(node id -> label, edges) of the DOT text to_dot writes."""
    nodes = dict(re.findall(r'^\s*(\w+) \[.*?label="(.*)"\];$', dot, re.M))
    edges = re.findall(r"^\s*(\w+) -> (\w+);$", dot, re.M)
    return nodes, edges


def test_to_dot_value_graph_structure_and_labels():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = (c + 1).tanh()
    d.backward()
    dot = viz.to_dot(d)
    assert dot.startswith("digraph")
    assert dot.rstrip().endswith("}")
    nodes, edges = parse(dot)
    values = {k: v for k, v in nodes.items() if not k.endswith("_op")}
    ops = {k: v for k, v in nodes.items() if k.endswith("_op")}
    # 5 Values (a, b, c, c + 1, d), 3 ops; each op has one edge to its result
    # and one from each operand.
    assert len(values) == 5
    assert sorted(ops.values()) == ["*", "+ 1", "tanh"]
    assert len(edges) == 3 + 2 + 1 + 1
    assert "{ data 2 | grad " in values["v0"] or "{ data 2 | grad " in values["v1"]
    assert any(f"data {d.data:.4g} | grad 1 " in label for label in values.values())
    # every edge joins known nodes, ops point at their own Value
    assert all(src in nodes and dst in nodes for src, dst in edges)
    assert all((k, k[: -len("_op")]) in edges for k in ops)


def test_to_dot_escapes_record_characters_in_op_names():
    a = Value(1.0)
    out = Value(2.0, (a,), "f|<g>{h}", _local_grads=(1.0,))
    dot = viz.to_dot(out)
    assert 'label="f\\|\\<g\\>\\{h\\}"' in dot


def test_to_dot_repeated_operand_and_leaf_root():
    a = Value(3.0)
    _, edges = parse(viz.to_dot(a * a))
    assert edges.count(("v0", "v1_op")) == 2
    nodes, edges = parse(viz.to_dot(Value(1.0)))
    assert len(nodes) == 1
    assert edges == []


def test_to_dot_tensor_graph():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = mg.tensor([1.0, -2.0], requires_grad=True)
    y = ((x * w).relu() + 2).sum()
    y.backward()
    nodes, edges = parse(viz.to_dot(y))
    fns = {k: v for k, v in nodes.items() if k.startswith("f")}
    tensors = {k: v for k, v in nodes.items() if k.startswith("t")}
    assert sorted(fns.values()) == sorted(
        ["SumBackward", "AddBackward", "ReluBackward", "MulBackward"]
    )
    assert len(tensors) == 3  # the root and the two leaves
    assert tensors["t0"].startswith("{ tensor | shape () float32")
    leaves = [v for k, v in tensors.items() if k != "t0"]
    assert any("shape (2, 2) float32" in v for v in leaves)
    assert any("shape (2,) float32 | grad [4., 0.]" in v for v in leaves)
    # a chain: 4 op edges (the last into the root) + 2 leaf edges
    assert len(edges) == 6
    assert all(src in nodes and dst in nodes for src, dst in edges)


def test_to_dot_tensor_without_graph_and_bad_root():
    nodes, edges = parse(viz.to_dot(mg.tensor([1.0, 2.0])))
    assert list(nodes.values()) == ["{ tensor | shape (2,) float32 | grad none }"]
    assert edges == []
    with pytest.raises(
        TypeError, match="to_dot: expected a Value or a Tensor, got int"
    ):
        viz.to_dot(3)


def test_to_dot_deep_graph_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    nodes, edges = parse(viz.to_dot(y))
    assert len(nodes) == 20_001 + 20_000
    assert len(edges) == 2 * 20_000


def test_draw_without_graphviz_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install graphviz.*'dot'"):
        viz.draw(Value(1.0) * 2, tmp_path / "g.svg")


def test_draw_without_dot_program_says_what_to_install(monkeypatch, tmp_path):
    class ExecutableNotFound(RuntimeError):
        pass

    class CalledProcessError(RuntimeError):
        pass

    class Source:
        def __init__(self, source: str) -> None:
            self.source = source

        def pipe(self, format: str) -> bytes:
            raise ExecutableNotFound("failed to execute 'dot'")

    fake = types.ModuleType("graphviz")
    fake.Source = Source
    fake.ExecutableNotFound = ExecutableNotFound
    fake.CalledProcessError = CalledProcessError
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    with pytest.raises(RuntimeError, match=r"'dot' program was not found.*apt install"):
        viz.draw(Value(1.0) * 2, tmp_path / "g.svg")


def test_draw_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="draw: format must be one of"):
        viz.draw(Value(1.0), tmp_path / "g.gif", format="gif")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_draw_renders_with_graphviz(tmp_path, fmt):
    pytest.importorskip("graphviz")
    a = Value(2.0)
    out = (a * a + 1).relu()
    out.backward()
    path = viz.draw(out, tmp_path / f"graph.{fmt}", format=fmt)
    data = path.read_bytes()
    if fmt == "svg":
        assert b"<svg" in data
        assert b"ReLU" in data
    else:
        assert data.startswith(b"\x89PNG")
