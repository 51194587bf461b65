"""Plain-data RPC between the trusted judge and the untrusted sandbox.

A message is ``8-byte length | 4-byte header length | JSON header | array blobs``. Arrays travel
in the ``.npy`` format and are read back with our own header parser: only numeric, boolean and
unicode dtypes are accepted, never objects, never pickles. Everything else that is not plain data
(``None``, bool, int, float, complex, str, bytes, list, tuple, dict, set, ndarray, NumPy scalars,
``np.random.Generator``, ``cnnlab.nn`` modules) travels as a *reference*: callables and classes as
callable proxies, other objects as handles whose attributes, items and methods are fetched by RPC.
Generators and iterators are consumed into a list (capped) on the side that owns them.

Both sides run the same :class:`Peer`: a request waits for its reply while serving the requests
the other side sends meanwhile (a learner's function calling back a lambda of the test cell).
After a call, the callee sends back the post-call state of the mutable arguments (arrays, dicts,
lists, generators, modules; unchanged arrays as a marker) and the caller writes it back in place,
so in-place APIs such as ``sgd_step(params, grads, lr)`` behave as in a normal call.

The trusted side (``trusted=True``) serves only what it handed out itself and refuses attribute
names starting with an underscore, so the sandbox cannot walk from a callback to the judge's
globals. Messages larger than :data:`MAX_MESSAGE` are refused.
"""

from __future__ import annotations

import builtins
import collections.abc
import io
import json
import os
import re
import select
import struct
import time
import types
from dataclasses import dataclass

import numpy as np

# NumPy functions the wire relies on, captured before any learner code runs in this process
_array_equal = np.array_equal
_ascontiguousarray = np.ascontiguousarray
_asarray = np.asarray
_write_array = np.lib.format.write_array
_frombuffer = np.frombuffer

MAX_MESSAGE = 1 << 30
MAX_ITEMS = 100_000
_ARRAY_KINDS = set("biufcU")
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


class ProtocolError(Exception):
    """The other side sent something that is not a valid message."""


class PeerGone(BaseException):
    """The other side closed the pipe or died. BaseException: test cells cannot catch it."""


class Timeout(BaseException):
    """No reply before the deadline. BaseException: test cells cannot catch it."""


class StudentError(Exception):
    """An exception raised by the learner's code whose type is not a builtin exception."""


class _Same:
    """Marker: this array did not change during the call."""

    def __repr__(self):
        return "SAME"


SAME = _Same()


