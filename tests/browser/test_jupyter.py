"""Every notebook, run as a learner runs it: in JupyterLab 4 (and once in Notebook 7), in chromium.

The notebooks are otherwise only ever executed by nbclient. Here a real browser opens each copy
(``jupyter`` fixture: a temporary root, windowing mode off so every cell stays in the page), runs
it with Run > Run All Cells from the menu, waits for the kernel, saves it, and reads the saved
file back:

- a solution notebook runs without an error output, every code cell has an execution count,
  and the page shows as many rendered images as the file holds PNG outputs;
- a student notebook stops at its first ``NotImplementedError``, whose traceback is readable in
  the page (no raw ANSI codes), and nbgrader's *Validate* toolbar button (the nbgrader lab
  extension, installed with nbgrader) reports its failing test cells;
- Notebook 7 (``/tree``, open, run all) does the same for one solution notebook.

A screenshot of each notebook's first screen goes to ``build/screenshots/``.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest

from autograde import cells
from autograde.build.release import solution_sources

pytestmark = pytest.mark.browser

NOTEBOOKS = {a: f"{a}/{p.stem}.ipynb" for a, p in solution_sources().items()}
RUN_TIMEOUT = 1500  # seconds for one notebook, on a loaded 2-core machine
SHOWN = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"  # the notebook in front


def _menu(page, menu: str, *commands: str) -> None:
    """Click ``menu`` in the menu bar, then its item that runs one of ``commands``."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).first.click()
    items = ", ".join(f'.lm-Menu-item[data-command="{c}"]' for c in commands)
    page.locator(items).first.click()


def _open(page, jupyter, ui: str, relpath: str) -> None:
    """Open ``relpath`` alone (``reset``: no notebook of an earlier test restored)."""
    page.goto(jupyter.open_url(ui, relpath) + "&reset")
    _wait_for_notebook(page, jupyter, relpath)


def _wait_for_notebook(page, jupyter, relpath: str) -> None:
    """Wait until the notebook's cells are in the page and its kernel is idle."""
    page.locator(f"{SHOWN} .jp-Cell").first.wait_for(timeout=120_000)
    _wait_idle(page, jupyter, relpath, timeout=180)


def _kernel_state(jupyter, relpath: str) -> str | None:
    for session in jupyter.api("sessions"):
        if session.get("path") == relpath:
            return (session.get("kernel") or {}).get("execution_state")
    return None


def _wait_idle(page, jupyter, relpath: str, timeout: float) -> None:
    """Until the kernel is idle and no cell shows ``[*]`` (queued or running), twice in a row."""
    deadline, calm = time.monotonic() + timeout, 0
    while calm < 2:
        busy = page.evaluate(
            f"() => [...document.querySelectorAll('{SHOWN} .jp-InputPrompt')]"
            ".filter(e => e.textContent.includes('*')).length"
        )
        calm = calm + 1 if busy == 0 and _kernel_state(jupyter, relpath) == "idle" else 0
        assert time.monotonic() < deadline, f"{relpath}: still running after {timeout} s"
        time.sleep(1.5)


def _run_all_and_save(page, jupyter, relpath: str) -> nbformat.NotebookNode:
    page.locator(f"{SHOWN} .jp-Cell").first.click()  # the notebook has the focus
    _menu(page, "Run", "runmenu:run-all", "notebook:run-all-cells")
    page.wait_for_function(  # the run started: a cell is queued, running or done
        f"() => [...document.querySelectorAll('{SHOWN} .jp-InputPrompt')]"
        ".some(e => /\\[[*0-9]+\\]/.test(e.textContent))",
        timeout=120_000,
    )
    _wait_idle(page, jupyter, relpath, timeout=RUN_TIMEOUT)
    path = jupyter.root / relpath
    before = path.stat().st_mtime_ns
    _menu(page, "File", "docmanager:save")
    deadline = time.monotonic() + 120
    while path.stat().st_mtime_ns == before:  # the save reached the disk
        assert time.monotonic() < deadline, f"{relpath}: File > Save wrote nothing"
        time.sleep(0.5)
    page.wait_for_function("() => !document.querySelector('.jp-mod-dirty')", timeout=60_000)
    time.sleep(1)
    return nbformat.read(path, as_version=4)


def _png_outputs(nb) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in cells.code_cells(nb)
        for out in cell.get("outputs", [])
    )


def _rendered_images(page) -> int:
    """Images of output areas that the browser decoded (naturalWidth > 0)."""
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{SHOWN} .jp-OutputArea-output img')]"
        ".every(img => img.complete)",
        timeout=60_000,
    )
    return page.evaluate(
        f"() => [...document.querySelectorAll('{SHOWN} .jp-OutputArea-output img')]"
        ".filter(img => img.complete && img.naturalWidth > 0).length"
    )


