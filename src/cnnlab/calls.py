"""Checks on calls: "your own implementation" and "graded on its own".

:class:`forbid_calls` fails a test when the learner's code hands the work to a library (or to
an earlier answer); :class:`reference_helpers` lets a learner's function call reference
versions of earlier answers, so each exercise is graded on its own. Test cells reach both
through :mod:`cnnlab.testing`; so does :class:`in_place`, which names the objects a call may
update. :func:`active_forbid_contexts`, :func:`active_reference_helpers`, :func:`may_update` and
:func:`reset` are for the autograder, which runs the checks across two processes.

:class:`CallMatcher` decides whether a called frame belongs to a forbidden target (a library
function or module, found by where its code lives, or ``"__main__.<name>"``, a function of the
notebook itself). :class:`cnnlab.testing.forbid_calls` uses it in a notebook; the autograder's
sandbox uses the same matcher in the learner's process, so that both judge a call alike.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import types

_OWN = "__main__."  # prefix of targets that name the notebook's own functions
_VIA = " via your "  # a hit made inside another of the notebook's functions: "<target> via your f"
EXEMPT = [0]  # > 0 while a reference helper runs: its calls are the test's, not the learner's


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


def _locate(target: str) -> tuple[tuple[str, ...], str | None] | None:
    """Where the code named by ``target`` lives, found without importing it.

    Returns ``(paths, name)``: ``paths`` are a package folder (ending in a separator) or a
    module file, as found on ``sys.path`` and with links resolved; ``name`` is a function name
    inside it, or None for the whole module. None when the library is not installed (then it
    cannot be called either).
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
    found = dict.fromkeys([os.path.abspath(where), os.path.realpath(where)])
    return tuple(os.path.join(w, "") if is_pkg else w for w in found), name


def locations(targets) -> list[tuple[str, str, tuple[str, ...]]]:
    """``(target, function name or "", paths)`` for each target: what :func:`match_code` reads.

    A ``"__main__.<name>"`` target has no paths (it is matched by name in the notebook's own
    namespace); a library that is not installed is left out. The autograder computes these in
    the judge and sends them to the learner's process, which then never resolves a name itself.
    """
    found = []
    for target in targets:
        if target.startswith(_OWN):
            found.append((target, target[len(_OWN) :], ()))
            continue
        where = _locate(target)
        if where is not None:
            found.append((target, where[1] or "", where[0]))
    return found


def match_code(where, filename, co_name, co_flags) -> str | None:
    """The library target of ``where`` (from :func:`locations`) that a code object belongs to.

    Pure: it reads only its arguments and builtins, and trusts no type it did not make (a
    filename or name that is not exactly a ``str`` matches nothing), so the autograder's
    sandbox can run a private copy of it where the learner's code cannot reach or patch it.
    A module's or a class's body (run by an import) is not a call of the library.
    """
    if type(filename) is not str or type(co_name) is not str or type(co_flags) is not int:
        return None
    if not filename or filename[0] == "<" or not co_flags & 2:  # 2: CO_NEWLOCALS, a function
        return None
    for target, name, paths in where:
        if name and co_name != name:
            continue
        for path in paths:
            if filename.startswith(path) if path[-1] in "/\\" else filename == path:
                return target
    return None


