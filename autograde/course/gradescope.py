"""A Gradescope autograder for one assignment, and what runs inside Gradescope's container.

:func:`build_zip` writes ``autograder.zip`` as Gradescope's autograder specification asks
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``setup.sh`` and
``run_autograder`` at its root, next to a wheel of this project (``cnnlab`` and ``autograde``,
built by :func:`autograde.build.wheel.build_wheel`), ``constraints.txt`` (every distribution the
wheel needs, pinned to the version installed where the zip was built), the instructor notebook
(hidden tests included; the zip is instructor material) and ``cnnlab_autograder.json`` (which
notebook, the limits, the visibility of results).

Gradescope unpacks the zip into ``/autograder/source`` and runs ``setup.sh`` once (it installs
the wheel into ``/autograder/venv`` under ``constraints.txt``; pip downloads the wheel's
dependencies at those versions, nothing else is fetched; a second run changes nothing), then
copies ``run_autograder`` to ``/autograder/run_autograder`` and runs it once per submission in a
fresh container. That calls
:func:`run_container` (``python -m autograde.course.gradescope``), which grades the best
matching ``/autograder/submission/**/*.ipynb`` with :func:`autograde.judge.grade_notebook` (the
same sandbox and judge as ``cnnlab-grade grade``) and writes ``/autograder/results/results.json``:
one test per graded cell (the exercise's name, score, max_score and our message, never a test
cell's source), the total, the execution time, and in ``extra_data`` the status and the
sandbox's isolation report. Tamper flags and the isolation report also go to stdout, which
Gradescope shows to instructors only. ``AUTOGRADER_ROOT`` replaces ``/autograder`` (tests).

Where Landlock is missing in the container, the sandbox could read ``/autograder/source``: the
instructor notebook is then deleted from disk once loaded (each submission runs in a fresh
container; set ``CNNLAB_KEEP_SOURCE=1`` to keep it when debugging over SSH).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import nbformat

from autograde import cells
from autograde.build.wheel import build_wheel
from autograde.config import ROOT

CONFIG = "cnnlab_autograder.json"
CONSTRAINTS = "constraints.txt"
MAX_OUTPUT = 8000  # characters of one test's message in results.json

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image. It installs the
# cnnlab wheel shipped in this zip; pip downloads the wheel's dependencies (numpy, scipy,
# nbgrader, ...) at the versions of constraints.txt. Nothing else is fetched. Running it again
# changes nothing (pip finds everything installed).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
WHEEL=("$SOURCE"/wheels/*.whl)
PIN=(-c "$SOURCE/constraints.txt")
PY="$(command -v python3)" || { echo "setup.sh: no python3 in this image" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "setup.sh: cnnlab needs Python 3.10+, this image has $("$PY" -V)" >&2; exit 1; }
BUILT="$(sed -n 's/^# python //p' "$SOURCE/constraints.txt")"
HERE="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$BUILT" != "$HERE" ]; then
    echo "setup.sh: the versions were pinned under Python $BUILT, this image has $HERE;" \
        "pip may find no build of some of them for $HERE" >&2
fi
if [ -x "$ROOT/venv/bin/python" ] || "$PY" -m venv "$ROOT/venv"; then
    "$ROOT/venv/bin/python" -m pip install --no-cache-dir "${PIN[@]}" "${WHEEL[@]}"
else  # an image without python3-venv: install for its python3
    rm -rf "$ROOT/venv"
    BREAK=()
    if "$PY" -m pip help install | grep -q -- --break-system-packages; then
        BREAK=(--break-system-packages)
    fi
    "$PY" -m pip install --no-cache-dir "${BREAK[@]}" "${PIN[@]}" "${WHEEL[@]}"
fi
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, in a fresh container; it writes
# $ROOT/results/results.json (ROOT: $AUTOGRADER_ROOT, default /autograder).
set -eu
ROOT="$(cd "${AUTOGRADER_ROOT:-/autograder}" && pwd)"
PY="${CNNLAB_PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x "$ROOT/venv/bin/python" ]; then PY="$ROOT/venv/bin/python"; else PY=python3; fi
fi
cd "$(mktemp -d)"  # python -m puts the working folder on sys.path: an empty one
exec "$PY" -s -m autograde.course.gradescope --root "$ROOT"
"""


# --------------------------------------------------------------------------------------------
# Building the zip (instructor's machine)
# --------------------------------------------------------------------------------------------


def find_source(
    assignment: str, source: Path | None = None, course_dir: Path | None = None
) -> tuple[nbformat.NotebookNode, str]:
    """The instructor notebook of ``assignment`` and its name (without ``.ipynb``): ``source``,
    else ``DIR/source/ASSIGNMENT/*.ipynb``, else built from ``solutions/``."""
    if source is None and course_dir is not None:
        found = sorted((course_dir / "source" / assignment).glob("*.ipynb"))
        if not found:
            raise SystemExit(f"no notebook in {course_dir / 'source' / assignment}")
        source = found[0]
    if source is not None:
        return nbformat.read(source, 4), Path(source).stem
    from autograde.build.release import solution_sources, to_notebook

    known = solution_sources()
    if assignment not in known:
        raise SystemExit(f"unknown assignment {assignment!r}; known: {', '.join(sorted(known))}")
    return to_notebook(known[assignment]), known[assignment].stem


