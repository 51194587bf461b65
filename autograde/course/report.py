"""``cnnlab-grade report``: one HTML page that shows what the class got wrong.

Per assignment: the score distribution (a matplotlib histogram embedded as a base64 PNG), the
share of students with full, partial and zero points per exercise (and how many left the stub
that raises ``NotImplementedError``), the most frequent failure messages (first line, numbers
as ``#`` so that one message on different inputs groups together), how many students made each
*known mistake* (the ``hint:`` lines ``cnnlab.testing`` adds when an answer reproduces a
mistake a test names), the students behind every status other than ``ok``, flags for the
instructor and the grading time.

It reads ``DIR/grades.csv`` (the scores, as the last ``grade`` run wrote them) and the results
``grade`` caches in ``DIR/.cnnlab-grade/results/<student>/<assignment>.json`` (messages, times,
isolation). The page loads nothing: no script, no external resource, and a Content-Security-Policy
that forbids them; every learner-controlled text (student ids, messages, reasons, notes) is
HTML-escaped.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from autograde import cells
from autograde.course.feedback import csv_text

TOP = 10
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?!\w)"  # 3, -0.5, 1e-07
    r"|\b(?:nan|inf)\b"
)
_HINT = re.compile(r"^\s*hint:\s*(.+?)\s*$", re.M)
_UNGRADED = ("missing", "unreadable", "wrong-notebook", "grader-error")  # tests never ran
_FIXED = ("student", "assignment", "score", "max_score", "status", "reason", "flags")

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: .25rem .5rem; vertical-align: top; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: flex; width: 12rem; height: .9rem; } .bar span { display: block; height: 100%; }
.full { background: #3a7d3a; } .part { background: #e0a526; } .zero { background: #b33; }
code, pre { white-space: pre-wrap; margin: 0; }
h2 { border-top: 2px solid #444; padding-top: 1rem; }
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def normalise(message: str) -> str:
    """The first line of a failure message with every number replaced by ``#``.

    >>> normalise("conv out: shape (2, 3, 5, 5) != expected (2, 3, 4, 4).\\n  hint: stride")
    'conv out: shape (#, #, #, #) != expected (#, #, #, #).'
    """
    first = next((line.strip() for line in str(message).splitlines() if line.strip()), "")
    return _NUMBER.sub("#", first)[:300]


def hints(message: str) -> list[str]:
    """The ``hint:`` lines of a check's failure message (none for an exception of the learner's).

    A message that starts "your code raised" quotes the learner's own exception, whose text the
    learner chose, so its hint lines are not counted as known mistakes.
    """
    message = str(message)
    if message.startswith("your code raised "):
        return []
    return [" ".join(h.split()) for h in _HINT.findall(message)]


def _float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _read_results(course_dir: Path) -> dict[tuple[str, str], dict]:
    """Cached results keyed as grades.csv writes them: ``(csv_text(student), csv_text(a))``."""
    found = {}
    for path in sorted((course_dir / ".cnnlab-grade" / "results").glob("*/*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(result, dict):
            student = str(result.get("student", path.parent.name))
            assignment = str(result.get("assignment", path.stem))
            found[(csv_text(student), csv_text(assignment))] = dict(result, student=student)
    return found


def _exercise_titles(course_dir: Path, assignment: str) -> dict[str, tuple[str, float]]:
    """grade_id -> (the section heading above its test cell, points), from the source notebook."""
    found = sorted((course_dir / "source" / assignment).glob("*.ipynb"))
    if not found:
        return {}
    import nbformat

    nb = nbformat.read(found[0], 4)
    titles, heading = {}, ""
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            heads = [ln.lstrip("# ").strip() for ln in cell.source.splitlines() if ln[:2] == "##"]
            heading = heads[-1] if heads else heading
        elif cells.kind(cell) == "test" and cells.grade_id(cell):
            titles[cells.grade_id(cell)] = (heading, cells.points(cell))
    return titles


def load(course_dir: Path) -> dict[str, list[dict]]:
    """``{assignment: rows}`` from grades.csv, each row joined with its cached result.

    A row holds the grades.csv fields (``score`` and ``max_score`` as floats), ``columns`` (every
    other column with a value: the points per test cell) and ``result`` (the cached result, or
    None when it is missing or no longer matches grades.csv, which ``stale`` then says).
    """
    path = course_dir / "grades.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `cnnlab-grade grade --course-dir {course_dir}`")
    results = _read_results(course_dir)
    by_assignment: dict[str, list[dict]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            result = results.get((raw["student"], raw["assignment"]))
            columns = {k: v for k, v in raw.items() if k not in _FIXED and k and v}
            stale = result is not None and any(
                str(t.get("grade_id")) not in columns
                or abs(float(t.get("points", 0)) - _float(columns[str(t.get("grade_id"))])) > 1e-9
                for t in result.get("tests", [])
            )
            row = dict(raw, score=_float(raw["score"]), max_score=_float(raw["max_score"]))
            row.update(columns=columns, stale=stale, result=None if stale else result)
            row["display"] = result["student"] if result else raw["student"]
            by_assignment[raw["assignment"]].append(row)
    return dict(sorted(by_assignment.items()))


def _exercise_ids(rows: list[dict], titles: dict) -> dict[str, float]:
    """grade_id -> max points of the assignment's test cells (source first, then results)."""
    found = {gid: points for gid, (_, points) in titles.items()}
    for r in rows:
        for test in (r["result"] or {}).get("tests", []):
            found.setdefault(str(test.get("grade_id")), float(test.get("max_points", 0)))
    return found


