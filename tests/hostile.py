"""Hostile notebook sources for the grader tests: attacks on the sandbox, the watch and the grade.

Each constant is the source of one answer cell (or of a cell added after one); each builder returns
a whole submission (a notebook, or the bytes of a file that is not one). The expected grade of each
sits with its test, in tests/grader/test_grading_bad.py.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
from synth import ASSIGNMENT, dumps, find, perfect, submission

LOOP_IN_CALL = "def square(x):\n    while True:\n        pass\n"
FORK_BOMB = """\
import os, subprocess
refused = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        while True:
            pass
try:
    subprocess.run(["true"])
except OSError:
    refused += 1
raise RuntimeError(f"refused {refused} forks")
"""
BIG_OUTPUT = """\
import os
print("x" * (30 << 20))
for _ in range(20):
    os.write(1, b"y" * (10 << 20))
"""
STDERR_SQUARE = """\
import sys
import warnings

def square(x):
    warnings.warn("careful: squaring")
    print("progress on stderr", file=sys.stderr)
    return np.asarray(x, dtype=float) ** 2

print("cell-level stderr", file=sys.stderr)
warnings.warn("a cell warning")
"""
EQ_TRUE = """\
class AlwaysEqual:
    def __eq__(self, other):
        return True

class F(float):
    def __eq__(self, other):
        return True

def square(x):
    return AlwaysEqual()
"""
REFERENCE = "def correlate1d(x, k):\n    return np.correlate(x, k, mode='valid')\n"
WRAPS_OWN = (  # right answer, but it calls the answer to another exercise that the test forbids
    "def correlate1d(x, k):\n    square(x)\n"
    "    return np.array([float(np.dot(x[i:i + len(k)], k)) for i in range(len(x) - len(k) + 1)])\n"
)
SETPROFILE = (
    "import sys\n\ndef correlate1d(x, k):\n    sys.setprofile(None)\n"
    "    return np.correlate(x, k, mode='valid')\n"
)
# Learner code that runs while the reply is encoded (issue 20, item 2): watched like the call.
IN_THE_REPLY = {
    "reply_generator": "def correlate1d(x, k):\n"
    "    def values():\n"
    "        yield from np.correlate(x, k, mode='valid')\n"
    "    return values()\n",
    "reply_float": "class Late(float):\n"
    "    def __float__(self):\n"
    "        return float(np.correlate(self.x, self.k, mode='valid')[self.i])\n\n"
    "def correlate1d(x, k):\n"
    "    out = []\n"
    "    for i in range(len(x) - len(k) + 1):\n"
    "        v = Late(0.0)\n"
    "        v.x, v.k, v.i = x, k, i\n"
    "        out.append(v)\n"
    "    return out\n",
}
# Ways around "own implementation" (issue 15, items 1 and 2): each must cost correlate1d's points.
IN_A_THREAD = """\
import threading
def correlate1d(x, k):
    box = []
    t = threading.Thread(target=lambda: box.append(np.correlate(x, k, mode='valid')))
    t.start()
    t.join()
    return box[0]
"""
RESTORED_PROFILE = """\
import sys
def correlate1d(x, k):
    hook = sys.getprofile()
    sys.setprofile(None)
    out = np.correlate(x, k, mode='valid')
    sys.setprofile(hook)
    return out
"""
VIA_GC = """\
import gc
def correlate1d(x, k):
    for obj in gc.get_objects():
        if type(obj).__name__ == 'Watch':
            obj.record = lambda name: None
    return np.correlate(x, k, mode='valid')
"""
# Through frames (sys._getframe reaches the sandbox's own code): issue 15, item 2, fail closed.
_WALK = """\
import sys
def _grader_frames():
    frame = sys._getframe()
    while frame is not None:
        yield frame
        frame = frame.f_back
"""


def _via_frames(name: str, found: str, act: str) -> str:
    """A correlate1d that walks up to the grader's frame whose local ``name`` is ``found`` and
    does ``act`` (lines of code) there, then answers with the forbidden numpy.correlate."""
    return (
        _WALK
        + f"""\
def correlate1d(x, k):
    for frame in _grader_frames():
        {name} = frame.f_locals.get('{name}')
        if {found}:
{textwrap.indent(act, " " * 12)}            break
    return np.correlate(x, k, mode='valid')
