"""Gather submissions into ``DIR/submitted/<student>/<assignment>/<notebook>.ipynb``.

Accepted layouts:

- nbgrader's ``<student>/<assignment>/<notebook>.ipynb`` (any notebook name);
- a flat folder or a ``.zip`` exported by an LMS: ``<student>_<anything>.ipynb``
  (also ``<student>/<anything>.ipynb``).

Each notebook is matched to its assignment by the nbgrader ``grade_id`` values of its cells, not
by its file name; a notebook without usable metadata falls back to a folder named after an
assignment. Everything that could not be matched is reported, and nothing is executed.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde.cells import grade_ids
from autograde.notebook import Unreadable, read_notebook

MAX_ZIP_BYTES = 2 << 30


@dataclass
class Report:
    collected: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # file, student, a, how
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # file, why
    replaced: list[str] = field(default_factory=list)
    ignored: int = 0


def _student_of(rel: Path) -> str | None:
    parts = rel.parts
    if len(parts) >= 2:
        return parts[0]
    stem = rel.stem
    return stem.split("_")[0] if "_" in stem else None


def _safe_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9@.+-]", "_", name.strip()).strip("._")
    return name[:80] or "unknown"


def _extract(zip_path: Path, target: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        total = 0
        for info in zf.infolist():
            name = Path(info.filename)
            if info.is_dir() or name.is_absolute() or ".." in name.parts:
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:  # symlink
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise ValueError("zip archive too large")
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)


def collect(src: Path, course_dir: Path, sources: dict[str, Path] | None = None) -> Report:
    """Copy every notebook found under ``src`` to its place in ``course_dir/submitted``."""
    from autograde.grade import find_sources

    course_dir = Path(course_dir)
    sources = sources or find_sources(course_dir)
    known = {a: grade_ids(nbformat.read(p, 4)) for a, p in sources.items()}
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(src)
        if root.is_file() and zipfile.is_zipfile(root):
            _extract(root, Path(tmp))
            root = Path(tmp)
        chosen: dict[tuple[str, str], tuple[int, Path, str]] = {}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
                continue
            if not path.is_file() or path.is_symlink():
                continue
            if path.suffix != ".ipynb":
                report.ignored += 1
                continue
            student = _student_of(rel)
            if student is None:
                report.unmatched.append((str(rel), "no student name in the path or file name"))
                continue
            student = _safe_name(student)
            try:
                ids = grade_ids(read_notebook(path.read_bytes()))
            except Unreadable as exc:
                ids, why = set(), str(exc)
            else:
                why = "no nbgrader cells of any assignment"
            scores = {a: len(ids & k) for a, k in known.items()}
            best = max(scores, key=scores.get) if scores else None
            if best is not None and scores[best] > 0:
                assignment, how, rank = best, f"{scores[best]} grade ids", scores[best]
            else:
                folder = next((p for p in rel.parts[:-1] if p in known), None)
                if folder is None:
                    report.unmatched.append((str(rel), why))
                    continue
                assignment, how, rank = folder, f"folder name ({why})", 0
            key = (student, assignment)
            if key in chosen:
                report.replaced.append(f"{student}/{assignment}: several notebooks, kept the best")
                if chosen[key][0] >= rank:
                    continue
            chosen[key] = (rank, path, how)
        for (student, assignment), (_, path, how) in sorted(chosen.items()):
            target = course_dir / "submitted" / student / assignment / sources[assignment].name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            report.collected.append((path.name, student, assignment, how))
    return report


def print_report(report: Report) -> None:
    """Print what was collected and what was not."""
    for name, student, assignment, how in report.collected:
        print(f"collected {name} -> {student}/{assignment} (matched by {how})")
    for note in report.replaced:
        print(f"note: {note}")
    for name, why in report.unmatched:
        print(f"NOT MATCHED {name}: {why}")
    print(
        f"{len(report.collected)} notebooks collected, {len(report.unmatched)} not matched, "
        f"{report.ignored} other files ignored"
    )
