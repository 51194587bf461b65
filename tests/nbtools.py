"""Run pieces of a solution notebook in-process, fast, for tests of the hidden tests.

``run_test_cell("01-convolution", "test_zero_pad", overrides={"zero_pad": BUGGY_SOURCE})``
executes the notebook's locked setup cells and all answer cells (with the overrides replacing
whole answer cells), then the test cell, in a fresh namespace, and returns the exception the test
cell raised (None when it passed). Demonstration cells are skipped, which is why answer cells may
depend only on locked setup cells and on other answer cells.

The ``assert_*`` helpers are what ``tests/notebooks/test_mistakes_NN.py`` check with: a buggy
answer must make a test cell fail with a message naming the mistake (``assert_fails``), a
library-only answer must earn nothing and be told why (``assert_forbidden``), a correct one must
pass (``assert_passes``).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import re
import textwrap
from functools import cache

from autograde import cells as fmt
from autograde.build.release import solution_sources, to_notebook
from autograde.cells import HIDDEN
from cnnlab import sources

# Test cells run with the grader's write-back rule unless a test asks otherwise (see _as_graded)
GRADED = True


@cache
def cells(assignment: str) -> tuple[tuple[str, dict, str], ...]:
    """(cell id, nbgrader metadata, source) of every code cell of a solution notebook."""
    nb = to_notebook(solution_sources()[assignment])
    return tuple((c.id, fmt.meta(c), c.source) for c in fmt.code_cells(nb))


def _kind(meta: dict) -> str:
    return fmt.kind({"metadata": {"nbgrader": meta}})


def graded_ids(assignment: str) -> tuple[list[str], list[str]]:
    """(answer cell grade_ids, test cell grade_ids) of a solution notebook, in cell order."""
    metas = [meta for _, meta, _ in cells(assignment)]
    answers = [m["grade_id"] for m in metas if _kind(m) == "answer"]
    tests = [m["grade_id"] for m in metas if _kind(m) == "test"]
    return answers, tests


def graded_functions() -> list[tuple[str, str, str]]:
    """(assignment, name, answer source) of every graded function of every notebook."""
    found = []
    for assignment in sorted(solution_sources()):
        answers = set(graded_ids(assignment)[0])
        for _, meta, source in cells(assignment):
            name = meta.get("grade_id")
            if name in answers and re.search(rf"^def {name}\(", source, re.M):
                found.append((assignment, name, source))
    return found


# Source for a mutant answer cell: _spoil(value) zeroes every array a value holds (top level,
# in dicts, lists and tuples, a module's params) and returns whether there was one; with
# moves=True it also draws from a generator and switches a module to the other mode.
SPOIL = """
def _spoil(value, depth=0, moves=False):
    import numpy as _np
    if isinstance(value, _np.ndarray):
        if value.flags.writeable and value.size:
            value[...] = 0
            return True
        return False
    if moves and isinstance(value, _np.random.Generator):
        value.random(3)
        return True
    if depth > 2:
        return False
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(getattr(value, "params", None), dict):
        if moves and isinstance(getattr(value, "training", None), bool):
            value.training = not value.training
        items = list(value.params.values())
    else:
        return False
    return any([_spoil(item, depth + 1, moves) for item in items])


def _spoil_all(args, kwargs, moves=False):
    # outside the wrapper's def, which T.assert_no_loops reads: the wrapper has no loop
    return any([_spoil(a, 0, moves) for a in (*args, *kwargs.values())])
"""


def namespace(assignment: str, overrides: dict[str, str] | None = None) -> dict:
    """Execute setup and answer cells (answer cells replaced by ``overrides``) into a dict."""
    overrides = {k: textwrap.dedent(v) for k, v in (overrides or {}).items()}
    unknown = set(overrides) - {m.get("grade_id") for _, m, _ in cells(assignment)}
    if unknown:
        raise KeyError(f"no answer cells named {sorted(unknown)} in {assignment}")
    ns: dict = {"__name__": "__main__"}
    ran: list[str] = []
    sources.set_provider(lambda: ran)  # what T.assert_no_loops reads, as the grader's judge does
    for _, meta, source in cells(assignment):
        is_setup = _kind(meta) == "locked"
        if _kind(meta) == "answer":
            source = overrides.get(meta["grade_id"], source)
        elif not is_setup:
            continue
        ran.append(source)
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<{meta.get('grade_id')}>", "exec"), ns)
    return ns


def answer_source(assignment: str, grade_id: str) -> str:
    """The solution's answer cell ``grade_id`` as a learner would submit it (no markers)."""
    source = next(src for _, meta, src in cells(assignment) if meta.get("grade_id") == grade_id)
    markers = {f"### {m}" for m in fmt.MARKERS}
    lines = [ln for ln in source.splitlines() if ln.strip() not in markers]
    return "\n".join(lines) + "\n"


def mutant(assignment: str, grade_id: str, *edits: tuple[str, str]) -> dict[str, str]:
    """An override for :func:`namespace`: the solution's answer with textual edits applied.

    Each edit is ``(old, new)``; ``old`` must occur exactly once in the answer (so an edit that
    no longer applies after the solution changes fails loudly instead of testing the solution).
    ``mutant(NB, "relu_backward", ("x > 0", "x >= 0"))`` is the mistake in one line.
    """
    source = answer_source(assignment, grade_id)
    for old, new in edits:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{old!r} occurs {count} times in the solution's {grade_id}")
        source = source.replace(old, new)
    return {grade_id: source}


def _test_source(assignment: str, test_id: str) -> str:
    return next(src for _, meta, src in cells(assignment) if meta.get("grade_id") == test_id)