def summarise(rows: list[dict], titles: dict | None = None, top: int = TOP) -> dict:
    """The numbers of one assignment's section (pure: the tests check them against the CSV)."""
    submitted = [r for r in rows if r["status"] != "missing"]
    n = len(submitted)
    scores = [r["score"] for r in submitted]
    maxima = _exercise_ids(rows, titles or {})
    exercises = {
        g: {"max": m, "full": 0, "partial": 0, "zero": 0, "stub": 0, "seconds": []}
        for g, m in maxima.items()
    }
    students: dict[tuple, set] = defaultdict(set)
    examples: dict[tuple, Counter] = defaultdict(Counter)
    messages: Counter = Counter()
    message_students: dict[str, set] = defaultdict(set)
    for r in submitted:
        for gid, ex in exercises.items():
            if gid in r["columns"]:
                got = _float(r["columns"][gid])
                ex["full" if got >= ex["max"] else "partial" if got > 0 else "zero"] += 1
        for test in (r["result"] or {}).get("tests", []):
            gid = str(test.get("grade_id"))
            if gid in exercises:
                exercises[gid]["seconds"].append(float(test.get("seconds", 0) or 0))
            message = str(test.get("message", "") or "")
            if test.get("passed") or not message or r["status"] in _UNGRADED:
                continue
            key = normalise(message)
            if "NotImplementedError" in key:  # the stub as handed out: not attempted
                exercises[gid]["stub"] += 1
                continue
            messages[(gid, key)] += 1
            message_students[(gid, key)].add(r["display"])
            for hint in hints(message):
                group = (gid, _NUMBER.sub("#", hint))
                students[group].add(r["display"])
                examples[group][hint] += 1
    known = sorted(students.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "students": len(rows),
        "submitted": n,
        "max_score": max((r["max_score"] for r in rows), default=0.0),
        "scores": scores,
        "mean": statistics.fmean(scores) if scores else 0.0,
        "median": statistics.median(scores) if scores else 0.0,
        "exercises": exercises,
        "titles": titles or {},
        "messages": [
            (gid, text, count, len(message_students[(gid, text)]))
            for (gid, text), count in messages.most_common(top)
        ],
        "mistakes": [
            (gid, examples[(gid, key)].most_common(1)[0][0], len(who), len(who) / max(n, 1))
            for (gid, key), who in known[:top]
        ],
        "statuses": {
            st: [(r["display"], r.get("reason", "")) for r in rows if r["status"] == st]
            for st in sorted({r["status"] for r in rows} - {"ok"})
        },
        "flags": _flags(rows, exercises),
        "seconds": sorted(
            ((float(r["result"].get("seconds") or 0), r["display"]) for r in rows if r["result"]),
            reverse=True,
        ),
    }


