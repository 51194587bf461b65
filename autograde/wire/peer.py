"""The peer: requests, calls and replies over a pair of pipes, both sides alike.

A request waits for its reply while serving the requests the other side sends meanwhile (a
learner's function calling back a lambda of the test cell). After a call, the callee sends back
the post-call state of the mutable arguments (arrays, dicts, lists, generators, modules;
unchanged arrays as a marker) and the caller writes it back in place (:func:`write_back`), so
in-place APIs such as ``sgd_step(params, grads, lr)`` behave as in a normal call. A caller with a
``may_update`` hook (the judge) asks only for the arguments the hook accepts (those a test
declared with ``cnnlab.testing.in_place``) and writes back nothing else.

The trusted side (``trusted=True``, the judge) serves only what it handed out itself and refuses
attribute names starting with an underscore, so the sandbox cannot walk from a callback to the
judge's globals. Hooks, set by their owners: ``before_call``/``after_call`` (judge: the open
``forbid_calls`` and ``reference_helpers`` blocks, and what the sandbox reports back),
``call_wrapper``, ``reply_extras`` and ``describe_traceback`` (sandbox).
"""

from __future__ import annotations

import threading
import time

from .codec import Codec, _plain_immutable
from .framing import PeerGone, ProtocolError, Timeout, recv_message, send_message
from .proxies import CallableHandle, Handle, Remote, RemoteError
from .writeback import write_back

