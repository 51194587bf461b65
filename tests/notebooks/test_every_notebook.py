"""What every notebook promises, checked the same way for each: one table, no per-notebook copies.

``EXERCISES`` is the specification: each notebook's graded answers in notebook order, with the
points of their test cells. The tests check that the notebook's metadata says the same, that its
intro box (the shared header: title, what you can do afterwards, what it builds on, time,
exercises) lists exactly these exercises and points, and that the solution passes every test
cell. That the released stubs fail every graded cell is checked by ``test_notebooks.py``.
"""

from __future__ import annotations

import re

import pytest
from nbtools import assert_passes, cells, graded_ids

from autograde.build.release import solution_sources, to_notebook

EXERCISES = {
    "01-convolution": {
        "correlate2d": 2, "convolve2d": 1, "edge_kernels": 2, "zero_pad": 1,
        "conv_output_size": 2, "conv_forward_naive": 4, "conv_param_count": 1,
        "dense_param_count": 1, "im2col": 3, "conv_forward_im2col": 3,
    },
    "02-layers": {
        "numerical_gradient": 2, "relu_forward": 1, "relu_backward": 1, "affine_forward": 1,
        "affine_backward": 2, "conv_backward_naive": 4, "maxpool_forward_naive": 2,
        "maxpool_backward_naive": 3, "avgpool_forward_naive": 2, "avgpool_backward_naive": 2,
        "global_avgpool_forward": 1, "global_avgpool_backward": 1, "softmax_cross_entropy": 2,
        "dropout_forward": 1, "dropout_backward": 1, "batchnorm2d_forward": 3,
        "batchnorm2d_backward": 3, "conv1x1_as_matmul": 1, "receptive_field": 2,
    },
    "03-training": {
        "he_init": 2, "build_convnet": 4, "iterate_minibatches": 2, "sgd_step": 1,
        "momentum_step": 2, "rmsprop_step": 2, "adam_step": 3, "train_epoch": 3, "evaluate": 2,
        "random_shift": 3, "train_convnet": 4,
    },
    "04-hyperparameters": {
        "train_val_split": 3, "lr_range_test": 3, "suggest_lr": 2, "warmup_cosine": 2,
        "l2_penalty": 2, "log_uniform": 1, "sample_config": 2, "grid_configs": 1,
        "random_search": 2, "successive_halving": 2, "EarlyStopping": 2, "q1": 1, "q2": 1, "q3": 1,
    },
    "05-visualization": {
        "normalize_for_display": 2, "get_activations": 3, "top_k_activating": 3,
        "occlusion_map": 4, "saliency_map": 3, "class_visualization": 3, "fooling_image": 3,
        "confusion_matrix": 2, "top_losses": 2,
    },
    "06-beyond-classification": {
        "iou": 2, "smooth_l1": 2, "localization_loss": 3, "fc_to_conv": 2, "nms": 2,
        "average_precision": 2, "conv_transpose_forward": 2, "conv_transpose_backward": 3,
        "pixel_cross_entropy": 2, "mean_iou": 2, "finetune_lr_scale": 2,
    },
}  # fmt: skip
ASSIGNMENTS = sorted(solution_sources())
SECTIONS = (
    r"^# \d\d · \S",  # the title
    r"^\*\*When you finish",  # what you can do afterwards
    r"^\*\*Builds on\*\*",
    r"^\*\*Time:\*\* about ",
    r"^\*\*Exercises \(\d+ points\):\*\*",
)


def intro(assignment: str) -> str:
    """The first markdown cell of the solution source: the notebook's header and intro box."""
    nb = to_notebook(solution_sources()[assignment])
    return next(c.source for c in nb.cells if c.cell_type == "markdown")


def test_every_notebook_is_in_the_table():
    assert ASSIGNMENTS == sorted(EXERCISES)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graded_cells_are_the_listed_exercises(assignment):
    answers, tests = graded_ids(assignment)
    assert answers == list(EXERCISES[assignment])
    assert tests == [f"test_{a}" for a in answers]
    points = {m["grade_id"]: m.get("points", 0) for _, m, _ in cells(assignment) if m.get("grade")}
    assert points == {f"test_{a}": p for a, p in EXERCISES[assignment].items()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_intro_box_has_the_shared_sections(assignment):
    text = intro(assignment)
    found = [re.search(pattern, text, re.M) for pattern in SECTIONS]
    assert all(found), f"missing: {[p for p, f in zip(SECTIONS, found) if not f]}"
    assert [f.start() for f in found] == sorted(f.start() for f in found), "sections out of order"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_intro_lists_the_exercises_and_their_points(assignment):
    text = " ".join(intro(assignment).split())
    total, listing = re.search(r"\*\*Exercises \((\d+) points\):\*\* (.*?)(?:\.|$)", text).groups()
    listed = {name: int(p) for name, p in re.findall(r"`(\w+)` \((\d+)\)", listing)}
    assert listed == EXERCISES[assignment]
    assert int(total) == sum(EXERCISES[assignment].values())


@pytest.mark.parametrize(
    "assignment, test_id",
    [(a, f"test_{name}") for a in ASSIGNMENTS for name in EXERCISES.get(a, ())],
)
def test_solution_passes(assignment, test_id):
    assert_passes(assignment, test_id)
