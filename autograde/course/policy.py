"""Due dates, extensions and late penalties: the late policy of ``DIR/course.toml``.

``collect`` records when each notebook was submitted in ``submission.json`` beside it
(:func:`record_time`); ``grade`` reads that time (or nbgrader's own ``timestamp.txt``) and applies
the policy to the raw score (:func:`apply`). The score the judge computed stays in the result
cache; the penalty is applied when the tables are written, so editing ``course.toml`` needs no
regrading. Without ``course.toml`` nothing is late. The file::

    timezone = "Europe/Berlin"      # of due dates and LMS archive times without an offset (UTC)

    [late]                          # the rule of every assignment
    rule = "per-day"                # "none", "per-day" or "cutoff"
    per_day = 0.10                  # per-day: fraction of the raw score lost per started day
    cap = 0.50                      # per-day: at most this fraction is lost
    cutoff = "7d"                   # zero when later than this after the due date
    grace = "15m"                   # this much late counts as on time
    trust_file_times = false        # true: file modification times count as submission times

    [assignments.01-convolution]
    due = 2026-10-09T23:59:00       # TOML date-time (or a date: the end of that day)
    late = { rule = "cutoff", cutoff = "2d" }   # its own rule ([late]'s grace unless given)

    [extensions]                    # student id (folder in submitted/) or name as submitted
    alice = { 01-convolution = "2d", "*" = "1d" }   # a duration, or a new due date

Durations are ``"2d"``, ``"36h"``, ``"1d12h"``, ``"90m"``, ``"1w"`` or a number of days.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

CONFIG = "course.toml"
TIME_FILE = "submission.json"  # written by collect beside each collected notebook
SOURCES = {
    "archive": "the time of the LMS archive entry",
    "nbgrader-timestamp": "the time nbgrader recorded (timestamp.txt)",
    "file-mtime": "the file's modification time (no submission time was recorded)",
}
RULES = ("none", "per-day", "cutoff")


class PolicyError(ValueError):
    """``course.toml`` says something the grader cannot use; the message says what."""


@dataclass(frozen=True)
class Rule:
    """How late work is penalised."""

    kind: str = "none"
    per_day: float = 0.0
    cap: float = 1.0
    cutoff: timedelta | None = None
    grace: timedelta = timedelta(0)

    def describe(self) -> str:
        """The rule in one sentence for the learner."""
        if self.kind == "per-day":
            cap = f", at most {_pct(self.cap)}" if self.cap < 1 else ""
            parts = [f"{_pct(self.per_day)} of the raw score per started day late{cap}"]
        elif self.kind == "cutoff" and self.cutoff:
            parts = [f"work up to {_span(self.cutoff)} late is accepted without penalty"]
        else:
            parts = ["late work is not penalised" if self.kind == "none" else "late work scores 0"]
        if self.cutoff:
            parts.append(f"work more than {_span(self.cutoff)} late scores 0")
        if self.grace:
            parts.append(f"up to {_span(self.grace)} late counts as on time")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."


@dataclass
class Policy:
    """The course's due dates, rules and extensions (see the module docstring)."""

    tz: ZoneInfo
    due: dict[str, datetime] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)  # "*" is the default
    extensions: dict[str, dict[str, datetime | timedelta]] = field(default_factory=dict)
    trust_file_times: bool = False


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.4g} %"