_VALUE_FIELDS = {"value", "key"}  # request fields that carry values (encoded)
# operations that run the other side's code (properties, __len__, __iter__, ...): on the
# sandbox's side they run inside the call watch, like calls
WATCHED_OPS = frozenset({"getattr", "setattr", "getitem", "setitem", "len", "bool", "iter"})


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
        self.codec = Codec(self._proxy, self._own_proxy)
        self._next_msg = 1
        self.deadline: float | None = None
        self.flags: list[str] = []  # findings to report (sandbox) or received (judge)
        self.call_wrapper = None  # sandbox: runs calls (forbid contexts, output capture)
        self.before_call = None  # judge: extra fields for a "call" request
        self.after_call = None  # judge: reads the reply of a "call" request
        self.may_update = None  # judge: may a call's post-state be written into this argument?
        self.reply_extras = None  # sandbox: extra fields for every reply (forbid hits, output)
        self.describe_traceback = None  # sandbox: the learner's part of a traceback, labelled
        self.broken: str | None = None  # why the channel is unusable (judge side)
        self.call_timeout: float | None = None  # judge: seconds allowed for each request
        self._thread: int | None = None  # the serving thread, the only one that may send

    def _exchange(self, header: dict, blobs: list[bytes]):
        if self._thread not in (None, threading.get_ident()):  # two writers break the framing
            raise RuntimeError("the grader answers requests from the thread it called only")
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

    # -- values -------------------------------------------------------------------------------

    @property
    def objects(self) -> dict[int, object]:
        """The objects this side handed out, by id."""
        return self.codec.objects

    @property
    def max_items(self) -> int:
        return self.codec.max_items

    def _proxy(self, rid: int, name: str, is_callable: bool):
        return (CallableHandle if is_callable else Handle)(self, rid, name)

    def _own_proxy(self, value) -> int | None:
        return value._rid if isinstance(value, Remote) and value._peer is self else None

    def encode(self, value, blobs: list[bytes], views: dict | None = None):
        """See :meth:`Codec.encode`."""
        return self.codec.encode(value, blobs, views)

    def decode(self, data, blobs: list[bytes], views: dict | None = None):
        """See :meth:`Codec.decode`."""
        return self.codec.decode(data, blobs, views)

    # -- requests -----------------------------------------------------------------------------

    def request(self, op: str, **fields):
        """Send a request and return the decoded reply, serving nested requests meanwhile."""
        blobs: list[bytes] = []
        header = {"op": op, "msg": self._next_msg}
        self._next_msg += 1
        for key, value in fields.items():
            header[key] = self.encode(value, blobs) if key in _VALUE_FIELDS else value
        watched = op in WATCHED_OPS and self.before_call is not None
        if watched:
            header.update(self._call_extras(blobs))
        reply, rblobs = self._exchange(header, blobs)
        if watched and self.after_call is not None:
            self.after_call(reply, rblobs)
        return self._result(reply, rblobs)

    def call(self, rid: int, args: tuple, kwargs: dict):
        """Call a remote callable; write the post-call state of mutable arguments back.

        On the judge's side, what the call hands out (a test cell's lambdas, objects reached
        through them) is valid during the call only: afterwards the other side's proxies of
        them are refused, so a callback kept by the learner's code cannot be used later.
        """
        mark = self.codec.mark()
        try:
            return self._call_remote(rid, args, kwargs)
        finally:
            if self.trusted:
                self.codec.release_since(mark)

    def _call_remote(self, rid: int, args: tuple, kwargs: dict):
        blobs: list[bytes] = []
        header = {
            "op": "call",
            "msg": self._next_msg,
            "rid": rid,
            "args": [self.encode(a, blobs) for a in args],
            "kwargs": {str(k): self.encode(v, blobs) for k, v in kwargs.items()},
        }
        self._next_msg += 1
        wanted = None
        if self.may_update is not None:  # only the declared arguments come back
            wanted = [str(i) for i, a in enumerate(args) if self.may_update(a)]
            wanted += ["=" + str(k) for k, v in kwargs.items() if self.may_update(v)]
            header["post_keys"] = wanted
        if self.before_call is not None:
            header.update(self._call_extras(blobs))
        reply, rblobs = self._exchange(header, blobs)
        if self.after_call is not None:
            self.after_call(reply, rblobs)
        post = reply.get("post") or {}
        for key, enc in post.items():
            if wanted is not None and key not in wanted:
                continue  # not declared as updated in place: the caller's object stays as it was
            target = args[int(key)] if key.isdigit() else kwargs.get(key[1:])
            decoded: dict = {}
            new = self.decode(enc, rblobs, decoded)
            write_back(target, new, {i for i, (_, view) in decoded.items() if view is None})
        return self._result(reply, rblobs)

    def _call_extras(self, blobs: list[bytes]) -> dict:
        """The judge's ``before_call`` fields for a request, its reference helpers encoded."""
        extras = self.before_call()
        if "helpers" in extras:
            helpers = extras.pop("helpers")
            library = {k: v.library for k, v in helpers.items() if getattr(v, "library", None)}
            if library:  # cnnlab's own functions: run in the sandbox, named by their path
                extras["library_helpers"] = library
            extras["helpers"] = {
                str(k): self.encode(v, blobs) for k, v in helpers.items() if k not in library
            }
        return extras

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
            self.codec.begin_message()
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
        """Serve requests until the other side sends ``until_op`` (or closes the pipe).

        Requests to the other side are then accepted from this thread only: learner code in
        another thread that calls a proxy gets a RuntimeError instead of a second writer.
        """
        self._thread = threading.get_ident()
        while True:
            header, blobs = recv_message(self.rfd, None)
            self.codec.begin_message()
            if header.get("op") == until_op:
                return
            self._serve_one(header, blobs)

    def _serve_one(self, header: dict, blobs: list[bytes]) -> None:
        msg = header.get("msg")
        out_blobs: list[bytes] = []
        reply: dict = {"reply": msg}
        try:
            reply.update(self._dispatch(header, blobs, out_blobs))
        except (PeerGone, Timeout):
            raise
        except BaseException as exc:  # the learner's SystemExit included
            out_blobs = []
            reply = {"reply": msg, "error": self._describe_exception(exc)}
            if isinstance(exc, KeyboardInterrupt):
                raise
        if not self.trusted and self.flags:
            reply["flags"], self.flags = self.flags, []
        if self.reply_extras is not None:
            reply.update(self.reply_extras())
        send_message(self.wfd, reply, out_blobs, None if not self.trusted else self.deadline)

    def encode_reply(self, value, post, views, out_blobs: list[bytes]) -> dict:
        """The reply's fields: the encoded value and the changed mutable arguments."""
        fields = {"value": self.encode(value, out_blobs)}
        if post:
            enc_post = {}
            for key, arg in post.items():
                enc = self.encode(arg, out_blobs, views)
                if enc != {"$t": "same"} and not _plain_immutable(arg):
                    enc_post[key] = enc
            fields["post"] = enc_post
        return fields

    def _target(self, header):
        return self.codec.lookup(header.get("rid"))

    def _check_name(self, name):
        if not isinstance(name, str) or (self.trusted and name.startswith("_")):
            raise AttributeError(f"attribute {name!r} is not available")

    def _dispatch(self, header: dict, blobs: list[bytes], out_blobs: list[bytes]) -> dict:
        op = header.get("op")
        if op == "call":
            return self._call(header, blobs, out_blobs)
        if op in WATCHED_OPS and self.call_wrapper is not None:

            def run():
                return self.encode_reply(*self._operate(header, blobs), None, out_blobs)

            return self.call_wrapper(run, self._checked_helpers(header, blobs), out_blobs)
        value, post = self._operate(header, blobs)
        return self.encode_reply(value, post, None, out_blobs)

    def _call(self, header: dict, blobs: list[bytes], out_blobs: list[bytes]) -> dict:
        """Serve a call. Under a ``call_wrapper`` (the sandbox) the reply is encoded inside it,
        while the call watch is still on: encoding can run learner code (``__float__`` of a
        float subclass, the layers of a returned module), and that code is watched too."""
        fn = self._target(header)
        views: dict = {}
        args = [self.decode(a, blobs, views) for a in header.get("args", [])]
        kwargs = {str(k): self.decode(v, blobs, views) for k, v in header.get("kwargs", {}).items()}
        post = {str(i): a for i, a in enumerate(args)}
        post.update({"=" + k: v for k, v in kwargs.items()})
        keys = header.get("post_keys")
        if keys is not None:  # the caller takes back only these arguments
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ProtocolError("bad post_keys")
            post = {k: v for k, v in post.items() if k in keys}
        if self.call_wrapper is None:
            return self.encode_reply(fn(*args, **kwargs), post, views, out_blobs)

        def run():
            return self.encode_reply(fn(*args, **kwargs), post, views, out_blobs)

        return self.call_wrapper(run, self._checked_helpers(header, blobs), out_blobs)

    def _checked_helpers(self, header: dict, blobs: list[bytes]) -> dict:
        """``header`` with its reference helpers decoded and checked (see the sandbox)."""
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
        library = header.get("library_helpers")
        if library is not None and not (
            isinstance(library, dict)
            and all(isinstance(k, str) and k.isidentifier() for k in library)
            and all(isinstance(v, str) for v in library.values())
        ):
            raise ProtocolError("bad library helpers")
        return header

    def _operate(self, header: dict, blobs: list[bytes]):
        """Serve one operation other than a call: (value, post-call arguments: none)."""
        op = header.get("op")
        if op == "getattr":
            name = header.get("name")
            self._check_name(name)
            return getattr(self._target(header), name), None
        if op == "setattr":
            name = header.get("name")
            self._check_name(name)
            setattr(self._target(header), name, self.decode(header.get("value"), blobs))
            return None, None
        if op == "getitem":
            return self._target(header)[self.decode(header.get("key"), blobs)], None
        if op == "setitem":
            target = self._target(header)
            target[self.decode(header.get("key"), blobs)] = self.decode(header.get("value"), blobs)
            return None, None
        if op == "len":
            return int(len(self._target(header))), None
        if op == "bool":
            return bool(self._target(header)), None
        if op == "iter":
            items = []
            for item in self._target(header):
                items.append(item)
                if len(items) >= self.max_items:
                    break
            return items, None
        if op in self.handlers:
            return self.handlers[op](header, blobs), None
        raise ProtocolError(f"unknown operation {op!r}")

    def _describe_exception(self, exc: BaseException) -> dict:
        tb = ""
        if not self.trusted and self.describe_traceback is not None:
            tb = self.describe_traceback(exc)
        try:
            message = str(exc)
        except Exception:
            message = "<message could not be shown>"
        return {"type": type(exc).__name__, "message": message[:2000], "traceback": tb[:4000]}
