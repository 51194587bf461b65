"""``cnnlab-grade bundle``: the student zip holds no answer and no hidden test, and works.

The bundle of two real assignments is built once (a wheel build, ~4 s), unpacked, searched for
every solution and hidden-test region of ``solutions/`` (the release shipped inside the wheel
included), then its wheel is installed into a fresh virtualenv (no network: ``--no-index``; the
dependencies come from this venv through a ``.pth`` file) whose own ``cnnlab-grade check``
grades a bundled notebook with the answers pasted in against the release the wheel ships.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograde import cells
from autograde.build.release import to_notebook
from autograde.config import ROOT
from autograde.course import bundle

pytestmark = pytest.mark.xdist_group("bundle")
ASSIGNMENTS = ["01-convolution", "03"]  # a full name and a prefix
TOP = bundle.NAME


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    report = bundle.build_bundle(ASSIGNMENTS, out)
    assert report.leaks == [] and report.path == out / f"{TOP}.zip"
    unpacked = out / "unpacked"
    with zipfile.ZipFile(report.path) as archive:
        archive.extractall(unpacked)
    wheel = next((unpacked / TOP).glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(out / "wheel")
    return report, unpacked / TOP, wheel, out / "wheel"


def _all_texts(*folders: Path) -> dict[str, str]:
    """Every file under the folders; a notebook also as its joined cell sources."""
    found = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            text = path.read_bytes().decode("utf-8", "replace")
            if path.suffix == ".ipynb":
                text += "\n" + "\n".join(c.source for c in nbformat.reads(text, 4).cells)
            found[str(path)] = bundle.normalise(text)
    return found


def test_bundle_holds_notebooks_wheel_requirements_readme(built):
    report, top, wheel, unpacked_wheel = built
    assert report.assignments == ["01-convolution", "03-training"]
    names = sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file())
    assert names == [
        "README-students.md",
        wheel.name,
        "notebooks/01-convolution/convolution.ipynb",
        "notebooks/03-training/training.ipynb",
        "requirements.txt",
    ]
    for name in names[2:4]:  # the committed release, byte for byte
        assert (top / name).read_bytes() == (ROOT / name).read_bytes()
    tops = {p.name for p in unpacked_wheel.iterdir()}
    assert tops == {"cnnlab", "autograde", wheel.name.split("-py3")[0] + ".dist-info"}
    shipped = unpacked_wheel / "autograde" / "release"  # the same release, as package data
    assert sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*.ipynb")) == [
        n.removeprefix("notebooks/") for n in names[2:4]
    ]
    for name in names[2:4]:
        assert (shipped / name.removeprefix("notebooks/")).read_bytes() == (top / name).read_bytes()
    assert (unpacked_wheel / "cnnlab" / "pretrained" / "shapes4.npz").is_file()
    requirements = (top / "requirements.txt").read_text()
    assert re.search(r"^numpy>=[\d.]+  # tested with \d", requirements, re.M)
    readme = (top / "README-students.md").read_text()
    for needed in (f"./{wheel.name}", "jupyter lab notebooks/", "cnnlab-grade check", "Submit"):
        assert needed in readme
    assert "notebooks/03-training/training.ipynb" in readme


def test_no_solution_or_hidden_test_text_anywhere(built):
    report, top, _, unpacked_wheel = built
    secrets = bundle.secrets(ROOT / "solutions")
    kinds = {s.kind for s in secrets}
    assert len(secrets) > 100 and kinds == {"solution", "hidden test"}
    texts = _all_texts(top, unpacked_wheel)
    assert any(p.endswith("METADATA") for p in texts) and any(p.endswith(".py") for p in texts)
    shipped = [p for p in texts if "/autograde/release/" in p and p.endswith(".ipynb")]
    assert len(shipped) == 2  # searched like the notebooks given out (markers included below)
    found = {
        (s.assignment, s.grade_id, s.kind)
        for s in secrets
        if any(s.text in text for text in texts.values())
    }
    # exactly the reference code the course discloses (a stale DISCLOSED entry fails too)
    assert found == {(a, g, "solution") for a, g in bundle.DISCLOSED}
    for path, text in texts.items():
        if path.endswith((".ipynb", ".md", ".txt")):
            assert not [m for m in cells.MARKERS if m in text], path
    assert len(report.disclosed) == len(bundle.DISCLOSED)


def test_a_leaking_bundle_is_refused_and_not_written(tmp_path, monkeypatch, capsys):
    source = to_notebook(ROOT / "solutions" / "01-convolution" / "convolution.py")
    release = tmp_path / "release" / "01-convolution"
    release.mkdir(parents=True)
    nbformat.write(source, release / "convolution.ipynb")  # the instructor's notebook

    def fake_wheel(out_dir, *, project, release):  # no build: optim.py and the release only
        wheel = out_dir / "cnnlab-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.write(ROOT / "src" / "cnnlab" / "optim.py", "cnnlab/optim.py")
            for folder in release:
                for path in folder.iterdir():
                    archive.write(path, f"autograde/release/{folder.name}/{path.name}")
            archive.writestr("cnnlab-0.1.0.dist-info/METADATA", "Requires-Dist: numpy>=1.24\n")
        return wheel

    monkeypatch.setattr(bundle, "build_wheel", fake_wheel)
    parser = argparse.ArgumentParser()
    bundle.register(parser.add_subparsers())
    args = parser.parse_args(["bundle", "--out", str(tmp_path / "out")])
    build = bundle.build_bundle
    monkeypatch.setattr(
        bundle,
        "build_bundle",
        lambda names, out, **kw: build(names, out, release_dir=release.parent, **kw),
    )
    assert bundle.run(args) == 1
    assert not (tmp_path / "out").exists()
    assert "NOT WRITTEN" in capsys.readouterr().out
    report = build(None, tmp_path / "out", release_dir=release.parent)
    leaks = "\n".join(report.leaks)
    assert "marker '### BEGIN SOLUTION'" in leaks and "marker '### BEGIN HIDDEN TESTS'" in leaks
    inside = "!/autograde/release/01-convolution/convolution.ipynb: marker '### BEGIN SOLUTION'"
    assert inside in leaks  # the release inside the wheel is searched for markers too
    assert "solution of 01-convolution/im2col" in leaks
    assert "hidden test of 01-convolution/test_conv_forward_naive" in leaks
    assert report.path is None and "optim.py" in report.disclosed[0]
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("x/notes.md", "harmless")
    assert bundle.find_leaks(data.getvalue(), bundle.secrets(ROOT / "solutions")) == ([], [])


def test_unknown_or_ambiguous_assignment_is_an_error():
    with pytest.raises(ValueError, match="known: 01-convolution"):
        bundle.select(["99"], ROOT / "notebooks")
    with pytest.raises(ValueError, match="names 6 assignments"):
        bundle.select(["0"], ROOT / "notebooks")


def test_installed_wheel_checks_a_filled_in_notebook(built, tmp_path):
    """A fresh venv, the wheel from the bundle, its own cnnlab-grade, the release it ships.

    The learner's copy has every answer but one, whose test cell the learner emptied: the check
    runs the shipped release's test cell instead, so that exercise fails and no other does (the
    notebook's own cells, the fallback, would give full points)."""
    _, top, wheel, _ = built
    venv = tmp_path / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_deps_from_test_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env["PIP_NO_INDEX"] = "1"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    subprocess.run(pip + ["--no-index", "--quiet", str(wheel)], check=True, env=env)
    where = subprocess.run(
        [python, "-c", "import autograde, cnnlab; print(autograde.__file__, cnnlab.__file__)"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(w.startswith(purelib) for w in where), where  # the wheel, not this checkout

    notebook = nbformat.read(top / "notebooks" / "01-convolution" / "convolution.ipynb", 4)
    source = to_notebook(ROOT / "solutions" / "01-convolution" / "convolution.py")
    answers = {cells.grade_id(c): c.source for c in source.cells if cells.kind(c) == "answer"}
    for cell in notebook.cells:
        if cells.kind(cell) == "answer" and cells.grade_id(cell) != "conv_param_count":
            cell.source = answers[cells.grade_id(cell)]
        if cells.grade_id(cell) == "test_conv_param_count":
            cell.source = "pass  # tampered: the stub above now passes its own test cell"
    filled = tmp_path / "convolution.ipynb"
    nbformat.write(notebook, filled)
    done = subprocess.run(
        [venv / "bin" / "cnnlab-grade", "check", str(filled), "--timeout", "60"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "with the public tests of 01-convolution/convolution.ipynb "
        "(the release installed with the package)" in done.stdout
    ), done.stdout
    score = re.search(r"public tests: ([\d.]+)/([\d.]+) points", done.stdout)
    total = sum(cells.test_points(notebook).values())
    assert score and (float(score[1]), float(score[2])) == (total - 1, total), done.stdout
    failed = re.findall(r"^FAIL (\w+)", done.stdout, re.M)
    assert failed == ["test_conv_param_count"] and "NotImplementedError" in done.stdout
    assert "ok   test_conv_forward_im2col" in done.stdout
