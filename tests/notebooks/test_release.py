"""The student release is generated from solutions/ and gives nothing away."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autograde import cells
from autograde.build.release import release, solution_sources, to_notebook
from autograde.cells import MARKERS
from autograde.config import ROOT

NOTEBOOKS = ROOT / "notebooks"
SOURCES = solution_sources()


def _regions(text: str) -> tuple[set[str], set[str]]:
    """(lines inside solution or hidden-test regions, lines outside), stripped."""
    inside, outside, depth = set(), set(), 0
    for line in text.splitlines():
        stripped = line.strip()
        if re.search(r"### BEGIN (SOLUTION|HIDDEN TESTS)", stripped):
            depth += 1
            continue
        if re.search(r"### END (SOLUTION|HIDDEN TESTS)", stripped):
            depth -= 1
            continue
        (inside if depth else outside).add(stripped)
    return inside, outside


def _student_lines(path: Path) -> set[str]:
    nb = json.loads(path.read_text())
    return {line.strip() for cell in nb["cells"] for line in "".join(cell["source"]).splitlines()}


@pytest.mark.xdist_group("release")
def test_notebooks_are_not_stale(tmp_path):
    written = release(tmp_path)
    assert {p.parent.name for p in written} == set(SOURCES)
    for fresh in written:
        committed = NOTEBOOKS / fresh.parent.name / fresh.name
        assert committed.exists(), f"{committed} missing: run `make release`"
        assert committed.read_bytes() == fresh.read_bytes(), f"{committed} is stale: `make release`"
    extra = {p.parent.name for p in NOTEBOOKS.glob("*/*.ipynb")} - set(SOURCES)
    assert not extra, f"notebooks/ has assignments without a source: {extra}"


@pytest.mark.xdist_group("release")
def test_release_is_byte_for_byte_reproducible(tmp_path):
    first = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in release(tmp_path / "a")}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in release(tmp_path / "b")}
    assert first == second


@pytest.mark.parametrize("assignment", sorted(SOURCES))
def test_student_notebook_hides_solutions_and_hidden_tests(assignment):
    source = SOURCES[assignment]
    student = NOTEBOOKS / assignment / f"{source.stem}.ipynb"
    text = student.read_text()
    for marker in MARKERS:
        assert marker not in text, f"{student} contains {marker!r}"
    inside, outside = _regions(source.read_text())
    secret = {line for line in inside - outside if len(line) >= 8 and re.search(r"\w", line)}
    leaked = secret & _student_lines(student)
    assert not leaked, f"{student} shows lines that only the solution has: {sorted(leaked)[:5]}"
    nb = json.loads(text)
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("assignment", sorted(SOURCES))
def test_source_cells_follow_the_authoring_rules(assignment):
    nb = to_notebook(SOURCES[assignment])
    answers, tests = {}, {}
    for cell in cells.code_cells(nb):
        meta = cells.meta(cell)
        if cells.kind(cell) == "answer":
            answers[meta["grade_id"]] = cell.source
        if meta.get("grade"):
            assert meta.get("locked"), f"{meta['grade_id']}: test cells must be locked"
            assert meta.get("points", 0) > 0, f"{meta['grade_id']}: test cells carry points"
            tests[meta["grade_id"]] = cell.source
    assert answers and tests
    for grade_id, source in tests.items():
        assert grade_id.startswith("test_"), f"test cell {grade_id} must be named test_<name>"
        assert "cnnlab.testing" in source, f"{grade_id} must check with cnnlab.testing"
        assert "sys.stderr" not in source, f"{grade_id} must not write to stderr"
    for grade_id, source in answers.items():
        assert "### BEGIN SOLUTION" in source, f"answer cell {grade_id} has no solution region"


def _readme_times() -> dict[str, str]:
    """Notebook number -> the time column of the README's table of notebooks."""
    rows = re.findall(r"^\| (\d\d) \| .*\| ([^|]+) \|$", (ROOT / "README.md").read_text(), re.M)
    return {number: time.strip() for number, time in rows}


@pytest.mark.parametrize("assignment", sorted(SOURCES))
def test_intro_time_matches_the_readme_table(assignment):
    """Each notebook's intro says "**Time:** about X" and the README's table gives the same X."""
    text = SOURCES[assignment].read_text()
    found = re.search(r"\*\*Time:\*\* about (.+?)\.(?:\s|$)", text.replace("\n# ", " "))
    assert found, f"{assignment}: its intro has no '**Time:** about ...' sentence"
    intro = found.group(1).replace(" hours", " h").replace(" hour", " h").replace(" to ", "-")
    assert _readme_times().get(assignment[:2]) == intro, (
        f"{assignment}: the intro says about {found.group(1)!r}, the README table says "
        f"{_readme_times().get(assignment[:2])!r}"
    )


def test_no_released_notebook_shows_a_solution_or_a_hidden_test():
    """The release's visible cells (public tests, demos) hold no solution region and no hidden
    test of any notebook: a stand-in written in a public test cell can give an answer away (as
    04's test of sample_config once did with log_uniform's answer line). The site and bundle
    tests search the same way, but need chromium or cover two notebooks."""
    import nbformat

    from autograde.course.bundle import DISCLOSED, normalise, secrets

    hidden = secrets(ROOT / "solutions")
    assert hidden, "no solution region found: the search would prove nothing"
    for path in sorted((ROOT / "notebooks").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        flat = normalise("\n".join(cell.source for cell in nb.cells))
        leaks = [
            f"{s.kind} of {s.assignment}/{s.grade_id}"
            for s in hidden
            if s.text in flat and (s.assignment, s.grade_id) not in DISCLOSED
        ]
        assert not leaks, f"{path.relative_to(ROOT)} shows {leaks}"
