"""Assertion helpers for the graded test cells.

Every helper raises ``AssertionError`` with a message a learner can act on: what was expected,
what came, where the worst element is, and an optional hint naming the likely mistake::

    conv_forward_naive output: shape (2, 3, 5, 5) != expected (2, 3, 4, 4).
      hint: check how stride enters the output-size formula

Test cells import this module (``import cnnlab.testing as T``). Inside a Jupyter kernel the import
also sends anything that would reach stderr during a test cell (warnings, stray prints) to stdout,
because nbgrader scores a cell with stderr output as failed even when its checks pass.

``forbid_calls`` makes sure an exercise that asks for your own loops does not hand the work to a
library: it records every call into the named functions or modules while it is active and fails
afterwards, naming the call.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import re
import sys
import types

import numpy as np

__all__ = [
    "assert_shape",
    "assert_allclose",
    "assert_equal",
    "assert_true",
    "assert_rel_error",
    "assert_finite",
    "raises",
    "forbid_calls",
    "reference_helpers",
    "active_forbid_contexts",
    "active_reference_helpers",
    "CallMatcher",
    "call_matcher",
    "ForbiddenCallError",
]


def _fail(name: str, problem: str, hint: str | None) -> None:
    message = f"{name}: {problem}"
    if hint:
        message += f"\n  hint: {hint}"
    raise AssertionError(message)


def _fmt(value) -> str:
    """A value as a learner reads it: ``3.0``, not ``np.float64(3.0)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _diagnosed(actual, expected, mistakes, hint, *, rtol, atol):
    """The hint of the first known mistake that ``actual`` reproduces, else ``hint``.

    Only consulted when ``actual`` differs from ``expected``; a shape tuple matches by shape, an
    array (or number) by value within the tolerances.
    """
    if not mistakes:
        return hint
    try:
        got = np.asarray(actual)
        exp = np.asarray(expected)
        if got.dtype.kind not in "biuf" or (
            got.shape == exp.shape and np.allclose(got, exp, rtol=rtol, atol=atol, equal_nan=True)
        ):
            return hint
        for mistake, wrong in mistakes:
            if isinstance(wrong, tuple) and all(isinstance(d, (int, np.integer)) for d in wrong):
                if got.shape == tuple(int(d) for d in wrong):
                    return mistake
                continue
            wrong = np.asarray(wrong)
            if got.shape == wrong.shape and np.allclose(got, wrong, rtol=rtol, atol=atol):
                return mistake
    except (TypeError, ValueError):
        pass
    return hint


def _to_array(actual, name: str, hint: str | None) -> np.ndarray:
    """Turn ``actual`` into a numeric ndarray or fail with a message saying what it was."""
    if actual is None:
        _fail(name, "got None; did the function forget to `return` its result?", hint)
    if isinstance(actual, (str, bytes, dict, set)) or callable(actual):
        _fail(name, f"expected a NumPy array or number, got {type(actual).__name__}", hint)
    try:
        arr = np.asarray(actual)
    except Exception as exc:  # ragged lists and exotic objects
        _fail(name, f"could not be read as an array ({exc})", hint)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        _fail(name, f"expected numbers, got an array of dtype {arr.dtype}", hint)
    return arr


def assert_shape(actual, expected: tuple, *, name: str = "output", hint: str | None = None):
    """Check that ``actual`` is an array of shape ``expected``.

    Parameters
    ----------
    actual : array_like
        What the learner's function returned.
    expected : tuple of int
        The shape it should have.
    name : str
        How the message refers to ``actual``.
    hint : str, optional
        A sentence naming the likely mistake, shown under the message.
    """
    arr = _to_array(actual, name, hint)
    expected = tuple(int(d) for d in expected)
    if arr.shape != expected:
        _fail(name, f"shape {arr.shape} != expected {expected}", hint)


