"""Read a submission defensively and line its cells up with the source notebook.

What runs is the submission's code cells in the submission's order, except that

- locked cells (setup cells, test cells) are restored from the source, matched by ``grade_id``,
  or by content when the learner renamed the ``grade_id`` or the metadata was stripped;
- test cells are not run in the sandbox: the judge runs the source version (hidden tests
  included) at that point;
- locked and test cells the learner deleted are put back at their place in the source order.

Answer cells and the learner's own extra cells run as the learner wrote them. Every deviation is
written to :attr:`Plan.notes` as one line.
"""

from __future__ import annotations

import ast
import difflib
import json
from dataclasses import dataclass, field

import nbformat

from autograde import cells
from autograde.cells import HIDDEN, code_cells, grade_id, meta, points, public_text

__all__ = ["HIDDEN", "Plan", "Step", "Unreadable", "cell_labels", "plan", "read_notebook"]


class Unreadable(Exception):
    """The submission is not a notebook we can grade; the message says why in one line."""


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse notebook bytes (nbformat 3 is upgraded); raise :class:`Unreadable` with a reason."""
    if not data.strip():
        raise Unreadable("empty file")
    if b"\x00" in data[:4096]:
        raise Unreadable("binary file, not a notebook")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text, not a notebook") from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"invalid JSON ({str(exc)[:80]})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Unreadable("JSON but not a notebook (no nbformat field)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise Unreadable(f"not a valid notebook ({str(exc)[:80]})") from None
    if not isinstance(nb.get("cells"), list):
        raise Unreadable("notebook without cells")
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            cell["source"] = "".join(cell.get("source") or [])
    return nb


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines() if line.strip())


def defines(source: str) -> set[str]:
    """Top-level names a cell defines (functions, classes, assignments); empty if unparsable."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


@dataclass
class Step:
    """One thing to do: run code in the sandbox, or run a test cell in the judge."""

    kind: str  # "code" or "test"
    label: str
    source: str
    grade_id: str = ""
    points: float = 0.0


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    matched_ids: int = 0
    foreign_ids: int = 0


def plan(source_nb, submission_nb) -> Plan:
    """Line up the submission with the source (see module docstring)."""
    src_cells = code_cells(source_nb)
    by_id = {}
    for index, cell in enumerate(src_cells):
        gid = grade_id(cell)
        if gid:
            by_id[gid] = (index, cell)
    restorable = {
        gid: (i, c) for gid, (i, c) in by_id.items() if cells.kind(c) in ("test", "locked")
    }
    answers = {gid for gid, (_, c) in by_id.items() if cells.kind(c) == "answer"}
    used: set[str] = set()
    found_answers: set[str] = set()
    out: list[tuple[int | None, Step]] = []
    result = Plan()

    def restored(gid: str) -> Step:
        index, cell = by_id[gid]
        if cells.kind(cell) == "test":
            return Step("test", gid, cell.source, gid, points(cell))
        return Step("code", gid, cell.source, gid)

    sub_cells = code_cells(submission_nb)
    labels = cell_labels(submission_nb)
    present = {grade_id(c) for c in sub_cells} & set(by_id)
    candidates = {gid: v for gid, v in restorable.items() if gid not in present}
    for cell in sub_cells:
        text = cell.get("source", "")
        gid = grade_id(cell)
        label = labels[id(cell)]
        if gid and gid in by_id:
            result.matched_ids += 1
            kind = cells.kind(by_id[gid][1])
            if gid in used:
                if kind in ("test", "locked"):
                    result.notes.append(f"duplicate of locked cell {gid!r} ignored")
                    continue
                result.notes.append(f"duplicate answer cell {gid!r} run as an ordinary cell")
                out.append((None, Step("code", f"{label} (copy of {gid})", text)))
                continue
            used.add(gid)
            if kind in ("test", "locked"):
                step = restored(gid)
                if _norm(text) != _norm(public_text(by_id[gid][1].source)) and _norm(text) != _norm(
                    by_id[gid][1].source
                ):
                    result.notes.append(f"edited locked cell {gid!r} restored from the source")
                out.append((by_id[gid][0], step))
                continue
            if kind == "answer":
                found_answers.add(gid)
            out.append((by_id[gid][0], Step("code", gid, text, gid)))
            continue
        if gid:
            result.foreign_ids += 1
        match = _match_by_content(text, candidates, used)
        if match:
            used.add(match)
            why = f"grade_id {gid!r}" if gid else "missing metadata"
            result.notes.append(f"cell matched to {match!r} by its content ({why})")
            out.append((by_id[match][0], restored(match)))
            continue
        names = defines(text) & (answers - found_answers)
        if names:
            name = sorted(names)[0]
            found_answers.add(name)
            if gid or not meta(cell):
                why = f"grade_id {gid!r}" if gid else "missing metadata"
                result.notes.append(f"answer {name!r} found by its content ({why})")
            out.append((by_id[name][0], Step("code", name, text, name)))
            continue
        out.append((None, Step("code", label, text)))
    # put back deleted locked and test cells at their place in the source order
    for gid, (index, _cell) in sorted(restorable.items(), key=lambda kv: kv[1][0]):
        if gid in used:
            continue
        at = len(out)
        for pos, (src_index, _) in enumerate(out):
            if src_index is not None and src_index > index:
                at = pos
                break
        out.insert(at, (index, restored(gid)))
        kind = "test" if cells.kind(_cell) == "test" else "locked"
        result.notes.append(f"deleted {kind} cell {gid!r} restored from the source")
    for gid in sorted(answers - found_answers):
        result.notes.append(f"answer cell {gid!r} not found")
    result.steps = [step for _, step in out]
    return result


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def cell_labels(nb) -> dict[int, str]:
    """A label a learner can find for every code cell (keyed by ``id(cell)``).

    The section heading above the cell and the cell's first line, e.g. ``the cell under
    "3. Padding" that starts "fig, ax = plt.subplots()"``, instead of a cell count that does
    not match what the learner sees.
    """
    labels: dict[int, str] = {}
    heading = ""
    for cell in nb.cells:
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            for line in source.splitlines():
                if line.lstrip().startswith("#"):
                    heading = _shorten(line.lstrip().lstrip("#").strip(), 40)
            continue
        if cell.get("cell_type") != "code":
            continue
        first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
        start = f'that starts "{_shorten(first, 36)}"' if first else "(empty)"
        labels[id(cell)] = f'the cell under "{heading}" {start}' if heading else f"the cell {start}"
    return labels


def _match_by_content(text: str, restorable: dict, used: set[str]) -> str | None:
    norm = _norm(text)
    if not norm:
        return None
    best, best_ratio = None, 0.0
    for gid, (_, cell) in restorable.items():
        if gid in used:
            continue
        for candidate in {_norm(cell.source), _norm(public_text(cell.source))}:
            if candidate == norm:
                return gid
            matcher = difflib.SequenceMatcher(None, norm, candidate, autojunk=False)
            if matcher.real_quick_ratio() < 0.85 or matcher.quick_ratio() < 0.85:
                continue
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best, best_ratio = gid, ratio
    return best if best_ratio >= 0.85 else None