def _check_solution_run(page, nb, name: str) -> None:
    errors = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{name} raised in the browser: {errors}"
    unrun = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.execution_count]
    assert not unrun, f"{name}: code cells {unrun} were not executed by Run All Cells"
    pngs = _png_outputs(nb)
    assert pngs > 0, f"{name}: the saved notebook holds no figure"
    shown = _rendered_images(page)
    assert shown == pngs, f"{name}: {shown} images in the page != {pngs} PNG outputs saved"


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_solution_notebook_runs_in_jupyterlab(assignment, jupyter, page, screenshots, request):
    relpath = f"solutions/{NOTEBOOKS[assignment]}"
    request.addfinalizer(lambda: jupyter.shutdown(relpath))
    _open(page, jupyter, "lab/tree", relpath)
    page.screenshot(path=str(screenshots / f"lab-solution-{assignment}.png"))
    nb = _run_all_and_save(page, jupyter, relpath)
    _check_solution_run(page, nb, relpath)


@pytest.mark.parametrize("assignment", list(NOTEBOOKS))
def test_student_notebook_stops_at_first_stub_in_jupyterlab(
    assignment, jupyter, page, screenshots, request
):
    relpath = f"notebooks/{NOTEBOOKS[assignment]}"
    request.addfinalizer(lambda: jupyter.shutdown(relpath))
    _open(page, jupyter, "lab/tree", relpath)
    page.screenshot(path=str(screenshots / f"lab-student-{assignment}.png"))
    nb = _run_all_and_save(page, jupyter, relpath)
    code = cells.code_cells(nb)
    failing = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    assert len(failing) == 1, f"{relpath}: {len(failing)} cells raised, expected exactly one"
    first = failing[0]
    error = next(o for o in code[first].outputs if o.output_type == "error")
    # the stub's NotImplementedError, raw or as the test cell reports it ("... raised
    # NotImplementedError: ..." in an AssertionError that names the check)
    said = f"{error.ename}: {error.evalue}"
    assert "NotImplementedError" in said, f"{relpath}: stopped at {said[:300]}"
    answers = [i for i, c in enumerate(code) if cells.kind(c) == "answer"]
    assert answers[0] < first < (answers[1:] or [len(code)])[0], (
        f"{relpath}: stopped at code cell {first}, not under the first exercise "
        f"(answer cells at {answers[:2]})"
    )
    assert all(c.execution_count for c in code[:first]), f"{relpath}: a cell before it did not run"
    assert not any(c.execution_count for c in code[first + 1 :]), f"{relpath}: ran past the error"
    # the traceback in the page: readable text naming the error, no raw ANSI escape codes
    shown = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        has_text="NotImplementedError",
    )
    text = shown.first.inner_text()
    assert "NotImplementedError" in text and "Traceback" in text, text[:500]
    assert "\x1b[" not in text and "[0;31m" not in text, f"raw ANSI codes in: {text[:300]}"
    shown.first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / f"lab-student-{assignment}-error.png"))
    # nbgrader's Validate button runs the whole notebook on the server and lists what fails
    page.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_TIMEOUT * 1000)
    body = dialog.locator(".jp-Dialog-body")  # nbgrader sets the outcome as its class
    assert "Validation Results" in dialog.inner_text()
    assert "validation-failed" in body.get_attribute("class"), body.inner_text()[:1000]
    assert "NotImplementedError" in body.inner_text()
    dialog.locator(".jp-mod-accept").first.click()


def test_notebook7_tree_open_run_all(jupyter, browser, screenshots, request):
    """Notebook 7: the file tree, open a notebook in its own tab, run all, save."""
    assignment = next(iter(NOTEBOOKS))
    relpath = f"solutions/{NOTEBOOKS[assignment]}"
    request.addfinalizer(lambda: jupyter.shutdown(relpath))
    tree = browser.new_page()
    tree.set_default_timeout(60_000)
    try:
        tree.goto(f"{jupyter.url}/tree/solutions/{assignment}?token={jupyter.token}")
        item = tree.locator(".jp-DirListing-item", has_text=NOTEBOOKS[assignment].split("/")[1])
        with browser.expect_page(timeout=120_000) as opened:
            item.first.dblclick()
        page = opened.value
        page.set_default_timeout(60_000)
        _wait_for_notebook(page, jupyter, relpath)
        assert "/notebooks/" in page.url, page.url
        page.screenshot(path=str(screenshots / f"notebook7-{assignment}.png"))
        nb = _run_all_and_save(page, jupyter, relpath)
        _check_solution_run(page, nb, f"Notebook 7: {relpath}")
        page.close()
    finally:
        tree.close()
