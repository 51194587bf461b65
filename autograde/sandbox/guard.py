"""The sandbox's audit hook (PEP 578): what the learner's code cannot remove, reach or forge.

Installed before any learner code runs, the hook

- refuses ``gc.get_objects``, ``gc.get_referrers``, ``gc.get_referents`` and
  ``sys._current_frames``, and changes to the attributes of the grader's own functions and
  classes (``Peer.call_wrapper.__code__ = ...``);
- runs the **sealed call watch**, the sandbox's side of ``forbid_calls``. Fail closed: what
  grants the points of an "own implementation" check is a signature the judge verifies, made
  with a key only this hook holds, so switching the watch off, emptying its findings or
  replacing the code that reports them costs the points the check guards.

One watched call (a call of the learner's function, or a handle operation, inside a test
cell's ``forbid_calls`` block):

1. The judge sends a fresh nonce and the blocks' targets, resolved to file locations in the
   judge (:func:`cnnlab.calls.locations`), so nothing here runs an import to find them.
2. ``sys.audit(BEGIN, nonce, spec)``: the hook opens a watch and sets the profile function to
   :func:`forward`, which has no state (its defaults cannot be changed) and hands every call
   event to the hook through ``sys.audit``.
3. The hook matches each called frame privately: with a copy of
   :func:`cnnlab.calls.match_code` whose globals are the hook's own, identity-keyed caches and
   exact-type checks, so no learner object's method (``__eq__``, ``__hash__``) runs inside it
   and no patched module reaches it. A ``sys.setprofile`` by anyone else, a thread started
   during the call, or threads of earlier cells still running are findings too.
4. ``sys.audit(END, nonce, digest, out)`` after the reply is encoded: the hook closes the
   watch, restores the profile, and appends its findings and an HMAC of (nonce, targets,
   findings, digest of the reply) to ``out``. The judge recomputes the digest from the reply it
   received and checks the HMAC; a missing or wrong one costs every open block. The signed
   message's format is :mod:`autograde.wire.seal`, the one module both sides import it from.

The key arrives over the pipe before the first learner cell, and only the hook's closure
keeps it. What this does not stop: code that reads or writes the process's memory directly
(``ctypes``, or a NumPy array built on a raw address) can reach anything in the process; see
docs/grading.md, "what the sandbox does not guarantee".
"""

from __future__ import annotations

import _hashlib
import _thread
import builtins
import sys
import threading
import types

# the signed message's format, shared with the judge; install() runs private copies of
# canonical, sealed_message and sign, and child.py digests each reply with digest
from autograde.wire.seal import canonical, digest, sealed_message, sign  # noqa: F401
from cnnlab.calls import match_code

REFUSED = ("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames")
BEGIN, EVENT, END = "cnnlab.watch.begin", "cnnlab.watch.event", "cnnlab.watch.end"
SWITCHED_OFF = "sys.setprofile (the call watcher was switched off)"
NEW_THREAD = "a new thread (code in other threads is not watched)"
OLD_THREADS = "threads of earlier cells still running (they are not watched)"
BROKEN = "the call watcher failed (it was handed something it does not accept)"
_VIA = " via your "
# what the hook calls, copied into its own globals by install(): later patches do not reach it
_FrameType, _getprofile, _setprofile, _count = (
    types.FrameType,
    sys.getprofile,
    sys.setprofile,
    _thread._count,
)


def forward(frame, event, arg, _audit=sys.audit, _event=EVENT, _start=_thread.start_new_thread):
    """The profile function of a watched call: hands call events to the audit hook."""
    if event == "call" or (event == "c_call" and arg is _start):
        _audit(_event, frame, event, arg)


def valid_spec(spec) -> bool:
    """``spec`` is exactly ``[[[target, name, [path, ...]], ...], ...]`` of plain strings."""
    if type(spec) is not list:
        return False
    for block in spec:
        if type(block) is not list:
            return False
        for item in block:
            if type(item) is not list or len(item) != 3:
                return False
            target, name, paths = item
            if type(target) is not str or type(name) is not str or type(paths) is not list:
                return False
            for path in paths:
                if type(path) is not str or not path:
                    return False
    return True


