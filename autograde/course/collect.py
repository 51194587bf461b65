"""Gather submissions into ``DIR/submitted/<student>/<assignment>/<notebook>.ipynb``.

Accepted layouts:

- nbgrader's ``<student>/<assignment>/<notebook>.ipynb`` (any notebook name);
- a flat folder or a ``.zip`` exported by an LMS: ``<student>_<anything>.ipynb``
  (also ``<student>/<anything>.ipynb``).

Each notebook is matched to its assignment by the nbgrader ``grade_id`` values of its cells, not
by its file name; a notebook without usable metadata falls back to a folder named after an
assignment. Everything that could not be matched is reported, and nothing is executed.

Beside each collected notebook, ``submission.json`` keeps when it was submitted and how that
is known (:mod:`autograde.course.policy`): nbgrader's ``timestamp.txt`` next to it in an
nbgrader layout (``nbgrader-timestamp``), else the entry's time in an LMS archive (``archive``),
else the file's modification time (``file-mtime``, which a copy may have changed).
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from autograde.cells import grade_ids
from autograde.course.policy import nbgrader_timestamp, record_time
from autograde.judge.plan import Unreadable, read_notebook

MAX_ZIP_BYTES = 2 << 30


@dataclass
class Report:
    """What ``collect`` did, for the instructor."""

    collected: list[tuple[str, str, str, str]] = field(default_factory=list)  # file, id, a, how
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # file, why
    replaced: list[str] = field(default_factory=list)  # which of several notebooks was kept
    skipped: list[tuple[str, str]] = field(default_factory=list)  # archive entry, why
    students: dict[str, str] = field(default_factory=dict)  # student id -> name as submitted
    ignored: int = 0
    file_times: list[str] = field(default_factory=list)  # "student/assignment" by file mtime


@dataclass
class _Candidate:
    path: Path
    rel: Path
    how: str
    when: tuple | None  # the LMS's time of the archive entry, when there is one
    attempt: int | None  # "attempt 2", "try-3", "v4" in the file name


def _student_of(rel: Path) -> str | None:
    parts = rel.parts
    if len(parts) >= 2:
        return parts[0]
    stem = rel.stem
    return stem.split("_")[0] if "_" in stem else None


def student_id(name: str) -> str:
    """A folder name for the student ``name``: the name itself when it is already safe,
    else its safe part plus a short hash of the whole name, so that distinct names never merge
    (``a b`` and ``a?b``, ``josé`` and ``josè``). The name as submitted is kept in
    ``students.csv`` beside ``submitted/``."""
    safe = re.sub(r"[^A-Za-z0-9@.+-]", "_", name.strip()).strip("._-")[:60]
    if safe == name:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe or 'student'}-{digest}"


_ATTEMPT = re.compile(r"(?<![a-z])(?:attempt|try|submission|version|v)[ _-]*(\d{1,4})(?!\d)", re.I)


def _attempt(rel: Path) -> int | None:
    found = _ATTEMPT.findall(rel.stem)
    return int(found[-1]) if found else None


def _extract(zip_path: Path, target: Path, report: Report) -> dict[Path, tuple]:
    """Extract every readable member; list the others in ``report.skipped`` with a reason.

    Returns the archive's time of each extracted file (the LMS's submission time in the usual
    exports).
    """
    times: dict[Path, tuple] = {}
    with zipfile.ZipFile(zip_path) as zf:
        total = 0
        for info in zf.infolist():
            name = Path(info.filename)
            if info.is_dir():
                continue
            if name.is_absolute() or ".." in name.parts:
                report.skipped.append((info.filename, "path outside the archive"))
                continue
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                report.skipped.append((info.filename, "symbolic link"))
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                report.skipped.append((info.filename, "archive larger than 2 GiB; rest skipped"))
                break
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as e:
                out.unlink(missing_ok=True)
                report.skipped.append((info.filename, f"unreadable ({str(e)[:100]})"))
                continue
            times[out] = info.date_time
    return times


def collect(src: Path, course_dir: Path, sources: dict[str, Path] | None = None) -> Report:
    """Copy every notebook found under ``src`` to its place in ``course_dir/submitted``.

    Where a student has several notebooks for one assignment, the latest is kept: by the
    archive's time of the entry when the export has one, else by the attempt number in the file
    name, else by name; the report says which was kept and why.
    """
    from autograde.course.grade import find_sources

    course_dir = Path(course_dir)
    sources = sources or find_sources(course_dir)
    known = {a: grade_ids(nbformat.read(p, 4)) for a, p in sources.items()}
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(src)
        times: dict[Path, tuple] = {}
        if root.is_file() and zipfile.is_zipfile(root):
            times = _extract(root, Path(tmp), report)
            root = Path(tmp)
        found: dict[tuple[str, str], list[_Candidate]] = {}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
                continue
            if not path.is_file() or path.is_symlink():
                continue
            if path.suffix != ".ipynb":
                report.ignored += 1
                continue
            name = _student_of(rel)
            if name is None:
                report.unmatched.append((str(rel), "no student name in the path or file name"))
                continue
            try:
                ids = grade_ids(read_notebook(path.read_bytes()))
            except Unreadable as exc:
                ids, why = set(), str(exc)
            else:
                why = "no nbgrader cells of any assignment"
            scores = {a: len(ids & k) for a, k in known.items()}
            best = max(scores, key=scores.get) if scores else None
            if best is not None and scores[best] > 0:
                assignment, how = best, f"{scores[best]} grade ids"
            else:
                folder = next((p for p in rel.parts[:-1] if p in known), None)
                if folder is None:
                    report.unmatched.append((str(rel), why))
                    continue
                assignment, how = folder, f"folder name ({why})"
            sid = student_id(name)
            if report.students.setdefault(sid, name) != name:  # a hash collision: never merge
                sid = f"{sid}-{len(report.students)}"
                report.students[sid] = name
            candidate = _Candidate(path, rel, how, times.get(path), _attempt(rel))
            found.setdefault((sid, assignment), []).append(candidate)
        for (sid, assignment), candidates in sorted(found.items()):
            kept = _latest(candidates, f"{sid}/{assignment}", report)
            target = course_dir / "submitted" / sid / assignment / sources[assignment].name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(kept.path, target)
            when, how = _submitted_at(kept)
            record_time(target.parent, when, how, str(kept.rel))
            if how == "file-mtime":
                report.file_times.append(f"{sid}/{assignment}")
            report.collected.append((kept.path.name, sid, assignment, kept.how))
    _write_students(course_dir, report.students)
    return report


def _latest(candidates: list[_Candidate], who: str, report: Report) -> _Candidate:
    if len(candidates) == 1:
        return candidates[0]
    times = {c.when for c in candidates}
    if None not in times and len(times) == len(candidates):
        rule, key = "the latest archive time", lambda c: c.when
    elif all(c.attempt is not None for c in candidates):
        rule, key = "the highest attempt number", lambda c: c.attempt
    else:
        rule, key = "the last file name (no time or attempt number to go by)", lambda c: str(c.rel)
    ordered = sorted(candidates, key=lambda c: (key(c), str(c.rel)))
    dropped = ", ".join(str(c.rel) for c in ordered[:-1])
    report.replaced.append(
        f"{who}: {len(candidates)} notebooks, kept {ordered[-1].rel} ({rule}); dropped {dropped}"
    )
    return ordered[-1]


def _submitted_at(kept: _Candidate) -> tuple[datetime, str]:
    """When ``kept`` was submitted and how that is known (see the module docstring)."""
    stamp = nbgrader_timestamp(kept.path.parent) if len(kept.rel.parts) > 1 else None
    if stamp is not None:
        return stamp, "nbgrader-timestamp"
    if kept.when is not None:
        return datetime(*kept.when), "archive"  # local time of the LMS: naive
    return datetime.fromtimestamp(kept.path.stat().st_mtime, timezone.utc), "file-mtime"


def read_students(course_dir: Path) -> dict[str, str]:
    """``course_dir/students.csv`` as ``{id: name as submitted}`` (empty when missing)."""
    path = Path(course_dir) / "students.csv"
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {r["id"]: r["name"] for r in csv.DictReader(f)}


def _write_students(course_dir: Path, students: dict[str, str]) -> None:
    """Merge ``students`` into ``course_dir/students.csv`` (id, name as submitted)."""
    path = course_dir / "students.csv"
    rows = read_students(course_dir)
    rows.update(students)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name"])
        for sid, name in sorted(rows.items()):
            writer.writerow([sid, name])


def print_report(report: Report) -> None:
    """Print what was collected and what was not."""
    for name, student, assignment, how in report.collected:
        print(f"collected {name} -> {student}/{assignment} (matched by {how})")
    for note in report.replaced:
        print(f"note: {note}")
    for sid, name in sorted(report.students.items()):
        if sid != name:
            print(f"note: student {name!r} is collected as {sid} (see students.csv)")
    for name, why in report.unmatched:
        print(f"NOT MATCHED {name}: {why}")
    for name, why in report.skipped:
        print(f"SKIPPED archive entry {name}: {why}")
    if report.file_times:
        print(
            f"note: {len(report.file_times)} notebooks have no recorded submission time; their "
            "file times were kept (time_source file-mtime), e.g. " + report.file_times[0]
        )
    print(
        f"{len(report.collected)} notebooks collected, {len(report.unmatched)} not matched, "
        f"{len(report.skipped)} archive entries skipped, {report.ignored} other files ignored"
    )