def assert_allclose(
    actual,
    expected,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    name: str = "output",
    hint: str | None = None,
    mistakes=(),
):
    """Check shape, then values, of ``actual`` against ``expected`` within tolerances.

    Elementwise test: ``|actual - expected| <= atol + rtol * |expected|`` (as ``np.allclose``).
    The message gives the number of wrong elements, the worst one with its index, and the largest
    absolute and relative errors.

    Parameters
    ----------
    actual, expected : array_like
        Learner's result and reference; same shape (a scalar compares as shape ``()``).
    rtol, atol : float
        Relative and absolute tolerance.
    name : str
        How the message refers to ``actual``.
    hint : str, optional
        A sentence naming the likely mistake.
    mistakes : sequence of (str, array_like or tuple)
        Known mistakes as ``(hint, what the mistake returns)``, where the second item is an
        array or, for mistakes that only change the shape, a shape tuple. When the check fails
        and ``actual`` reproduces one of them, that mistake's hint replaces ``hint``.

    Examples
    --------
    >>> assert_allclose(out, ref, name="conv out", mistakes=[
    ...     ("bias missing: add b[f] to every output of filter f", ref - b[:, None, None]),
    ...     ("stride ignored", (2, 3, 7, 7)),
    ... ])  # doctest: +SKIP
    """
    hint = _diagnosed(actual, expected, mistakes, hint, rtol=rtol, atol=atol)
    exp = np.asarray(expected, dtype=np.float64)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    got = arr.astype(np.float64)
    bad_nan = np.isnan(got) & ~np.isnan(exp)
    if bad_nan.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        _fail(name, f"NaN at index {idx} where {_fmt(exp[idx])} was expected (overflow?)", hint)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.asarray(np.abs(got - exp))
    err[np.isnan(got) & np.isnan(exp)] = 0.0
    same_inf = np.isinf(got) & np.isinf(exp) & (np.sign(got) == np.sign(exp))
    err[same_inf] = 0.0
    excess = err - (atol + rtol * np.abs(exp))
    if (excess <= 0).all():
        return
    n_bad = int((excess > 0).sum())
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.ndim else ()
    worst = tuple(int(i) for i in worst)
    with np.errstate(invalid="ignore", over="ignore"):
        rel = err / np.maximum(np.abs(exp), 1e-12)
    where = f" at index {worst}" if worst else ""
    lines = [
        f"{n_bad} of {exp.size} values differ (rtol={rtol:g}, atol={atol:g}).",
        f"  worst{where}: got {_fmt(got[worst])}, expected {_fmt(exp[worst])}",
        f"  max abs error {float(err.max()):.3g}, max rel error {float(rel.max()):.3g}",
    ]
    _fail(name, "\n".join(lines), hint)


def assert_equal(actual, expected, *, name: str = "output", hint: str | None = None, mistakes=()):
    """Check exact equality for numbers, strings, tuples and integer or boolean arrays.

    Floats should use :func:`assert_allclose` instead. ``actual`` must be a real value: objects
    that claim equality with everything are rejected because they are compared as plain data.
    ``mistakes`` works as in :func:`assert_allclose` (values compared exactly).
    """
    hint = _diagnosed(actual, expected, mistakes, hint, rtol=0.0, atol=0.0)
    if isinstance(expected, (str, bytes, bool, type(None))):
        if type(actual) is not type(expected) or actual != expected:
            _fail(name, f"got {actual!r}, expected {expected!r}", hint)
        return
    if isinstance(expected, (int, np.integer)):
        if isinstance(actual, (bool, np.bool_)) or not isinstance(actual, (int, np.integer)):
            _fail(name, f"expected an integer {_fmt(expected)}, got {type(actual).__name__}", hint)
        if int(actual) != int(expected):
            _fail(name, f"got {int(actual)}, expected {int(expected)}", hint)
        return
    if isinstance(expected, (tuple, list)) and not isinstance(actual, np.ndarray):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            _fail(name, f"got {actual!r}, expected {expected!r}", hint)
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_equal(a, e, name=f"{name}[{i}]", hint=hint)
        return
    exp = np.asarray(expected)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    diff = arr != exp
    if np.any(diff):
        idx = tuple(int(i) for i in np.argwhere(diff)[0]) if diff.ndim else ()
        where = f" at index {idx}" if idx else ""
        _fail(
            name,
            f"{int(np.sum(diff))} of {exp.size} values differ; first{where}: "
            f"got {_fmt(arr[idx])}, expected {_fmt(exp[idx])}",
            hint,
        )


def assert_true(condition, message: str, *, hint: str | None = None):
    """Fail with ``message`` (and the hint) unless ``condition`` is exactly truthy."""
    if isinstance(condition, np.ndarray):
        condition = bool(condition.all())
    if condition is not True and not (isinstance(condition, np.bool_) and bool(condition)):
        if not (isinstance(condition, (int, float)) and condition):
            raise AssertionError(message + (f"\n  hint: {hint}" if hint else ""))