# --------------------------------------------------------------------------------------------
# Framing
# --------------------------------------------------------------------------------------------


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise Timeout()
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except OSError as exc:
            raise PeerGone(str(exc)) from None
        if not chunk:
            raise PeerGone("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                raise Timeout()
        try:
            n = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        except OSError as exc:
            raise PeerGone(str(exc)) from None
        view = view[n:]


def send_message(fd: int, header: dict, blobs: list[bytes], deadline: float | None = None):
    """Write one message (header as JSON, blobs appended) to ``fd``."""
    header = dict(header, blobs=[len(b) for b in blobs])
    head = json.dumps(header, separators=(",", ":")).encode()
    body = struct.pack(">I", len(head)) + head + b"".join(blobs)
    _write_all(fd, struct.pack(">Q", len(body)) + body, deadline)


def recv_message(fd: int, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Read one message; raise :class:`ProtocolError` on anything malformed."""
    (size,) = struct.unpack(">Q", _read_exact(fd, 8, deadline))
    if size > MAX_MESSAGE or size < 4:
        raise ProtocolError(f"message of {size} bytes refused")
    body = _read_exact(fd, size, deadline)
    (hsize,) = struct.unpack(">I", body[:4])
    if hsize > size - 4:
        raise ProtocolError("bad header length")
    try:
        header = json.loads(body[4 : 4 + hsize])
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad header: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("blobs"), list):
        raise ProtocolError("bad header")
    blobs, at = [], 4 + hsize
    for n in header["blobs"]:
        if not isinstance(n, int) or n < 0 or at + n > len(body):
            raise ProtocolError("bad blob table")
        blobs.append(body[at : at + n])
        at += n
    return header, blobs


# --------------------------------------------------------------------------------------------
# Arrays
# --------------------------------------------------------------------------------------------


def dump_array(arr: np.ndarray) -> bytes:
    """``.npy`` bytes of ``arr`` (no pickles)."""
    buf = io.BytesIO()
    _write_array(buf, _asarray(arr), allow_pickle=False)
    return buf.getvalue()


def load_array(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``.npy`` bytes; return (a writable copy, a read-only view of the received bytes).

    Only numeric, boolean and unicode dtypes are accepted.
    """
    fp = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"npy version {version}")
    except Exception as exc:
        raise ProtocolError(f"bad array: {exc}") from None
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None:
        raise ProtocolError(f"array dtype {dtype} refused")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != len(blob) - fp.tell():
        raise ProtocolError("array size does not match its header")
    view = _frombuffer(blob, dtype=dtype, count=count, offset=fp.tell())
    view = view.reshape(shape, order="F" if fortran else "C")
    return view.copy(order="K"), view


# --------------------------------------------------------------------------------------------
# Proxies for objects that live on the other side
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# The peer
# --------------------------------------------------------------------------------------------


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


def _is_nn_module(value) -> bool:
    mod = type(value).__module__
    return mod == "cnnlab.nn" and hasattr(value, "params") and hasattr(value, "forward")


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


class Peer:
    """One end of the RPC channel.

    Parameters
    ----------
    rfd, wfd : int
        File descriptors to read messages from and write messages to.
    trusted : bool
        True for the judge: strict serving rules (see module docstring).
    handlers : dict, optional
        Extra operations ``op -> fn(header_values) -> value`` this side serves.
    """

    def __init__(self, rfd: int, wfd: int, *, trusted: bool, handlers: dict | None = None):
        self.rfd, self.wfd = rfd, wfd
        self.trusted = trusted
        self.handlers = dict(handlers or {})
        self.objects: dict[int, object] = {}
        self._ids: dict[int, int] = {}
        self._next_id = 1
        self._next_msg = 1
        self.deadline: float | None = None
        self.flags: list[str] = []  # findings to report (sandbox) or received (judge)
        self.call_wrapper = None  # sandbox: runs calls (forbid contexts, output capture)
        self.before_call = None  # judge: extra fields for a "call" request
        self.after_call = None  # judge: reads the reply of a "call" request
        self.reply_extras = None  # sandbox: extra fields for every reply (forbid hits, output)
        self.max_items = MAX_ITEMS
        self.broken: str | None = None  # why the channel is unusable (judge side)
        self.call_timeout: float | None = None  # judge: seconds allowed for each request

    def _exchange(self, header: dict, blobs: list[bytes]):
        if self.broken:
            raise PeerGone(self.broken)
        if self.call_timeout is not None:
            self.deadline = time.monotonic() + self.call_timeout
        try:
            send_message(self.wfd, header, blobs, self.deadline)
            return self._await(header["msg"], raw=True)
        except Timeout:
            self.broken = "timeout"
            raise
        except (PeerGone, ProtocolError) as exc:
            self.broken = str(exc) or type(exc).__name__
            raise

    # -- encoding -----------------------------------------------------------------------------

    def _register(self, obj) -> int:
        key = id(obj)
        rid = self._ids.get(key)
        if rid is not None and self.objects.get(rid) is obj:
            return rid
        rid = self._next_id
        self._next_id += 1
        self.objects[rid] = obj
        self._ids[key] = rid
        return rid

    def _flag_eq(self, value, where="a returned value") -> None:
        if not self.trusted and _eq_always_true(value):
            self.flags.append(
                f"eq-always-true: {where} of class {type(value).__name__} equals anything"
            )

    def encode(self, value, blobs: list[bytes], views: dict | None = None, depth: int = 0):
        """Turn ``value`` into JSON-able data, appending array bytes to ``blobs``."""
        if depth > 100:
            raise ValueError("value nested too deeply")
        d = depth + 1
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return {"$t": "f", "v": repr(value)}
        if isinstance(value, Remote) and value._peer is self:
            return {"$t": "ref", "id": value._rid}
        if isinstance(value, np.ndarray):
            if type(value) is not np.ndarray:
                self._flag_eq(value)
            if views is not None and id(value) in views:
                arr, view = views[id(value)]
                if arr is value and _unchanged(value, view):
                    return {"$t": "same"}
            if value.dtype.kind not in _ARRAY_KINDS or value.dtype.fields is not None:
                return self._handle(value)
            blobs.append(dump_array(np.asarray(value)))
            if views is not None and id(value) not in views:
                # post-call state: an array the callee put in place of an argument's array
                # (``params[k] = p - lr * g``) must replace it at the caller too, not be copied
                # into the caller's original array as if it had been updated in place
                return {"$t": "nd", "i": len(blobs) - 1, "new": True}
            return {"$t": "nd", "i": len(blobs) - 1}
        if isinstance(value, np.generic):
            if value.dtype.kind not in _ARRAY_KINDS:
                return self._handle(value)
            blobs.append(dump_array(np.asarray(value)))
            return {"$t": "np", "i": len(blobs) - 1}
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, (int, float, str, complex, bytes)):
            self._flag_eq(value)  # subclasses of plain types
            if isinstance(value, int):
                return int(value)
            if isinstance(value, float):
                return {"$t": "f", "v": repr(float(value))}
            if isinstance(value, str):
                return str(value)
            if isinstance(value, complex):
                return {"$t": "c", "v": [value.real, value.imag]}
            blobs.append(bytes(value))
            return {"$t": "b", "i": len(blobs) - 1}
        if isinstance(value, (list, tuple, dict, set, frozenset)) and type(value) not in (
            list,
            tuple,
            dict,
            set,
            frozenset,
        ):
            self._flag_eq(value)
        if isinstance(value, list):
            return {"$t": "l", "v": [self.encode(v, blobs, views, d) for v in value]}
        if isinstance(value, tuple):
            return {"$t": "t", "v": [self.encode(v, blobs, views, d) for v in value]}
        if isinstance(value, dict):
            items = [[self.encode(k, blobs, None, d), self.encode(v, blobs, views, d)]
                     for k, v in value.items()]  # fmt: skip
            return {"$t": "d", "v": items}
        if isinstance(value, (set, frozenset)):
            return {"$t": "s", "v": [self.encode(v, blobs, None, d) for v in value]}
        if isinstance(value, np.random.Generator):
            state = value.bit_generator.state
            return {"$t": "rng", "state": self.encode(state, blobs, None, d)}
        if _is_nn_module(value):
            try:
                import cnnlab.nn

                spec = cnnlab.nn.to_spec(value)
            except Exception:
                return self._handle(value)
            return {"$t": "nn", "spec": self.encode(spec, blobs, views, d)}
        if isinstance(value, types.ModuleType):
            raise TypeError(f"module {value.__name__} cannot be sent")
        if isinstance(value, (types.GeneratorType, collections.abc.Iterator, range)):
            items = []
            for item in value:
                items.append(item)
                if len(items) >= self.max_items:
                    break
            return {"$t": "it", "v": [self.encode(v, blobs, None, d) for v in items]}
        if isinstance(value, type):
            return {"$t": "fn", "id": self._register(value), "name": value.__name__}
        if callable(value) and isinstance(
            value,
            (
                types.FunctionType,
                types.MethodType,
                types.BuiltinFunctionType,
                types.BuiltinMethodType,
                np.ufunc,
            ),
        ):
            return {"$t": "fn", "id": self._register(value), "name": _name_of(value)}
        if not self.trusted and type(value).__eq__ is not object.__eq__:
            self._flag_eq(value)
        return self._handle(value)

    def _handle(self, value):
        return {
            "$t": "h",
            "id": self._register(value),
            "name": type(value).__name__,
            "call": callable(value),
        }

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, data, blobs: list[bytes], views: dict | None = None, depth: int = 0):
        """Inverse of :meth:`encode`; ``views`` collects received arrays for change detection."""
        if depth > 100:
            raise ProtocolError("value nested too deeply")
        d = depth + 1
        if data is None or type(data) in (bool, int, str):
            return data
        if type(data) is float:
            return data
        if not isinstance(data, dict):
            raise ProtocolError(f"unexpected {type(data).__name__} in message")
        tag = data.get("$t")
        if tag == "f":
            return float(data["v"])
        if tag in ("nd", "np"):
            arr, view = load_array(_blob(blobs, data["i"]))
            if tag == "np":
                return arr[()]
            if views is not None:
                views[id(arr)] = (arr, None if data.get("new") else view)
            return arr
        if tag == "b":
            return bytes(_blob(blobs, data["i"]))
        if tag == "c":
            re_, im = data["v"]
            return complex(float(re_), float(im))
        if tag == "same":
            return SAME
        if tag in ("l", "t", "s", "it"):
            items = data.get("v")
            if not isinstance(items, list):
                raise ProtocolError("bad sequence")
            vals = [self.decode(v, blobs, views if tag in "lt" else None, d) for v in items]
            if tag == "l":
                return vals
            if tag == "t":
                return tuple(vals)
            if tag == "it":
                return iter(vals)
            return set(vals)
        if tag == "d":
            out = {}
            for pair in data.get("v", []):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict item")
                key = self.decode(pair[0], blobs, None, d)
                if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                    raise ProtocolError("bad dict key")
                out[key] = self.decode(pair[1], blobs, views, d)
            return out
        if tag == "rng":
            state = self.decode(data["state"], blobs, None, d)
            name = state.get("bit_generator") if isinstance(state, dict) else None
            if name not in _BIT_GENERATORS:
                raise ProtocolError(f"bit generator {name!r} refused")
            gen = np.random.Generator(getattr(np.random, name)())
            try:
                gen.bit_generator.state = state
            except Exception as exc:
                raise ProtocolError(f"bad generator state: {exc}") from None
            return gen
        if tag == "nn":
            import cnnlab.nn

            spec = self.decode(data["spec"], blobs, None, d)
            _check_spec_size(spec)
            try:
                return cnnlab.nn.from_spec(spec)
            except Exception as exc:
                raise ProtocolError(f"bad module spec: {exc}") from None
        if tag == "ref":
            rid = data.get("id")
            if rid not in self.objects:
                raise ProtocolError("unknown reference")
            return self.objects[rid]
        if tag == "fn":
            return CallableHandle(self, int(data["id"]), str(data.get("name", "function"))[:80])
        if tag == "h":
            cls = CallableHandle if data.get("call") else Handle
            return cls(self, int(data["id"]), str(data.get("name", "object"))[:80])
        raise ProtocolError(f"unknown tag {tag!r}")

    # -- requests -----------------------------------------------------------------------------

    def request(self, op: str, **fields):
        """Send a request and return the decoded reply, serving nested requests meanwhile."""
        blobs: list[bytes] = []
        header = {"op": op, "msg": self._next_msg}
        self._next_msg += 1
        for key, value in fields.items():
            header[key] = self.encode(value, blobs) if key in _VALUE_FIELDS else value
        reply, rblobs = self._exchange(header, blobs)
        return self._result(reply, rblobs)

    def call(self, rid: int, args: tuple, kwargs: dict):
        """Call a remote callable; write the post-call state of mutable arguments back."""
        blobs: list[bytes] = []
        header = {
            "op": "call",
            "msg": self._next_msg,
            "rid": rid,
            "args": [self.encode(a, blobs) for a in args],
            "kwargs": {str(k): self.encode(v, blobs) for k, v in kwargs.items()},
        }
        self._next_msg += 1
        if self.before_call is not None:
            extras = self.before_call()
            if "helpers" in extras:
                helpers = extras.pop("helpers")
                extras["helpers"] = {str(k): self.encode(v, blobs) for k, v in helpers.items()}
            header.update(extras)
        reply, rblobs = self._exchange(header, blobs)
        if self.after_call is not None:
            self.after_call(reply)
        post = reply.get("post") or {}
        for key, enc in post.items():
            target = args[int(key)] if key.isdigit() else kwargs.get(key[1:])
            decoded: dict = {}
            new = self.decode(enc, rblobs, decoded)
            write_back(target, new, {i for i, (_, view) in decoded.items() if view is None})
        return self._result(reply, rblobs)

    def _result(self, reply: dict, blobs: list[bytes]):
        if "error" in reply:
            err = reply["error"]
            raise RemoteError(
                str(err.get("type", "Exception"))[:100],
                str(err.get("message", ""))[:2000],
                str(err.get("traceback", ""))[:4000],
            ).exception()
        return self.decode(reply.get("value"), blobs)

    def _await(self, msg_id: int, raw: bool = False):
        while True:
            header, blobs = recv_message(self.rfd, self.deadline)
            if self.trusted:
                flags = header.get("flags")
                if isinstance(flags, list):
                    self.flags.extend(str(f)[:300] for f in flags[:50])
            if header.get("reply") == msg_id:
                if raw:
                    return header, blobs
                return self._result(header, blobs)
            if "op" in header:
                self._serve_one(header, blobs)
            else:
                raise ProtocolError("unexpected reply")

    def serve(self, until_op: str = "bye") -> None:
        """Serve requests until the other side sends ``until_op`` (or closes the pipe)."""
        while True:
            header, blobs = recv_message(self.rfd, None)
            if header.get("op") == until_op:
                return
            self._serve_one(header, blobs)

    def _serve_one(self, header: dict, blobs: list[bytes]) -> None:
        msg = header.get("msg")
        out_blobs: list[bytes] = []
        reply: dict = {"reply": msg}
        try:
            value, post, views = self._dispatch(header, blobs)
            reply["value"] = self.encode(value, out_blobs)
            if post:
                enc_post = {}
                for key, arg in post.items():
                    enc = self.encode(arg, out_blobs, views)
                    if enc != {"$t": "same"} and not _plain_immutable(arg):
                        enc_post[key] = enc
                reply["post"] = enc_post
        except (PeerGone, Timeout):
            raise
        except BaseException as exc:  # the learner's SystemExit included
            out_blobs = []
            reply = {"reply": msg, "error": _describe_exception(exc, self.trusted)}
            if isinstance(exc, KeyboardInterrupt):
                raise
        if not self.trusted and self.flags:
            reply["flags"], self.flags = self.flags, []
        if self.reply_extras is not None:
            reply.update(self.reply_extras())
        send_message(self.wfd, reply, out_blobs, None if not self.trusted else self.deadline)

    def _target(self, header):
        rid = header.get("rid")
        if rid not in self.objects:
            raise ProtocolError(f"unknown object {rid!r}")
        return self.objects[rid]

    def _check_name(self, name):
        if not isinstance(name, str) or (self.trusted and name.startswith("_")):
            raise AttributeError(f"attribute {name!r} is not available")

    def _dispatch(self, header: dict, blobs: list[bytes]):
        op = header.get("op")
        if op == "call":
            fn = self._target(header)
            views: dict = {}
            args = [self.decode(a, blobs, views) for a in header.get("args", [])]
            kwargs = {
                str(k): self.decode(v, blobs, views) for k, v in header.get("kwargs", {}).items()
            }
            if self.call_wrapper is not None:
                helpers = header.get("helpers")
                if helpers is not None:
                    if not isinstance(helpers, dict):
                        raise ProtocolError("bad helpers")
                    decoded = {}
                    for name, enc in helpers.items():
                        value = self.decode(enc, blobs)
                        if not name.isidentifier() or not isinstance(value, CallableHandle):
                            raise ProtocolError("bad helper")
                        decoded[name] = value
                    header = dict(header, helpers=decoded)
                value = self.call_wrapper(fn, args, kwargs, header)
            else:
                value = fn(*args, **kwargs)
            post = {str(i): a for i, a in enumerate(args)}
            post.update({"=" + k: v for k, v in kwargs.items()})
            return value, post, views
        if op == "getattr":
            name = header.get("name")
            self._check_name(name)
            return getattr(self._target(header), name), None, None
        if op == "setattr":
            name = header.get("name")
            self._check_name(name)
            setattr(self._target(header), name, self.decode(header.get("value"), blobs))
            return None, None, None
        if op == "getitem":
            return self._target(header)[self.decode(header.get("key"), blobs)], None, None
        if op == "setitem":
            target = self._target(header)
            target[self.decode(header.get("key"), blobs)] = self.decode(header.get("value"), blobs)
            return None, None, None
        if op == "len":
            return int(len(self._target(header))), None, None
        if op == "bool":
            return bool(self._target(header)), None, None
        if op == "iter":
            items = []
            for item in self._target(header):
                items.append(item)
                if len(items) >= self.max_items:
                    break
            return items, None, None
        if op in self.handlers:
            return self.handlers[op](header, blobs), None, None
        raise ProtocolError(f"unknown operation {op!r}")


