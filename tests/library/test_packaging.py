"""The project's own files agree with each other and pass the linters."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pip ships the same parser
    from pip._vendor import tomli as tomllib

from autograde.config import ROOT

LINTED = ["src", "solutions", "autograde", "tests", "benchmarks"]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment_specs() -> tuple[set[str], set[str]]:
    """(conda dependencies, pip dependencies) named in environment.yml, without versions."""
    conda, pip, in_pip, section = set(), set(), False, ""
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if line and not line[0].isspace() and stripped.endswith(":"):
            section = stripped[:-1]
        if section != "dependencies" or not stripped.startswith("- "):
            continue
        item = stripped[2:].strip()
        if item == "pip:":
            in_pip = True
            continue
        indent = len(line) - len(line.lstrip())
        if in_pip and indent > 4:
            if not item.startswith("-e"):
                pip.add(_name(item))
        else:
            in_pip = False
            conda.add(_name(item))
    return conda - {"python", "pip"}, pip


def test_environment_yml_names_the_runtime_dependencies():
    runtime = {_name(d) for d in _pyproject()["project"]["dependencies"]}
    conda, _ = _environment_specs()
    assert conda == runtime, f"only in pyproject: {runtime - conda}; only in yml: {conda - runtime}"


def test_environment_yml_names_the_dev_dependencies():
    dev = {_name(d) for d in _pyproject()["project"]["optional-dependencies"]["dev"]}
    _, pip = _environment_specs()
    assert pip == dev, f"only in pyproject: {dev - pip}; only in yml: {pip - dev}"


def test_torch_is_never_a_runtime_dependency():
    deps = (
        _pyproject()["project"]["dependencies"]
        + _pyproject()["project"]["optional-dependencies"]["dev"]
    )
    assert not any(_name(d) == "torch" for d in deps)


def _ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    targets = [d for d in LINTED if (ROOT / d).exists()]
    return subprocess.run([exe, *args, *targets], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.xdist_group("lint")
def test_ruff_check():
    done = _ruff("check")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.xdist_group("lint")
def test_ruff_format():
    done = _ruff("format", "--check")
    assert done.returncode == 0, done.stdout + done.stderr
