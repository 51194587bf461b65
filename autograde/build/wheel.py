"""Build this project's wheel offline: the one wheel ``bundle`` and ``export gradescope`` ship.

:func:`build_wheel` copies ``pyproject.toml``, ``README.md`` (and ``LICENSE``), ``src/`` and
``autograde/`` into a temporary folder, so that ``solutions/``, ``tests/``, ``build/`` and course
folders cannot reach the wheel and the checkout gains no ``build/`` or ``*.egg-info``, and runs
``pip wheel --no-deps --no-build-isolation --no-index`` there with ``SOURCE_DATE_EPOCH`` fixed
(same tree, same wheel). Given release folders, it puts them in the copy as
``autograde/release/<assignment>/`` (package data, see ``pyproject.toml``), which is where
``cnnlab-grade check`` looks first (:func:`autograde.course.check.release_dirs`). The wheel
must hold only the ``cnnlab`` and ``autograde`` packages and its ``.dist-info``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from autograde.config import ROOT

PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")  # copied when present
PROJECT_DIRS = ("src", "autograde")
WHEEL_TOP = {"cnnlab", "autograde"}  # the only packages the wheel may hold
RELEASE = "autograde/release"  # where shipped release folders go inside the package
EPOCH = "315532800"  # 1980-01-01: file times inside the wheel, for reproducibility
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints")


def wheel_top_level(wheel: Path) -> set[str]:
    """The top-level names inside a wheel, its ``.dist-info`` folder excluded."""
    with zipfile.ZipFile(wheel) as archive:
        tops = {n.split("/")[0] for n in archive.namelist()}
    return {t for t in tops if not t.endswith(".dist-info")}


def build_wheel(out_dir: Path, *, project: Path = ROOT, release: Iterable[Path] = ()) -> Path:
    """Build the project's wheel into ``out_dir``; return its path.

    Parameters
    ----------
    out_dir : Path
        Where the wheel goes (created; other files in it are left alone).
    project : Path
        The repository to build from.
    release : iterable of Path
        Release folders (``notebooks/01-convolution``) to ship as package data under
        ``autograde/release/<folder name>/``; none by default.

    Raises
    ------
    RuntimeError
        When pip fails, or the build gives no wheel, several, or one holding anything but
        ``cnnlab``, ``autograde`` and its ``.dist-info``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnlab-wheel-") as tmp:
        copy, built = Path(tmp) / "project", Path(tmp) / "wheels"
        copy.mkdir()
        for name in PROJECT_FILES:
            if (project / name).is_file():
                shutil.copy2(project / name, copy / name)
        for name in PROJECT_DIRS:
            shutil.copytree(project / name, copy / name, ignore=SKIP)
        shutil.rmtree(copy / RELEASE, ignore_errors=True)  # only what was asked for ships
        for folder in release:
            shutil.copytree(folder, copy / RELEASE / Path(folder).name, ignore=SKIP)
        env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PIP_NO_INDEX": "1"}
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        cmd += ["--no-index", "--quiet", "--wheel-dir", str(built), str(copy)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"building the wheel failed:\n{done.stdout}{done.stderr[-2000:]}")
        wheels = sorted(built.glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"expected one wheel from pip, found {[w.name for w in wheels]}")
        extra = wheel_top_level(wheels[0]) - WHEEL_TOP
        if extra:
            raise RuntimeError(f"{wheels[0].name}: unexpected top-level entries {sorted(extra)}")
        target = out_dir / wheels[0].name
        shutil.move(wheels[0], target)
    return target
