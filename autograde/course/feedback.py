"""Feedback for learners and grade tables for instructors.

Feedback HTML shows, for each graded test: its name, points, passed or not, and the failure
message; plus what the grader had to repair and the errors of the learner's own cells. It never
contains a test cell's source (only :mod:`autograde.judge` messages, which never quote it).
Instructor-only information (tamper flags, isolation report) stays out of it.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; text-align: left; }
.ok { color: #176317; } .fail { color: #a11; }
pre { white-space: pre-wrap; margin: 0; }
"""


def feedback_html(student: str, assignment: str, notebook: str, result: dict) -> str:
    """The feedback page of one graded notebook."""
    esc = html.escape
    rows = []
    for test in result.get("tests", []):
        status = "passed" if test["passed"] else "failed"
        rows.append(
            f"<tr><td>{esc(test['grade_id'])}</td>"
            f"<td>{test['points']:g} / {test['max_points']:g}</td>"
            f"<td class='{'ok' if test['passed'] else 'fail'}'>{status}</td>"
            f"<td><pre>{esc(test.get('message', ''))}</pre></td></tr>"
        )
    notes = [n for n in result.get("notes", [])] + [
        f"error in {e}" for e in result.get("cell_errors", [])
    ]
    reason = result.get("reason", "")
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(assignment)} - {esc(student)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(assignment)} / {esc(notebook)}</h1>",
        f"<p>Student: {esc(student)}<br>Score: <b>{result.get('score', 0):g} / "
        f"{result.get('max_score', 0):g}</b></p>",
    ]
    if reason:
        parts.append(f"<p>Note: {esc(reason)}</p>")
    parts.append(
        "<table><tr><th>test</th><th>points</th><th>result</th><th>message</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if notes:
        parts.append("<h2>Notes</h2><ul>")
        parts.extend(f"<li>{esc(n)}</li>" for n in notes[:50])
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_feedback(course_dir: Path, student: str, assignment: str, notebook: str, result: dict):
    """Write ``feedback/<student>/<assignment>/<notebook>.html``; return its path."""
    path = course_dir / "feedback" / student / assignment / f"{notebook}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(student, assignment, notebook, result), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> None:
    """grades.csv: one row per student and assignment, points per exercise as columns."""
    exercises: list[str] = []
    for row in rows:
        for test in row.get("tests", []):
            if test["grade_id"] not in exercises:
                exercises.append(test["grade_id"])
    fields = ["student", "assignment", "score", "max_score", "status", "reason", "flags"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(fields + exercises)
        for row in sorted(rows, key=lambda r: (r["assignment"], r["student"])):
            points = {t["grade_id"]: f"{t['points']:g}" for t in row.get("tests", [])}
            writer.writerow(
                [
                    csv_text(row["student"]),
                    csv_text(row["assignment"]),
                    f"{row.get('score', 0):g}",
                    f"{row.get('max_score', 0):g}",
                    csv_text(row.get("status", "")),
                    csv_text(row.get("reason", "")),
                    csv_text("; ".join(_one_line(f) for f in row.get("flags", []))),
                ]
                + [points.get(e, "") for e in exercises]
            )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\ufe62", "\uff0b", "\uff0d", "\uff20")


def csv_text(text: str) -> str:
    """One line of text for a spreadsheet cell; never read as a formula.

    Text a learner can influence (a reason that quotes an error message, a student's name) is
    prefixed with a quote when it starts like a formula (``= + - @``, their full-width forms,
    tab or carriage return), as OWASP's CSV-injection advice says.
    """
    line = _one_line(text)
    return "'" + line if line.startswith(_FORMULA) else line


def summary_table(rows: list[dict], limit: int = 60) -> str:
    """A plain-text table of the rows (or per-assignment totals when there are many)."""
    lines = []
    if len(rows) <= limit:
        head = f"{'student':<16} {'assignment':<20} {'score':>11}  {'status':<14} reason"
        lines.append(head)
        lines.append("-" * len(head))
        for r in sorted(rows, key=lambda r: (r["student"], r["assignment"])):
            score = f"{r.get('score', 0):g}/{r.get('max_score', 0):g}"
            flag = " [flagged]" if r.get("flags") else ""
            lines.append(
                f"{r['student'][:16]:<16} {r['assignment'][:20]:<20} {score:>11}  "
                f"{r.get('status', ''):<14} {_one_line(r.get('reason', ''))[:70]}{flag}"
            )
        return "\n".join(lines)
    by_assignment: dict[str, list[dict]] = {}
    for r in rows:
        by_assignment.setdefault(r["assignment"], []).append(r)
    lines.append(f"{'assignment':<20} {'graded':>7} {'mean':>7} {'problems':>9} {'flagged':>8}")
    for name, group in sorted(by_assignment.items()):
        scores = [g.get("score", 0) for g in group]
        problems = sum(g.get("status") not in ("ok",) for g in group)
        flagged = sum(bool(g.get("flags")) for g in group)
        mean = sum(scores) / len(scores)
        lines.append(f"{name:<20} {len(group):>7} {mean:>7.2f} {problems:>9} {flagged:>8}")
    return "\n".join(lines)
