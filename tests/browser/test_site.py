"""The course website (``make site``) shows the student release and nothing a learner must not see.

These tests read the built files; they need no browser. ``test_site_browser.py`` opens the pages.
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograde import cells
from autograde.build import site
from autograde.build.release import SOLUTIONS, release, solution_sources
from autograde.cells import MARKERS
from autograde.course.bundle import normalise, secrets

TEXT_SUFFIXES = {".html", ".js", ".txt", ".ipynb", ".json", ".inv", ".md", ".css"}
# strings of the instructor's source that no page may hold
INSTRUCTOR_ONLY = [f"### {m}" for m in MARKERS] + ["BEGIN MARK SCHEME", "END MARK SCHEME"]
EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"
    r"\b(?:src|href|srcset|data)\s*=\s*[\"']\s*(?:https?:)?//",
    re.I,
)
CSS_EXTERNAL = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])\s*(?:https?:)?//", re.I)


def site_texts(html_dir: Path):
    """(relative path, readable text) of every text file of the built site but MathJax's."""
    for path in sorted(html_dir.rglob("*")):
        rel = path.relative_to(html_dir)
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "mathjax" in rel.parts:
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":  # the text a reader sees: tags out, entities decoded
            raw = html.unescape(re.sub(r"<[^>]+>", "", raw))
        elif path.suffix == ".ipynb":  # cell sources and text outputs, lines as written
            nb = nbformat.reads(raw, as_version=4)
            raw += "\n" + "\n".join(
                [c.source for c in nb.cells]
                + [o.get("text", "") for c in cells.code_cells(nb) for o in c.get("outputs", [])]
            )
        yield str(rel), raw


def find_leaks(html_dir: Path) -> list[str]:
    """Every solution region, hidden-test region and instructor-only string found in the site."""
    hidden = secrets(SOLUTIONS)
    assert hidden, "no solution region found in solutions/: the search would prove nothing"
    leaks = []
    for rel, text in site_texts(html_dir):
        leaks += [f"{rel}: {s!r}" for s in INSTRUCTOR_ONLY if s in text]
        flat = normalise(text)
        leaks += [
            f"{rel}: {s.kind} of {s.assignment}/{s.grade_id}" for s in hidden if s.text in flat
        ]
    return leaks


def test_no_solution_hidden_test_or_instructor_string_in_any_page(site_html):
    leaks = find_leaks(site_html)
    assert not leaks, f"{len(leaks)} leaks in the built site:\n" + "\n".join(leaks[:40])


def test_the_leak_search_finds_an_answer_left_in_a_page(tmp_path):
    """The search above is not blind: an executed notebook that skipped ClearSolutions leaks."""
    assignment, source = next(iter(solution_sources().items()))
    from autograde.build.release import to_notebook

    nb = to_notebook(source)
    page = tmp_path / "page.html"
    code = "\n".join(c.source for c in nb.cells if cells.kind(c) == "answer")
    page.write_text(f"<pre>{html.escape(code)}</pre>")
    leaks = find_leaks(tmp_path)
    assert any(f"solution of {assignment}/" in leak for leak in leaks), leaks[:5]
    assert any("### BEGIN SOLUTION" in leak for leak in leaks), leaks[:5]


def test_no_page_loads_anything_from_another_host(site_html):
    found = []
    for path in sorted(site_html.rglob("*")):
        if path.suffix == ".html":
            text = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(site_html)}: {m[:120]}" for m in EXTERNAL.findall(text)]
            scripts = re.findall(r"<script[^>]*>(.*?)</script>", text, re.S)
            found += [
                f"{path.relative_to(site_html)}: inline script loads {url}"
                for body in scripts
                for url in re.findall(r"[\"'](https?://[^\"']+\.(?:js|css))[\"']", body)
            ]
        elif path.suffix == ".css":
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.relative_to(site_html)}: {m}" for m in CSS_EXTERNAL.findall(text)]
    assert not found, "\n".join(found[:40])
    index = (site_html / "index.html").read_text(encoding="utf-8")
    assert '_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"' in index


def _page_notebooks(site_html: Path) -> dict[str, nbformat.NotebookNode]:
    src = site_html.parent / "src"
    if not src.is_dir():
        pytest.skip(f"no source folder beside {site_html} (built elsewhere?)")
    return {
        a: nbformat.read(src / "notebooks" / a / f"{p.stem}.ipynb", as_version=4)
        for a, p in solution_sources().items()
    }


def test_pages_hold_exactly_the_cells_of_the_student_release(site_html):
    pages = _page_notebooks(site_html)
    with tempfile.TemporaryDirectory() as tmp:
        released = {p.parent.name: nbformat.read(p, as_version=4) for p in release(Path(tmp))}
    for assignment, nb in pages.items():
        want = [(c.cell_type, c.source) for c in released[assignment].cells]
        got = [(c.cell_type, c.source) for c in nb.cells]
        assert got == want, f"{assignment}: the page's cells differ from the student release"
        for cell in cells.code_cells(nb):
            if cells.kind(cell) in ("answer", "test"):
                assert not cell.outputs, f"{assignment}/{cells.grade_id(cell)} kept its outputs"
        pngs = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
        assert pngs > 0, f"{assignment}: the page has no figure"


def test_landing_page_lists_every_notebook_from_its_intro(site_html):
    text = html.unescape(re.sub(r"<[^>]+>", " ", (site_html / "index.html").read_text()))
    text = " ".join(text.split())
    for assignment, source in solution_sources().items():
        from autograde.build.release import to_notebook

        title, spent, points = site.intro(to_notebook(source))
        assert title and spent and points, f"{assignment}: intro box without title/time/points"
        name = title.partition(" · ")[2] or title
        assert name in text, f"landing page does not list {title!r}"
        assert spent in text, f"landing page does not give {assignment}'s time ({spent!r})"
        page = site_html / "notebooks" / assignment / f"{source.stem}.html"
        assert page.exists(), f"no page {page}"
    assert "Run the notebooks locally" in text and "Get graded" in text
