"""cnnlab.sources: reading a learner's def and the loops in it (T.assert_no_loops)."""

from __future__ import annotations

import ast
import types

import pytest

import cnnlab.testing as T
from cnnlab import sources


def loops(body: str) -> list[str]:
    return sources.data_loops(ast.parse(body).body[0])


@pytest.mark.parametrize(
    "body",
    [
        "def f(x):\n    for i in range(len(x)):\n        pass\n",
        "def f(x):\n    while x:\n        x = x[1:]\n",
        "def f(x):\n    return [v * 2 for v in x]\n",
        "def f(x):\n    return sum(v for v in x)\n",
        "def f(x):\n    return {k: 1 for k in (*x, 1)}\n",
        "def f(x, n):\n    for i in range(n):\n        pass\n",
        "def f(x):\n    def g(y):\n        for v in y:\n            pass\n    return g(x)\n",
        "def f(x):\n    for a in (1, 2):\n        for v in x:\n            pass\n",
    ],
)
def test_loops_over_the_data_are_found(body):
    assert loops(body), body


@pytest.mark.parametrize(
    "body",
    [
        "def f(x):\n    return x @ x.T\n",
        'def f(a, b):\n    for name, v in (("a", a), ("b", b)):\n        assert v.ndim == 2\n',
        "def f(x):\n    return [x[..., k] for k in range(3)]\n",
        "def f(x):\n    return {k: 0 for k in ['a', 'b']}\n",
    ],
)
def test_fixed_loops_are_not_loops_over_the_data(body):
    assert loops(body) == [], body


def test_a_loop_is_reported_by_line_and_code():
    body = "def f(x):\n    y = x\n    for row in y:\n        pass\n"
    assert loops(body) == ["line 3 of the function: for ... in y"]


def test_the_last_def_wins_and_cells_that_do_not_parse_are_skipped():
    cells = ["def f(x):\n    for v in x: pass\n", "def f(:\n", "def f(x):\n    return x\n", "f = 1"]
    sources.set_provider(lambda: cells)
    try:
        assert sources.data_loops(sources.definition("f")) == []
        assert sources.definition("g") is None
        T.assert_no_loops("f", rule="f must not loop")
        cells.append("def f(x):\n    return [v for v in x]\n")
        with pytest.raises(AssertionError, match="f must not loop, but your function loops"):
            T.assert_no_loops("f", rule="f must not loop")
        with pytest.raises(AssertionError, match=r"no `def g\(...\)` ran"):
            T.assert_no_loops("g", rule="g must not loop")
    finally:
        sources.set_provider(None)


def test_in_a_notebook_the_ipython_history_is_read(monkeypatch):
    shell = types.SimpleNamespace(user_ns={"In": ["", "def f(x):\n    while x: x -= 1\n"]})
    monkeypatch.setitem(
        __import__("sys").modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell)
    )
    assert sources.cell_sources() == shell.user_ns["In"]
    assert sources.data_loops(sources.definition("f")) == ["line 2 of the function: while x"]
