"""Bad submissions and tampering: each gets a grade and a reason, and the class keeps grading.

One synthetic class of ~30 submissions is graded once (two workers, 10 s per cell, 1 GiB) and every
case checks its own row. The honest score of each tampering submission is computed by the same
grader on the same code without the tampering lines.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from synth import (
    ASSIGNMENT,
    MAX_SCORE,
    WRONG_SQUARE,
    dumps,
    find,
    make_course,
    perfect,
    release_nb,
    submission,
)

from autograde.course import grade
from autograde.sandbox.limits import landlock_abi

pytestmark = pytest.mark.xdist_group("grading-bad")  # one worker runs the whole module

OPTIONS = {"timeout": 10.0, "memory": 1 << 30}

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
FRAME_REPLY_EXTRAS = (
    _WALK
    + """\
def correlate1d(x, k):
    for frame in _grader_frames():
        peer = frame.f_locals.get('peer')
        if peer is not None and hasattr(peer, 'reply_extras'):
            real = peer.reply_extras
            def clean():
                extras = real()
                extras['forbid_hits'] = [[] for _ in extras.get('forbid_hits') or []]
                return extras
            peer.reply_extras = clean
            break
    return np.correlate(x, k, mode='valid')
"""
)
FRAME_EARLY_END = (
    _WALK
    + """\
def correlate1d(x, k):
    for frame in _grader_frames():
        header = frame.f_locals.get('header')
        if isinstance(header, dict) and header.get('seal'):
            sys.audit('cnnlab.watch.end', header['seal'], b'', [])
            break
    return np.correlate(x, k, mode='valid')
"""
)
FRAME_FAKE_SPEC = (
    _WALK
    + """\
def correlate1d(x, k):
    for frame in _grader_frames():
        header = frame.f_locals.get('header')
        if isinstance(header, dict) and header.get('seal'):
            sys.audit('cnnlab.watch.begin', header['seal'], [[] for _ in header['forbid']])
            break
    return np.correlate(x, k, mode='valid')
"""
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


def isolation_probe(course: Path) -> str:
    secret = course / "source" / ASSIGNMENT / "synth.ipynb"
    other = course / "submitted" / "honest" / ASSIGNMENT / "synth.ipynb"
    return f"""\
import os, pathlib
leaks = []
for p in [{str(secret)!r}, {str(other)!r}, {str(Path(__file__))!r}]:
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


def _deleted():
    nb = perfect()
    for gid in ("setup", "test_square", "test_q1"):
        del nb.cells[find(nb, gid)]
    return nb


def _edited():
    nb = submission({"q1": "q1 = 4"})
    nb.cells[find(nb, "test_q1")].source = "pass"
    nb.cells[find(nb, "test_square")].source = "import numpy as np\n"
    return nb


def _renamed():
    nb = perfect()
    nb.cells[find(nb, "test_sgd")].metadata["nbgrader"]["grade_id"] = "test_renamed"
    nb.cells[find(nb, "square")].metadata["nbgrader"]["grade_id"] = "my_square"
    return nb


def _duplicated():
    nb = perfect()
    i = find(nb, "test_Counter")
    nb.cells.insert(i + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))))
    j = find(nb, "square")
    nb.cells.insert(j + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[j]))))
    for n, cell in enumerate(nb.cells):
        cell.id = f"c{n}"
    return nb


def _stripped():
    nb = perfect()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return nb


def _v3():
    return nbformat.writes(nbformat.convert(perfect(), 3), version=3).encode()


