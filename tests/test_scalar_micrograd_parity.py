"""micrograd's notebook surface on Value: label, _op, _prev, draw_dot."""

from __future__ import annotations

import gc
import subprocess
import sys
from typing import Any

import pytest

from minigrad._C._scalar import _label_count
from minigrad.scalar import Value


def _expr(V: Any) -> Any:
    """An expression of ops that micrograd and minigrad build node for node
    (Value-Value + and *, ** a number, relu). Constants, -, / and neg differ
    by design: micrograd wraps a constant in a Value and builds a - b as
    a + (b * -1); minigrad makes one node."""
    a = V(2.0)
    b = V(-3.0)
    c = V(10.0)
    d = a * b + c
    e = (d * d + a**2).relu()
    return e * e


def _shape(v: Any) -> tuple:
    """(data, _op, sorted shapes of _prev): the graph as a comparable tree."""
    return (v.data, v._op, tuple(sorted((_shape(c) for c in v._prev), key=repr)))


def test_op_and_prev_match_micrograd() -> None:
    micrograd = pytest.importorskip("micrograd")
    from micrograd.engine import Value as MValue

    assert micrograd is not None
    ours, theirs = _expr(Value), _expr(MValue)
    assert _shape(ours) == _shape(theirs)
    assert isinstance(ours._prev, set)
    a = Value(3.0)
    sq = a * a
    assert sq._prev == {a}  # a set: the repeated child once, as in micrograd
    assert Value(1.0)._prev == set()


def test_label_keyword_and_positional_like_the_notebook() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, (), "", "b")
    c = Value(a.data * b.data, (a, b), "*", label="c")
    assert (a.label, b.label, c.label) == ("a", "b", "c")
    assert c._op == "*"
    assert c._prev == {a, b}
    d = a * b
    assert d.label == ""
    d.label = "d"  # the notebook names computed nodes this way
    assert d.label == "d"
    d.label = ""
    assert d.label == ""
    # The low-level constructor with local gradients still works by keyword.
    e = Value(6.0, (a, b), "f", _local_grads=(1.0, 2.0), label="e")
    e.backward()
    assert (a.grad, b.grad, e.label) == (1.0, 2.0, "e")


def test_labels_released_with_their_values() -> None:
    gc.collect()
    before = _label_count()
    vs = [Value(float(i), label=f"x{i}") for i in range(100)]
    out = sum(vs, Value(0.0))
    out.label = "sum"
    assert _label_count() == before + 101
    del vs, out
    gc.collect()
    assert _label_count() == before


def test_label_survives_pickle() -> None:
    import pickle

    a = pickle.loads(pickle.dumps(Value(1.5, label="w")))
    assert (a.data, a.label) == (1.5, "w")


def test_draw_dot_returns_a_digraph_like_micrograds() -> None:
    graphviz = pytest.importorskip("graphviz")
    from minigrad.scalar import draw_dot
    from minigrad.viz import draw_dot as viz_draw_dot

    assert draw_dot is viz_draw_dot
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    L = a * b + a
    L.label = "L"
    L.backward()
    dot = draw_dot(L)
    assert isinstance(dot, graphviz.Digraph)
    assert dot.format == "svg"
    src = dot.source
    assert "rankdir=LR" in src
    assert "{ a | data 2.0000 | grad -2.0000 }" in src
    assert "{ L | data -4.0000 | grad 1.0000 }" in src
    assert f'"{id(L)}+" -> {id(L)}' in src
    assert f'{id(a)} -> "{id(L)}+"' in src
    assert "rankdir=TB" in draw_dot(L, format="png", rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(L, rankdir="XY")


def test_draw_dot_without_graphviz_names_the_install() -> None:
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "from minigrad.scalar import Value, draw_dot\n"
        "try:\n"
        "    draw_dot(Value(1.0))\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install graphviz" in out


def test_to_dot_shows_labels() -> None:
    from minigrad.viz import to_dot

    a = Value(2.0, label="a")
    src = to_dot(a * Value(3.0))
    assert '"{ a | data 2 | grad 0 }"' in src
    assert '"{ data 3 | grad 0 }"' in src
