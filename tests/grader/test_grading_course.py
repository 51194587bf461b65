"""Course-level behaviour of cnnlab-grade: collect, resume after a kill, idempotent regrading,
and the learner's self-check."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
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

from autograde.course.check import check
from autograde.course.collect import collect

pytestmark = pytest.mark.xdist_group("grading-course")  # one worker runs the whole module

OPTS = ["--timeout", "20", "--memory", "1GiB", "--no-progress"]


def _sources(root: Path) -> dict[str, Path]:
    course = make_course(root / "course", {})
    return {ASSIGNMENT: course / "source" / ASSIGNMENT / "synth.ipynb"}


def test_collect_nested_layout_matches_by_metadata(tmp_path):
    sources = _sources(tmp_path)
    src = tmp_path / "export"
    (src / "alice" / ASSIGNMENT).mkdir(parents=True)
    (src / "alice" / ASSIGNMENT / "my-renamed-copy.ipynb").write_bytes(dumps(perfect()))
    (src / "bob" / "homework-1").mkdir(parents=True)
    (src / "bob" / "homework-1" / "whatever.ipynb").write_bytes(dumps(release_nb()))
    (src / "bob" / "homework-1" / "data.csv").write_text("1,2")
    (src / "carol" / ASSIGNMENT).mkdir(parents=True)
    (src / "carol" / ASSIGNMENT / "synth.ipynb").write_bytes(b"{broken")
    (src / "dan" / "misc").mkdir(parents=True)
    (src / "dan" / "misc" / "notes.ipynb").write_bytes(dumps(nbformat.v4.new_notebook()))
    report = collect(src, tmp_path / "course", sources)
    sub = tmp_path / "course" / "submitted"
    assert (sub / "alice" / ASSIGNMENT / "synth.ipynb").read_bytes() == dumps(perfect())
    assert (sub / "bob" / ASSIGNMENT / "synth.ipynb").exists()  # folder name did not matter
    assert (sub / "carol" / ASSIGNMENT / "synth.ipynb").exists()  # unreadable: by folder name
    assert not (sub / "dan").exists()
    assert [name for name, _ in report.unmatched] == ["dan/misc/notes.ipynb"]
    assert report.ignored == 1


def test_collect_flat_zip_from_an_lms(tmp_path):
    sources = _sources(tmp_path)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("erin_12345_67890_synth.ipynb", dumps(perfect()))
        zf.writestr("frank_late_attempt-2.ipynb", dumps(release_nb()))
        zf.writestr("gina_other.ipynb", dumps(nbformat.v4.new_notebook()))
        zf.writestr("hank_broken.ipynb", b"\x00\x01")
        zf.writestr("../escape_synth.ipynb", dumps(perfect()))
        zf.writestr("ivan_readme.txt", "hello")
    report = collect(archive, tmp_path / "course", sources)
    sub = tmp_path / "course" / "submitted"
    assert sorted(p.name for p in sub.iterdir()) == ["erin", "frank"]
    assert (sub / "erin" / ASSIGNMENT / "synth.ipynb").read_bytes() == dumps(perfect())
    assert sorted(n for n, _ in report.unmatched) == ["gina_other.ipynb", "hank_broken.ipynb"]
    assert not (tmp_path / "escape_synth.ipynb").exists()


def _grade_cmd(course: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "autograde.course.cli",
        "grade",
        "--course-dir",
        str(course),
        *OPTS,
    ]


def _class(root: Path) -> Path:
    students = {
        "s1": perfect(),
        "s2": submission({"square": WRONG_SQUARE}),
        "s3": submission({"q1": "q1 = 2"}),
    }
    return make_course(root, students)


def _table(course: Path) -> str:
    return (course / "grades.csv").read_text()


def test_resume_after_kill_equals_a_clean_run_and_regrading_is_idempotent(tmp_path):
    clean = _class(tmp_path / "clean")
    killed = _class(tmp_path / "killed")
    results = killed / ".cnnlab-grade" / "results"
    proc = subprocess.Popen(
        _grade_cmd(killed) + ["--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(results.rglob("*.json"))) < 1:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)  # the grader parent only: workers die with it
    proc.wait()
    done_before = len(list(results.rglob("*.json")))
    assert 1 <= done_before < 3, "kill the run midway"
    assert not (killed / "grades.csv").exists()
    subprocess.run(_grade_cmd(clean) + ["--workers", "2"], check=True, capture_output=True)
    resumed = subprocess.run(
        _grade_cmd(killed) + ["--workers", "2"], check=True, capture_output=True, text=True
    )
    assert _table(killed) == _table(clean)
    rows = [line.split(",")[:3] for line in _table(clean).splitlines()[1:]]
    assert rows == [
        ["s1", ASSIGNMENT, "10"],
        ["s2", ASSIGNMENT, "8"],
        ["s3", ASSIGNMENT, "9"],
    ]
    assert "s1" in resumed.stdout
    # regrading changes nothing, with the cache and without it
    before = _table(killed)
    again = subprocess.run(_grade_cmd(killed), check=True, capture_output=True, text=True)
    assert "grading:" not in again.stdout  # everything came from the cache
    assert _table(killed) == before
    shutil.rmtree(results)
    subprocess.run(_grade_cmd(killed) + ["--workers", "2"], check=True, capture_output=True)
    assert _table(killed) == before
    from autograde.course.gradebook import Book

    book = Book(f"sqlite:///{killed / 'gradebook.db'}")
    try:
        assert [book.score(s, ASSIGNMENT) for s in ("s1", "s2", "s3")] == [10, 8, 9]
    finally:
        book.close()


def test_check_runs_public_tests_of_the_release(tmp_path, capsys):
    release_dir = tmp_path / "notebooks"
    (release_dir / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(release_nb(), release_dir / ASSIGNMENT / "synth.ipynb")
    mine = submission({"square": WRONG_SQUARE})
    mine.cells[find(mine, "test_square")].source = "pass  # the learner edited the test"
    path = tmp_path / "mine.ipynb"
    nbformat.write(mine, path)
    assert check(path, {"timeout": 20}, release_dir=release_dir) == 0
    out = capsys.readouterr().out
    assert f"public tests: {MAX_SCORE - 2:g}/{MAX_SCORE:g} points" in out
    assert "FAIL test_square" in out and "SECRET_HIDDEN_MARKER" not in out


def test_collect_never_merges_distinct_students(tmp_path):
    sources = _sources(tmp_path)
    src = tmp_path / "export"
    names = ["a b", "a?b", "a_b", "jos\u00e9", "jos\u00e8", "_noname", "__x"]
    for name in names:
        (src / name / ASSIGNMENT).mkdir(parents=True)
        (src / name / ASSIGNMENT / "synth.ipynb").write_bytes(dumps(perfect()))
    report = collect(src, tmp_path / "course", sources)
    ids = [sid for _, sid, _, _ in report.collected]
    assert len(ids) == len(set(ids)) == len(names), ids
    assert sorted(report.students.values()) == sorted(names)
    assert "a_b" in ids  # a name that is already safe stays as it is
    assert not report.replaced
    with open(tmp_path / "course" / "students.csv", newline="", encoding="utf-8") as f:
        assert {r["id"]: r["name"] for r in csv.DictReader(f)} == report.students


def _zip(path: Path, entries: list[tuple[str, bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, when in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def test_collect_keeps_the_latest_attempt_and_says_why(tmp_path):
    sources = _sources(tmp_path)
    same = (2026, 11, 30, 12, 0, 0)
    archive = _zip(
        tmp_path / "same-times.zip",
        [
            ("bob_attempt2.ipynb", dumps(perfect()), same),
            ("bob_attempt10.ipynb", dumps(release_nb()), same),
            ("bob_attempt1.ipynb", dumps(perfect()), same),
        ],
    )
    report = collect(archive, tmp_path / "c1", sources)
    assert [c[0] for c in report.collected] == ["bob_attempt10.ipynb"]
    assert "kept bob_attempt10.ipynb (the highest attempt number)" in report.replaced[0]
    archive = _zip(
        tmp_path / "times.zip",
        [
            ("bob_attempt2.ipynb", dumps(perfect()), (2026, 11, 30, 9, 0, 0)),
            ("bob_attempt1.ipynb", dumps(release_nb()), (2026, 11, 30, 10, 0, 0)),
        ],
    )
    report = collect(archive, tmp_path / "c2", sources)
    assert [c[0] for c in report.collected] == ["bob_attempt1.ipynb"]
    assert "(the latest archive time)" in report.replaced[0]


def test_collect_reads_every_readable_member_of_a_damaged_zip(tmp_path):
    sources = _sources(tmp_path)
    when = (2026, 11, 30, 12, 0, 0)
    good, bad = dumps(perfect()), dumps(release_nb())
    archive = _zip(
        tmp_path / "export.zip",
        [("erin_synth.ipynb", good, when), ("frank_synth.ipynb", bad, when)],
    )
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("../escape_synth.ipynb", good)
    data = bytearray(archive.read_bytes())
    at = data.find(b"frank_synth.ipynb")  # its local header; the (stored) data follows it
    data[at + 200 : at + 210] = b"X" * 10  # -> a CRC error when the member is read
    archive.write_bytes(bytes(data))
    report = collect(archive, tmp_path / "course", sources)
    assert [(c[0], c[1]) for c in report.collected] == [("erin_synth.ipynb", "erin")]
    skipped = dict(report.skipped)
    assert "unreadable" in skipped["frank_synth.ipynb"], skipped
    assert skipped["../escape_synth.ipynb"] == "path outside the archive"


def test_db_url_without_its_driver_names_the_extra(monkeypatch):
    import importlib.util

    from autograde.course.gradebook import require_driver

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[postgres\]'"):
        require_driver("postgresql://grader@db/course")
    require_driver("sqlite:///x.db")  # sqlite3 is always there
