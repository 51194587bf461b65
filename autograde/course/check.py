"""``cnnlab-grade check NOTEBOOK``: a learner's self-check with the public tests.

The tests are those of the released notebook of the same assignment, matched by the notebook's
nbgrader metadata, so editing a test cell in one's own copy changes nothing. The released
notebooks are looked for in the installed package first (``autograde/release/``: the student
bundle's wheel ships them, :mod:`autograde.build.wheel`), then in the checkout's ``notebooks/``.
Where neither holds a match (a notebook of another course, a package built without the
release), the notebook's own test cells are run, and the output says so. The learner's code
runs in the same sandbox as in grading; no gradebook is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from autograde.cells import grade_ids
from autograde.config import ROOT
from autograde.judge.plan import Unreadable, read_notebook

PACKAGED = Path(__file__).resolve().parent.parent / "release"  # autograde/release/, if shipped
WHERE = {PACKAGED: "the release installed with the package", ROOT / "notebooks": "notebooks/"}


def release_dirs() -> list[Path]:
    """The folders that hold released notebooks: the package's own copy, then ``notebooks/``."""
    return [d for d in WHERE if d.is_dir()]


def find_release(nb, folders: list[Path] | None = None) -> Path | None:
    """The released notebook sharing the most grade ids with ``nb`` in ``folders`` (default
    :func:`release_dirs`; the first folder wins a tie)."""
    ids = grade_ids(nb)
    best, best_score = None, 0
    for folder in release_dirs() if folders is None else folders:
        for path in sorted(folder.glob("*/*.ipynb")):
            score = len(ids & grade_ids(nbformat.read(path, 4)))
            if score > best_score:
                best, best_score = path, score
    return best


def check(path: Path, options: dict | None = None, release_dir: Path | None = None) -> int:
    """Print each exercise's points and messages; return 0 (1 if the file is unreadable).

    ``release_dir`` replaces :func:`release_dirs` (a folder of ``<assignment>/*.ipynb``)."""
    from autograde.judge import grade_notebook

    data = Path(path).read_bytes()
    try:
        nb = read_notebook(data)
    except Unreadable as exc:
        print(f"{path}: cannot be checked: {exc}")
        return 1
    release = find_release(nb, None if release_dir is None else [Path(release_dir)])
    if release is None:
        print(
            f"{path}: no released notebook matches it; checking its own test cells instead "
            "(an edited test cell changes this check, never the grade)"
        )
        source = nb
    else:
        where = WHERE.get(release.parent.parent, str(release.parent.parent))
        name = f"{release.parent.name}/{release.name}"
        print(f"checking {path} with the public tests of {name} ({where})")
        source = nbformat.read(release, 4)
    result = grade_notebook(source, data, options, release.parent if release else None)
    width = max((len(t["grade_id"]) for t in result["tests"]), default=10)
    for test in result["tests"]:
        mark = "ok  " if test["passed"] else "FAIL"
        print(f"{mark} {test['grade_id']:<{width}} {test['points']:g}/{test['max_points']:g}")
        if not test["passed"] and test["message"]:
            for line in test["message"].splitlines()[:12]:
                print(f"       {line}")
    for note in result["notes"] + [f"error in {e}" for e in result["cell_errors"]]:
        print(f"note: {note}")
    if result["reason"]:
        print(f"note: {result['reason']}")
    print(f"public tests: {result['score']:g}/{result['max_score']:g} points")
    print("(hidden tests are added when your notebook is graded)")
    sys.stdout.flush()
    return 0
