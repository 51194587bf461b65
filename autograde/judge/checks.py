"""Run one test cell in the judge, against proxies of the sandbox's names.

The cell comes from the source notebook (hidden tests included) and runs in a fresh namespace
where the names it reads and the sandbox defines are bound to proxies: functions and classes
call into the sandbox, data is copied (:mod:`autograde.wire`). Its reference computations and
comparisons never run in the learner's process. A call that runs past its limit, a sandbox that
dies and a protocol error each fail this test only, with a one-line reason.
"""

from __future__ import annotations

import builtins
import contextlib
import dis
import functools
import hmac
import io
import os
import secrets
import signal
import sys
import threading
import time
import warnings

from autograde import wire
from autograde.config import LIMITS
from autograde.judge.plan import Step
from autograde.sandbox.process import Sandbox
from autograde.wire import seal

MESSAGE_CAP = 2000


class CellTimeout(BaseException):
    """Raised by the alarm when a test cell runs too long in the judge."""


# --------------------------------------------------------------------------------------------
# Test cells
# --------------------------------------------------------------------------------------------


def referenced_names(code) -> set[str]:
    """Global names a test cell reads (nested code included) minus those it binds itself."""
    loads, stores = set(), set()

    def walk(co, top):
        for ins in dis.get_instructions(co):
            if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS"):
                loads.add(ins.argval)
            elif top and ins.opname in ("STORE_NAME", "STORE_GLOBAL", "IMPORT_NAME"):
                stores.add(ins.argval)
            elif ins.opname == "STORE_GLOBAL":
                stores.add(ins.argval)
        for const in co.co_consts:
            if hasattr(const, "co_code"):
                walk(const, False)

    walk(code, True)
    return {n for n in loads - stores if isinstance(n, str) and not hasattr(builtins, n)}


@contextlib.contextmanager
def _alarm(seconds: float):
    usable = threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def fire(signum, frame):
        raise CellTimeout()

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@functools.lru_cache(maxsize=256)
def _spec_block(targets: tuple[str, ...]) -> tuple:
    import cnnlab.calls as calls

    return tuple((t, n, tuple(p)) for t, n, p in calls.locations(targets))


def install_forbid_hooks(peer: wire.Peer, key: bytes) -> None:
    """Send the open ``forbid_calls`` blocks with each call; verify what the sandbox reports.

    Each watched call gets a fresh nonce; the sandbox's sealed watch (see
    :mod:`autograde.sandbox.guard`) answers with its findings and an HMAC over the nonce, the
    blocks' targets, the findings and the reply, made with ``key`` (the format:
    :mod:`autograde.wire.seal`). A reply without a valid one counts as a forbidden call in
    every open block: tampering with the watch costs the points it guards.

    Calls write back only into the arguments an open ``T.in_place`` block names
    (:func:`cnnlab.calls.may_update`): the sandbox is asked for those alone.
    """
    import cnnlab.calls as calls

    stack: list = []

    def before():
        contexts = calls.active_forbid_contexts()
        extras: dict = {}
        spec = None
        if contexts:
            spec = [[[t, n, list(p)] for t, n, p in _spec_block(c.targets)] for c in contexts]
            extras = {"forbid": spec, "seal": secrets.token_hex(16)}
        stack.append((contexts, extras.get("seal"), spec))
        helpers = calls.active_reference_helpers()
        if helpers:
            extras["helpers"] = helpers  # encoded by the peer: callables run here, in the judge
        return extras

    def after(reply, blobs):
        contexts, nonce, spec = stack.pop() if stack else ([], None, None)
        if nonce is not None:
            hits = reply.get("forbid_hits")
            fields = None
            if "error" not in reply:
                fields = {k: reply[k] for k in ("value", "post") if k in reply}
            if not _sealed(key, nonce, spec, hits, reply.get("seal"), fields, blobs):
                hits = [[seal.UNSEALED]] * len(contexts)
            for ctx, names in zip(contexts, hits):
                for name in names:
                    ctx.record(name[:200])
        text = reply.get("stdout")
        if isinstance(text, str) and text:
            sys.stdout.write(text[:20000])

    peer.before_call, peer.after_call = before, after
    # a call writes back into the test's objects only those a `T.in_place` block names
    peer.may_update = calls.may_update