def _as_graded(ns: dict, assignment: str, label: str) -> None:
    """Give the test cell ``label`` the grader's write-back rule for the answers in ``ns``.

    The grader runs the learner's functions in another process: a call from the test cell gets
    copies of its arguments, and only the objects an open ``T.in_place`` block names see what
    the call did to them (:func:`cnnlab.calls.may_update`). Calls between the learner's own
    functions stay in one process, as they do in the sandbox.
    """
    import collections.abc
    import copy
    import functools
    import sys

    from cnnlab.calls import may_update

    test_file = f"<{label}>"

    def own(value):
        return value if may_update(value) else copy.deepcopy(value)

    def wrap(fn):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            if sys._getframe(1).f_code.co_filename != test_file:
                return fn(*args, **kwargs)  # the learner's code calling the learner's code
            out = fn(*[own(a) for a in args], **{k: own(v) for k, v in kwargs.items()})
            if isinstance(out, (collections.abc.Iterator, range)):
                out = list(out)  # the sandbox consumes a returned iterator inside the call
            return copy.deepcopy(out)

        return call

    for name in graded_ids(assignment)[0]:
        if inspect.isfunction(ns.get(name)):
            ns[name] = wrap(ns[name])


def _run(
    assignment: str,
    code: str,
    label: str,
    overrides: dict[str, str] | None,
    graded: bool = GRADED,
):
    """Run ``code`` after the setup and answer cells; return its exception or None.

    ``graded``: calls from ``code`` follow the grader's write-back rule (:func:`_as_graded`).
    """
    ns = namespace(assignment, overrides)
    if graded:
        _as_graded(ns, assignment, label)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"<{label}>", "exec"), ns)
    except Exception as exc:  # the test cell's failure is the result
        return exc
    return None


def run_test_cell(
    assignment: str,
    test_id: str,
    overrides: dict[str, str] | None = None,
    *,
    graded: bool = GRADED,
):
    """Run test cell ``test_id`` against the answers; return its exception or None.

    ``graded=False`` shares every object between the test and the answers, as a notebook does.
    """
    return _run(assignment, _test_source(assignment, test_id), test_id, overrides, graded)


def _definitions(visible: str) -> str:
    """The imports, functions and classes of a test cell's visible part (no checks)."""
    try:
        tree = ast.parse(visible)
    except SyntaxError:
        return "\n".join(ln for ln in visible.splitlines() if ln.startswith(("import ", "from ")))
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, keep))


def run_hidden_part(assignment: str, test_id: str, overrides: dict[str, str] | None = None):
    """Run the hidden part of test cell ``test_id`` alone; return its exception.

    The visible part contributes only its imports and the helpers it defines (functions,
    classes), none of its checks. The visible worked example catches many mistakes first; this
    shows that the hidden check meant for a mistake is alive too.
    """
    visible, rest = _test_source(assignment, test_id).split("### BEGIN HIDDEN TESTS")
    hidden = rest.split("### END HIDDEN TESTS")[0]
    code = _definitions(visible) + "\n" + hidden
    return _run(assignment, code, f"{test_id} hidden", overrides)


def run_public_part(assignment: str, test_id: str, overrides: dict[str, str] | None = None):
    """Run test cell ``test_id`` without its hidden part (what the learner's self-check runs)."""
    public = HIDDEN.sub("", _test_source(assignment, test_id))
    return _run(assignment, public, f"{test_id} public", overrides)


def assert_fails(
    assignment: str,
    test_id: str,
    overrides: dict[str, str],
    *needles: str,
    match_case: bool = False,
    hidden: bool = False,
    visible: bool = True,
    public: bool = False,
) -> str:
    """Test cell ``test_id`` with answer cells replaced by ``overrides`` must fail naming a mistake.

    It must raise an ``AssertionError`` whose message contains every needle (ignoring case unless
    ``match_case``). With ``hidden``, its hidden part run on its own (:func:`run_hidden_part`)
    must fail too and name the needles; ``visible=False`` then only asks the whole cell to fail,
    not to name them. With ``public``, the cell without its hidden part
    (:func:`run_public_part`, the learner's self-check) must fail and name them too: the mistake
    is one the exercise exists to teach. Returns the message (the hidden part's with ``hidden``).
    """
    runs = [("test cell", run_test_cell(assignment, test_id, overrides))]
    if public:
        runs.append(("public part", run_public_part(assignment, test_id, overrides)))
    if hidden:
        runs.append(("hidden part", run_hidden_part(assignment, test_id, overrides)))
    message = ""
    for where, exc in runs:
        assert exc is not None, f"the {where} of {test_id} passed a buggy {', '.join(overrides)}"
        assert isinstance(exc, AssertionError), f"{where}: {type(exc).__name__}: {exc}"
        message = str(exc)
        if where == "test cell" and hidden and not visible:
            continue
        for needle in needles:
            found = needle in message if match_case else needle.lower() in message.lower()
            assert found, f"{where}: {needle!r} not in the message:\n{message}"
    return message


def assert_forbidden(assignment: str, test_id: str, name: str, source: str, **options) -> None:
    """A library-only answer ``source`` for answer cell ``name`` earns nothing and is told why.

    ``options`` go to :func:`assert_fails`.
    """
    message = assert_fails(
        assignment, test_id, {name: source}, "must be your own implementation", **options
    )
    assert name in message, f"{name!r} not in the message:\n{message}"


def assert_passes(assignment: str, test_id: str, overrides: dict[str, str] | None = None) -> None:
    """Test cell ``test_id`` passes (with answer cells replaced by ``overrides``, if given)."""
    exc = run_test_cell(assignment, test_id, overrides)
    assert exc is None, f"{test_id} failed a correct answer: {type(exc).__name__}: {exc}"
