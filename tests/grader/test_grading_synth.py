# ruff: noqa: E501
"""The notebook plumbing (no sandbox): lining up submissions with the source, unreadable files."""

from __future__ import annotations

import nbformat
import pytest
from synth import find, perfect, source_nb, submission

from autograde.judge.plan import Unreadable, plan, read_notebook

# --------------------------------------------------------------------------------------------
# notebook plumbing (no sandbox)
# --------------------------------------------------------------------------------------------


def test_plan_of_perfect_submission_has_every_test_in_order():
    p = plan(source_nb(), perfect())
    tests = [s.grade_id for s in p.steps if s.kind == "test"]
    assert tests == ["test_square", "test_correlate1d", "test_sgd", "test_Counter", "test_q1"]
    assert p.notes == []
    hidden = next(s for s in p.steps if s.grade_id == "test_square").source
    assert "SECRET_HIDDEN_MARKER" in hidden  # the judge runs the source version


def test_plan_restores_deleted_and_edited_cells():
    nb = perfect()
    del nb.cells[find(nb, "test_square")]
    nb.cells[find(nb, "test_q1")].source = "pass"
    p = plan(source_nb(), nb)
    kinds = [(s.kind, s.grade_id) for s in p.steps]
    assert ("test", "test_square") in kinds
    assert kinds.index(("test", "test_square")) < kinds.index(("code", "correlate1d"))
    assert any("deleted test cell 'test_square'" in n for n in p.notes)
    assert any("edited locked cell 'test_q1'" in n for n in p.notes)


def test_plan_matches_stripped_metadata_by_content():
    nb = perfect()
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    p = plan(source_nb(), nb)
    assert [s.grade_id for s in p.steps if s.kind == "test"] == [
        "test_square", "test_correlate1d", "test_sgd", "test_Counter", "test_q1"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"\x00\x01binary" * 50, "binary"),
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "not a notebook"),
        ("\u00e9t\u00e9".encode("latin-1"), "UTF-8"),
    ],
)
def test_unreadable_files_get_a_reason(data, reason):
    with pytest.raises(Unreadable, match=reason):
        read_notebook(data)


def test_nbformat3_is_upgraded():
    v3 = nbformat.writes(nbformat.convert(perfect(), 3), version=3).encode()
    nb = read_notebook(v3)
    assert nb.nbformat == 4
    assert len([s for s in plan(source_nb(), nb).steps if s.kind == "test"]) == 5


def test_plan_labels_a_cell_by_its_heading_and_first_line():
    nb = submission(extra=[("test_square", "\n# my check\nprint(undefined_name)\n")])
    nb.cells.insert(find(nb, "test_square") + 1, nbformat.v4.new_markdown_cell("## 2. Correlation"))
    labels = [s.label for s in plan(source_nb(), nb).steps if s.kind == "code"]
    assert 'the cell under "2. Correlation" that starts "# my check"' in labels
    assert not any(label.startswith("cell ") for label in labels)