def assert_rel_error(
    actual, expected, *, tol: float = 1e-7, name: str = "gradient", hint: str | None = None
):
    """Check ``max |a - e| / max(1e-8, |a| + |e|) <= tol``, the course's relative error.

    Use it for gradients: about 1e-8 or smaller is right in float64; 1e-2 or larger is a bug.
    """
    exp = np.asarray(expected, dtype=np.float64)
    arr = _to_array(actual, name, hint)
    if arr.shape != exp.shape:
        _fail(name, f"shape {arr.shape} != expected {exp.shape}", hint)
    got = arr.astype(np.float64)
    if not np.isfinite(got).all():
        _fail(name, "contains NaN or inf", hint)
    rel = np.abs(got - exp) / np.maximum(1e-8, np.abs(got) + np.abs(exp))
    worst = float(rel.max()) if rel.size else 0.0
    if worst > tol:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(rel)), rel.shape))
        _fail(
            name,
            f"relative error {worst:.2e} > {tol:.0e}; worst at index {idx}: "
            f"got {_fmt(got[idx])}, expected {_fmt(exp[idx])}",
            hint,
        )


def assert_finite(actual, *, name: str = "output", hint: str | None = None):
    """Check that every value is finite (no NaN, no inf)."""
    arr = _to_array(actual, name, hint).astype(np.float64)
    if not np.isfinite(arr).all():
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0]) if arr.ndim else ()
        _fail(name, f"value {_fmt(arr[idx])} at index {idx} is not finite", hint)


@contextlib.contextmanager
def raises(exc_type: type[BaseException], *, match: str | None = None, hint: str | None = None):
    """Expect the block to raise ``exc_type`` (optionally with a message matching ``match``).

    Examples
    --------
    >>> with raises(ValueError, hint="stride must be at least 1"):
    ...     conv_output_size(5, 3, stride=0)  # doctest: +SKIP
    """
    name = exc_type.__name__
    try:
        yield
    except exc_type as exc:
        if match is not None and not re.search(match, str(exc)):
            _fail(name, f"message {str(exc)!r} does not mention {match!r}", hint)
        return
    except AssertionError:
        raise
    except Exception as exc:
        _fail(name, f"expected {name}, but {type(exc).__name__} was raised: {exc}", hint)
    _fail(name, f"expected {name} to be raised, but nothing was raised", hint)


# --------------------------------------------------------------------------------------------
# forbid_calls: "your own implementation" checks
# --------------------------------------------------------------------------------------------


class ForbiddenCallError(AssertionError):
    """Raised when an exercise that asks for its own implementation called a library one."""


_ACTIVE: list[forbid_calls] = []
_OWN = "__main__."  # prefix of targets that name the notebook's own functions
_VIA = " via your "  # a hit made inside another of the notebook's functions: "<target> via your f"
_EXEMPT = [0]  # > 0 while a reference helper runs: its calls are the test's, not the learner's


def learner_function(frame) -> str | None:
    """Name of the nearest notebook function (globals ``__main__``) at or above ``frame``."""
    while frame is not None:
        if frame.f_globals.get("__name__") == "__main__" and frame.f_code.co_name != "<module>":
            return frame.f_code.co_name
        frame = frame.f_back
    return None


def describe_hit(target: str, frame) -> str:
    """``target``, followed by "via your f" when the learner's function ``f`` made the call."""
    if target.startswith(_OWN):
        return target
    caller = learner_function(frame.f_back)
    return f"{target}{_VIA}{caller}" if caller else target


def _locate(target: str) -> tuple[str, str | None] | None:
    """Where the code named by ``target`` lives, found without importing it.

    Returns ``(path, name)``: ``path`` is a package folder (ending in a separator) or a module
    file, ``name`` a function name inside it or None for the whole module. None when the
    library is not installed (then it cannot be called either).
    """
    parts = target.split(".")
    spec = importlib.util.find_spec(parts[0])
    if spec is None:
        return None
    is_pkg = bool(spec.submodule_search_locations)
    where = list(spec.submodule_search_locations)[0] if is_pkg else spec.origin
    if not where:
        return None
    i = 1
    while i < len(parts) and is_pkg:
        sub = os.path.join(where, parts[i])
        if os.path.isfile(os.path.join(sub, "__init__.py")):
            where, i = sub, i + 1
        elif os.path.isfile(sub + ".py"):
            where, is_pkg, i = sub + ".py", False, i + 1
        else:
            break
    name = parts[-1] if i < len(parts) else None
    where = os.path.realpath(where)
    return (os.path.join(where, "") if is_pkg else where), name