def _sealed(key, nonce, spec, hits, signature, fields, blobs) -> bool:
    """True when ``hits`` and the reply are what the sandbox's sealed watch signed."""
    if not (
        isinstance(hits, list)
        and len(hits) == len(spec)
        and all(isinstance(h, list) and all(isinstance(x, str) for x in h) for h in hits)
        and isinstance(signature, str)
    ):
        return False
    try:
        expected = seal.sign(key, nonce, spec, hits, seal.digest(fields, blobs))
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, signature)


def format_failure(exc: BaseException) -> str:
    """One message for the learner: never the test cell's source or the judge's traceback."""
    if isinstance(exc, AssertionError) and not hasattr(exc, "remote_traceback"):
        text = str(exc) or "a check failed"  # a check of the test cell: its message is ours
    else:  # anything raised by the learner's code (an AssertionError too) says so
        text = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, wire.StudentError):
            text = f"your code raised {exc}"
        tb = getattr(exc, "remote_traceback", "")
        if tb:
            text = f"your code raised {type(exc).__name__}: {exc}\n{tb.rstrip()}"
    return text[:MESSAGE_CAP]


def _call_timeout(timeout: float, seconds: float) -> str:
    return (
        f"a call of your code ran past its limit of {timeout:g} s (infinite loop?); the test "
        f"was stopped after {seconds:.0f} s"
    )


def run_test(sandbox: Sandbox, step: Step, timeout: float) -> dict:
    """Run one test cell here against proxies of the sandbox's names."""
    import cnnlab.calls as calls

    result = {"grade_id": step.grade_id, "max_points": step.points, "points": 0.0}
    t0 = time.monotonic()
    peer = sandbox.peer
    buf = io.StringIO()
    problem = None
    try:
        code = compile(step.source, f"<test {step.grade_id}>", "exec")
    except SyntaxError as exc:
        result.update(passed=False, message=f"the test cell does not compile ({exc.msg})")
        return result
    peer.call_timeout = timeout
    cell_limit = max(3 * timeout, timeout + 30)
    try:
        with (
            contextlib.redirect_stdout(buf),
            contextlib.redirect_stderr(buf),
            warnings.catch_warnings(),
            _alarm(cell_limit),
        ):
            warnings.simplefilter("ignore")
            bindings = peer.request("lookup", names=sorted(referenced_names(code)))
            ns = {"__name__": "__main__", "__builtins__": builtins}
            ns.update(bindings)
            exec(code, ns)
        passed, message = True, ""
    except wire.Timeout:
        passed, problem = False, "t"
        message = _call_timeout(timeout, time.monotonic() - t0)
    except CellTimeout:
        passed, problem = False, "t"
        message = (
            f"this test ran {time.monotonic() - t0:.0f} s, past its limit of {cell_limit:g} s for "
            f"the whole test cell (each call of your code may take {timeout:g} s)"
        )
    except wire.ProtocolError as exc:
        passed, problem = False, "p"
        message = (
            f"your code's process sent the grader a message it refused ({exc}); it was stopped"
        )
    except wire.PeerGone:
        passed, problem = False, "d"
    except KeyboardInterrupt:
        raise
    except MemoryError:
        passed, problem = False, "m"
        message = (
            "the grader ran out of memory checking this test (the judge's limit is "
            f"{LIMITS['judge_memory'] / (1 << 30):g} GiB): what your code returned is too large"
        )
    except BaseException as exc:
        passed, message = False, format_failure(exc)
        if os.environ.get("CNNLAB_GRADE_DEBUG"):
            import traceback

            traceback.print_exc(file=sys.__stderr__)
    finally:
        calls.reset()
        sys.setprofile(None)
        peer.deadline = peer.call_timeout = None
    if peer.broken and problem is None:  # the channel broke inside a check that caught it
        passed, problem = False, "t" if peer.broken == "timeout" else "d"
        if problem == "t":
            message = _call_timeout(timeout, time.monotonic() - t0)
    if problem == "d":
        message = f"the kernel died during this test ({sandbox.exit_status()})"
    result.update(
        passed=passed,
        points=step.points if passed else 0.0,
        message=message,
        output=buf.getvalue()[-5000:],
        seconds=round(time.monotonic() - t0, 3),
        problem=problem,
    )
    return result
