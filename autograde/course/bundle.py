"""``cnnlab-grade bundle [ASSIGNMENT ...] --out DIR``: what students get, without the answers.

Writes ``DIR/cnnlab-course-student.zip``, one folder ``cnnlab-course-student/`` holding

- ``notebooks/<assignment>/``: the released notebooks (``notebooks/``, the committed release:
  solutions replaced by stubs, hidden tests removed) and any file shipped beside them;
- ``cnnlab-<version>-py3-none-any.whl``: the project built by
  :func:`autograde.build.wheel.build_wheel` from a temporary copy of ``pyproject.toml``,
  ``README.md``, ``src/`` and ``autograde/`` only (never ``solutions/``, ``tests/``, ``build/``
  or a course folder), holding the ``cnnlab`` and ``autograde`` packages and, as package data
  in ``autograde/release/``, the same release folders, against which the installed
  ``cnnlab-grade check`` runs a learner's notebook;
- ``requirements.txt``: the wheel's dependencies, with the versions the bundle was built with;
- ``README-students.md``: install, open, self-check (``cnnlab-grade check``), submit.

Before the zip is written, everything in it (each notebook's cells, each file of the wheel, its
metadata) is searched for the nbgrader markers and for the text of every solution region and
hidden-test region of ``solutions/``; any find stops the command. The one exception is
reference code the course discloses on purpose (:data:`DISCLOSED`): the grader's twins of a
few exercises live in ``cnnlab`` and are listed in the command's report.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from autograde.build.wheel import RELEASE, build_wheel
from autograde.cells import HIDDEN, MARKERS, SOLUTION
from autograde.config import ROOT

NAME = "cnnlab-course-student"
# (assignment, grade_id) of solution regions whose text the package holds on purpose
DISCLOSED = {
    ("03-training", "sgd_step"): "cl.optim.sgd_step, the twin its test cells use as reference",
}
DEFAULT_SUBMIT = (
    "Upload the `.ipynb` file of the assignment (any file name) where your instructor asks "
    "for it. Do not delete, split or merge cells: the grader finds your answers by the "
    "notebook's cell metadata."
)


@dataclass(frozen=True)
class Secret:
    """The text of one solution or hidden-test region of ``solutions/``."""

    assignment: str
    grade_id: str
    kind: str  # "solution" or "hidden test"
    text: str  # normalised: stripped, non-empty lines


@dataclass
class Report:
    """What :func:`build_bundle` wrote and checked."""

    path: Path | None = None
    assignments: list[str] = field(default_factory=list)
    wheel: str = ""
    members: list[str] = field(default_factory=list)
    scanned: int = 0  # secrets searched for
    leaks: list[str] = field(default_factory=list)  # fatal finds
    disclosed: list[str] = field(default_factory=list)  # finds listed in DISCLOSED


def normalise(text: str) -> str:
    """Lines stripped of indentation, blank lines dropped: how texts are compared."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def secrets(solutions_dir: Path) -> list[Secret]:
    """Every solution and hidden-test region of ``solutions/*/*.py``, normalised."""
    found = []
    for path in sorted(solutions_dir.glob("*/*.py")):
        text = path.read_text(encoding="utf-8")
        for kind, regex in (("solution", SOLUTION), ("hidden test", HIDDEN)):
            for match in regex.finditer(text):
                ids = re.findall(r'"grade_id":\s*"([^"]+)"', text[: match.start()])
                body = normalise("\n".join(match.group(0).splitlines()[1:-1]))
                if body:
                    found.append(Secret(path.parent.name, ids[-1] if ids else "?", kind, body))
    return found


def _notebook_text(data: bytes) -> str:
    """A notebook's cell sources and text outputs (what a reader of the notebook sees)."""
    try:
        nb = json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
    parts = []
    for cell in nb.get("cells", []):
        parts.append("".join(cell.get("source", "")))
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            parts.extend("".join(v) for v in out.get("data", {}).values() if isinstance(v, str))
    return "\n".join(parts)


