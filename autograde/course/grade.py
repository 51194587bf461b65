"""Grade a course directory in parallel, resumably.

Layout (nbgrader's)::

    DIR/source/<assignment>/<notebook>.ipynb            instructor notebooks (built from
                                                         solutions/ when the folder is missing)
    DIR/submitted/<student>/<assignment>/<notebook>.ipynb
    DIR/feedback/<student>/<assignment>/<notebook>.html  written here
    DIR/grades.csv, DIR/gradebook.db                     written here
    DIR/course.toml                                      due dates and late rule (optional)
    DIR/.cnnlab-grade/results/<student>/<assignment>.json  per-submission cache

Each submission is graded by a worker process (the judge) that starts its own sandbox. Results
are cached under a key made of the grader version, the options, the source notebook and the
submitted file: a killed run resumes where it stopped and a rerun changes nothing. Only this
(parent) process writes the gradebook. The late policy (:mod:`autograde.course.policy`) is
applied to the cached raw scores when the tables are written, so changing it needs no regrading.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.build.release import build_source
from autograde.config import LIMITS, ROOT, default_workers
from autograde.course import policy as late
from autograde.course.feedback import exercise_titles, write_csv, write_feedback

VERSION = "cnnlab-grade 1"


@dataclass
class Job:
    student: str
    assignment: str
    notebook: str
    submission: str | None
    source: str
    note: str = ""


def find_sources(course_dir: Path) -> dict[str, Path]:
    """``{assignment: source notebook}``; build ``DIR/source`` from solutions/ if missing."""
    src = course_dir / "source"
    if not src.is_dir() or not any(src.glob("*/*.ipynb")):
        build_source(src)
    found = {}
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        notebooks = sorted(folder.glob("*.ipynb"))
        if notebooks:
            found[folder.name] = notebooks[0]
    return found


def find_jobs(course_dir: Path, sources: dict[str, Path], assignments: list[str]) -> list[Job]:
    """One job per student and assignment (also when the student submitted nothing)."""
    submitted = course_dir / "submitted"
    students = (
        sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []
    )
    jobs = []
    for assignment in assignments:
        source = sources[assignment]
        for student in students:
            folder = submitted / student / assignment
            path, note = folder / source.name, ""
            if not path.exists():
                others = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
                if len(others) >= 1:
                    path = others[0]
                    note = f"graded {path.name} (expected {source.name})"
                else:
                    path = None
            jobs.append(
                Job(
                    student, assignment, source.stem, str(path) if path else None, str(source), note
                )
            )
    return jobs


def cache_key(job: Job, options: dict) -> str:
    digest = hashlib.sha256()
    digest.update(VERSION.encode())
    digest.update(json.dumps(options, sort_keys=True).encode())
    digest.update(Path(job.source).read_bytes())
    digest.update(b"\0")
    digest.update(Path(job.submission).read_bytes() if job.submission else b"<missing>")
    return digest.hexdigest()


def _cache_path(course_dir: Path, job: Job) -> Path:
    return course_dir / ".cnnlab-grade" / "results" / job.student / f"{job.assignment}.json"


def load_cached(course_dir: Path, job: Job, key: str) -> dict | None:
    path = _cache_path(course_dir, job)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("key") == key else None


def store(course_dir: Path, job: Job, key: str, result: dict) -> None:
    path = _cache_path(course_dir, job)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(dict(result, key=key), indent=1))
    os.replace(tmp, path)


def _timings_path(course_dir: Path) -> Path:
    return course_dir / ".cnnlab-grade" / "seconds.json"


def _expected_seconds(course_dir: Path, job: Job) -> float:
    """Seconds the assignment took last time, else a guess from the source notebook's size."""
    try:
        return float(json.loads(_timings_path(course_dir).read_text())[job.assignment])
    except (OSError, ValueError, KeyError, TypeError):
        return Path(job.source).stat().st_size / 5000.0


