"""``cnnlab-grade export``: grades into the LMS the class already uses.

``export canvas`` turns ``DIR/grades.csv`` into a Canvas gradebook import file; ``export
gradescope`` builds a Gradescope autograder (:mod:`autograde.course.gradescope`).

Canvas matches an import row to a student by its ``ID``, ``SIS User ID`` or ``SIS Login ID``
and an assignment column by its header (``Lab 1 (4567)`` updates the existing assignment 4567,
an unknown header creates a new one). With the roster exported from Canvas (Grades > Export),
each of our students is matched to a roster row by, in this order: SIS Login ID, SIS User ID,
Canvas ID, the part of the SIS Login ID before ``@``, then the name as Canvas writes it in a
submissions download (``Doe, Jane`` -> ``doejane``); a key counts only when exactly one roster
row has it. A student who matches nothing (or a row another student already took) is listed
and still written, at the end, with ``SIS Login ID`` = our student id, so that Canvas's import
preview offers to match them by hand: no grade is lost.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from autograde.course.feedback import csv_text

IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
_KEYS = (  # (how a student is matched, the roster row's key of that kind)
    ("SIS Login ID", lambda row: row.get("SIS Login ID", "")),
    ("SIS User ID", lambda row: row.get("SIS User ID", "")),
    ("Canvas ID", lambda row: row.get("ID", "")),
    ("login before @", lambda row: row.get("SIS Login ID", "").split("@")[0]),
)


def _fold(text: str) -> str:
    return str(text).strip().casefold()


def squashed(name: str) -> str:
    """A name as Canvas writes it in a submissions download: ``Doe, Jane`` -> ``doejane``."""
    return re.sub(r"[\W_]+", "", str(name).casefold())


def read_grades(course_dir: Path) -> tuple[list[dict], dict[str, str]]:
    """The rows of ``DIR/grades.csv`` and ``{student id: name as submitted}``.

    Text cells of grades.csv that started like a formula carry a leading ``'``; student ids
    are given back as ``collect`` wrote them (``students.csv``, else the folder names).
    """
    names: dict[str, str] = {}
    path = course_dir / "students.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            names = {r["id"]: r["name"] for r in csv.DictReader(f) if r.get("id")}
    submitted = course_dir / "submitted"
    if submitted.is_dir():
        for folder in submitted.iterdir():
            names.setdefault(folder.name, folder.name)
    unquote = {csv_text(sid): sid for sid in names}
    grades = course_dir / "grades.csv"
    if not grades.exists():
        raise SystemExit(f"{grades} not found: run `cnnlab-grade grade --course-dir {course_dir}`")
    with open(grades, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["student"] = unquote.get(row["student"], row["student"])
        names.setdefault(row["student"], row["student"])
    return rows, names


def read_roster(path: Path) -> tuple[list[dict], list[str]]:
    """The student rows of a Canvas gradebook export and its header.

    The ``Points Possible`` and ``Manual Posting`` rows (no Canvas ID) are skipped.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        missing = [c for c in ("Student", "ID") if c not in header]
        if missing:
            raise SystemExit(f"{path}: not a Canvas gradebook export (no {', '.join(missing)})")
        rows = []
        for row in reader:
            row = {k: (v or "").strip() for k, v in row.items() if k}
            if row.get("ID") and row.get("Student") not in ("Points Possible", ""):
                rows.append(row)
    return rows, header


def match(students: dict[str, str], roster: list[dict]) -> tuple[dict, list, list]:
    """Match student ids to roster rows.

    Returns
    -------
    matched : dict
        ``{student id: (how, roster row index)}``.
    unmatched : list of (student id, reason)
    notes : list of str
        Keys shared by several roster rows (never used to match).
    """
    index: list[dict[str, list[int]]] = []
    for _, key in _KEYS:
        found: dict[str, list[int]] = {}
        for i, row in enumerate(roster):
            if _fold(key(row)):
                found.setdefault(_fold(key(row)), []).append(i)
        index.append(found)
    by_name: dict[str, list[int]] = {}
    for i, row in enumerate(roster):
        by_name.setdefault(squashed(row["Student"]), []).append(i)
    matched, unmatched, notes, taken = {}, [], [], {}
    for sid in sorted(students):
        candidates = [(how, found.get(_fold(sid), [])) for (how, _), found in zip(_KEYS, index)]
        candidates.append(
            ("name", by_name.get(squashed(students[sid]), []) if students[sid] else [])
        )
        hit = next(((how, rows[0]) for how, rows in candidates if len(rows) == 1), None)
        several = [how for how, rows in candidates if len(rows) > 1]
        if several:
            notes.append(f"{sid}: several roster rows share its {several[0]}; not used")
        if hit is None:
            unmatched.append((sid, "no roster row has this id or name"))
        elif hit[1] in taken:
            other = roster[hit[1]]["Student"]
            unmatched.append(
                (sid, f"its roster row ({other}) is already matched by {taken[hit[1]]}")
            )
        else:
            matched[sid] = hit
            taken[hit[1]] = sid
    return matched, unmatched, notes


def column_names(assignments: list[str], renames: dict[str, str], header: list[str]) -> list[str]:
    """Each assignment's column: its configured name, or the roster's ``NAME (canvas id)``."""
    names = []
    for assignment in assignments:
        name = renames.get(assignment, assignment)
        pattern = re.compile(rf"^{re.escape(name)}\s*\(\d+\)$")
        names.append(next((h for h in header if h == name or pattern.match(h)), name))
    return names