class CallMatcher:
    """Which of ``targets`` (if any) the code of a called frame belongs to.

    Library targets are found by where their code lives (file or package folder, and function
    name; see :func:`locations` and :func:`match_code`), so aliases match and nothing is
    imported. A target ``"__main__.<name>"`` matches a function of that name defined in the
    notebook itself (code whose globals are ``__main__``). Used by :class:`forbid_calls`; the
    autograder's sandbox runs :func:`match_code` on the same locations, so both judge a call
    the same way. Build it with :func:`call_matcher`, which keeps one per set of targets: a
    test cell opens the same block for every case it checks, and the matcher's per-function
    cache then survives from one call to the next.
    """

    def __init__(self, targets):
        where = locations(targets)
        self._own = {name: t for t, name, paths in where if not paths}
        self._where = tuple(w for w in where if w[2])
        self._seen: dict[int, tuple[types.CodeType, str | None]] = {}

    def match(self, frame) -> str | None:
        """The target the frame's function belongs to, or None."""
        code = frame.f_code
        seen = self._seen.get(id(code))
        if seen is None or seen[0] is not code:  # keyed by identity: hashing runs no code
            filename = code.co_filename
            if type(filename) is str and filename and not filename.startswith("<"):
                filename = os.path.realpath(filename)
            seen = self._seen[id(code)] = (code, self._match_code(code, filename))
        name = seen[1]
        if name is None and type(code.co_name) is str and code.co_name in self._own:
            if frame.f_globals.get("__name__") == "__main__":
                name = self._own[code.co_name]
        return name

    def _match_code(self, code: types.CodeType, filename) -> str | None:
        return match_code(self._where, filename, code.co_name, code.co_flags)


@functools.lru_cache(maxsize=64)
def call_matcher(targets: tuple[str, ...]) -> CallMatcher:
    """The :class:`CallMatcher` of ``targets``, made once per process."""
    return CallMatcher(targets)


# --------------------------------------------------------------------------------------------
# forbid_calls: "your own implementation" checks
# --------------------------------------------------------------------------------------------


class ForbiddenCallError(AssertionError):
    """Raised when an exercise that asks for its own implementation called a library one."""


_ACTIVE: list[forbid_calls] = []


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
        if event == "call" and not EXEMPT[0]:
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
        EXEMPT[0] += 1
        try:
            return ref(*args, **kwargs)
        finally:
            EXEMPT[0] -= 1

    helper.__name__ = helper.__qualname__ = name
    helper.library = _library_path(ref)
    return helper


def _library_path(ref) -> str | None:
    """``"cnnlab.<module>.<function>"`` when ``ref`` is a module-level function of cnnlab.

    The autograder runs such a reference in the learner's process (a local call, not a
    round trip to the judge) and excuses the forbidden calls its own code makes there.
    """
    module, name = getattr(ref, "__module__", None) or "", getattr(ref, "__qualname__", "")
    if not (module == "cnnlab" or module.startswith("cnnlab.")) or "." in name or "<" in name:
        return None
    return f"{module}.{name}" if getattr(sys.modules.get(module), name, None) is ref else None


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
    learner's process for each call: a reference defined in the test cell runs in the judge,
    a module-level cnnlab function (``helper.library`` names it) in the learner's process.
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


# --------------------------------------------------------------------------------------------
# in_place: the objects a call may update
# --------------------------------------------------------------------------------------------

_IN_PLACE: list[tuple] = []


class in_place:  # noqa: N801 - used as a context manager, reads like a function
    """Declare the objects that the calls inside the block may update in place.

    In a notebook this does nothing: your function and the test share one process, so what
    your function changes is changed. The autograder runs your function in another process
    and copies back the new state of an argument only when the test declared it here (an
    optimiser step updates ``params`` and its ``state``; nothing else). Everything else the
    call does to its arguments stays in your process, so a test's reference values, computed
    from its own objects, cannot be changed by the code they check.

    Examples
    --------
    >>> import cnnlab.testing as T
    >>> params = {"w": [1.0, 2.0]}
    >>> with T.in_place(params):  # doctest: +SKIP
    ...     sgd_step(params, {"w": np.ones(3)}, lr=0.1)
    """

    def __init__(self, *objects):
        self.objects = objects

    def __enter__(self):
        _IN_PLACE.append(self.objects)
        return self

    def __exit__(self, *exc):
        if self.objects in _IN_PLACE:
            _IN_PLACE.remove(self.objects)
        return False


def may_update(obj) -> bool:
    """True when an open :class:`in_place` block names ``obj`` itself (for the autograder)."""
    return any(o is obj for objects in _IN_PLACE for o in objects)


def reset() -> None:
    """Close every open ``forbid_calls``, ``reference_helpers`` and ``in_place`` block."""
    _ACTIVE.clear()
    _HELPERS.clear()
    _IN_PLACE.clear()
    EXEMPT[0] = 0