class CallMatcher:
    """Which of ``targets`` (if any) the code of a called frame belongs to.

    Library targets are found by where their code lives (file or package folder, and function
    name; see :func:`_locate`), so aliases match and nothing is imported. A target
    ``"__main__.<name>"`` matches a function of that name defined in the notebook itself (code
    whose globals are ``__main__``). Used by :class:`forbid_calls` and by the autograder's
    sandbox, so that both judge a call the same way. Build it with :func:`call_matcher`, which
    keeps one per set of targets: a test cell opens the same block for every case it checks,
    and the matcher's per-function cache then survives from one call to the next.
    """

    def __init__(self, targets):
        self._where: list[tuple[str, str | None, str]] = []
        self._own = {t[len(_OWN) :]: t for t in targets if t.startswith(_OWN)}
        for target in targets:
            found = None if target.startswith(_OWN) else _locate(target)
            if found is not None:
                self._where.append((*found, target))
        self._seen: dict[types.CodeType, str | None] = {}

    def match(self, frame) -> str | None:
        """The target the frame's function belongs to, or None."""
        code = frame.f_code
        if code not in self._seen:
            self._seen[code] = self._match_code(code)
        name = self._seen[code]
        if name is None and code.co_name in self._own:
            if frame.f_globals.get("__name__") == "__main__":
                name = self._own[code.co_name]
        return name

    def _match_code(self, code: types.CodeType) -> str | None:
        filename = code.co_filename
        if not filename or filename.startswith("<"):
            return None
        filename = os.path.realpath(filename)
        for where, name, target in self._where:
            inside = filename.startswith(where) if where.endswith(os.sep) else filename == where
            if inside and (name is None or code.co_name == name):
                return target
        return None


@functools.lru_cache(maxsize=64)
def call_matcher(targets: tuple[str, ...]) -> CallMatcher:
    """The :class:`CallMatcher` of ``targets``, made once per process."""
    return CallMatcher(targets)


class forbid_calls:  # noqa: N801 - used as a context manager, reads like a function
    """Fail the test if the code inside the block calls any of ``targets``.

    Parameters
    ----------
    *targets : str
        Dotted names of functions (``"scipy.signal.correlate2d"``) or modules
        (``"cnnlab.layers"``: every function defined in it). ``"__main__.<name>"`` names a
        function of the notebook itself, e.g. the learner's answer to an earlier exercise that
        this one must not simply wrap (``"__main__.conv_forward_naive"``).
    exercise : str
        The exercise's name, for the message.
    hint : str, optional
        Added to the message when the block called one of the notebook's own functions.

    Notes
    -----
    Calls are watched with ``sys.setprofile`` and matched by :class:`CallMatcher`: by where the
    called code lives (file or package folder, and function name), so an alias (``from
    scipy.signal import correlate2d as c``) is caught as well, and no target library is imported
    just to watch it. The autograder runs the same matcher in the process that executes the
    learner's code: it reads the active contexts with :func:`active_forbid_contexts` and reports
    remote calls through :meth:`record`.
    """

    def __init__(self, *targets: str, exercise: str = "this exercise", hint: str = ""):
        self.targets = tuple(targets)
        self.exercise = exercise
        self.hint = hint
        self.hits: list[str] = []
        self._matcher: CallMatcher | None = None
        self._previous = None

    def record(self, name: str) -> None:
        """Note one forbidden call (used by the profiler hook and by the autograder)."""
        if name not in self.hits:
            self.hits.append(name)

    def _profile(self, frame, event, arg):
        if event == "call" and not _EXEMPT[0]:
            name = self._matcher.match(frame)
            if name is not None:
                self.record(describe_hit(name, frame))
        if self._previous is not None:
            self._previous(frame, event, arg)

    def __enter__(self):
        self._matcher = call_matcher(self.targets)
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        _ACTIVE.append(self)
        return self

    def __exit__(self, exc_type, exc, tb):
        sys.setprofile(self._previous)
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.hits:
            raise ForbiddenCallError(self.message())
        return False

    def message(self) -> str:
        """What the learner reads when the block called a forbidden function."""
        own_call = _VIA + self.exercise
        library = [
            h[: -len(own_call)] if h.endswith(own_call) else h
            for h in self.hits
            if not h.startswith(_OWN)
        ]
        library = list(dict.fromkeys(library))
        own = [h[len(_OWN) :] for h in self.hits if h.startswith(_OWN)]
        parts = []
        if library:
            parts.append(
                f"{self.exercise} must be your own implementation, but it called "
                f"{', '.join(library)}. This exercise earns no points when a library does the "
                "work; write the loops (or the matrix multiply) yourself."
            )
        if own:
            parts.append(
                f"{self.exercise} must be a new implementation, but it called your "
                f"{', '.join(own)}; it earns no points as a wrapper around an earlier exercise."
                + (f" {self.hint}" if self.hint else "")
            )
        return " ".join(parts)