# student: (submission builder, expected score, expected status, text in reason, text in flags)
CASES = {
    "honest": (perfect, MAX_SCORE, "ok", "", None),
    "blank": (release_nb, 0.0, "ok", "", None),
    "loop_call": (lambda: submission({"square": LOOP_IN_CALL}), 8.0, "timeout", "timed out", None),
    "loop_cell": (
        lambda: submission(extra=[("setup", "while True:\n    pass\n")]),
        MAX_SCORE,
        "timeout",
        "timed out after 10 s",
        None,
    ),
    "sys_exit": (
        lambda: submission(extra=[("setup", "import sys\nsys.exit(1)")]),
        MAX_SCORE,
        "ok",
        "sys.exit",
        None,
    ),
    "os_exit": (
        lambda: submission(extra=[("square", "import os\nos._exit(3)")]),
        MAX_SCORE,
        "crashed",
        "exit code 3",
        None,
    ),
    "segfault": (
        lambda: submission(extra=[("square", "import ctypes\nctypes.string_at(0)")]),
        MAX_SCORE,
        "crashed",
        "SIGSEGV",
        None,
    ),
    "memory_bomb": (
        lambda: submission(extra=[("setup", "hog = bytearray(3 << 30)")]),
        MAX_SCORE,
        "memory",
        "memory limit",
        None,
    ),
    "fork_bomb": (lambda: submission(extra=[("setup", FORK_BOMB)]), MAX_SCORE, "ok", "", None),
    "big_output": (
        lambda: submission(extra=[("setup", BIG_OUTPUT)]),
        MAX_SCORE,
        "ok",
        "truncated",
        None,
    ),
    "deleted_cells": (_deleted, MAX_SCORE, "ok", "restored", None),
    "edited_cells": (_edited, MAX_SCORE - 1, "ok", "restored", None),
    "renamed_ids": (_renamed, MAX_SCORE, "ok", "content", None),
    "duplicated_ids": (_duplicated, MAX_SCORE, "ok", "duplicate", None),
    "stripped_metadata": (_stripped, MAX_SCORE, "ok", "content", None),
    "invalid_json": (lambda: b'{"cells": [', 0.0, "unreadable", "invalid JSON", None),
    "empty_file": (lambda: b"", 0.0, "unreadable", "empty", None),
    "binary_file": (lambda: bytes(range(256)) * 20, 0.0, "unreadable", "binary", None),
    "nbformat3": (_v3, MAX_SCORE, "ok", "", None),
    "other_assignment": (other_assignment, 0.0, "wrong-notebook", "another assignment", None),
    "extra_files": (perfect, MAX_SCORE, "ok", "", None),
    "stderr_warnings": (lambda: submission({"square": STDERR_SQUARE}), MAX_SCORE, "ok", "", None),
    "eq_always_true": (
        lambda: submission({"square": EQ_TRUE, "q1": "q1 = F(3.5)"}),
        MAX_SCORE - 3,
        "ok",
        "",
        "eq-always-true",
    ),
    "reference_only": (lambda: submission({"correlate1d": REFERENCE}), 7.0, "ok", "", None),
    "setprofile_off": (lambda: submission({"correlate1d": SETPROFILE}), 7.0, "ok", "", None),
    "wraps_own": (lambda: submission({"correlate1d": WRAPS_OWN}), 7.0, "ok", "", None),
    "in_a_thread": (lambda: submission({"correlate1d": IN_A_THREAD}), 7.0, "ok", "", None),
    "restored_profile": (
        lambda: submission({"correlate1d": RESTORED_PROFILE}),
        7.0,
        "ok",
        "",
        None,
    ),
    "via_gc": (lambda: submission({"correlate1d": VIA_GC}), 7.0, "ok", "", None),
    **{
        name: (lambda code=code: submission({"correlate1d": code}), 7.0, "ok", "", None)
        for name, code in IN_THE_REPLY.items()
    },
    **{
        name: (lambda code=code: submission({"correlate1d": code}), 7.0, "ok", "", None)
        for name, code in {
            "frame_reply_extras": FRAME_REPLY_EXTRAS,
            "frame_early_end": FRAME_EARLY_END,
            "frame_fake_spec": FRAME_FAKE_SPEC,
        }.items()
    },
    "patch_match_code": (
        lambda: submission({"correlate1d": PATCH_MATCH_CODE}),
        7.0,
        "ok",
        "",
        "monkeypatch",
    ),
    "patch_matcher": (
        lambda: submission({"correlate1d": PATCH_MATCHER}),
        7.0,
        "ok",
        "",
        "monkeypatch",
    ),
}
for _name, _code in TAMPER.items():
    CASES[_name] = (
        lambda code=_code: submission({"square": WRONG_SQUARE}, extra=[("square", code)]),
        MAX_SCORE - 2,  # what the wrong square earns without the tampering
        "ok",
        "",
        FLAG_OF.get(_name, "monkeypatch"),
    )