def canvas_csv(
    course_dir: Path, out: Path, roster_path: Path | None = None, renames: dict | None = None
) -> dict:
    """Write the Canvas gradebook import CSV; return what was matched and what was not.

    Scores are ``grades.csv``'s ``score`` (the final score, after any late penalty); a
    ``missing`` submission is left blank, which Canvas reads as "no change".
    """
    rows, names = read_grades(course_dir)
    assignments = list(dict.fromkeys(r["assignment"] for r in rows))
    scores = {(r["student"], r["assignment"]): r for r in rows}
    possible = {
        a: max(float(r["max_score"] or 0) for r in rows if r["assignment"] == a)
        for a in assignments
    }
    graded = {r["student"] for r in rows}
    roster, header = read_roster(roster_path) if roster_path else ([], IDENTITY)
    matched, unmatched, notes = (
        match({s: names[s] for s in graded}, roster) if roster else ({}, [], [])
    )
    unknown = sorted(set(renames or {}) - set(assignments))
    notes += [f"--column {a}=...: no such assignment in grades.csv" for a in unknown]
    columns = column_names(assignments, renames or {}, header)

    def cells(sid):
        out_cells = []
        for a in assignments:
            row = scores.get((sid, a))
            ok = row is not None and row.get("status") != "missing"
            out_cells.append(f"{float(row['score'] or 0):g}" if ok else "")
        return out_cells

    owner = {i: sid for sid, (_, i) in matched.items()}
    body = []
    for i, person in enumerate(roster):
        body.append(
            [person.get(c, "") for c in IDENTITY]
            + (cells(owner[i]) if i in owner else [""] * len(assignments))
        )
    rest = [s for s in sorted(graded) if s not in matched]
    for sid in rest:
        body.append([names.get(sid) or sid, "", "", sid, ""] + cells(sid))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([csv_text(c) for c in IDENTITY + columns])
        writer.writerow(
            ["Points Possible", "", "", "", ""] + [f"{possible[a]:g}" for a in assignments]
        )
        writer.writerows([csv_text(c) for c in line] for line in body)
    return {
        "matched": matched,
        "unmatched": unmatched if roster else [],
        "without_grades": [roster[i]["Student"] for i in range(len(roster)) if i not in owner],
        "students": len(graded),
        "columns": dict(zip(assignments, columns)),
        "notes": notes,
    }


def print_canvas_report(report: dict, out: Path, roster: Path | None) -> None:
    """Say what was written, who was matched how, and who was not."""
    for assignment, column in report["columns"].items():
        print(f"column {column!r} <- {assignment}")
    for note in report["notes"]:
        print(f"note: {note}")
    for sid, why in report["unmatched"]:
        print(f"NOT MATCHED {sid}: {why} (kept at the end with SIS Login ID {sid})")
    if report["without_grades"]:
        shown = ", ".join(report["without_grades"][:20])
        more = len(report["without_grades"]) - 20
        print(f"roster students without grades: {shown}" + (f" (+{more} more)" if more > 0 else ""))
    if roster is None:
        print("no --roster: students are identified by SIS Login ID = their cnnlab student id")
    print(
        f"wrote {out}: {report['students']} students, {len(report['matched'])} matched through "
        f"the roster, {len(report['unmatched'])} not matched"
    )


def _column(text: str) -> tuple[str, str]:
    assignment, sep, name = text.partition("=")
    if not sep or not assignment.strip() or not name.strip():
        raise argparse.ArgumentTypeError(f"expected ASSIGNMENT=NAME, got {text!r}")
    return assignment.strip(), name.strip()


def register(subparsers) -> None:
    """Add ``export canvas`` and ``export gradescope`` to cnnlab-grade's subcommands."""
    from autograde.course.cli import _add_limits

    p = subparsers.add_parser("export", help="grades into Canvas, or a Gradescope autograder")
    kinds = p.add_subparsers(dest="export_kind", required=True)
    c = kinds.add_parser("canvas", help="a Canvas gradebook import CSV from DIR/grades.csv")
    c.add_argument("--course-dir", required=True, type=Path)
    c.add_argument(
        "--roster", type=Path, default=None, help="the gradebook CSV exported from Canvas"
    )
    c.add_argument(
        "--column", type=_column, action="append", default=[], metavar="ASSIGNMENT=NAME",
        help="the Canvas column of an assignment (repeatable; default: the assignment id)",
    )  # fmt: skip
    c.add_argument("--out", type=Path, default=None, help="default DIR/canvas-grades.csv")
    g = kinds.add_parser("gradescope", help="a Gradescope autograder zip for one assignment")
    g.add_argument("assignment", help="e.g. 01-convolution")
    g.add_argument("--out", type=Path, default=Path("autograder.zip"))
    g.add_argument("--source", type=Path, default=None, help="the instructor notebook to use")
    g.add_argument("--course-dir", type=Path, default=None, help="take DIR/source/ASSIGNMENT")
    g.add_argument("--wheel", type=Path, default=None, help="a prebuilt cnnlab wheel")
    g.add_argument(
        "--visibility", default="after_published",
        choices=["hidden", "after_due_date", "after_published", "visible"],
        help="when learners see each test's result (default after_published)",
    )  # fmt: skip
    g.add_argument("--notebook-timeout", type=float, default=480.0, help="seconds per notebook")
    _add_limits(g)


def run(args) -> int:
    """Run ``cnnlab-grade export ...``; return the exit status."""
    if args.export_kind == "canvas":
        out = args.out or args.course_dir / "canvas-grades.csv"
        report = canvas_csv(args.course_dir, out, args.roster, dict(args.column))
        print_canvas_report(report, out, args.roster)
        return 0
    from autograde.course.cli import _options
    from autograde.course.gradescope import build_zip

    options = dict(_options(args), notebook_timeout=float(args.notebook_timeout))
    path = build_zip(
        args.assignment,
        args.out,
        source=args.source,
        course_dir=args.course_dir,
        wheel=args.wheel,
        options=options,
        visibility=args.visibility,
    )
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")
    return 0
