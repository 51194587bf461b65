"""An audit hook in the sandbox that the learner's code cannot remove (PEP 578).

Installed before any learner code runs, it

- refuses ``gc.get_objects``, ``gc.get_referrers``, ``gc.get_referents`` and
  ``sys._current_frames``: the ways to reach the grader's own objects (the call watcher, the
  tamper probe, the RPC peer) without a reference to them;
- refuses changes to the attributes of the grader's own functions and classes
  (``CallMatcher.match = ...``, ``Watch.hook.__code__ = ...``);
- remembers, in a list no Python code can reach, every ``sys.setprofile``: a call of the
  learner's code during which the watcher was switched off, even if it was switched back on
  before the call returned, earns nothing (see :mod:`.child`, which also treats a thread
  started during the call, or still running from an earlier cell, the same way).

It does not make the sandbox a security boundary on its own (frames stay reachable through
``sys._getframe``); see docs/grading.md, "what the sandbox does not guarantee".
"""

from __future__ import annotations

import sys

REFUSED = ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames")
NOTED = {"sys.setprofile": "sys.setprofile (the call watcher was switched off)"}


def install(protected: tuple) -> callable:
    """Add the hook; return ``noted()``, the number and list of events noted so far.

    ``protected`` are the grader's functions and classes whose attributes must not change.
    """
    noted: list[str] = []
    ids = frozenset(id(obj) for obj in protected)

    def hook(event, args):
        if event in NOTED:
            noted.append(NOTED[event])
        elif event in REFUSED:
            raise RuntimeError(f"{event} is not available in the grader's sandbox")
        elif event == "object.__setattr__" and args and id(args[0]) in ids:
            raise AttributeError("the grader's own code cannot be changed")

    sys.addaudithook(hook)

    def events_since(start: int) -> tuple[int, list[str]]:
        return len(noted), list(noted[start:])

    return events_since