# An AssertionError raised by the learner's own code is reported as theirs, so that its text
# (here a forged "hint:" line) cannot pass for one of the test cell's named mistakes.
CASES["own_assertion"] = (
    lambda: submission(
        {"square": "def square(x):\n    raise AssertionError('wrong\\n  hint: bias missing')\n"}
    ),
    MAX_SCORE - 2,
    "ok",
    "",
    None,
)
# Tampering next to correct answers costs none of their points, and no false reason
# (issue 15, item 4): the flag goes to the instructor, the forbidden-call check stays with
# the function that did the forbidden thing.
CASES["tamper_correct"] = (
    lambda: submission(
        extra=[("square", TAMPER["patch_testing"] + "import sys\nsys.setprofile(None)\n")]
    ),
    MAX_SCORE,
    "ok",
    "",
    "monkeypatch",
)
GARBAGE = (
    "import os, sys\ndef square(x):\n"
    "    os.write(int(sys.argv[2]), b'\\xff' * 8)  # the sandbox's pipe to the judge\n"
    "    return x\n"
)
CASES["garbage_on_pipe"] = (
    lambda: submission({"square": GARBAGE}),
    MAX_SCORE - 2,
    "crashed",
    "broke the grading protocol in test_square",
    None,
)
CASES["forged_flag"] = (
    lambda: submission({"square": FORGING_SQUARE}),
    MAX_SCORE - 2,
    "ok",
    "",
    "does not know",
)
CASES["=1+2"] = (perfect, MAX_SCORE, "ok", "", None)  # a name a spreadsheet would evaluate
CASES["honest_wrong_square"] = (
    lambda: submission({"square": WRONG_SQUARE}),
    MAX_SCORE - 2,
    "ok",
    "",
    None,
)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("badclass")
    students = {name: case[0]() for name, case in CASES.items()}
    course = make_course(root, students)
    extra = course / "submitted" / "extra_files" / ASSIGNMENT
    (extra / "data.bin").write_bytes(b"\0" * 1000)
    (extra / "notes.txt").write_text("my notes")
    (extra / "scratch.ipynb").write_bytes(dumps(release_nb()))
    probe = submission(extra=[("q1", isolation_probe(course))])
    (course / "submitted" / "isolation").mkdir()
    (course / "submitted" / "isolation" / ASSIGNMENT).mkdir()
    (course / "submitted" / "isolation" / ASSIGNMENT / "synth.ipynb").write_bytes(dumps(probe))
    rows = grade.run(course, workers=2, options=OPTIONS, progress=False)
    return course, {r["student"]: r for r in rows}


@pytest.mark.parametrize("student", sorted(CASES))
def test_bad_submission_gets_a_grade_and_a_reason(graded, student):
    _, rows = graded
    _, score, status, reason, flag = CASES[student]
    row = rows[student]
    assert row["status"] == status, row
    assert row["score"] == score, row
    if reason:
        assert reason in row["reason"] + " ".join(row["notes"]), row
    if flag:
        assert any(flag in f for f in row["flags"]), row["flags"]
    else:
        assert row["flags"] == [], row["flags"]


def test_reference_only_answer_is_told_why(graded):
    _, rows = graded
    for student in ("reference_only", "setprofile_off", *IN_THE_REPLY):
        test = next(t for t in rows[student]["tests"] if t["grade_id"] == "test_correlate1d")
        assert not test["passed"]
        assert "must be your own implementation" in test["message"]
        assert "numpy.correlate" in test["message"] or "setprofile" in test["message"]


