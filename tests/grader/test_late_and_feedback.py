"""Due dates, late penalties and feedback a learner can act on (issue 17, items 4 and 5).

Policy and feedback are checked on hand-made rows (milliseconds); one end-to-end run grades a
three-student synthetic course with a ``course.toml`` and reads grades.csv, the feedback pages
and nbgrader's gradebook.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from synth import ASSIGNMENT, WRONG_SQUARE, dumps, make_course, perfect, release_nb, source_nb

from autograde import cells
from autograde.course import grade
from autograde.course.collect import collect
from autograde.course.feedback import GRADE_FIELDS, exercise_titles, feedback_html
from autograde.course.policy import PolicyError, apply, load_policy, recorded_time

pytestmark = pytest.mark.xdist_group("grading-course")

A = ASSIGNMENT
POLICY = f"""
timezone = "Europe/Berlin"

[late]
rule = "per-day"
per_day = 0.1
cap = 0.3
cutoff = "7d"
grace = "10m"

[assignments.{A}]
due = 2026-10-09T23:59:00

[assignments.cut]
due = 2026-10-09T23:59:00
late = {{ rule = "cutoff", cutoff = "1d" }}

[assignments.free]
due = 2026-10-09T23:59:00
late = {{ rule = "none" }}

[extensions]
"Ann Lee" = {{ {A} = "2d" }}
bob = {{ "*" = 2026-10-20T12:00:00 }}
"""
BERLIN_DUE = datetime(2026, 10, 9, 21, 59, tzinfo=timezone.utc)  # 23:59 CEST


def _policy(tmp_path: Path, text: str = POLICY):
    (tmp_path / "course.toml").write_text(text)
    return load_policy(tmp_path)


def _late(policy, when, *, assignment=A, names=("zoe",), source="archive", score=10.0):
    row = {"student": names[0], "assignment": assignment, "score": score, "status": "ok"}
    return apply(policy, row, list(names), when, source)


def _hours_after_due(hours: float) -> datetime:
    return datetime.fromtimestamp(BERLIN_DUE.timestamp() + hours * 3600, timezone.utc)


@pytest.mark.parametrize(
    "hours, days, penalty",
    [(-5, 0, 0), (0.1, 0, 0), (0.5, 1, 1), (30, 2, 2), (24 * 5, 5, 3), (24 * 8, 8, 10)],
)
def test_per_day_penalty_with_grace_cap_and_cutoff(tmp_path, hours, days, penalty):
    out = _late(_policy(tmp_path), _hours_after_due(hours))
    assert (out["late_days"], out["penalty"], out["raw_score"]) == (days, penalty, 10)
    assert out["score"] == 10 - penalty
    if 0 < penalty < 10:
        assert (
            out["late"][3]
            == f"Penalty: {penalty * 10:g} % of your raw score 10 = {penalty:g} points."
        )
        assert "10 % of the raw score per started day late, at most 30 %" in out["late"][2]
    if penalty == 10:
        assert out["late"][3] == "Penalty: more than 7 days late, so the score is 0 (-10)."


def test_cutoff_rule_and_no_penalty_rule(tmp_path):
    policy = _policy(tmp_path)
    within = _late(policy, _hours_after_due(20), assignment="cut")
    assert (within["late_days"], within["penalty"], within["score"]) == (1, 0, 10)
    assert "Penalty: none." in within["late"]
    after = _late(policy, _hours_after_due(25), assignment="cut")
    assert (after["late_days"], after["penalty"], after["score"]) == (2, 10, 0)
    assert "work more than 1 day late scores 0" in after["late"][2]
    assert after["late"][3] == "Penalty: more than 1 day late, so the score is 0 (-10)."
    free = _late(policy, _hours_after_due(24 * 30), assignment="free")
    assert (free["late_days"], free["penalty"], free["score"]) == (30, 0, 10)
    # a naive (archive) time is read in the course's time zone: 23:58 in Berlin is on time
    naive = _late(policy, datetime(2026, 10, 9, 23, 58))
    assert naive["late_days"] == 0 and naive["submitted_at"] == "2026-10-09T23:58:00+02:00"


def test_extension_by_name_as_submitted_or_id_and_for_every_assignment(tmp_path):
    policy = _policy(tmp_path)
    when = _hours_after_due(30)
    ann = _late(policy, when, names=("Ann_Lee-0123456789", "Ann Lee"))
    assert (ann["late_days"], ann["penalty"]) == (0, 0)
    assert "with your extension: 2026-10-11 23:59 CEST" in ann["late"][0]
    bob = _late(policy, datetime(2026, 10, 20, 13, 0), assignment="cut", names=("bob",))
    assert (bob["late_days"], bob["penalty"], bob["score"]) == (1, 0, 10)
    other = _late(policy, when, names=("carl",))
    assert other["penalty"] == 2


def test_unknown_and_file_times(tmp_path):
    policy = _policy(tmp_path)
    none = _late(policy, None, source="")
    assert none["penalty"] == 0 and "No submission time was recorded" in none["late"][1]
    mtime = _late(policy, _hours_after_due(30), source="file-mtime")
    assert (mtime["penalty"], mtime["time_source"]) == (0, "file-mtime")
    assert "file's modification time" in mtime["late"][1]
    trusting = _policy(tmp_path, POLICY.replace('grace = "10m"', "trust_file_times = true"))
    trusted = _late(trusting, _hours_after_due(30), source="file-mtime")
    assert trusted["penalty"] == 2
    assert "the file's modification time (no submission time was recorded)" in trusted["late"][1]
    missing = apply(policy, {"assignment": A, "score": 0, "status": "missing"}, ["x"], None, "")
    assert missing["late"] == [] and missing["penalty"] == 0
    assert _late(None, _hours_after_due(300))["score"] == 10  # no course.toml: nothing is late


@pytest.mark.parametrize(
    "text, words",
    [
        ('[late]\nrule = "weekly"', "use one of none, per-day, cutoff"),
        ('[late]\nrule = "per-day"', "needs per_day"),
        ('[late]\nrule = "per-day"\nper_day = 2', "give a fraction"),
        ('[late]\nrule = "cutoff"\ncutoff = "two days"', "is not a duration"),
        ('timezone = "Mars/Olympus"', "unknown timezone"),
        ('[assignments.x]\ndue = "tomorrow"', "is not a date-time"),
        ("[late]\nper_dya = 0.1", "unknown key"),
    ],
)
def test_config_errors_say_what_is_wrong(tmp_path, text, words):
    with pytest.raises(PolicyError, match=words):
        _policy(tmp_path, text)


def _sources(root: Path) -> dict[str, Path]:
    course = make_course(root / "course", {})
    return {A: course / "source" / A / "synth.ipynb"}


def test_collect_keeps_submission_times_and_marks_file_times(tmp_path):
    sources = _sources(tmp_path)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo("erin_synth.ipynb", (2026, 10, 10, 8, 30, 0)), dumps(perfect()))
    collect(archive, tmp_path / "course", sources)
    folder = tmp_path / "course" / "submitted" / "erin" / A
    assert recorded_time(folder) == (datetime(2026, 10, 10, 8, 30), "archive")
    assert json.loads((folder / "submission.json").read_text())["file"] == "erin_synth.ipynb"
    src = tmp_path / "nbgrader"
    for student in ("fay", "gus"):
        (src / student / A).mkdir(parents=True)
        (src / student / A / "synth.ipynb").write_bytes(dumps(perfect()))
    (src / "fay" / A / "timestamp.txt").write_text("2026-10-10 09:00:00.000000 UTC")
    os.utime(src / "gus" / A / "synth.ipynb", (1_790_000_000, 1_790_000_000))
    report = collect(src, tmp_path / "course", sources)
    sub = tmp_path / "course" / "submitted"
    fay = datetime(2026, 10, 10, 9, tzinfo=timezone.utc)
    assert recorded_time(sub / "fay" / A) == (fay, "nbgrader-timestamp")
    gus = datetime.fromtimestamp(1_790_000_000, timezone.utc)
    assert recorded_time(sub / "gus" / A) == (gus, "file-mtime")
    assert report.file_times == [f"gus/{A}"]


def _headed(nb):
    """The synthetic notebook with exercise headings above its answer cells, as the course has."""
    heads = {
        "square": "## 1. Squares\n\n### Exercise 1: `square` (2 points)",
        "correlate1d": "## 2. Sliding windows\n\n### Exercise 2: `correlate1d` (3 points)",
        "sgd_step": "### Exercise 3a: `sgd_step` (1 point) and 3b: `run_steps` (1 point)",
    }
    for gid, text in heads.items():
        at = next(i for i, c in enumerate(nb.cells) if cells.grade_id(c) == gid)
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(text))
    return nb


def test_exercise_titles_follow_the_notebook_headings():
    titles = exercise_titles(_headed(source_nb()))
    assert titles["test_square"]["title"] == "Exercise 1: `square` (2 points)"
    assert titles["test_correlate1d"]["section"] == "2. Sliding windows"
    assert titles["run_steps"]["title"] == "Exercise 3b: `run_steps` (1 point)"
    assert titles["test_sgd"]["title"] == "Exercise 3b: `run_steps` (1 point)"  # last answer
    assert titles["test_Counter"]["title"] == "`Counter` (2 points)"  # not under Exercise 3
    plain = exercise_titles(source_nb())  # no exercise headings: name and points
    assert plain["test_square"]["title"] == "`square` (2 points)"


def test_feedback_page_names_exercises_hints_penalty_and_escapes(tmp_path):
    titles = exercise_titles(_headed(source_nb()))
    policy = _policy(tmp_path)
    evil = "<img src=x onerror=alert(1)>"
    row = {
        "assignment": A,
        "score": 8.0,
        "max_score": 10.0,
        "status": "ok",
        "tests": [
            {
                "grade_id": "test_square",
                "points": 0,
                "max_points": 2,
                "passed": False,
                "message": f"square([1, 2]): got {evil}\n  hint: square, do not double",
            },
            {"grade_id": "test_correlate1d", "points": 3, "max_points": 3, "passed": True},
        ],  # fmt: skip
        "notes": ["edited locked cell 'test_square' restored from the source"],
        "cell_errors": [f"square: NameError: name '{evil}' is not defined"],
    }
    row = _late(policy, _hours_after_due(30), names=("<b>eve</b>",), score=8.0) | {
        k: v for k, v in row.items() if k != "score"
    }
    page = feedback_html("<b>eve</b>", A, "synth", row, titles)
    assert "Exercise 1: <code>square</code> (2 points)" in page
    assert "<p class='hint'><b>Hint:</b> square, do not double</p>" in page
    assert "Penalty: 20 % of your raw score 8 = 1.6 points." in page
    assert "Final score: 8 - 1.6 = 6.4 / 10." in page and "6.4 / 10</b>" in page
    assert "the hidden checks included: 8 of 10 points" in page
    assert (
        "cell 'test_square' (the test cell of Exercise 1: `square` (2 points), section "
        '"1. Squares") restored' in (page.replace("&#x27;", "'").replace("&quot;", '"'))
    )
    assert "error in your answer to Exercise 1: `square`" in page
    assert evil not in page and "<b>eve</b>" not in page and "&lt;img" in page


@pytest.fixture(scope="module")
def late_course(tmp_path_factory):
    """Three students graded under a policy: on time, late (per day), late past the cut-off."""
    root = tmp_path_factory.mktemp("late")
    src = _headed(source_nb())
    filled = release_nb(src)
    for i, cell in enumerate(filled.cells):
        if cells.kind(cell) == "answer":
            cell.source = src.cells[i].source
    wrong = nbformat.from_dict(json.loads(nbformat.writes(filled)))
    at = next(i for i, c in enumerate(wrong.cells) if cells.grade_id(c) == "square")
    wrong.cells[at].source = WRONG_SQUARE
    course = make_course(root / "course", {"ontime": filled, "late": wrong, "gone": filled})
    nbformat.write(src, course / "source" / A / "synth.ipynb")
    (course / "course.toml").write_text(POLICY)
    for student, when in (("ontime", -1), ("late", 30), ("gone", 24 * 9)):
        folder = course / "submitted" / student / A
        from autograde.course.policy import record_time

        record_time(folder, _hours_after_due(when), "archive", "x.ipynb")
    options = {"timeout": 20.0, "memory": 1 << 30}
    rows = grade.run(course, workers=2, options=options, progress=False)
    return course, {r["student"]: r for r in rows}


def test_grading_applies_the_policy_everywhere(late_course):
    course, rows = late_course
    with open(course / "grades.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[: len(GRADE_FIELDS)] == GRADE_FIELDS
        table = {r["student"]: r for r in reader}
    got = {s: (r["raw_score"], r["penalty"], r["late_days"], r["score"]) for s, r in table.items()}
    assert got == {
        "ontime": ("10", "0", "0", "10"),
        "late": ("8", "1.6", "2", "6.4"),
        "gone": ("10", "10", "9", "0"),
    }
    assert table["late"]["time_source"] == "archive"
    assert table["late"]["submitted_at"] == "2026-10-11T05:59:00+02:00"
    page = (course / "feedback" / "late" / A / "synth.html").read_text()
    assert "Exercise 1: <code>square</code> (2 points)" in page
    assert "Penalty: 20 % of your raw score 8 = 1.6 points." in page
    assert "SECRET_HIDDEN_MARKER" not in page and "default_rng(0)" not in page
    from autograde.course.gradebook import Book

    book = Book(f"sqlite:///{course / 'gradebook.db'}")
    try:
        notebook = book.gb.find_submission_notebook("synth", A, "late")
        assert notebook.late_submission_penalty == pytest.approx(1.6)
        assert book.gb.find_submission(A, "late").timestamp == datetime(2026, 10, 11, 3, 59)
    finally:
        book.close()
    assert rows["late"]["score"] == 6.4


def test_demo_class_shows_the_late_penalty_everywhere(tmp_path):
    """``make demo``'s late students, graded as ``demo`` grades them (the rest of the class is
    left out: the real notebook 02 runs twice): 30 h late costs 2 started days, 20 % of the raw
    score, in grades.csv, the feedback page and the Canvas CSV; the 2-day extension costs 0."""
    from autograde.course import demo
    from autograde.course.export import canvas_csv

    course = tmp_path / "demo-class"
    demo.build(course)
    for folder in (course / "submitted").iterdir():
        if folder.name not in demo.LATE:
            shutil.rmtree(folder)
    (late_in,) = {p.parent.name for p in (course / "submitted" / "late").glob("*/*.ipynb")}
    rows = grade.run(course, [late_in], workers=2, options={"timeout": 60.0}, progress=False)
    by = {r["student"]: r for r in rows}
    raw, top = by["late"]["raw_score"], by["late"]["max_score"]
    assert raw == by["extended"]["raw_score"] > 0  # the same correct answers
    late, penalty = f"{raw:g}", f"{raw * 0.2:g}"
    with open(course / "grades.csv", newline="") as f:
        table = {r["student"]: r for r in csv.DictReader(f)}
    fields = ("raw_score", "penalty", "late_days", "score")
    assert [table["late"][k] for k in fields] == [late, penalty, "2", f"{raw * 0.8:g}"]
    assert [table["extended"][k] for k in fields] == [late, "0", "0", late]
    pages = {s: next((course / "feedback" / s).rglob("*.html")).read_text() for s in demo.LATE}
    assert f"Penalty: 20 % of your raw score {late} = {penalty} points." in pages["late"]
    assert f"Final score: {late} - {penalty} = {raw * 0.8:g} / {top:g}." in pages["late"]
    assert "1 day 6 h late, 2 started days" in pages["late"]
    assert "with your extension: 2026-10-11 23:59 UTC" in pages["extended"]
    assert "on time" in pages["extended"] and "Penalty" not in pages["extended"]
    canvas_csv(course, course / "canvas-grades.csv", None, {})
    with open(course / "canvas-grades.csv", newline="") as f:
        imported = {r[3]: r[5] for r in list(csv.reader(f))[2:]}  # SIS Login ID -> score
    assert imported == {"late": f"{raw * 0.8:g}", "extended": late}
