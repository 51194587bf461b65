"""Feedback for learners and grade tables for instructors.

A feedback page names each exercise as the notebook does ("Exercise 3: `relu_backward` (1
point)", from the markdown heading above its answer cell in the source notebook), gives its
points and our message with its hint on a line of its own, says how the score was computed (the
late penalty included), and lists what the grader had to repair, naming the cells by exercise
and section. It never contains a test cell's source (only :mod:`autograde.judge` messages, which
never quote it). Instructor-only information (tamper flags, isolation report) stays out of it.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

from autograde import cells

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; }
table { border-collapse: collapse; width: 100%; }
td, th { border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; text-align: left; }
.ok { color: #176317; } .fail { color: #a11; } small { color: #666; }
pre { white-space: pre-wrap; margin: 0; } .hint { margin: .4rem 0 0; }
"""
GRADE_FIELDS = [
    "student", "assignment", "score", "max_score", "status", "reason", "flags",
    "raw_score", "penalty", "late_days", "submitted_at", "time_source",
]  # fmt: skip
"""The columns of grades.csv before the points of each test cell."""

_EXERCISE = re.compile(r"\bExercise\s+\w+\s*:", re.I)
_PARTS = re.compile(r"[\s,]+and\s+(?=(?:Exercise\s+)?\w+\s*:)", re.I)
_HINT = re.compile(r"^\s*hint:\s*", re.I)


def _points(value: float) -> str:
    return f"{value:g} point{'s' if value != 1 else ''}"


def exercise_titles(nb) -> dict[str, dict]:
    """How the notebook names each nbgrader cell: ``{grade_id: {title, section, kind}}``.

    ``title`` is the exercise as its markdown heading gives it ("Exercise 2b: `relu_backward`
    (1 point)": of a heading with several exercises, the part naming the answer; a heading that
    names other answers only is not this answer's); a test cell
    ``test_<name>`` takes the title of ``<name>``, else of the answer above it; without an
    exercise heading the title is the answer's name and the test's points. ``section`` is the
    nearest heading above the cell that is not an exercise heading.
    """
    found: dict[str, dict] = {}
    section = exercise = last_answer = ""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            for line in str(cell.get("source", "")).splitlines():
                text = line.strip().lstrip("#").strip() if line.lstrip().startswith("#") else ""
                if text and _EXERCISE.search(text):
                    exercise = text
                elif text:
                    section = text
            continue
        gid, kind = cells.grade_id(cell), cells.kind(cell)
        if cell.get("cell_type") != "code" or not gid:
            continue
        title = f"`{gid}`"
        if kind == "answer":
            parts = [p if _EXERCISE.match(p) else f"Exercise {p}" for p in _PARTS.split(exercise)]
            named = [p for p in parts if f"`{gid}`" in p]
            if named:
                title = named[0]
            elif exercise and "`" not in exercise:  # "Exercise 10: three diagnoses" (q1, q2)
                title = f"{exercise}: `{gid}`"
            last_answer = gid
        elif kind == "test":
            answer = gid.removeprefix("test_")
            answer = answer if found.get(answer, {}).get("kind") == "answer" else last_answer
            title = found[answer]["title"] if answer in found else title
            if "point" not in title:
                title += f" ({_points(cells.points(cell))})"
        found[gid] = {"title": title, "section": section, "kind": kind}
    return found


def _where(gid: str, titles: dict[str, dict]) -> str:
    """The cell ``gid`` as a learner finds it: exercise and section."""
    info = titles[gid]
    what = {"test": "the test cell of ", "answer": "your answer to "}.get(info["kind"], "")
    where = f"{what}{info['title']}" if what else f"the provided cell {gid!r}"
    return where + (f', section "{info["section"]}"' if info["section"] else "")


def _notes(result: dict, titles: dict[str, dict]) -> list[str]:
    """The repairs and the errors of the learner's cells, cells named by exercise and section."""

    def placed(match):
        return f"{match[0]} ({_where(match[1], titles)})" if match[1] in titles else match[0]

    notes = [re.sub(r"'([^']+)'", placed, str(n)) for n in result.get("notes", [])]
    for error in result.get("cell_errors", []):
        head, sep, rest = str(error).partition(": ")
        if sep and head in titles:
            error = f"{_where(head, titles)}: {rest}"
        notes.append(f"error in {error}")
    return notes


