"""Stand-ins for the other side's objects and exceptions.

A :class:`Handle` is a proxy of an object that stays on the other side (attribute access,
items, length and iteration become requests); a :class:`CallableHandle` also calls it. A
:class:`RemoteError` is an exception raised over there, as plain data; it is raised here as the
builtin exception of the same type, or as :class:`StudentError`.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass


class StudentError(Exception):
    """An exception raised by the learner's code whose type is not a builtin exception."""


class Remote:
    """Base of every proxy; ``_peer`` and ``_rid`` identify the remote object."""

    __slots__ = ("_peer", "_rid", "_name")

    def __init__(self, peer, rid, name):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_rid", rid)
        object.__setattr__(self, "_name", name)

    def __repr__(self):
        return f"<{self._name} (learner's object)>"

    def __eq__(self, other):
        return isinstance(other, Remote) and other._rid == self._rid and other._peer is self._peer

    def __hash__(self):
        return hash(self._rid)


class Handle(Remote):
    """An object of the other side: attributes, items, len, iteration and methods by RPC."""

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._peer.request("getattr", rid=self._rid, name=name)

    def __setattr__(self, name, value):
        self._peer.request("setattr", rid=self._rid, name=name, value=value)

    def __getitem__(self, key):
        return self._peer.request("getitem", rid=self._rid, key=key)

    def __setitem__(self, key, value):
        self._peer.request("setitem", rid=self._rid, key=key, value=value)

    def __len__(self):
        return self._peer.request("len", rid=self._rid)

    def __bool__(self):
        return self._peer.request("bool", rid=self._rid)

    def __iter__(self):
        return iter(self._peer.request("iter", rid=self._rid))


class CallableHandle(Handle):
    """A callable of the other side: a function, a class, a bound method, or an instance with
    ``__call__``. Calling it sends the arguments and brings back the result."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._peer.call(self._rid, args, kwargs)

    def __repr__(self):
        return f"<callable {self._name} (runs on the other side)>"


@dataclass
class RemoteError:
    """An exception raised on the other side, as plain data."""

    type: str
    message: str
    traceback: str = ""

    def exception(self) -> BaseException:
        """The exception to raise locally: builtin Exception types keep their type."""
        text = self.message
        exc_type = getattr(builtins, self.type, None)
        if (
            isinstance(exc_type, type)
            and issubclass(exc_type, Exception)
            and not issubclass(exc_type, (StopIteration, StopAsyncIteration))
        ):
            try:
                exc = exc_type(text)
            except Exception:
                exc = StudentError(f"{self.type}: {text}")
        else:
            exc = StudentError(f"{self.type}: {text}")
        exc.remote_traceback = self.traceback
        return exc