def constraints(wheel: Path) -> str:
    """constraints.txt: every distribution the wheel needs, its dependencies' dependencies
    included, pinned (``name==version``) to the version installed here, for this Python and
    platform (named in its first lines; ``setup.sh`` reads ``# python X.Y``)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    todo = [(r.split(":", 1)[1].strip(), ()) for r in lines if r.startswith("Requires-Dist:")]
    pins: dict[str, str] = {}
    walked: set[tuple[str, frozenset]] = set()  # (name, extras): a package[extra] adds needs
    while todo:
        text, extras = todo.pop()
        req = Requirement(text)
        envs = [{"extra": e} for e in ("", *extras)]
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if (req.marker and not any(req.marker.evaluate(e) for e in envs)) or key in walked:
            continue
        walked.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue  # not installed here (and not needed here): left to pip
        pins[key[0]] = dist.version
        todo += [(r, tuple(req.extras)) for r in dist.requires or []]
    head = [
        f"# python {sys.version_info[0]}.{sys.version_info[1]}",
        f"# the versions cnnlab was tested with ({platform.system()} {platform.machine()});"
        " setup.sh installs under them",
    ]
    return "\n".join(head + [f"{n}=={v}" for n, v in sorted(pins.items())]) + "\n"


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build_zip(
    assignment: str,
    out: Path,
    *,
    source: Path | None = None,
    course_dir: Path | None = None,
    wheel: Path | None = None,
    options: dict | None = None,
    visibility: str = "after_published",
) -> Path:
    """Write the Gradescope autograder zip of ``assignment``; return its path.

    Parameters
    ----------
    assignment : str
        The assignment id (``01-convolution``); any name with ``source``.
    out : Path
        The zip to write.
    source, course_dir : Path, optional
        Where the instructor notebook comes from (see :func:`find_source`).
    wheel : Path, optional
        A prebuilt cnnlab wheel; built offline from this checkout when missing.
    options : dict, optional
        Grading limits (timeout, memory, notebook_timeout, landlock) stored in the zip.
    visibility : str
        Gradescope visibility of the results: hidden, after_due_date, after_published, visible.
    """
    nb, stem = find_source(assignment, source, course_dir)
    config = {
        "assignment": assignment,
        "notebook": f"{stem}.ipynb",
        "options": options or {},
        "visibility": visibility,
        "points": sum(cells.test_points(nb).values()),
    }
    release = ROOT / "notebooks" / assignment
    extra = [p for p in sorted(release.glob("*")) if p.is_file() and p.suffix != ".ipynb"]
    with tempfile.TemporaryDirectory(prefix="cnnlab-gs-") as tmp:
        try:
            wheel = wheel or build_wheel(Path(tmp))
        except RuntimeError as exc:
            raise SystemExit(f"the cnnlab wheel: {exc}") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as zf:
            _add(zf, "setup.sh", SETUP_SH, 0o755)
            _add(zf, "run_autograder", RUN_AUTOGRADER, 0o755)
            _add(zf, CONFIG, json.dumps(config, indent=1, sort_keys=True) + "\n")
            _add(zf, CONSTRAINTS, constraints(wheel))
            _add(zf, config["notebook"], nbformat.writes(nb))
            _add(zf, f"wheels/{wheel.name}", wheel.read_bytes())
            for path in extra:
                _add(zf, f"files/{path.name}", path.read_bytes())
    return out


# --------------------------------------------------------------------------------------------
# Inside the container
# --------------------------------------------------------------------------------------------


def exercise_names(nb) -> dict[str, str]:
    """``{test grade_id: "Exercise 2: `convolve2d` (1 point)"}``: the titles the feedback uses
    (:func:`autograde.course.feedback.exercise_titles`); a test without one keeps its grade_id."""
    from autograde.course.feedback import exercise_titles

    titles = exercise_titles(nb)
    return {gid: (titles.get(gid) or {}).get("title") or gid for gid in cells.test_points(nb)}


def pick_submission(folder: Path, source_nb) -> tuple[Path | None, str]:
    """The submitted notebook sharing the most grade ids with the source, and a note."""
    from autograde.judge.plan import Unreadable, read_notebook

    found = sorted(
        p
        for p in folder.rglob("*.ipynb")
        if p.is_file() and not p.is_symlink() and ".ipynb_checkpoints" not in p.parts
    )
    if not found:
        return None, "no .ipynb file was submitted"
    ids = cells.grade_ids(source_nb)

    def shared(path: Path) -> int:
        try:
            return len(ids & cells.grade_ids(read_notebook(path.read_bytes())))
        except (Unreadable, OSError):
            return -1

    best = max(found, key=lambda p: (shared(p), -found.index(p)))
    rel = best.relative_to(folder).as_posix()
    return best, (f"graded {rel} (of {len(found)} notebooks submitted)" if len(found) > 1 else "")


def _clip(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + "\n[... cut]"


def results_json(result: dict, names: dict, visibility: str, seconds: float) -> dict:
    """Gradescope's results.json for one graded notebook (learner-facing text only)."""
    tests = []
    for number, test in enumerate(result.get("tests", []), 1):
        entry = {
            "name": names.get(test["grade_id"], test["grade_id"]),
            "number": str(number),
            "score": float(test["points"]),
            "max_score": float(test["max_points"]),
            "status": "passed" if test["passed"] else "failed",
            "output": _clip(test.get("message") or ("passed" if test["passed"] else "failed")),
            "output_format": "text",
            "visibility": visibility,
        }
        tests.append(entry)
    score, total = float(result.get("score", 0)), float(result.get("max_score", 0))
    lines = [f"Score: {score:g} / {total:g} points."]
    if result.get("reason"):
        lines.append(f"Note: {result['reason']}")
    lines += [f"- {n}" for n in result.get("notes", [])[:20]]
    lines += [f"- error in {e}" for e in result.get("cell_errors", [])[:20]]
    return {
        "score": score,
        "execution_time": max(0, round(seconds)),
        "output": _clip("\n".join(lines)),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "extra_data": {
            "status": result.get("status", ""),
            "reason": result.get("reason", ""),
            "isolation": result.get("isolation", {}),
            "grader": "cnnlab-grade",
        },
        "tests": tests,
    }