def active_forbid_contexts() -> list[forbid_calls]:
    """The ``forbid_calls`` blocks currently open, innermost last (for the autograder)."""
    return list(_ACTIVE)


# --------------------------------------------------------------------------------------------
# reference_helpers: grade each exercise on its own
# --------------------------------------------------------------------------------------------

_HELPERS: list[dict] = []


def _exempt(name: str, ref):
    """``ref`` as a plain function whose calls no ``forbid_calls`` block counts."""

    def helper(*args, **kwargs):
        _EXEMPT[0] += 1
        try:
            return ref(*args, **kwargs)
        finally:
            _EXEMPT[0] -= 1

    helper.__name__ = helper.__qualname__ = name
    return helper


class reference_helpers:  # noqa: N801 - used as a context manager, reads like a function
    """Inside the block, the learner's functions call these references instead of their own.

    An exercise that builds on an earlier one (``conv_forward_naive`` on ``conv_output_size``,
    ``train_epoch`` on ``iterate_minibatches``) is graded on its own this way: a bug in the
    earlier answer costs that exercise only, and the later one's messages never blame it for
    someone else's mistake::

        with T.reference_helpers(conv_output_size=cl.layers.conv_output_size):
            out = conv_forward_naive(x, w, b, stride=2, pad=1)

    Parameters
    ----------
    **helpers : callable
        Notebook name -> reference with the exercise's contract. The references run as the
        test's code: ``forbid_calls`` does not count what they call.

    Notes
    -----
    In a notebook (and in ``nbgrader validate``), the names are rebound in the namespace of the
    cell that opens the block, which is the learner's, and restored on exit. The autograder
    reads the open blocks with :func:`active_reference_helpers` and rebinds the names in the
    learner's process for each call, the references running in the judge.
    """

    def __init__(self, **helpers):
        self.helpers = {name: _exempt(name, ref) for name, ref in helpers.items()}
        self._ns: dict | None = None
        self._saved: dict = {}

    def __enter__(self):
        self._ns = sys._getframe(1).f_globals
        missing = object()
        self._saved = {name: self._ns.get(name, missing) for name in self.helpers}
        self._missing = missing
        self._ns.update(self.helpers)
        _HELPERS.append(self.helpers)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.helpers in _HELPERS:
            _HELPERS.remove(self.helpers)
        for name, old in self._saved.items():
            if old is self._missing:
                self._ns.pop(name, None)
            else:
                self._ns[name] = old
        return False


def active_reference_helpers() -> dict:
    """Name -> reference of every open ``reference_helpers`` block, innermost winning."""
    merged: dict = {}
    for helpers in _HELPERS:
        merged.update(helpers)
    return merged


def reset() -> None:
    """Close every open ``forbid_calls`` and ``reference_helpers`` block (for the autograder)."""
    _ACTIVE.clear()
    _HELPERS.clear()
    _EXEMPT[0] = 0


# --------------------------------------------------------------------------------------------
# Keep test cells off stderr inside Jupyter
# --------------------------------------------------------------------------------------------


class _StderrToStdout:
    """A stand-in for ``sys.stderr`` that writes to the current ``sys.stdout``."""

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()

    def isatty(self):
        return False

    def __getattr__(self, name):
        return getattr(sys.stdout, name)


_saved_stderr = None


def _start_quiet(*_args):
    global _saved_stderr
    if _saved_stderr is None:
        _saved_stderr = sys.stderr
        sys.stderr = _StderrToStdout()


def _stop_quiet(*_args):
    global _saved_stderr
    if _saved_stderr is not None:
        sys.stderr = _saved_stderr
        _saved_stderr = None


def _pre_run_cell(info=None):
    source = getattr(info, "raw_cell", "") or ""
    if "cnnlab.testing" in source:
        _start_quiet()


def _install_ipython_hooks() -> None:
    """In a Jupyter kernel, send stderr to stdout while a test cell (one that imports us) runs."""
    ipython_mod = sys.modules.get("IPython")
    if ipython_mod is None:
        return
    get_ipython = getattr(ipython_mod, "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    if shell is None or getattr(shell, "_cnnlab_testing_hooks", False):
        return
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _stop_quiet)
    shell._cnnlab_testing_hooks = True
    _start_quiet()  # we are being imported by the test cell that is running now


_install_ipython_hooks()