"""
    )


_SEALED_HEADER = "isinstance(header, dict) and header.get('seal')"
FRAME_REPLY_EXTRAS = _via_frames(  # empties the findings the peer sends with the reply
    "peer",
    "peer is not None and hasattr(peer, 'reply_extras')",
    "real = peer.reply_extras\n"
    "def clean():\n"
    "    extras = real()\n"
    "    extras['forbid_hits'] = [[] for _ in extras.get('forbid_hits') or []]\n"
    "    return extras\n"
    "peer.reply_extras = clean\n",
)
FRAME_EARLY_END = _via_frames(  # closes the watch before the forbidden call
    "header", _SEALED_HEADER, "sys.audit('cnnlab.watch.end', header['seal'], b'', [])\n"
)
FRAME_FAKE_SPEC = _via_frames(  # opens a decoy watch that forbids nothing
    "header",
    _SEALED_HEADER,
    "sys.audit('cnnlab.watch.begin', header['seal'], [[] for _ in header['forbid']])\n",
)
PATCH_MATCH_CODE = (
    "import cnnlab.calls\ncnnlab.calls.match_code = lambda *a: None\n"
    "cnnlab.calls.locations = lambda targets: []\n" + REFERENCE
)
PATCH_MATCHER = (
    "import cnnlab.calls\ntry:\n"
    "    cnnlab.calls.CallMatcher.match = lambda self, frame: None\nexcept AttributeError:\n"
    "    pass\n" + REFERENCE
)
TAMPER = {
    "patch_testing": "import numpy as np\nimport cnnlab.testing as T\n"
    "np.testing.assert_allclose = lambda *a, **k: None\nT.assert_allclose = lambda *a, **k: None\n"
    "T.assert_equal = lambda *a, **k: None\n",
    "patch_numpy": "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n",
    "patch_np_testing": "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n",
    "patch_builtins": "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n",
    "patch_sysmodules": "import sys, types\n"
    "sys.modules['cnnlab.testing'] = types.ModuleType('x')\n",
    "custom_exc": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)\n",
}
FLAG_OF = {"custom_exc": "custom exception"}
FORGING_SQUARE = """\
import sys
def square(x):
    frame = sys._getframe()
    while frame is not None:  # up to the sandbox's main loop, which holds the RPC peer
        peer = frame.f_locals.get('peer')
        if isinstance(getattr(peer, 'flags', None), list):
            peer.flags.append('=HYPERLINK("http://x","student X copied from me")')
            break
        frame = frame.f_back
    return np.asarray(x, dtype=float)
"""


def isolation_probe(course: Path, test_file: Path) -> str:
    """A cell that tries to read the hidden tests, another learner's work and ``test_file``,
    to write into the course and to kill the grader; it sets ``q1`` right only if all fail."""
    secret = course / "source" / ASSIGNMENT / "synth.ipynb"
    other = course / "submitted" / "honest" / ASSIGNMENT / "synth.ipynb"
    return f"""\
import os, pathlib
leaks = []
for p in [{str(secret)!r}, {str(other)!r}, {str(test_file)!r}]:
    try:
        pathlib.Path(p).read_bytes()
        leaks.append(p)
    except Exception:
        pass
try:
    pathlib.Path({str(course / "pwned.txt")!r}).write_text("x")
    leaks.append("write")
except Exception:
    pass
try:
    os.kill(os.getppid(), 9)
    leaks.append("kill")
except Exception:
    pass
q1 = 3 if not leaks else 100
"""


def other_assignment() -> bytes:
    """A notebook of another assignment (its own grade ids)."""
    nb = nbformat.v4.new_notebook()
    for gid, grade_cell in (("foo", False), ("test_foo", True)):
        cell = nbformat.v4.new_code_cell("foo = 1" if not grade_cell else "assert foo == 1")
        cell.metadata["nbgrader"] = {
            "grade_id": gid,
            "grade": grade_cell,
            "solution": not grade_cell,
            "locked": grade_cell,
            "points": 1,
            "schema_version": 3,
        }
        nb.cells.append(cell)
    return dumps(nb)


def deleted_cells():
    nb = perfect()
    for gid in ("setup", "test_square", "test_q1"):
        del nb.cells[find(nb, gid)]
    return nb


def edited_cells():
    nb = submission({"q1": "q1 = 4"})
    nb.cells[find(nb, "test_q1")].source = "pass"
    nb.cells[find(nb, "test_square")].source = "import numpy as np\n"
    return nb


def renamed_ids():
    nb = perfect()
    nb.cells[find(nb, "test_sgd")].metadata["nbgrader"]["grade_id"] = "test_renamed"
    nb.cells[find(nb, "square")].metadata["nbgrader"]["grade_id"] = "my_square"
    return nb


def duplicated_ids():
    nb = perfect()
    i = find(nb, "test_Counter")
    nb.cells.insert(i + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))))
    j = find(nb, "square")
    nb.cells.insert(j + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[j]))))
    for n, cell in enumerate(nb.cells):
        cell.id = f"c{n}"
    return nb


def stripped_metadata():
    nb = perfect()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return nb


def nbformat3():
    return nbformat.writes(nbformat.convert(perfect(), 3), version=3).encode()


OWN_ASSERTION = "def square(x):\n    raise AssertionError('wrong\\n  hint: bias missing')\n"
GARBAGE = (
    "import os, sys\ndef square(x):\n"
    "    os.write(int(sys.argv[2]), b'\\xff' * 8)  # the sandbox's pipe to the judge\n"
    "    return x\n"
)