def _hook_factory(key, main, genuine, entries, protected, start_new, thread_start):
    """The audit hook. Rebuilt by :func:`install` with globals of its own (see there)."""
    genuine_ids = frozenset(id(c) for c in genuine)  # ``genuine`` keeps the codes alive
    entry_ids = frozenset(id(c) for c in entries)
    protected_ids = frozenset(id(o) for o in protected)
    stack = []  # [nonce, spec, blocks, previous profile]; a block: [where, own, cache, hits]
    own_set = [0]
    baseline = _count()
    caches = {}

    def add(hits, what):
        if what not in hits:
            hits.append(what)

    def note(what):
        for entry in stack:
            for block in entry[2]:
                add(block[3], what)

    def excused(frame):
        while frame is not None:
            code_id = id(frame.f_code)
            if code_id in entry_ids:
                return True
            if code_id not in genuine_ids:
                return False
            frame = frame.f_back
        return False

    def describe(target, frame):
        if target.startswith("__main__."):
            return target
        caller = frame.f_back
        while caller is not None:
            name = caller.f_code.co_name
            if caller.f_globals is main and type(name) is str and name != "<module>":
                return target + _VIA + name
            caller = caller.f_back
        return target

    def match(block, frame):
        where, own, cache = block[0], block[1], block[2]
        code = frame.f_code
        seen = cache.get(id(code))
        if seen is None or seen[0] is not code:
            found = match_code(where, code.co_filename, code.co_name, code.co_flags)
            seen = cache[id(code)] = (code, found)
        name = seen[1]
        if name is None and frame.f_globals is main:
            co_name = code.co_name
            if type(co_name) is str:
                name = own.get(co_name)
        return name

    def on_event(args):
        if not stack or len(args) != 3:
            return
        frame, event, arg = args
        if type(frame) is not _FrameType or type(event) is not str:
            return
        if (event == "c_call" and arg is start_new) or frame.f_code is thread_start:
            note(NEW_THREAD)
            return
        if event != "call":
            return
        for entry in stack:
            for block in entry[2]:
                name = match(block, frame)
                if name is not None and not excused(frame):
                    add(block[3], describe(name, frame))

    def begin(args):
        if len(args) != 2 or type(args[0]) is not str or not valid_spec(args[1]):
            note(BROKEN)
            return
        nonce, spec = args
        blocks = []
        for block in spec:
            where = tuple((t, n, tuple(p)) for t, n, p in block if p)
            own = {n: t for t, n, p in block if not p}
            cache = caches.get(where)
            if cache is None:
                cache = caches[where] = {}
            blocks.append([where, own, cache, []])
        stack.append([nonce, spec, blocks, _getprofile()])
        if _count() > baseline:
            note(OLD_THREADS)
        own_set[0] += 1
        try:
            _setprofile(forward)
        finally:
            own_set[0] -= 1

    def end(args):
        if len(args) != 3 or not stack:
            return
        nonce, reply_digest, out = args
        if type(nonce) is not str or type(reply_digest) is not bytes or type(out) is not list:
            return
        if stack[-1][0] != nonce:
            return  # not the open watch: no signature, so the judge counts the call as unwatched
        if _getprofile() is not forward:
            note(SWITCHED_OFF)
        _, spec, blocks, previous = stack.pop()
        own_set[0] += 1
        try:
            _setprofile(previous)
        finally:
            own_set[0] -= 1
        hits = [list(block[3]) for block in blocks]
        out.append(hits)
        out.append(sign(key, nonce, spec, hits, reply_digest))

    def hook(event, args):
        if type(event) is not str:  # sys.audit takes a str subclass, whose __eq__ would run here
            note(BROKEN)
            return
        if event == EVENT:
            try:
                on_event(args)
            except BaseException:
                note(BROKEN)
        elif event in REFUSED:
            raise RuntimeError(f"{event} is not available in the grader's sandbox")
        elif event == "object.__setattr__" and args and id(args[0]) in protected_ids:
            raise AttributeError("the grader's own code cannot be changed")
        elif event == "sys.setprofile" and not own_set[0]:
            note(SWITCHED_OFF)
        elif event == BEGIN:
            begin(args)
        elif event == END:
            end(args)

    return hook


def _private(fn, namespace: dict):
    """``fn`` rebuilt to read its globals from ``namespace`` instead of its module."""
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__)


def install(key: bytes, *, main: dict, genuine, entries, protected: tuple) -> None:
    """Add the hook, once, before any learner code runs.

    ``main`` is the learner's namespace (their functions' globals), ``genuine`` and
    ``entries`` the code objects of :mod:`.references`, ``protected`` the grader's functions
    and classes whose attributes must not change.

    The hook and everything it calls run with globals of their own: a copy of the builtins
    and of the few names they use, taken now. A learner who patches ``cnnlab.calls``,
    :mod:`autograde.wire.seal`, this module or ``builtins`` later changes nothing the hook reads.
    """
    namespace: dict = {"__builtins__": dict(builtins.__dict__)}
    for name in ("canonical", "sealed_message", "sign", "valid_spec", "match_code"):
        namespace[name] = _private(globals()[name], namespace)
    namespace.update(
        REFUSED=REFUSED, BEGIN=BEGIN, EVENT=EVENT, END=END, SWITCHED_OFF=SWITCHED_OFF,
        NEW_THREAD=NEW_THREAD, OLD_THREADS=OLD_THREADS, BROKEN=BROKEN, _VIA=_VIA,
        forward=forward, _hashlib=types.SimpleNamespace(hmac_digest=_hashlib.hmac_digest),
        _FrameType=_FrameType, _getprofile=_getprofile, _setprofile=_setprofile, _count=_count,
    )  # fmt: skip
    factory = _private(_hook_factory, namespace)
    hook = factory(
        bytes(key), main, frozenset(genuine), frozenset(entries),
        (*protected, forward, _hook_factory), _thread.start_new_thread,
        threading.Thread.start.__code__,
    )  # fmt: skip
    sys.addaudithook(hook)
