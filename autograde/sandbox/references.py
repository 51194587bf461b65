"""Reference helpers that run inside the sandbox: cnnlab's twins of earlier exercises.

A test cell's ``T.reference_helpers(name=ref)`` binds ``name`` to ``ref`` while the learner's
function runs. A reference defined in the test cell runs in the judge (each call crosses the
wire); a reference that is a cnnlab function (``cl.optim.adam_step``, ``cl.train.train_epoch``)
is sent by its dotted name and runs here, at the speed of a local call, which matters for
helpers called at every mini-batch.

Such a call must not count against the learner in the test's ``forbid_calls`` blocks (the
reference lives in ``cnnlab.optim``, which the block forbids), while whatever the learner's
own code does inside it (a ``step_fn`` or a model passed to the reference) still counts. So a
forbidden call is excused only when every frame from it up to the helper's entry is genuine
cnnlab code: a code object that belonged to a cnnlab function when this process started,
before any learner code ran (:func:`snapshot`). Code the learner compiles, patches in or passes
along is never in that set, whatever file name it claims.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import types

PATH = re.compile(r"cnnlab(\.[A-Za-z_]\w*)+\Z")
MODULES = ("cnnlab.layers", "cnnlab.nn", "cnnlab.optim", "cnnlab.train", "cnnlab.models",
           "cnnlab.gradcheck", "cnnlab.data", "cnnlab.spec")  # fmt: skip


def _codes_of(obj, found: set) -> None:
    """Add the code objects of a function (and of everything nested in it) to ``found``."""
    stack = [obj.__code__]
    while stack:
        code = stack.pop()
        if code not in found:
            found.add(code)
            stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


def _functions(module):
    """Every function of ``module`` and of the classes it defines (methods, properties)."""
    for value in vars(module).values():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            yield value
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for attr in vars(value).values():
                for f in (attr, getattr(attr, "__func__", None), getattr(attr, "fget", None)):
                    if isinstance(f, types.FunctionType):
                        yield f


def snapshot() -> tuple[frozenset, dict]:
    """(genuine code objects, dotted name -> cnnlab function) before learner code runs.

    Genuine: cnnlab's code, and the codec that encodes a reply (which reads a returned module
    through :mod:`cnnlab.spec`).
    """
    for name in (*MODULES, "autograde.wire.codec"):
        importlib.import_module(name)
    codes: set = set()
    functions: dict = {}
    for name, module in list(sys.modules.items()):
        library = name == "cnnlab" or name.startswith("cnnlab.")
        if module is None or not (library or name == "autograde.wire.codec"):
            continue
        for f in _functions(module):
            _codes_of(f, codes)
            if library and f.__qualname__ == f.__name__:
                functions[f"{name}.{f.__name__}"] = f
    return frozenset(codes), functions


def entry(ref, args, kwargs):
    """The one frame through which a library reference is called (see :func:`excused`)."""
    return ref(*args, **kwargs)


def bind(ref):
    """The callable bound to the learner's name: calls ``ref`` through :func:`entry`."""

    def reference(*args, **kwargs):
        return entry(ref, args, kwargs)

    reference.__name__ = reference.__qualname__ = ref.__name__
    return reference


def entries() -> frozenset:
    """The frames a grader-made call enters through: a library reference, a reply's encoding."""
    from autograde.wire.peer import Peer

    return frozenset({entry.__code__, Peer.encode_reply.__code__})


def excused(frame, genuine: frozenset, entry_codes: frozenset) -> bool:
    """True when ``frame`` (a forbidden call) was made by grader-called cnnlab code alone."""
    while frame is not None:
        code = frame.f_code
        if code in entry_codes:
            return True
        if code not in genuine:
            return False
        frame = frame.f_back
    return False