def _flags(rows: list[dict], exercises: dict) -> list[str]:
    """Plain-text lines for the instructor (escaped when rendered)."""
    out, groups = [], defaultdict(list)
    for r in rows:
        who, result = r["display"], r["result"] or {}
        out += [f"{who}: {flag}" for flag in result.get("flags", []) or []]
        if r.get("flags") and not result.get("flags"):
            out.append(f"{who}: {r['flags']}")
        if r["stale"]:
            groups["the cached result does not match grades.csv (regrade?)"].append(who)
        elif r["status"] != "missing" and r["result"] is None:
            groups["no cached result (messages and times unknown)"].append(who)
        for name, state in (result.get("isolation") or {}).items():
            if name in ("landlock", "seccomp") and not str(state).startswith("on"):
                groups[f"graded with {name} {state}"].append(who)
        if result.get("notes"):
            groups["the grader repaired the notebook (see its feedback notes)"].append(who)
        if _float(r["columns"].get("penalty", "0")) > 0:
            groups["late: a penalty was applied (see grades.csv)"].append(who)
    out += [f"{what}: {len(who)} ({', '.join(who[:30])})" for what, who in groups.items()]
    ok = sum(r["status"] == "ok" for r in rows)
    for gid, ex in exercises.items():
        if ok >= 2 and ex["full"] == 0:
            out.append(f"{gid}: no student earned full points; check the exercise and its test")
    return out


