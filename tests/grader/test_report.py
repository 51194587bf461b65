"""``cnnlab-grade report``: a class report whose numbers match grades.csv and the results.

One small synthetic course is graded once (tests/synth.py, with a test cell that names two known
mistakes); every test reads the report built from it.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import statistics

import nbformat
import pytest
from synth import ASSIGNMENT, WRONG_SQUARE, find, make_course, perfect, source_nb
from synth import submission as answer

from autograde import cells
from autograde.course import grade, report

pytestmark = pytest.mark.xdist_group("grading-report")

RETURNED_X = "returned x instead of x squared"
DOUBLED = "doubled x instead of squaring it"
HOSTILE = "<script>alert(1)"  # a folder name can hold it; a file name cannot hold '/'
CHECK = (
    'T.assert_allclose(square(np.array([1.0, 2.0])), np.array([1.0, 4.0]), name="square([1, 2])"'
)
MISTAKES = f', mistakes=[("{RETURNED_X}", [1.0, 2.0]), ("{DOUBLED}", [2.0, 4.0])]'


def _source_with_mistakes() -> nbformat.NotebookNode:
    nb = source_nb()
    cell = nb.cells[find(nb, "test_square")]
    assert CHECK in cell.source
    cell.source = cell.source.replace(CHECK, CHECK + MISTAKES)
    return nb


def _class() -> dict:
    forged = f"'<script>alert(\"msg\")</script>\\n  hint: {DOUBLED}'"  # a hint in its own error
    raises = f"def square(x):\n    raise ValueError({forged})\n"
    doubled = "def square(x):\n    return 2 * np.asarray(x, dtype=float)\n"
    stub = "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    tamper = "import numpy as np\nnp.testing.assert_allclose = lambda *a, **k: None\n"
    students = {
        "perfect": perfect(),
        "tamper": answer(extra=[("setup", tamper)]),
        "x1": answer({"square": WRONG_SQUARE}),
        "x3": answer({"square": WRONG_SQUARE, "q1": "q1 = 2"}),
        "doubled": answer({"square": doubled}),
        HOSTILE: answer({"square": raises}),
        "stub": answer({"square": stub, "q1": "q1 = None"}),
        "crash": answer(extra=[("setup", "import os\nos._exit(1)")]),
    }
    src = _source_with_mistakes()
    public = cells.public_text(src.cells[find(src, "test_square")].source)
    for nb in students.values():  # the release holds the test cell that names the mistakes
        nb.cells[find(nb, "test_square")].source = public
    return dict(students, broken=b"{broken")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("report") / "course", _class())
    nbformat.write(_source_with_mistakes(), root / "source" / ASSIGNMENT / "synth.ipynb")
    (root / "submitted" / "absent").mkdir()  # a student without a submission
    options = {"timeout": 20.0, "memory": 1 << 30}
    grade.run(root, workers=2, options=options, progress=False, feedback=False)
    return root


@pytest.fixture(scope="module")
def page(course):
    parser = argparse.ArgumentParser()
    report.register(parser.add_subparsers(dest="command"))
    out = course / "out" / "class.html"
    assert (
        report.run(parser.parse_args(["report", "--course-dir", str(course), "--out", str(out)]))
        == 0
    )
    return out.read_text(encoding="utf-8")


def _csv(course) -> list[dict]:
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_numbers_match_grades_csv(course, page):
    table = _csv(course)
    s = report.summarise(report.load(course)[ASSIGNMENT])
    submitted = [r for r in table if r["status"] != "missing"]
    assert (s["students"], s["submitted"]) == (len(table), len(submitted)) == (10, 9)
    scores = [float(r["score"]) for r in submitted]
    assert s["scores"] == scores
    assert s["mean"] == pytest.approx(statistics.fmean(scores))
    assert f"mean <b>{statistics.fmean(scores):.2f}</b>" in page
    for gid, ex in s["exercises"].items():
        got = [float(r[gid]) for r in submitted]
        assert ex["full"] == sum(g >= ex["max"] for g in got), gid
        assert ex["zero"] == sum(g == 0 for g in got), gid
        assert ex["partial"] == 0  # a test cell earns all its points or none
    assert s["exercises"]["test_square"]["full"] == 3  # perfect, tamper, crash (replayed)
    assert s["exercises"]["test_q1"]["zero"] == 3  # x3, stub, broken
    assert s["exercises"]["test_square"]["stub"] == 1  # the NotImplementedError left in place


def test_students_per_known_mistake(course, page):
    s = report.summarise(report.load(course)[ASSIGNMENT])
    mistakes = {hint: (n, share) for gid, hint, n, share in s["mistakes"] if gid == "test_square"}
    # the hostile student's own exception quoting a hint is not a known mistake
    assert mistakes == {RETURNED_X: (2, 2 / 9), DOUBLED: (1, 1 / 9)}
    assert f"{RETURNED_X}</td><td class='n'>2</td><td class='n'>22 %</td>" in page
    assert f"{DOUBLED}</td><td class='n'>1</td><td class='n'>11 %</td>" in page
    # the same message on other inputs groups together: q1 wrong once
    messages = {(g, t): (c, k) for g, t, c, k in s["messages"]}
    assert messages[("test_q1", "q1: got #, expected #")] == (1, 1)


def test_statuses_flags_and_time(course, page):
    rows = sorted(report.load(course)[ASSIGNMENT], key=lambda r: r["status"] != "missing")
    s = report.summarise(rows)
    statuses = {k: [w for w, _ in v] for k, v in s["statuses"].items()}
    assert statuses == {"crashed": ["crash"], "missing": ["absent"], "unreadable": ["broken"]}
    assert "crashed</td><td class='n'>1</td><td>crash</td>" in page
    assert sorted(w for _, w in s["seconds"]) == sorted(r["display"] for r in rows[1:])
    assert s["seconds"][0][0] > 0 and "<h3>Grading time</h3>" in page
    tamper = [f for f in s["flags"] if f.startswith("tamper: monkeypatch: numpy.testing")]
    assert len(tamper) == 1 and tamper[0] in page


def test_page_is_self_contained_and_escaped(page):
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)" in page  # the student id
    assert "&lt;script&gt;alert(&quot;msg&quot;)&lt;/script&gt;" in page  # the learner's message
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"https?:|//|url\(|@import", text, re.I)
    for ref in re.findall(r"""(?:src|href)\s*=\s*['"]?([^'" >]*)""", page, re.I):
        assert ref.startswith(("data:image/png;base64,", "#")), ref
    assert page.count("data:image/png;base64,") == 1  # the score histogram
    assert "Content-Security-Policy" in page


def test_stale_cache_is_flagged_not_trusted(course, tmp_path):
    copy = shutil.copytree(course, tmp_path / "copy")
    rows = _csv(copy)
    changed = next(r for r in rows if r["student"] == "perfect")
    changed["test_square"] = "0"  # grades.csv from a later run than the cache
    with open(copy / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    s = report.summarise(report.load(copy)[ASSIGNMENT])
    assert any("does not match grades.csv" in f and "perfect" in f for f in s["flags"])
    assert s["exercises"]["test_square"]["full"] == 2  # grades.csv wins


def test_normalise_and_hints(tmp_path):
    message = "conv out: shape (2, 3, 5, 5) != expected (2, 3, 4, 4).\n  hint: pad 1 ignored"
    assert report.normalise(message) == "conv out: shape (#, #, #, #) != expected (#, #, #, #)."
    assert report.normalise("x: got -1.5e-07 at index (0,) in conv2d, 1e3") == (
        "x: got # at index (#,) in conv2d, #"
    )
    assert report.hints(message) == ["pad 1 ignored"]
    assert report.hints("your code raised ValueError: x\n  hint: forged") == []
    with pytest.raises(SystemExit, match="grades.csv"):
        report.load(make_course(tmp_path, {}))