def _no_notebook(source_nb, why: str, status: str = "missing") -> dict:
    tests = [
        {"grade_id": gid, "points": 0.0, "max_points": pts, "passed": False, "message": why}
        for gid, pts in cells.test_points(source_nb).items()
    ]
    total = float(sum(t["max_points"] for t in tests))
    return {"status": status, "reason": why, "score": 0.0, "max_score": total, "tests": tests}


def _write(results: Path, payload: dict) -> None:
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / f".results.{os.getpid()}.json"
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    os.replace(tmp, results / "results.json")  # replaces anything the learner wrote there


def _load_source(source_dir: Path, config: dict, options: dict):
    """Read the instructor notebook; delete it from disk when no Landlock will hide it."""
    from autograde.sandbox.limits import landlock_abi

    path = source_dir / config["notebook"]
    nb = nbformat.read(path, 4)
    hidden = options.get("landlock", True) and landlock_abi() >= 1
    if not hidden and not os.environ.get("CNNLAB_KEEP_SOURCE"):
        path.unlink()
        print(f"no Landlock here: removed {path.name} from disk once loaded")
    return nb


def run_container(root: Path) -> int:
    """Grade the submission under ``root`` and write ``root/results/results.json``."""
    from autograde.config import LIMITS
    from autograde.judge import grade_notebook
    from autograde.sandbox.limits import cap_memory

    t0 = time.monotonic()
    source_dir, results = root / "source", root / "results"
    config = json.loads((source_dir / CONFIG).read_text(encoding="utf-8"))
    options = dict(config.get("options", {}))
    visibility = config.get("visibility", "after_published")
    source_nb, result = None, None
    try:
        source_nb = _load_source(source_dir, config, options)
        path, note = pick_submission(root / "submission", source_nb)
        cap_memory(int(options.get("judge_memory", LIMITS["judge_memory"])))
        if path is None:
            result = _no_notebook(source_nb, note)
        else:
            result = grade_notebook(source_nb, path, options, source_dir / "files")
            if note:
                result["notes"].insert(0, note)
    except Exception as exc:  # a bug of ours: say so instead of leaving no results
        traceback.print_exc(file=sys.stdout)
        why = f"the autograder failed ({type(exc).__name__}); your instructor can see why"
        result = _no_notebook(source_nb, why, "grader-error") if source_nb else None
        result = result or {"status": "grader-error", "reason": why, "score": 0.0, "tests": []}
        result["max_score"] = result.get("max_score", config.get("points", 0))
    names = exercise_names(source_nb) if source_nb is not None else {}
    _write(results, results_json(result, names, visibility, time.monotonic() - t0))
    print(f"status: {result['status']}; score {result['score']:g}/{result['max_score']:g}")
    if result.get("reason"):
        print(f"reason: {result['reason']}")
    for key, value in sorted(result.get("isolation", {}).items()):
        print(f"isolation: {key}: {value}")
    for flag in result.get("flags", []):
        print(f"FLAG (instructors only): {flag}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grade a Gradescope submission (run_autograder).")
    parser.add_argument(
        "--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    )
    return run_container(parser.parse_args(argv).root)


if __name__ == "__main__":
    sys.exit(main())