def _span(delta: timedelta) -> str:
    """``2 days 3 h 5 min`` (seconds dropped)."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{rest // 60} h"] if rest // 60 else []
    parts += [f"{rest % 60} min"] if rest % 60 else []
    return " ".join(parts) or "less than a minute"


def duration(value, where: str) -> timedelta:
    """``"2d"``, ``"36h"``, ``"1d12h"``, ``"90m"``, ``"1w"`` or a number of days."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(days=value)
    text = str(value).strip().lower().replace(" ", "")
    parts = re.findall(r"(\d+(?:\.\d+)?)([wdhm])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise PolicyError(f"{CONFIG}: {where} = {value!r} is not a duration like '2d' or '36h'")
    unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
    return sum((timedelta(**{unit[u]: float(n)}) for n, u in parts), timedelta(0))


def _moment(value, tz: ZoneInfo, where: str) -> datetime:
    """A TOML date-time, date or ISO text as an aware datetime (naive ones in ``tz``)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PolicyError(f"{CONFIG}: {where} = {value!r} is not a date-time") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59, 59))
    if not isinstance(value, datetime):
        raise PolicyError(f"{CONFIG}: {where} = {value!r} is not a date-time")
    return value if value.tzinfo else value.replace(tzinfo=tz)


def _rule(table: dict, where: str) -> Rule:
    known = {"rule", "per_day", "cap", "cutoff", "grace"}
    unknown = set(table) - known
    if unknown:
        raise PolicyError(f"{CONFIG}: unknown key(s) {sorted(unknown)} in {where}")
    kind = table.get("rule", "none")
    if kind not in RULES:
        raise PolicyError(f"{CONFIG}: {where}.rule = {kind!r}; use one of {', '.join(RULES)}")
    numbers = {}
    for key, default in (("per_day", 0.0), ("cap", 1.0)):
        number = table.get(key, default)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number <= 1:
            raise PolicyError(f"{CONFIG}: {where}.{key} = {number!r}; give a fraction 0..1")
        numbers[key] = float(number)
    if kind == "per-day" and not numbers["per_day"]:
        raise PolicyError(f"{CONFIG}: {where}: rule 'per-day' needs per_day (e.g. 0.1)")
    cutoff = table.get("cutoff", 0 if kind == "cutoff" else None)
    return Rule(
        kind,
        numbers["per_day"],
        numbers["cap"],
        None if cutoff is None else duration(cutoff, f"{where}.cutoff"),
        duration(table.get("grace", 0), f"{where}.grace"),
    )


def load_policy(course_dir: Path) -> Policy | None:
    """Read ``DIR/course.toml``; None when there is none. Raise :class:`PolicyError`."""
    path = Path(course_dir) / CONFIG
    if not path.is_file():
        return None
    if tomllib is None:
        raise PolicyError(f"{CONFIG} needs Python 3.11+ or the tomli package (pip install tomli)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{CONFIG}: {exc}") from None
    try:
        tz = ZoneInfo(str(data.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(f"{CONFIG}: unknown timezone {data.get('timezone')!r}") from None
    late = dict(data.get("late", {}))
    trust = late.pop("trust_file_times", False)
    policy = Policy(tz, rules={"*": _rule(late, "[late]")}, trust_file_times=bool(trust))
    for name, table in data.get("assignments", {}).items():
        where = f"[assignments.{name}]"
        if "due" in table:
            policy.due[name] = _moment(table["due"], tz, f"{where} due")
        if "late" in table:
            own = dict(table["late"]) if isinstance(table["late"], dict) else {}
            own.setdefault("grace", late.get("grace", 0))
            policy.rules[name] = _rule(own, f"{where} late")
    for student, table in data.get("extensions", {}).items():
        if not isinstance(table, dict):
            raise PolicyError(f"{CONFIG}: [extensions] {student} = {{assignment = '2d', ...}}")
        where = f"[extensions] {student}"
        policy.extensions[str(student)] = {
            str(a): _moment(v, tz, where) if isinstance(v, (date, datetime)) else duration(v, where)
            for a, v in table.items()
        }
    return policy


def record_time(folder: Path, when: datetime, source: str, original: str) -> None:
    """Write ``submission.json`` (when, how it is known, the file as submitted) in ``folder``."""
    record = {"submitted_at": when.isoformat(timespec="seconds"), "time_source": source}
    record["file"] = original
    (Path(folder) / TIME_FILE).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def nbgrader_timestamp(folder: Path) -> datetime | None:
    """The UTC time in nbgrader's ``timestamp.txt`` of ``folder``, or None."""
    from nbgrader.utils import parse_utc

    try:
        text = (Path(folder) / "timestamp.txt").read_text(encoding="utf-8").strip()
        return parse_utc(text).replace(tzinfo=timezone.utc)
    except (OSError, ValueError, OverflowError, TypeError, AttributeError):
        return None


def recorded_time(folder: Path) -> tuple[datetime | None, str]:
    """When the notebook in ``folder`` was submitted and how that is known (naive = local)."""
    try:
        record = json.loads((Path(folder) / TIME_FILE).read_text(encoding="utf-8"))
        source = str(record["time_source"])
        return datetime.fromisoformat(str(record["submitted_at"])), source
    except (OSError, ValueError, KeyError, TypeError):
        pass
    stamp = nbgrader_timestamp(folder)
    return (stamp, "nbgrader-timestamp") if stamp else (None, "")


def _extension(policy: Policy, assignment: str, names: list[str]):
    for name in names:
        table = policy.extensions.get(name, {})
        if assignment in table or "*" in table:
            return table.get(assignment, table.get("*"))
    return None


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def apply(
    policy: Policy | None, row: dict, names: list[str], when: datetime | None, source: str
) -> dict:
    """``row`` with the late policy applied.

    ``score`` becomes the final score; ``raw_score``, ``penalty`` (points), ``late_days``
    (started days late, 0 when on time), ``submitted_at``, ``time_source`` and ``late`` (the
    sentences that explain the computation to the learner) are added. ``names`` are the keys
    an extension may be given under (the student id, the name as submitted).
    """
    tz = policy.tz if policy else timezone.utc
    raw = float(row.get("score", 0) or 0)
    out = dict(row, raw_score=raw, penalty=0.0, late_days=0, late=[])
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    out["submitted_at"] = when.astimezone(tz).isoformat(timespec="seconds") if when else ""
    out["time_source"] = source if when else ""
    assignment = row["assignment"]
    if policy is None or assignment not in policy.due or row.get("status") == "missing":
        return out
    rule = policy.rules.get(assignment, policy.rules["*"])
    due = policy.due[assignment]
    extra = _extension(policy, assignment, names)
    lines = [f"Due {_when(due, tz)}."]
    if extra is not None:
        due = extra if isinstance(extra, datetime) else due + extra
        lines[0] = lines[0][:-1] + f"; with your extension: {_when(due, tz)}."
    out["late"], out["due"] = lines, due.isoformat(timespec="seconds")
    if when is None:
        lines.append("No submission time was recorded, so no late penalty applies.")
        return out
    how = SOURCES.get(source, source)
    if source == "file-mtime" and not policy.trust_file_times:
        lines.append(
            f"Only the file's modification time is known ({_when(when, tz)}); this course does "
            "not apply late penalties by file times."
        )
        return out
    late = when - due
    if late <= rule.grace:
        lines.append(f"Submitted {_when(when, tz)} ({how}): on time.")
        return out
    days = math.ceil(late.total_seconds() / 86400)
    fraction = min(rule.cap, rule.per_day * days) if rule.kind == "per-day" else 0.0
    penalty_text = f"Penalty: {_pct(fraction)} of your raw score {raw:g} = {{:g}} points."
    if rule.cutoff is not None and late > rule.cutoff:
        fraction = 1.0
        penalty_text = f"Penalty: more than {_span(rule.cutoff)} late, so the score is 0 (-{{:g}})."
    penalty = round(raw * fraction, 3)
    out.update(late_days=days, penalty=penalty, score=round(raw - penalty, 3))
    lines.append(
        f"Submitted {_when(when, tz)} ({how}): {_span(late)} late, "
        f"{days} started day{'s' if days != 1 else ''}."
    )
    lines.append(f"Late policy: {rule.describe()}")
    lines.append(penalty_text.format(penalty) if fraction else "Penalty: none.")
    return out