def _remember_seconds(course_dir: Path, job: Job, seconds) -> None:
    if not isinstance(seconds, (int, float)):
        return
    path = _timings_path(course_dir)
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    known[job.assignment] = round(max(float(seconds), known.get(job.assignment, 0) * 0.5), 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _missing(job: Job) -> dict:
    from autograde.cells import test_points

    points = test_points(nbformat.read(job.source, 4))
    tests = [
        {"grade_id": g, "points": 0.0, "max_points": p, "passed": False, "message": "no submission"}
        for g, p in points.items()
    ]
    return {
        "status": "missing",
        "reason": "no notebook submitted",
        "score": 0.0,
        "max_score": float(sum(points.values())),
        "tests": tests,
        "notes": [],
        "flags": [],
        "cell_errors": [],
    }


def _init_worker(judge_memory: int) -> None:
    """Die with the parent; cap the judge's memory; import what test cells need once."""
    try:
        from autograde.sandbox.limits import cap_memory, die_with_parent

        die_with_parent()
        cap_memory(judge_memory)
        import scipy.signal  # noqa: F401

        import cnnlab.testing  # noqa: F401
    except Exception:
        pass


def grade_job(job: Job, options: dict) -> dict:
    """Grade one job (runs in a worker process)."""
    from autograde.judge import grade_notebook

    if job.submission is None:
        return _missing(job)
    try:
        result = grade_notebook(
            Path(job.source), Path(job.submission), options, _release_dir(job.assignment)
        )
    except Exception as exc:  # a bug of ours must not stop the class
        result = _missing(job)
        result.update(status="grader-error", reason=f"grader error: {type(exc).__name__}: {exc}")
    if job.note:
        result.setdefault("notes", []).insert(0, job.note)
    return result


def _release_dir(assignment: str) -> Path | None:
    folder = ROOT / "notebooks" / assignment
    return folder if folder.is_dir() else None


def run(
    course_dir: Path,
    assignments: list[str] | None = None,
    *,
    workers: int | None = None,
    db_url: str | None = None,
    options: dict | None = None,
    progress: bool = True,
    feedback: bool = True,
) -> list[dict]:
    """Grade every submission of ``assignments`` (all by default); return the result rows."""
    from autograde.course.gradebook import Book

    course_dir = Path(course_dir).resolve()
    options = dict(options or {})
    sources = find_sources(course_dir)
    unknown = [a for a in assignments or [] if a not in sources]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {unknown}; known: {sorted(sources)}")
    chosen = list(assignments or sources)
    try:
        rules = late.load_policy(course_dir)
    except late.PolicyError as exc:
        raise SystemExit(str(exc)) from None
    strange = sorted(set(rules.due) - set(sources)) if rules else []
    if strange:
        print(f"note: {late.CONFIG} gives due dates of unknown assignments {strange}")
    jobs = find_jobs(course_dir, sources, chosen)
    keys = {id(j): cache_key(j, options) for j in jobs}
    results: dict[int, dict] = {}
    todo = []
    for job in jobs:
        cached = load_cached(course_dir, job, keys[id(job)])
        if job.submission is None:
            results[id(job)] = dict(_missing(job), notebook=job.notebook)
        elif cached is not None:
            results[id(job)] = cached
        else:
            todo.append(job)
    todo.sort(key=lambda j: -_expected_seconds(course_dir, j))  # longest first: shorter makespan
    book = Book(db_url or f"sqlite:///{course_dir / 'gradebook.db'}")
    source_nbs = {a: nbformat.read(sources[a], 4) for a in chosen}

    def save(job: Job, result: dict):
        result = dict(result, student=job.student, assignment=job.assignment)
        result["notebook"] = job.notebook
        store(course_dir, job, keys[id(job)], result)
        results[id(job)] = result
        _remember_seconds(course_dir, job, result.get("seconds"))
        if job.submission is not None:
            book.ensure_notebook(job.assignment, job.notebook, source_nbs[job.assignment])
            book.record(job.student, job.assignment, job.notebook, result)

    try:
        for job in jobs:  # cached results go to the gradebook too (idempotent)
            if id(job) in results and job.submission is not None:
                book.ensure_notebook(job.assignment, job.notebook, source_nbs[job.assignment])
                book.record(job.student, job.assignment, job.notebook, results[id(job)])
        _run_pool(todo, options, workers or default_workers(), save, progress)
        rows = _final_rows(course_dir, rules, jobs, results)
        for job, row in zip(jobs, rows):
            if job.submission is not None:
                _record_late(book, row)
        book.gb.db.commit()  # one commit: penalties are recomputed on every run
    finally:
        book.close()
    write_csv(course_dir / "grades.csv", rows)
    if feedback:
        titles = {a: exercise_titles(nb) for a, nb in source_nbs.items()}
        for job, row in zip(jobs, rows):
            if job.submission is not None:
                names = titles[job.assignment]
                write_feedback(course_dir, job.student, job.assignment, job.notebook, row, names)
    return rows


def _final_rows(course_dir: Path, rules, jobs: list[Job], results: dict) -> list[dict]:
    """The result of every job with the late policy applied (``score`` is the final score)."""
    from autograde.course.collect import read_students

    names = read_students(course_dir)
    rows, unknown = [], 0
    for job in jobs:
        row = dict(results[id(job)], student=job.student, assignment=job.assignment)
        when, source = (None, "")
        if job.submission is not None:
            when, source = late.recorded_time(Path(job.submission).parent)
        keys = [job.student, names.get(job.student, job.student)]
        rows.append(late.apply(rules, row, keys, when, source))
        due = rules is not None and job.assignment in rules.due and job.submission is not None
        unknown += due and (when is None or (source == "file-mtime" and not rules.trust_file_times))
    if unknown:
        print(
            f"note: {unknown} submissions have no usable submission time and were not checked "
            "for lateness (see time_source in grades.csv and trust_file_times in course.toml)"
        )
    return rows


def _record_late(book, row: dict) -> None:
    """Set nbgrader's submission timestamp and late penalty (``nbgrader export`` agrees);
    the caller commits."""
    from datetime import datetime, timezone

    gb = book.gb
    submission = gb.find_submission(row["assignment"], row["student"])
    if row.get("submitted_at"):
        when = datetime.fromisoformat(row["submitted_at"]).astimezone(timezone.utc)
        submission.timestamp = when.replace(tzinfo=None)
    notebook = gb.find_submission_notebook(row["notebook"], row["assignment"], row["student"])
    notebook.late_submission_penalty = float(row.get("penalty") or 0) or None


def _run_pool(todo: list[Job], options: dict, workers: int, save, progress: bool) -> None:
    if not todo:
        return
    from tqdm import tqdm

    bar = tqdm(total=len(todo), file=sys.stdout, desc="grading", unit="nb", disable=not progress)
    pending = list(todo)
    attempts: dict[int, int] = {}
    ctx = multiprocessing.get_context("spawn")
    while pending:
        with cf.ProcessPoolExecutor(
            max_workers=min(workers, len(pending)),
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(int(options.get("judge_memory", LIMITS["judge_memory"])),),
        ) as pool:
            futures = {pool.submit(grade_job, job, options): job for job in pending}
            pending = []
            for fut in cf.as_completed(futures):
                job = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # a worker died (BrokenProcessPool): retry once
                    attempts[id(job)] = attempts.get(id(job), 0) + 1
                    if attempts[id(job)] < 2:
                        pending.append(job)
                        continue
                    result = _missing(job)
                    result.update(status="grader-error", reason=f"grader worker died: {exc}")
                save(job, result)
                bar.update(1)
        if pending:
            time.sleep(0.5)
    bar.close()