def histogram_png(scores: list[float], max_score: float) -> str:
    """A histogram of ``scores`` on [0, max_score] as a base64 PNG."""
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state

    fig = Figure(figsize=(6, 2.4), dpi=80)
    ax = fig.subplots()
    bins = max(1, min(int(round(max_score)) or 1, 20))
    ax.hist(scores, bins=bins, range=(0, max(max_score, 1e-9)), color="#4a72b0", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.95)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """An HTML table; cells are HTML already (escape before), numbers right-aligned."""
    cells_html = "".join(
        "<tr>"
        + "".join(f"<td class='n'>{c}</td>" if c[:1].isdigit() else f"<td>{c}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return (
        "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + cells_html + "</table>"
    )


def _who(names: list[str], limit: int = 60) -> str:
    shown = ", ".join(html.escape(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _exercise_label(gid: str, titles: dict) -> str:
    title = titles.get(gid, ("", 0))[0]
    return f"{html.escape(title)} <code>{html.escape(gid)}</code>" if title else html.escape(gid)


def _part(title: str, head: list[str], rows: list[list[str]], empty: str) -> str:
    return f"<h3>{title}</h3>" + (_table(head, rows) if rows else f"<p>{empty}</p>")


def section(assignment: str, s: dict) -> str:
    """The HTML of one assignment."""
    esc, n, titles = html.escape, s["submitted"], s["titles"]
    parts = [
        f"<h2 id='a-{esc(assignment)}'>{esc(assignment)}</h2>",
        f"<p>{s['students']} students, {n} submitted. Score out of {s['max_score']:g}: "
        f"mean <b>{s['mean']:.2f}</b>, median {s['median']:g}"
        + (f", min {min(s['scores']):g}, max {max(s['scores']):g}" if s["scores"] else "")
        + ".</p>",
    ]
    if s["scores"]:
        png = histogram_png(s["scores"], s["max_score"])
        parts.append(f"<img alt='score distribution' src='data:image/png;base64,{png}'>")
    rows = []
    for gid, ex in s["exercises"].items():
        seen = ex["full"] + ex["partial"] + ex["zero"]
        bar = "".join(
            f"<span class='{k}' style='width:{100 * ex[key] / max(seen, 1):.1f}%'></span>"
            for k, key in (("full", "full"), ("part", "partial"), ("zero", "zero"))
        )
        secs = statistics.fmean(ex["seconds"]) if ex["seconds"] else 0.0
        shares = [_pct(ex[k], seen) for k in ("full", "partial", "zero", "stub")]
        bar = f"<div class='bar'>{bar}</div>"
        rows.append([_exercise_label(gid, titles), f"{ex['max']:g}", *shares, bar, f"{secs:.2f}"])
    head = ["exercise", "points", "full", "partial", "zero", "not attempted", "", "test s"]
    parts.append(_part("Exercises", head, rows, "No test cells."))
    rows = [
        [_exercise_label(g, titles), esc(h), str(k), _pct(k, n)] for g, h, k, _ in s["mistakes"]
    ]
    head = ["exercise", "mistake (hint)", "students", "share"]
    title = f"Known mistakes (share of the {n} students who submitted)"
    parts.append(_part(title, head, rows, "No failure named a known mistake."))
    rows = [
        [_exercise_label(g, titles), f"<code>{esc(t)}</code>", str(c), str(k)]
        for g, t, c, k in s["messages"]
    ]
    head = ["exercise", "message (first line)", "times", "students"]
    parts.append(_part("Most frequent failure messages", head, rows, "No failures."))
    rows = [
        [esc(st), str(len(who)), _who([w for w, _ in who]), esc(who[0][1][:200])]
        for st, who in s["statuses"].items()
    ]
    head = ["status", "students", "who", "reason (first)"]
    parts.append(_part("Statuses", head, rows, "Every submission was graded with status ok."))
    flags = "".join(f"<li>{esc(f[:400])}</li>" for f in s["flags"][:200])
    parts.append("<h3>Flags for the instructor</h3>" + (f"<ul>{flags}</ul>" if flags else "None."))
    if s["seconds"]:
        total = sum(t for t, _ in s["seconds"])
        slow = ", ".join(f"{esc(w)} ({t:.1f} s)" for t, w in s["seconds"][:5])
        median = statistics.median(t for t, _ in s["seconds"])
        parts.append(
            f"<h3>Grading time</h3><p>{total:.0f} s for {len(s['seconds'])} notebooks (worker "
            f"time), median {median:.1f} s; slowest: {slow}.</p>"
        )
    return "\n".join(parts)


def build_report(course_dir: Path, top: int = TOP) -> str:
    """The whole HTML page for the course in ``course_dir``."""
    course_dir = Path(course_dir)
    data = load(course_dir)
    body, total = [], 0.0
    for assignment, rows in data.items():
        s = summarise(rows, _exercise_titles(course_dir, assignment), top)
        total += sum(t for t, _ in s["seconds"])
        body.append(section(assignment, s))
    toc = " · ".join(f"<a href='#a-{html.escape(a)}'>{html.escape(a)}</a>" for a in data)
    return "\n".join(
        [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
            f"<title>Class report</title><style>{_STYLE}</style></head><body>",
            "<h1>Class report</h1>",
            f"<p>{len(data)} assignments: {toc}. Grading time: {total / 60:.1f} min of worker "
            "time. Shares count students who submitted; a known mistake is a failure whose "
            "message carries a test's <code>hint:</code>.</p>",
            *body,
            "</body></html>\n",
        ]
    )


def write_report(course_dir: Path, out: Path | None = None, top: int = TOP) -> Path:
    """Write the report (default ``DIR/report.html``); return its path."""
    out = Path(out) if out else Path(course_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(course_dir, top), encoding="utf-8")
    return out


def register(subparsers) -> None:
    """Add ``report`` to the ``cnnlab-grade`` subcommands."""
    p = subparsers.add_parser("report", help="write a class report (HTML) from a graded course")
    p.add_argument("--course-dir", required=True, type=Path)
    p.add_argument("--out", type=Path, default=None, help="default DIR/report.html")
    p.add_argument("--top", type=int, default=TOP, help=f"rows per list (default {TOP})")


def run(args) -> int:
    """Run ``cnnlab-grade report``."""
    path = write_report(args.course_dir, args.out, args.top)
    print(f"wrote {path}")
    return 0