def texts(zip_data: bytes, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(member name, text) of every file of a zip, opening the zips (wheels) inside it."""
    with zipfile.ZipFile(io.BytesIO(zip_data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            data, name = archive.read(info), prefix + info.filename
            if name.endswith((".whl", ".zip")):
                yield from texts(data, name + "!/")
                continue
            text = data.decode("utf-8", "replace")
            yield name, _notebook_text(data) + "\n" + text if name.endswith(".ipynb") else text


def find_leaks(zip_data: bytes, hidden: list[Secret]) -> tuple[list[str], list[str]]:
    """Markers and secrets found in a zip, wheels inside it included.

    Markers are searched for in the files given out as they are (notebooks, README) and in the
    release the wheel ships (``autograde/release/``); the wheel's code names them (it reads the
    cell format), so elsewhere inside the wheel only secrets count.

    Parameters
    ----------
    zip_data : bytes
        The zip.
    hidden : list of Secret
        What must not be found (:func:`secrets`), compared line by line after
        :func:`normalise`.

    Returns
    -------
    leaks, disclosed : list of str
        The fatal finds, and the finds listed in :data:`DISCLOSED`, each as "member: what".
    """
    leaks, disclosed = [], []
    for name, text in texts(zip_data):
        if "!/" not in name or f"!/{RELEASE}/" in name:
            leaks += [f"{name}: marker '### {m}'" for m in MARKERS if f"### {m}" in text]
        flat = normalise(text)
        for s in hidden:
            if s.text in flat:
                where = f"{name}: {s.kind} of {s.assignment}/{s.grade_id}"
                key = (s.assignment, s.grade_id)
                if s.kind == "solution" and key in DISCLOSED:
                    disclosed.append(f"{where} ({DISCLOSED[key]})")
                else:
                    leaks.append(where)
    return leaks, disclosed


def select(names: list[str] | None, release_dir: Path) -> list[Path]:
    """The release folders to bundle: all, or those named (a unique prefix such as ``01``)."""
    folders = sorted(p for p in release_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    if not names:
        return folders
    chosen = []
    for name in names:
        hits = [p for p in folders if p.name == name] or [
            p for p in folders if p.name.startswith(name)
        ]
        if len(hits) != 1:
            known = ", ".join(p.name for p in folders)
            raise ValueError(f"{name!r} names {len(hits)} assignments; known: {known}")
        if hits[0] not in chosen:
            chosen.append(hits[0])
    return chosen


def requirements(wheel: Path) -> str:
    """requirements.txt: the wheel's dependencies, each with the version built against."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    out = ["# What cnnlab needs (its wheel installs the same); tested with the versions noted."]
    for line in lines:
        if line.startswith("Requires-Dist:") and "extra ==" not in line:
            spec = line.split(":", 1)[1].strip()
            name = re.split(r"[ <>=!~;\[]", spec, maxsplit=1)[0]
            try:
                tested = f"  # tested with {metadata.version(name)}"
            except metadata.PackageNotFoundError:
                tested = ""
            out.append(f"{spec}{tested}")
    return "\n".join(out) + "\n"


