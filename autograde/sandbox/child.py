"""The untrusted side: runs a learner's cells and serves their functions over RPC.

Started by the judge as ``python -s -P -m autograde.sandbox.child RFD WFD CONFIG_JSON`` in the
submission's temporary working directory with a scrubbed environment. It imports NumPy, cnnlab
and IPython, applies :mod:`.limits`, snapshots the identities of the functions a test
could rely on, then serves:

- ``exec``: run one cell through an IPython ``InteractiveShell`` (so magics and
  ``get_ipython()`` work) with stdout/stderr captured per cell (capped), ``SystemExit`` and every
  other exception caught; report the error and any tampering found since the last message;
- ``lookup``: the values of the names a test cell uses (functions and classes as proxies, data
  copied);
- ``call`` and the handle operations of :mod:`autograde.wire`, run inside the ``forbid_calls``
  contexts the judge has open.

Nothing here decides a score: the judge only reads plain data from this process.
"""

from __future__ import annotations

import io
import json
import os
import sys
import types

from autograde.sandbox import references

# cnnlab's own code objects and functions, taken when the process starts (before learner code)
GENUINE, LIBRARY = references.snapshot()
ENTRIES = references.entries()

CAP = 100_000


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``cap`` characters and counts the rest."""

    def __init__(self, cap: int = CAP):
        self.cap = cap
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text):
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def writable(self):
        return True

    def isatty(self):
        return False

    def getvalue(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n... [{self.dropped} more characters of output dropped]"
        return text


def main(argv: list[str]) -> int:
    rfd, wfd, config = int(argv[0]), int(argv[1]), json.loads(argv[2])
    from autograde.sandbox import limits
    from autograde.wire import recv_message

    first, _ = recv_message(rfd, None)  # the watch's key, sent before anything else
    key = bytes.fromhex(str(first.get("key", "")))
    del first

    limits.die_with_parent()
    import warnings

    import numpy  # noqa: F401 - imported before the limits apply, as the learner's setup cell does
    import numpy.testing  # noqa: F401 - loaded lazily by numpy: watched only if loaded now
    from IPython.core.interactiveshell import InteractiveShell

    import cnnlab
    import cnnlab.layers  # noqa: F401
    import cnnlab.nn  # noqa: F401
    import cnnlab.testing  # noqa: F401 - snapshotted by Tamper before learner code
    from autograde.sandbox.labels import CELL_LABELS, student_traceback
    from autograde.sandbox.tamper import Tamper, eq_probe
    from autograde.wire import Peer, ProtocolError

    report = limits.apply(
        os.getcwd(),
        memory=int(config["memory"]),
        fsize=int(config["fsize"]),
        landlock=bool(config.get("landlock", True)),
    )
    from autograde.sandbox import guard
    from autograde.wire import Peer as _Peer

    real_stdout, real_stderr = sys.stdout, sys.stderr
    shell = InteractiveShell.instance(colors="NoColor")
    shell.user_ns["__name__"] = "__main__"
    guard.install(
        key,
        main=shell.user_ns,
        genuine=GENUINE,
        entries=ENTRIES,
        protected=(references.excused, references.entry, references.bind, Tamper, Tamper.check,
                   Tamper._take, _Peer, _Peer._call, _Peer._dispatch, _Peer._serve_one,
                   _Peer.encode_reply),
    )  # fmt: skip
    del key
    tamper = Tamper(shell)
    peer = Peer(rfd, wfd, trusted=False)
    peer.codec.inspect = eq_probe(peer.flags)
    peer.describe_traceback = student_traceback

    def captured(fn):
        out = CappedWriter()
        sys.stdout = sys.stderr = out
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                return fn(), out
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr

    def close_figures():
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:
                pass

    def do_exec(header, blobs):
        code = str(header.get("code", ""))
        shell.execution_count = count = shell.execution_count + 1
        CELL_LABELS[count] = str(header.get("label", "cell"))[:160]
        result, out = captured(lambda: shell.run_cell(code, store_history=False))
        close_figures()
        err = result.error_before_exec or result.error_in_exec
        peer.flags.extend(tamper.check(shell))
        reply = {"output": out.getvalue()}
        if err is not None:
            reply["error"] = {
                "type": type(err).__name__,
                "message": _safe_str(err)[:2000],
                "traceback": student_traceback(err),
            }
        return reply

    def do_lookup(header, blobs):
        found = {}
        for name in header.get("names", []):
            if not isinstance(name, str) or name not in shell.user_ns:
                continue
            value = shell.user_ns[name]
            if isinstance(value, types.ModuleType):
                continue
            found[name] = value
        return found

    pending: dict = {}  # what the reply to the current call carries besides its value

    def reply_extras() -> dict:
        extras = dict(pending)
        pending.clear()
        return extras

    def call_wrapper(run, header, out_blobs):
        """Run a call (or a handle operation) inside the sealed watch the judge asked for."""
        seal, spec = header.get("seal"), header.get("forbid")
        helpers = dict(header.get("helpers") or {})
        for name, path in (header.get("library_helpers") or {}).items():
            if path not in LIBRARY:
                raise ProtocolError(f"no library helper {path!r}")
            helpers[name] = references.bind(LIBRARY[path])
        missing = object()
        shadowed = {name: shell.user_ns.get(name, missing) for name in helpers}
        shell.user_ns.update(helpers)
        if seal is not None:
            sys.audit(guard.BEGIN, seal, spec)
        fields = None
        try:
            fields, out = captured(run)  # the call and the encoding of its reply
            return fields
        finally:
            if seal is not None:
                sealed: list = []
                blobs = out_blobs if fields is not None else []
                sys.audit(guard.END, seal, guard.digest(fields, blobs), sealed)
                pending["forbid_hits"], pending["seal"] = (sealed + [None, None])[:2]
            for name, own in shadowed.items():
                if own is missing:
                    shell.user_ns.pop(name, None)
                else:
                    shell.user_ns[name] = own
            peer.flags.extend(tamper.check(shell))
            if fields is not None and out.getvalue():
                pending["stdout"] = out.getvalue()

    peer.handlers.update({"exec": do_exec, "lookup": do_lookup})
    peer.call_wrapper = call_wrapper
    peer.reply_extras = reply_extras
    from autograde.wire import send_message

    send_message(wfd, {"ready": True, "isolation": report, "pid": os.getpid()}, [])
    try:
        peer.serve()
    except BaseException:
        return 3
    return 0


def _safe_str(exc) -> str:
    try:
        return str(exc)
    except Exception:
        return "<message could not be shown>"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