_VALUE_FIELDS = {"value", "key"}


MAX_CONFIG_INT = 100_000


def _check_spec_size(spec, depth: int = 0) -> None:
    """Refuse module specs whose constructor arguments would allocate absurd arrays."""
    if depth > 50 or not isinstance(spec, dict):
        raise ProtocolError("bad module spec")
    for layer in spec.get("layers", []) or []:
        _check_spec_size(layer, depth + 1)
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ProtocolError("bad module spec")
    for value in config.values():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_CONFIG_INT:
                raise ProtocolError(f"module spec with a size of {v} refused")


def _blob(blobs, i):
    if not isinstance(i, int) or not 0 <= i < len(blobs):
        raise ProtocolError("bad blob index")
    return blobs[i]


def _name_of(fn) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function"))[:80]


def _unchanged(arr: np.ndarray, view: np.ndarray) -> bool:
    if arr.shape != view.shape or arr.dtype != view.dtype:
        return False
    try:
        return bool(_array_equal(_ascontiguousarray(arr).view(np.uint8), view.view(np.uint8)))
    except ValueError:
        return bool(_array_equal(arr, view))


def _plain_immutable(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, complex, bytes))


def write_back(target, new, replaced: set[int] = frozenset()) -> None:
    """Copy the post-call state ``new`` into the caller's object ``target`` in place.

    ``replaced`` holds the ids of arrays the callee put in place of the original ones (rebinding
    a dict entry or list item): those replace the caller's entry instead of being copied into
    the caller's array, so a call behaves exactly as it would in one process.
    """
    if new is SAME or target is None:
        return
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray):
        if target.shape == new.shape and target.flags.writeable:
            try:
                np.copyto(target, new, casting="unsafe")
            except (TypeError, ValueError):
                pass
        return
    if isinstance(target, dict) and isinstance(new, dict):
        for key, val in new.items():
            if key in target and _mergeable(target[key], val) and id(val) not in replaced:
                write_back(target[key], val, replaced)
            elif val is not SAME:
                target[key] = val
        for key in [k for k in target if k not in new]:
            del target[key]
        return
    if isinstance(target, list) and isinstance(new, list):
        if len(target) == len(new):
            for i, (old, val) in enumerate(zip(target, new)):
                if _mergeable(old, val) and id(val) not in replaced:
                    write_back(old, val, replaced)
                elif val is not SAME:
                    target[i] = val
        else:
            target[:] = [v for v in new if v is not SAME]
        return
    if isinstance(target, tuple) and isinstance(new, tuple) and len(target) == len(new):
        for old, val in zip(target, new):
            if _mergeable(old, val):
                write_back(old, val, replaced)
        return
    if isinstance(target, np.random.Generator) and isinstance(new, np.random.Generator):
        if type(target.bit_generator) is type(new.bit_generator):
            target.bit_generator.state = new.bit_generator.state
        return
    if _is_nn_module(target) and _is_nn_module(new):
        import cnnlab.nn

        try:
            cnnlab.nn.load_state(target, cnnlab.nn.to_spec(new))
        except Exception:
            pass