def student_readme(assignments: list[str], notebooks: list[str], wheel: str, submit: str) -> str:
    """README-students.md: install, open, check, submit."""
    first = notebooks[0] if notebooks else "notebooks/<assignment>/<notebook>.ipynb"
    listing = "\n".join(f"- `{nb}`" for nb in notebooks)
    return f"""# Convolutional neural networks: student kit

Assignments: {", ".join(assignments)}.

This folder holds the notebooks you fill in, the course's helper package
(`{wheel}`: `import cnnlab as cl`, and the `cnnlab-grade` self-check) and the list of what
it needs. It contains no answers and none of the tests kept for grading.

## 1. Install (once)

You need Python 3.10 or newer on Linux or macOS (on Windows, use WSL). In this folder:

    python3 -m venv cnnlab-env
    source cnnlab-env/bin/activate
    python -m pip install -r requirements.txt ./{wheel}

## 2. Open

    jupyter lab notebooks/

{listing}

Work through a notebook from the top and run every cell. Each exercise is one cell that ends in
`# YOUR CODE HERE` / `raise NotImplementedError()`: replace those two lines with your code and
keep the function's name and arguments. The test cell under it checks your answer.

## 3. Check your work

    cnnlab-grade check {first}

runs the public tests of the assignment in the sandbox that grades it and prints the points of
each exercise, with a hint for what failed. The tests come from the copy of the notebooks
installed with the package, so editing a test cell in your notebook changes nothing. Grading
adds hidden tests (more shapes, more cases), so a full self-check is a good sign, not a promise
of full points.

## 4. Submit

{submit}
"""


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` (name -> content) with fixed times, in name order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{NAME}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def build_bundle(
    names: list[str] | None,
    out: Path,
    *,
    project: Path = ROOT,
    release_dir: Path | None = None,
    solutions_dir: Path | None = None,
    submit: str = DEFAULT_SUBMIT,
) -> Report:
    """Build, check and (when clean) write ``out/cnnlab-course-student.zip``.

    Parameters
    ----------
    names : list of str or None
        Release folders or unique prefixes (``["01", "03-training"]``); None for all.
    out : Path
        Folder for the zip (created); nothing is written when a leak is found.
    project, release_dir, solutions_dir : Path
        The repository, its ``notebooks/`` and its ``solutions/`` (defaults under ``project``;
        without ``solutions/`` only the markers are searched for).
    submit : str
        The "Submit" paragraph of README-students.md.

    Returns
    -------
    Report
        ``path`` is None and ``leaks`` lists every find when the bundle was refused.
    """
    release_dir = release_dir or project / "notebooks"
    solutions_dir = solutions_dir or project / "solutions"
    report = Report()
    folders = select(names, release_dir)
    report.assignments = [f.name for f in folders]
    files: dict[str, bytes] = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not {"__pycache__", ".ipynb_checkpoints"} & set(path.parts):
                files[f"notebooks/{path.relative_to(release_dir).as_posix()}"] = path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="cnnlab-bundle-") as tmp:
        wheel = build_wheel(Path(tmp), project=project, release=folders)
        files[wheel.name] = wheel.read_bytes()
        files["requirements.txt"] = requirements(wheel).encode()
    report.wheel = wheel.name
    notebooks = sorted(n for n in files if n.endswith(".ipynb"))
    readme = student_readme(report.assignments, notebooks, wheel.name, submit)
    files["README-students.md"] = readme.encode()
    report.members = sorted(files)
    data = _zip_bytes(files)
    hidden = secrets(solutions_dir) if solutions_dir.is_dir() else []
    report.scanned = len(hidden)
    leaks, report.disclosed = find_leaks(data, hidden)
    report.leaks += leaks
    if not report.leaks:
        out.mkdir(parents=True, exist_ok=True)
        report.path = out / f"{NAME}.zip"
        partial = report.path.with_suffix(".zip.part")
        partial.write_bytes(data)
        partial.replace(report.path)
    return report


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``bundle`` to ``cnnlab-grade``'s subcommands."""
    p = subparsers.add_parser("bundle", help="write the student zip: notebooks, wheel, README")
    p.add_argument("assignments", nargs="*", help="release folders or prefixes (default: all)")
    p.add_argument("--out", required=True, type=Path, help="folder for cnnlab-course-student.zip")
    p.add_argument("--submit", default=DEFAULT_SUBMIT, help="the README's 'Submit' paragraph")
    return p


def run(args) -> int:
    """Build the bundle; print what it holds and what was checked. 1 when anything leaked."""
    try:
        report = build_bundle(args.assignments or None, args.out, submit=args.submit)
    except (ValueError, RuntimeError) as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 2
    for name in report.members:
        print(f"  {NAME}/{name}")
    if report.scanned:
        print(f"searched for {report.scanned} solution and hidden-test regions of solutions/")
    else:
        print("no solutions/ here: searched for the nbgrader markers only")
    for line in report.disclosed:
        print(f"disclosed reference code: {line}")
    if report.leaks:
        print("NOT WRITTEN: the bundle would contain answers or hidden tests:")
        for line in report.leaks:
            print(f"  {line}")
        return 1
    print(f"wrote {report.path} ({', '.join(report.assignments)})")
    return 0
