"""``cnnlab-grade export``: the Canvas gradebook CSV and the Gradescope autograder.

The Gradescope tests emulate the container (``AUTOGRADER_ROOT`` for ``/autograder``): the zip
is unpacked with ``unzip`` into ``source/`` (file modes kept), ``setup.sh`` runs for real, twice,
with a ``python3`` on PATH (this venv's base interpreter): it makes ``venv/`` and pip installs
the shipped wheel, offline (``PIP_NO_INDEX``, ``PIP_NO_DEPS``: the dependencies come from this
venv through a ``.pth`` file). Each submission then gets a fresh root whose ``run_autograder``
(copied to the root, as Gradescope does) is executed directly and grades with that installed
wheel; results.json is validated against the schema written from Gradescope's specification.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from contextlib import redirect_stdout
from importlib import metadata
from pathlib import Path

import jsonschema
import nbformat
import pytest
from synth import ASSIGNMENT, WRONG_SQUARE, dumps, perfect, source_nb, submission

from autograde.course import export
from autograde.course.feedback import write_csv
from autograde.course.gradescope import CONFIG, CONSTRAINTS, exercise_names

pytestmark = pytest.mark.xdist_group("grading-export")
SCHEMA = json.loads(
    (Path(export.__file__).parent / "gradescope_results.schema.json").read_text(encoding="utf-8")
)


def _cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="cnnlab-grade")
    export.register(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    with redirect_stdout(out):
        code = export.run(parser.parse_args(list(argv)))
    return code, out.getvalue()


# --------------------------------------------------------------------------------------------
# Canvas
# --------------------------------------------------------------------------------------------

EVIL = '=HYPERLINK("http://x","y")'
ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (555)", "Current Score"],
    ["    Points Possible", "", "", "", "", "10", "(read only)"],
    ["Doe, John", "101", "S100", "jdoe", "A", "", ""],
    ["Smith, Ann", "102", "S123", "asmith@uni.edu", "B", "", ""],
    ["Lee, Kim", "103", "", "", "A", "", ""],
    ["Brown, Bo", "104", "S200", "bbrown@uni.edu", "B", "", ""],
    ["Student, Test", "105", "", "", "A", "", ""],
]


def _grades(course: Path, scores: dict) -> None:
    """grades.csv as `grade` writes it, plus the late-policy columns another task adds."""
    rows = [
        {"student": s, "assignment": a, "score": v, "max_score": 10 if a == ASSIGNMENT else 5,
         "status": "missing" if v is None else "ok", "reason": "", "flags": [], "tests": []}
        for (s, a), v in scores.items()
    ]  # fmt: skip
    for row in rows:
        row["score"] = row["score"] or 0
    write_csv(course / "grades.csv", rows)
    with open(course / "grades.csv", newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    with open(course / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, list(table[0]) + ["raw_score", "penalty"])
        writer.writeheader()
        writer.writerows(dict(r, raw_score="99", penalty="1") for r in table)


def _read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_canvas_csv_matches_the_roster_and_keeps_every_grade(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    with open(course / "students.csv", "w", newline="", encoding="utf-8") as f:
        ids = ["jdoe", "S123", "asmith", "leekim", "bbrown", "ghost"]
        csv.writer(f).writerows([["id", "name"]] + [[i, i] for i in ids] + [["evil-1", EVIL]])
    other = "92-other"
    scores = {(s, ASSIGNMENT): v for s, v in
              [("jdoe", 10), ("S123", 7), ("asmith", 6), ("leekim", 8), ("bbrown", 9),
               ("ghost", 5), ("evil-1", 4)]}  # fmt: skip
    scores.update({("jdoe", other): 3, ("leekim", other): None})
    _grades(course, scores)
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(ROSTER)
    out = tmp_path / "canvas.csv"
    code, printed = _cli(
        "export", "canvas", "--course-dir", str(course), "--roster", str(roster),
        "--column", f"{ASSIGNMENT}=Lab 1", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    table = _read(out)
    assert table[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "Lab 1 (555)",
        other,
    ]
    assert table[1] == ["Points Possible", "", "", "", "", "10", "5"]
    by_id = {row[1]: row for row in table[2:] if row[1]}
    assert by_id["101"][5:] == ["10", "3"]  # SIS Login ID; the final score, not raw_score
    assert by_id["102"][5:] == ["7", ""]  # SIS User ID S123 (asmith lost the race for that row)
    assert by_id["103"][5:] == ["8", ""]  # by name (a Canvas download's "leekim"); missing: blank
    assert by_id["104"][5:] == ["9", ""]  # the SIS Login ID before @
    assert by_id["105"][5:] == ["", ""]  # the test student: nothing to change
    rest = [row for row in table[2:] if not row[1]]
    assert [(r[0], r[3], r[5]) for r in rest] == [
        ("asmith", "asmith", "6"),
        ("'" + EVIL, "evil-1", "4"),  # a name that starts like a formula is neutralised
        ("ghost", "ghost", "5"),
    ]
    assert "NOT MATCHED ghost" in printed and "NOT MATCHED evil-1" in printed
    assert "NOT MATCHED asmith: its roster row (Smith, Ann) is already matched by S123" in printed
    assert "roster students without grades: Student, Test" in printed
    assert f"column 'Lab 1 (555)' <- {ASSIGNMENT}" in printed


def test_canvas_csv_without_a_roster_identifies_students_by_sis_login(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    _grades(course, {("+s1", ASSIGNMENT): 10, ("s2", ASSIGNMENT): 0})
    (course / "students.csv").write_text("id,name\n+s1,+s1\ns2,Bob B\n")
    code, printed = _cli("export", "canvas", "--course-dir", str(course))
    table = _read(course / "canvas-grades.csv")
    assert code == 0 and "no --roster" in printed
    assert table[2:] == [["'+s1", "", "", "'+s1", "", "10"], ["Bob B", "", "", "s2", "", "0"]]


def test_column_option_needs_assignment_and_name():
    with pytest.raises(argparse.ArgumentTypeError):
        export._column("01-convolution")


# --------------------------------------------------------------------------------------------
# Gradescope
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gradescope")
    source = folder / "synth.ipynb"
    nbformat.write(source_nb(), source)
    out = folder / "autograder.zip"
    code, printed = _cli(
        "export", "gradescope", ASSIGNMENT, "--source", str(source), "--out", str(out),
        "--timeout", "20", "--memory", "1GiB", "--notebook-timeout", "120",
    )  # fmt: skip
    assert code == 0 and "wrote" in printed
    return out


def test_zip_has_the_layout_gradescope_expects(autograder_zip, tmp_path):
    with zipfile.ZipFile(autograder_zip) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        config = json.loads(zf.read(CONFIG))
        pins = zf.read(CONSTRAINTS).decode().splitlines()
        wheel = next(n for n in names if n.startswith("wheels/"))
        zf.extract(wheel, tmp_path)
        scripts = {n: zf.read(n).decode() for n in ("setup.sh", "run_autograder")}
    setup = scripts["setup.sh"]
    assert {"setup.sh", "run_autograder", CONFIG, CONSTRAINTS, "synth.ipynb"} <= set(names)
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert config["notebook"] == "synth.ipynb" and config["visibility"] == "after_published"
    assert config["options"]["timeout"] == 20 and config["points"] == 10
    with zipfile.ZipFile(tmp_path / wheel) as whl:
        inside = whl.namelist()
    assert "autograde/judge/run.py" in inside and "cnnlab/testing.py" in inside
    assert not [n for n in inside if n.startswith("autograde/release/")]  # bundle's only
    # every distribution the wheel needs, at the version it was tested with here
    assert pins[0] == "# python {}.{}".format(*sys.version_info[:2])
    pinned = dict(line.split("==") for line in pins if not line.startswith("#"))
    assert {"numpy", "scipy", "nbgrader", "traitlets", "pyzmq"} <= set(pinned)
    assert all(metadata.version(name) == version for name, version in pinned.items())
    assert not [n for n in inside if n.startswith("solutions/") or n.endswith(".ipynb")]
    # setup.sh: bash syntax; no download other than pip installing the shipped wheel
    for script in scripts.values():
        subprocess.run(["bash", "-n", "-c", script], check=True)
    for word in ("curl", "wget", "git ", "http:", "https:", "apt", "conda", "requirements"):
        assert word not in setup, word
    installs = [line for line in setup.splitlines() if "pip install" in line]
    assert installs and all('"${PIN[@]}" "${WHEEL[@]}"' in line for line in installs)


def _layout(autograder_zip: Path, root: Path) -> Path:
    """What Gradescope builds: /autograder/source (the zip, unpacked by unzip, modes kept),
    /autograder/run_autograder (a copy), submission/ and results/."""
    root.mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(autograder_zip), "-d", str(root / "source")], check=True)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def _offline_env(root: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL"))}
    return dict(env, AUTOGRADER_ROOT=str(root), PIP_CONFIG_FILE=os.devnull, **extra)


@pytest.fixture(scope="module")
def image(autograder_zip, tmp_path_factory) -> Path:
    """An autograder root after setup.sh, run as Gradescope's image build runs it, twice."""
    root = _layout(autograder_zip, tmp_path_factory.mktemp("image") / "autograder")
    bindir = root.parent / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(getattr(sys, "_base_executable", sys.executable))
    env = _offline_env(root, PATH=f"{bindir}:/usr/bin:/bin", PIP_NO_INDEX="1", PIP_NO_DEPS="1")
    runs = []
    for _ in range(2):
        runs.append(
            subprocess.run(
                [root / "source" / "setup.sh"], cwd=root / "source", env=env,
                capture_output=True, text=True, timeout=600,
            )
        )  # fmt: skip
        assert runs[-1].returncode == 0, runs[-1].stdout + runs[-1].stderr
    purelib = sysconfig.get_path("purelib", vars={"base": str(root / "venv")})
    Path(purelib, "_deps_from_test_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root, runs


def test_setup_sh_installs_the_shipped_wheel_and_is_idempotent(image):
    root, (first, second) = image
    assert "Successfully installed cnnlab-0.1.0" in first.stdout
    assert "already installed with the same version" in second.stdout
    assert "Successfully installed" not in second.stdout and "setup.sh:" not in second.stderr
    venv = root / "venv"
    code = "import autograde, cnnlab; print(autograde.__file__)"
    where = subprocess.run(
        [venv / "bin" / "python", "-s", "-c", code], cwd=root, env=_offline_env(root),
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv / "lib")), where  # the shipped wheel, not this checkout