def _title_html(text: str) -> str:
    """Escaped text with `backticks` as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _message_html(message: str) -> str:
    """Our message in ``<pre>``, each hint in a paragraph of its own."""
    body, hints = [], []
    for line in str(message).splitlines():
        (hints if _HINT.match(line) else body).append(_HINT.sub("", line))
    out = f"<pre>{html.escape(chr(10).join(body))}</pre>" if body else ""
    return out + "".join(f"<p class='hint'><b>Hint:</b> {html.escape(h)}</p>" for h in hints)


def _computation(result: dict) -> list[str]:
    """How the score was computed, one sentence per item (late policy included)."""
    raw = float(result.get("raw_score", result.get("score", 0)) or 0)
    top, score = float(result.get("max_score", 0) or 0), float(result.get("score", 0) or 0)
    lines = [
        "Each test cell earns its points when every check in it passes, the hidden checks "
        f"included: {raw:g} of {top:g} points."
    ]
    lines += list(result.get("late") or [])
    penalty = float(result.get("penalty", 0) or 0)
    total = f"{raw:g} - {penalty:g} = {score:g}" if penalty else f"{score:g}"
    return lines + [f"Final score: {total} / {top:g}."]


def feedback_html(
    student: str, assignment: str, notebook: str, result: dict, titles: dict | None = None
) -> str:
    """The feedback page of one graded notebook (``titles`` from :func:`exercise_titles`)."""
    esc, titles = html.escape, titles or {}
    rows = []
    for test in result.get("tests", []):
        gid = test["grade_id"]
        name = titles.get(gid, {}).get("title", f"`{gid}`")
        rows.append(
            f"<tr><td>{_title_html(name)}<br><small>{esc(gid)}</small></td>"
            f"<td>{test['points']:g} / {test['max_points']:g}</td>"
            f"<td class='{'ok' if test['passed'] else 'fail'}'>"
            f"{'passed' if test['passed'] else 'failed'}</td>"
            f"<td>{_message_html(test.get('message', ''))}</td></tr>"
        )
    notes = _notes(result, titles)
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
    parts.append("<h2>How your score was computed</h2><ul>")
    parts.extend(f"<li>{esc(line)}</li>" for line in _computation(result))
    parts.append("</ul>")
    parts.append(
        "<table><tr><th>exercise</th><th>points</th><th>result</th><th>message</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if notes:
        parts.append("<h2>Notes</h2><ul>")
        parts.extend(f"<li>{esc(n)}</li>" for n in notes[:50])
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_feedback(
    course_dir: Path,
    student: str,
    assignment: str,
    notebook: str,
    result: dict,
    titles: dict | None = None,
):
    """Write ``feedback/<student>/<assignment>/<notebook>.html``; return its path."""
    path = course_dir / "feedback" / student / assignment / f"{notebook}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    page = feedback_html(student, assignment, notebook, result, titles)
    path.write_text(page, encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[dict]) -> None:
    """grades.csv: one row per student and assignment, points per exercise as columns."""
    exercises: list[str] = []
    for row in rows:
        for test in row.get("tests", []):
            if test["grade_id"] not in exercises:
                exercises.append(test["grade_id"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(GRADE_FIELDS + exercises)
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
                    f"{row.get('raw_score', row.get('score', 0)):g}",
                    f"{row.get('penalty', 0):g}",
                    str(int(row.get("late_days", 0) or 0)),
                    csv_text(row.get("submitted_at", "")),
                    csv_text(row.get("time_source", "")),
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
        w = max([len(r["assignment"]) for r in rows] + [10])  # assignment names in full
        head = f"{'student':<16} {'assignment':<{w}} {'score':>7}  {'status':<14} reason"
        lines.append(head)
        lines.append("-" * len(head))
        for r in sorted(rows, key=lambda r: (r["student"], r["assignment"])):
            score = f"{r.get('score', 0):g}/{r.get('max_score', 0):g}"
            flag = " [flagged]" if r.get("flags") else ""
            if r.get("penalty"):
                flag += f" [late {r.get('late_days', 0)}d: -{r['penalty']:g}]"
            lines.append(
                f"{r['student'][:16]:<16} {r['assignment']:<{w}} {score:>7}  "
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
