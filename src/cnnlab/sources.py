"""How a learner's function is written: its definition in the code that ran, and its loops.

Some exercises ask for a vectorised answer ("one matrix product, no loops over pixels"). A
correct loop version gives the same numbers, so only the code can tell: :func:`data_loops`
reads the function's ``def`` and lists the Python loops in it whose length depends on the data.

Where the code comes from (:func:`cell_sources`):

- in a notebook, the IPython history of the cells that ran (``In``);
- under the grader, the judge installs a provider (:func:`set_provider`) that returns the
  submission's cells it has run, so the check reads what the learner wrote, not what the
  learner's process says about itself;
- outside IPython, the source file of the function in ``__main__`` (``inspect``).

The last ``def`` of the name wins, as it does when the cells run. A function built another way
(``exec``, a lambda, an alias of another function) has no ``def`` to read and fails the check
with a message saying so.
"""

from __future__ import annotations

import ast
import inspect
import sys

__all__ = ["cell_sources", "data_loops", "definition", "set_provider"]

_provider = None  # a callable returning the cell sources, set by the grader and the test tools


def set_provider(provider) -> None:
    """Read the code that ran from ``provider()`` (a list of cell sources); None restores the
    default (the IPython history)."""
    global _provider
    _provider = provider


def cell_sources() -> list[str]:
    """The sources of the cells that ran, oldest first (empty when unknown)."""
    if _provider is not None:
        return list(_provider())
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        return [s for s in shell.user_ns.get("In", []) if isinstance(s, str)]
    main = sys.modules.get("__main__")
    try:
        return [inspect.getsource(main)] if main is not None else []
    except (OSError, TypeError):
        return []


def definition(name: str) -> ast.FunctionDef | None:
    """The last top-level ``def name(...)`` in the code that ran, or None."""
    found = None
    for source in cell_sources():
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # a cell that does not parse defined nothing
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found = node
    return found


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _fixed(iterable: ast.expr) -> bool:
    """A loop over a literal tuple/list, or ``range(<int literal>)``: its length is fixed."""
    if isinstance(iterable, (ast.Tuple, ast.List)):
        return not any(isinstance(e, ast.Starred) for e in iterable.elts)
    return (
        isinstance(iterable, ast.Call)
        and isinstance(iterable.func, ast.Name)
        and iterable.func.id == "range"
        and not iterable.keywords
        and all(isinstance(a, ast.Constant) and isinstance(a.value, int) for a in iterable.args)
    )


def data_loops(node: ast.FunctionDef) -> list[str]:
    """The loops in ``node`` whose length can depend on the data, as ``"line N: <code>"``.

    ``for`` and ``while`` statements and comprehensions count (nested functions included);
    a loop over a literal tuple or list or over ``range`` of a literal number does not (e.g.
    ``for name, arr in (("a", a), ("b", b)):`` to check two inputs the same way).
    """
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.While):
            found.append((sub.lineno, sub.test, "while "))
        elif isinstance(sub, (ast.For, ast.AsyncFor)) and not _fixed(sub.iter):
            found.append((sub.lineno, sub.iter, "for ... in "))
        elif isinstance(sub, _COMPREHENSIONS):
            for gen in sub.generators:
                if not _fixed(gen.iter):
                    found.append((sub.lineno, gen.iter, "a comprehension over "))
    lines = []
    for lineno, expr, kind in sorted(found, key=lambda f: f[0]):
        line = lineno - node.lineno + 1  # counted from the def line
        lines.append(f"line {line} of the function: {kind}{ast.unparse(expr)[:60]}")
    return lines
