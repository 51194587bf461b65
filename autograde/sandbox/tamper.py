"""Tamper probes of the sandbox: what learner code changed that a test could rely on.

Findings become *flags* for the instructor (they never change a score by themselves):
replaced functions of NumPy, cnnlab or builtins, swapped ``sys.modules`` entries, a custom
IPython exception handler, and values whose class claims to equal anything.
"""

from __future__ import annotations

import builtins
import re
import sys


class Tamper:
    """Identities of numpy, numpy.testing, cnnlab, builtins and sys.modules entries."""

    WATCHED = (
        "numpy",
        "numpy.testing",
        "numpy.linalg",
        "numpy.random",
        "numpy.lib",
        "cnnlab",
        "cnnlab.testing",
        "cnnlab.calls",
        "cnnlab.layers",
        "cnnlab.nn",
        "cnnlab.gradcheck",
        "scipy.signal",
    )

    def __init__(self, shell=None):
        self.seen: set[str] = set()
        self.watched = {n: sys.modules[n] for n in self.WATCHED if n in sys.modules}
        self.snapshot = self._take()
        self.modules = dict(sys.modules)
        self.custom_tb = getattr(shell, "CustomTB", None)

    def _take(self) -> dict:
        snap = {}
        for name, mod in self.watched.items():
            for attr, value in list(vars(mod).items()):
                if attr.startswith("__"):
                    continue
                snap[(name, attr)] = self._ident(value)
                if isinstance(value, type) and getattr(value, "__module__", "").startswith(
                    "cnnlab"
                ):
                    for key, member in list(vars(value).items()):
                        snap[(f"{name}.{attr}", key)] = self._ident(member)
        for attr, value in list(vars(builtins).items()):
            if not attr.startswith("_"):
                snap[("builtins", attr)] = self._ident(value)
        return snap

    @staticmethod
    def _ident(value):
        code = getattr(value, "__code__", None)
        return (id(value), id(code) if code is not None else None)

    def check(self, shell=None) -> list[str]:
        """New findings since the last check."""
        found = []
        now = self._take()
        changed: dict[str, list[str]] = {}
        for key, ident in self.snapshot.items():
            if now.get(key) != ident:
                changed.setdefault(key[0], []).append(key[1])
        for owner, names in changed.items():
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            found.append(f"monkeypatch: {owner}.{shown} replaced or removed")
        for name, mod in self.modules.items():
            if sys.modules.get(name) is not mod:
                found.append(f"monkeypatch: sys.modules[{name!r}] was replaced or removed")
        if shell is not None and (
            shell.custom_exceptions or getattr(shell, "CustomTB", None) is not self.custom_tb
        ):
            found.append("custom exception handler installed in IPython (set_custom_exc)")
        new = [f for f in found if f not in self.seen]
        self.seen.update(new)
        return new[:20]


def _eq_always_true(value) -> bool:
    """True when ``value == <a fresh object>`` claims equality (a rigged ``__eq__``)."""

    class _Probe:
        pass

    try:
        res = type(value).__eq__(value, _Probe())
        if res is NotImplemented:
            return False
        return bool(res) is True
    except Exception:
        return False


def eq_probe(flags: list[str]):
    """The codec's ``inspect`` hook: flag a value whose ``==`` is rigged to always say True."""

    def inspect(value) -> None:
        if _eq_always_true(value):
            flags.append(
                f"eq-always-true: a returned value of class {type(value).__name__} equals anything"
            )

    return inspect


# --------------------------------------------------------------------------------------------
# The judge's side: flags in the grader's own words
# --------------------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,60}"
_DOTTED = rf"{_NAME}(?:\.{_NAME}){{0,4}}"
_FORMS = (
    (
        re.compile(
            rf"monkeypatch: ({_DOTTED})\.({_NAME}(?:, {_NAME}){{0,3}})"
            rf"( and \d{{1,6}} more)? replaced or removed"
        ),  # fmt: skip
        "monkeypatch: {0}.{1}{2} replaced or removed",
    ),
    (
        re.compile(rf"monkeypatch: sys\.modules\['({_DOTTED})'\] was replaced or removed"),
        "monkeypatch: sys.modules[{0!r}] was replaced or removed",
    ),
    (
        re.compile(r"custom exception handler installed in IPython \(set_custom_exc\)"),
        "custom exception handler installed in IPython (set_custom_exc)",
    ),
    (
        re.compile(rf"eq-always-true: a returned value of class ({_NAME}) equals anything"),
        "eq-always-true: a returned value of class {0} equals anything",
    ),
)
UNKNOWN = "the sandbox sent a report the grader does not know (possible tampering)"


def in_own_words(raw: str) -> str:
    """The judge's text for a flag the sandbox reported.

    The sandbox is the learner's process: what it sends is learner-controlled text. A flag is
    shown only when it is one of the reports above, rebuilt from the grader's template with
    details that are plain identifiers (so no text of the learner's choosing, such as a
    spreadsheet formula, reaches grades.csv); anything else becomes :data:`UNKNOWN`.
    """
    for pattern, template in _FORMS:
        match = pattern.fullmatch(str(raw))
        if match:
            return template.format(*(g or "" for g in match.groups()))
    return UNKNOWN
