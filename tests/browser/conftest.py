"""Fixtures of the course website and browser tests: the built site, chromium, JupyterLab.

Every test here runs in one pytest-xdist worker (group "site"), so that the site is built once
per session. ``CNNLAB_SITE=build/site/html`` makes the tests use a site already built by
``make site`` instead of building one.

The browser tests (marker ``browser``) need Debian's chromium and the ``playwright`` package
(``pip install -e '.[dev]'``); without them they are skipped with a reason saying how to install
them. Screenshots land in ``build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograde.config import ROOT

CHROMIUM = Path(os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = (
    "install them with `apt-get install -y chromium fonts-dejavu-core` (Debian; .ci/run does) "
    "and `pip install -e '.[dev]'` (playwright)"
)
SCREENSHOTS = ROOT / "build" / "screenshots"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.xdist_group("site"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def site_html(tmp_path_factory) -> Path:
    """The built site's html folder: $CNNLAB_SITE, or a fresh build (cached executions)."""
    given = os.environ.get("CNNLAB_SITE")
    if given:
        html = Path(given).resolve()
        assert (html / "index.html").exists(), f"CNNLAB_SITE={given} holds no index.html"
        return html
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "autograde.build.site", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    html = out / "html"
    assert (html / "index.html").exists(), f"site build failed:\n{done.stdout}\n{done.stderr}"
    return html


@pytest.fixture(scope="session")
def site_url(site_html):
    """The built site served over HTTP on 127.0.0.1 (a thread of this process)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's chromium driven by playwright, with a fresh profile; skipped when missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need chromium at {CHROMIUM}: {INSTALL}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(f"browser tests need the playwright package: {INSTALL}")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    """A new tab; closed after the test."""
    tab = browser.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Jupyter:
    """A running Jupyter server (JupyterLab 4 and Notebook 7 on one port)."""

    url: str  # http://127.0.0.1:PORT
    token: str
    root: Path  # its root folder: solutions/<assignment>/*.ipynb, notebooks/<assignment>/*.ipynb
    log: Path

    def open_url(self, ui: str, relpath: str) -> str:
        return f"{self.url}/{ui}/{relpath}?token={self.token}"

    def api(self, path: str, method: str = "GET"):
        url = f"{self.url}/api/{path}?token={self.token}"
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown(self, relpath: str) -> None:
        """End the sessions (and kernels) of ``relpath``: each test's kernel goes with it."""
        for session in self.api("sessions"):
            if session.get("path") == relpath:
                self.api(f"sessions/{session['id']}", method="DELETE")


LAB_SETTINGS = {
    # every cell stays in the page, so that outputs and images can be counted
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # no "would you like to receive news?" pop-up, no update check (no network here)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory) -> Jupyter:
    """JupyterLab on 127.0.0.1 with copies of every notebook and throw-away settings.

    ``root/solutions/<assignment>/`` holds the instructor notebooks built from ``solutions/``
    (not executed), ``root/notebooks/<assignment>/`` copies of the student release. Config,
    data, runtime and user-settings folders are temporary, so the user's own Jupyter set-up
    plays no part.
    """
    from autograde.build.release import build_source

    base = tmp_path_factory.mktemp("jupyter")
    root = base / "root"
    build_source(root / "solutions")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    settings = base / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    disabled = {"@jupyterlab/apputils-extension:announcements": True}
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": disabled})
    )
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    # a learner's kernel: matplotlib's inline backend (tests/conftest.py sets Agg for pytest),
    # no claim checks, not grading
    for name in ("MPLBACKEND", "CNNLAB_CHECK_CLAIMS", "NBGRADER_EXECUTION"):
        env.pop(name, None)
    port, token = free_port(), "cnnlab-browser-test"
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=None", "--allow-root",
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
    ]  # fmt: skip
    log = base / "jupyter.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Jupyter(f"http://127.0.0.1:{port}", token, root, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                server.api("status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text()[-3000:]
                    raise RuntimeError(f"JupyterLab did not start:\n{tail}") from None
                time.sleep(1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