def test_wrapping_another_exercise_is_told_why(graded):
    """A "__main__.<name>" target reaches the sandbox: the learner's own square is caught."""
    _, rows = graded
    test = next(t for t in rows["wraps_own"]["tests"] if t["grade_id"] == "test_correlate1d")
    assert not test["passed"]
    assert "it called your square" in test["message"], test["message"]
    assert "numpy" not in test["message"]


def test_fork_bomb_stays_bounded(graded):
    _, rows = graded
    errors = " ".join(rows["fork_bomb"]["cell_errors"])
    assert "refused 201 forks" in errors, errors


def test_learner_code_cannot_touch_course_files(graded):
    if landlock_abi() < 1:
        pytest.skip("Landlock is not available on this kernel")
    course, rows = graded
    assert rows["isolation"]["score"] == MAX_SCORE, rows["isolation"]
    assert rows["isolation"]["status"] == "ok"
    assert not (course / "pwned.txt").exists()
    assert rows["isolation"]["isolation"]["landlock"].startswith("on")
    assert rows["isolation"]["isolation"]["seccomp"] == "on"


def test_feedback_never_shows_hidden_tests(graded):
    course, rows = graded
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(rows)
    for page in pages:
        text = page.read_text()
        assert "SECRET_HIDDEN_MARKER" not in text
        assert "default_rng(0)" not in text and "HIDDEN TESTS" not in text
        assert "Score:" in text
    wrong = (course / "feedback" / "honest_wrong_square" / ASSIGNMENT / "synth.html").read_text()
    assert "test_square" in wrong and "failed" in wrong


def test_no_way_around_own_implementation(graded):
    _, rows = graded
    expect = {
        "in_a_thread": "a new thread",
        "restored_profile": "the call watcher was switched off",
        "via_gc": "gc.get_objects is not available",
        "patch_matcher": "numpy.correlate",
        "patch_match_code": "numpy.correlate",
        "frame_reply_extras": "call watcher (its report was missing or forged)",
        "frame_early_end": "call watcher (its report was missing or forged)",
        "frame_fake_spec": "call watcher (its report was missing or forged)",
    }
    for student, words in expect.items():
        tests = {t["grade_id"]: t for t in rows[student]["tests"]}
        assert not tests["test_correlate1d"]["passed"], student
        assert words in tests["test_correlate1d"]["message"], (student, tests["test_correlate1d"])


def test_messages_say_what_happened(graded):
    _, rows = graded
    tests = {t["grade_id"]: t for t in rows["garbage_on_pipe"]["tests"]}
    assert "sent the grader a message it refused" in tests["test_square"]["message"]
    tests = {t["grade_id"]: t for t in rows["loop_call"]["tests"]}
    message = tests["test_square"]["message"]
    assert "ran past its limit of 10 s" in message and "stopped after" in message, message


def test_no_csv_cell_is_a_spreadsheet_formula(graded):
    course, rows = graded
    with open(course / "grades.csv", newline="") as f:
        cells = [cell for line in csv.reader(f) for cell in line]
    assert "'=1+2" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], "formula-like cells"
    assert rows["forged_flag"]["flags"] == [
        "the sandbox sent a report the grader does not know (possible tampering)"
    ]


def test_csv_and_gradebook_agree_and_lose_nothing(graded):
    from autograde.course.gradebook import Book

    course, rows = graded
    with open(course / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows)
    book = Book(f"sqlite:///{course / 'gradebook.db'}")
    try:
        for line in table:
            student = line["student"].removeprefix("'")  # "'=1+2" is the escaped "=1+2"
            assert float(line["score"]) == rows[student]["score"]
            assert float(line["test_square"]) in (0.0, 2.0)
            assert book.score(student, ASSIGNMENT) == rows[student]["score"], student
    finally:
        book.close()


def test_the_learners_own_assertion_error_is_reported_as_theirs(graded):
    _, rows = graded
    test = next(t for t in rows["own_assertion"]["tests"] if t["grade_id"] == "test_square")
    assert test["message"].startswith("your code raised AssertionError: wrong"), test["message"]