def _mergeable(old, new) -> bool:
    if new is SAME:
        return True
    pairs = (
        (np.ndarray, np.ndarray),
        (dict, dict),
        (list, list),
        (tuple, tuple),
        (np.random.Generator, np.random.Generator),
    )
    if any(isinstance(old, a) and isinstance(new, b) for a, b in pairs):
        return not isinstance(old, np.ndarray) or old.shape == new.shape
    return _is_nn_module(old) and _is_nn_module(new)


def _describe_exception(exc: BaseException, trusted: bool) -> dict:
    import traceback

    tb = ""
    if not trusted:
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if _is_student_file(f.filename)
        ]
        tb = label_cells("".join(traceback.format_list(frames[-6:])))
    try:
        message = str(exc)
    except Exception:
        message = "<message could not be shown>"
    return {"type": type(exc).__name__, "message": message[:2000], "traceback": tb[:4000]}


CELL_LABELS: dict[int, str] = {}  # sandbox: IPython execution count -> cell label
_INPUT = re.compile(r"<ipython-input-(\d+)-[0-9a-f]+>")


def label_cells(text: str) -> str:
    """Replace IPython's cell file names in a traceback by the cells' labels."""
    return _INPUT.sub(lambda m: f"<{CELL_LABELS.get(int(m.group(1)), 'cell')}>", text)


def _is_student_file(filename: str) -> bool:
    return filename.startswith("<") or "ipython-input" in filename or "/ipykernel_" in filename
