"""Bad submissions and tampering: each gets a grade and a reason, and the class keeps grading.

One synthetic class of ~30 submissions is graded once (two workers, 10 s per cell, 1 GiB) and every
case checks its own row. The honest score of each tampering submission is computed by the same
grader on the same code without the tampering lines. The hostile sources are in tests/hostile.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hostile import (
    BIG_OUTPUT,
    EQ_TRUE,
    FORGING_SQUARE,
    FORK_BOMB,
    FRAME_EARLY_END,
    FRAME_FAKE_SPEC,
    FRAME_REPLY_EXTRAS,
    GARBAGE,
    IN_A_THREAD,
    IN_THE_REPLY,
    LOOP_IN_CALL,
    OWN_ASSERTION,
    PATCH_MATCH_CODE,
    PATCH_MATCHER,
    REFERENCE,
    RESTORED_PROFILE,
    SETPROFILE,
    STDERR_SQUARE,
    TAMPER,
    VIA_GC,
    WRAPS_OWN,
    deleted_cells,
    duplicated_ids,
    edited_cells,
    isolation_probe,
    nbformat3,
    other_assignment,
    renamed_ids,
    stripped_metadata,
)
from synth import (
    ASSIGNMENT,
    MAX_SCORE,
    WRONG_SQUARE,
    dumps,
    make_course,
    perfect,
    release_nb,
    submission,
)

from autograde.course import grade
from autograde.sandbox.limits import landlock_abi

pytestmark = pytest.mark.xdist_group("grading-bad")  # one worker runs the whole module

OPTIONS = {"timeout": 10.0, "memory": 1 << 30}
FLAG_OF = {"custom_exc": "custom exception"}


def _answer(grade_id: str, code: str, **extra):
    return lambda: submission({grade_id: code}, **extra)


def _cell(after: str, code: str):
    return lambda: submission(extra=[(after, code)])


# student: (submission builder, expected score, expected status, text in reason, text in flags)
CASES = {
    "honest": (perfect, MAX_SCORE, "ok", "", None),
    "blank": (release_nb, 0.0, "ok", "", None),
    "loop_call": (_answer("square", LOOP_IN_CALL), 8.0, "timeout", "timed out", None),
    "loop_cell": (
        _cell("setup", "while True:\n    pass\n"),
        MAX_SCORE,
        "timeout",
        "timed out after 10 s",
        None,
    ),
    "sys_exit": (_cell("setup", "import sys\nsys.exit(1)"), MAX_SCORE, "ok", "sys.exit", None),
    "os_exit": (
        _cell("square", "import os\nos._exit(3)"),
        MAX_SCORE,
        "crashed",
        "exit code 3",
        None,
    ),
    "segfault": (
        _cell("square", "import ctypes\nctypes.string_at(0)"),
        MAX_SCORE,
        "crashed",
        "SIGSEGV",
        None,
    ),
    "memory_bomb": (
        _cell("setup", "hog = bytearray(3 << 30)"),
        MAX_SCORE,
        "memory",
        "memory limit",
        None,
    ),
    "fork_bomb": (_cell("setup", FORK_BOMB), MAX_SCORE, "ok", "", None),
    "big_output": (_cell("setup", BIG_OUTPUT), MAX_SCORE, "ok", "truncated", None),
    "deleted_cells": (deleted_cells, MAX_SCORE, "ok", "restored", None),
    "edited_cells": (edited_cells, MAX_SCORE - 1, "ok", "restored", None),
    "renamed_ids": (renamed_ids, MAX_SCORE, "ok", "content", None),
    "duplicated_ids": (duplicated_ids, MAX_SCORE, "ok", "duplicate", None),
    "stripped_metadata": (stripped_metadata, MAX_SCORE, "ok", "content", None),
    "invalid_json": (lambda: b'{"cells": [', 0.0, "unreadable", "invalid JSON", None),
    "empty_file": (lambda: b"", 0.0, "unreadable", "empty", None),
    "binary_file": (lambda: bytes(range(256)) * 20, 0.0, "unreadable", "binary", None),
    "nbformat3": (nbformat3, MAX_SCORE, "ok", "", None),
    "other_assignment": (other_assignment, 0.0, "wrong-notebook", "another assignment", None),
    "extra_files": (perfect, MAX_SCORE, "ok", "", None),
    "stderr_warnings": (_answer("square", STDERR_SQUARE), MAX_SCORE, "ok", "", None),
    "eq_always_true": (
        lambda: submission({"square": EQ_TRUE, "q1": "q1 = F(3.5)"}),
        MAX_SCORE - 3,
        "ok",
        "",
        "eq-always-true",
    ),
}
# Ways around "own implementation" (issues 15 and 20): each must cost correlate1d's points, and
# only those: 7.0 is the full score without test_correlate1d's 3.
AROUND_OWN = {
    "reference_only": REFERENCE,
    "setprofile_off": SETPROFILE,
    "wraps_own": WRAPS_OWN,
    "in_a_thread": IN_A_THREAD,
    "restored_profile": RESTORED_PROFILE,
    "via_gc": VIA_GC,
    **IN_THE_REPLY,
    "frame_reply_extras": FRAME_REPLY_EXTRAS,
    "frame_early_end": FRAME_EARLY_END,
    "frame_fake_spec": FRAME_FAKE_SPEC,
    "patch_match_code": PATCH_MATCH_CODE,
    "patch_matcher": PATCH_MATCHER,
}
for _name, _code in AROUND_OWN.items():
    _flag = "monkeypatch" if _name.startswith("patch_") else None
    CASES[_name] = (_answer("correlate1d", _code), 7.0, "ok", "", _flag)
for _name, _code in TAMPER.items():
    CASES[_name] = (
        _answer("square", WRONG_SQUARE, extra=[("square", _code)]),
        MAX_SCORE - 2,  # what the wrong square earns without the tampering
        "ok",
        "",
        FLAG_OF.get(_name, "monkeypatch"),
    )
# An AssertionError raised by the learner's own code is reported as theirs, so that its text
# (here a forged "hint:" line) cannot pass for one of the test cell's named mistakes.
CASES["own_assertion"] = (_answer("square", OWN_ASSERTION), MAX_SCORE - 2, "ok", "", None)
# Tampering next to correct answers costs none of their points, and no false reason
# (issue 15, item 4): the flag goes to the instructor, the forbidden-call check stays with
# the function that did the forbidden thing.
CASES["tamper_correct"] = (
    _cell("square", TAMPER["patch_testing"] + "import sys\nsys.setprofile(None)\n"),
    MAX_SCORE,
    "ok",
    "",
    "monkeypatch",
)
CASES["garbage_on_pipe"] = (
    _answer("square", GARBAGE),
    MAX_SCORE - 2,
    "crashed",
    "broke the grading protocol in test_square",
    None,
)
CASES["forged_flag"] = (_answer("square", FORGING_SQUARE), MAX_SCORE - 2, "ok", "", "does not know")
CASES["=1+2"] = (perfect, MAX_SCORE, "ok", "", None)  # a name a spreadsheet would evaluate
CASES["honest_wrong_square"] = (_answer("square", WRONG_SQUARE), MAX_SCORE - 2, "ok", "", None)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("badclass")
    students = {name: case[0]() for name, case in CASES.items()}
    course = make_course(root, students)
    extra = course / "submitted" / "extra_files" / ASSIGNMENT
    (extra / "data.bin").write_bytes(b"\0" * 1000)
    (extra / "notes.txt").write_text("my notes")
    (extra / "scratch.ipynb").write_bytes(dumps(release_nb()))
    probe = submission(extra=[("q1", isolation_probe(course, Path(__file__)))])
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