HOSTILE = """
import json, os
import numpy as np
try:
    leaked = open({source!r}).read()
except Exception as exc:
    leaked = repr(exc)
print(leaked)
try:
    with open({forged!r}, "w") as f:
        json.dump({{"score": 1000, "tests": []}}, f)
except Exception:
    pass
np.testing.assert_allclose = lambda *a, **k: None

def square(x):
    raise ValueError(leaked[:20000])
"""


def _hostile(root: Path):
    code = HOSTILE.format(
        source=str(root / "source" / "synth.ipynb"),
        forged=str(root / "results" / "results.json"),
    )
    return submission({"square": code})


CASES = {
    "perfect": (lambda root: dumps(perfect()), 10),
    "partial": (lambda root: dumps(submission({"square": WRONG_SQUARE, "q1": "q1 = 2"})), 7),
    "hostile": (lambda root: dumps(_hostile(root)), 8),
    "hostile-no-landlock": (lambda root: dumps(_hostile(root)), 8),
    "nothing": (None, 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_run_autograder_writes_valid_results(autograder_zip, image, tmp_path, case):
    root = _layout(autograder_zip, tmp_path / "autograder")  # a fresh container per submission
    (root / "venv").symlink_to(image[0] / "venv")  # what setup.sh installed in the image
    make, expected = CASES[case]
    if make is None:
        (root / "submission" / "answers.py").write_text("print('not a notebook')")
    else:
        (root / "submission" / "nested").mkdir()
        (root / "submission" / "nested" / "my copy.ipynb").write_bytes(make(root))
    if case == "hostile-no-landlock":  # as in a container whose seccomp blocks Landlock
        config = json.loads((root / "source" / CONFIG).read_text())
        config["options"]["landlock"] = False
        (root / "source" / CONFIG).write_text(json.dumps(config))
    done = subprocess.run(
        [root / "run_autograder"], env=_offline_env(root), capture_output=True, text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = (root / "results" / "results.json").read_text()
    results = json.loads(text)
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == expected
    assert "SECRET_HIDDEN_MARKER" not in text and "BEGIN HIDDEN" not in text
    tests = results["tests"]
    assert [t["name"] for t in tests] == ["`square` (2 points)", "`correlate1d` (3 points)",
                                          "`run_steps` (2 points)", "`Counter` (2 points)",
                                          "`q1` (1 point)"]  # fmt: skip
    assert sum(t["max_score"] for t in tests) == 10 and sum(t["score"] for t in tests) == expected
    assert {t["visibility"] for t in tests} == {"after_published"}
    isolation = results["extra_data"]["isolation"]
    if case == "nothing":
        assert results["extra_data"]["status"] == "missing" and "no .ipynb" in results["output"]
        return
    assert set(isolation) >= {"landlock", "seccomp", "rlimits"}
    assert "isolation: landlock:" in done.stdout
    if case == "partial":
        assert [t["status"] for t in tests] == ["failed", "passed", "passed", "passed", "failed"]
        assert "square" in tests[0]["output"]
    if case.startswith("hostile"):
        assert "FLAG (instructors only)" in done.stdout  # the patched numpy.testing
        assert "FLAG" not in text and "numpy.testing" not in text
        assert tests[0]["status"] == "failed" and "ValueError" in tests[0]["output"]
    if case == "hostile-no-landlock":
        assert isolation["landlock"].startswith("off")
        assert not (root / "source" / "synth.ipynb").exists()  # removed before the learner ran
        assert "FileNotFoundError" in tests[0]["output"]
    elif case == "hostile":
        assert (root / "source" / "synth.ipynb").exists()


def test_exercise_names_come_from_the_headings():
    """Named as the feedback page names them (feedback.exercise_titles), lettered parts too."""
    nb = nbformat.v4.new_notebook()
    heading = "### Exercise 7a: `a` (1 point) and 7b: `b` (2 points)"

    def cell(gid, **meta):
        return nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": gid, **meta}})

    nb.cells = [
        nbformat.v4.new_markdown_cell(heading),
        cell("a", solution=True, grade=False),
        cell("test_a", grade=True, points=1),
        cell("b", solution=True, grade=False),
        cell("test_b", grade=True, points=2),
    ]
    assert exercise_names(nb) == {
        "test_a": "Exercise 7a: `a` (1 point)",
        "test_b": "Exercise 7b: `b` (2 points)",
    }


def test_a_grader_error_still_writes_results(autograder_zip, tmp_path, capsys):
    from autograde.course.gradescope import run_container

    root = _layout(autograder_zip, tmp_path / "autograder")
    (root / "submission" / "synth.ipynb").write_bytes(dumps(perfect()))
    config = json.loads((root / "source" / CONFIG).read_text())
    (root / "source" / CONFIG).write_text(json.dumps(dict(config, notebook="gone.ipynb")))
    assert run_container(root) == 0
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0 and results["extra_data"]["status"] == "grader-error"
    assert "the autograder failed (FileNotFoundError)" in results["output"]
    assert "Traceback" in capsys.readouterr().out  # for the instructor, on stdout


def test_schema_refuses_what_gradescope_does_not_read():
    good = {"tests": [{"name": "a", "score": 1.0, "max_score": 2.0, "visibility": "visible"}]}
    jsonschema.validate(good, SCHEMA)
    for bad in (
        {"tests": [{"name": "a", "max_score": 2.0}]},  # no score anywhere
        {"score": 1, "tests": [{"score": 1, "max_points": 2}]},  # a key Gradescope ignores
        {"score": 1, "visibility": "after_publication"},
        {"score": 1, "tests": [{"score": 1, "status": "error"}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)
