"""The mistakes the tests of 02's batch normalisation (exercises 8c and 8d) name, as buggy answers.

Each case edits the solution's answer (``mutant``) and checks that the test cell fails with a
message naming the mistake, and not a neighbouring one; ``public=True`` where the learner's
self-check must catch it too. ``cl.layers.batchnorm2d_*`` is the reference of both test cells,
so it must keep the exercises' contract: the last tests check that it does.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
from nbtools import assert_fails, assert_forbidden, mutant, namespace, run_test_cell

import cnnlab as cl

NB = "02-layers"
FWD, BWD = "test_batchnorm2d_forward", "test_batchnorm2d_backward"
fails = partial(assert_fails, NB)
fwd = partial(mutant, NB, "batchnorm2d_forward")
bwd = partial(mutant, NB, "batchnorm2d_backward")

# The one-image eval example is the lesson: the batch's statistics in eval mode.
BATCH_STATS_IN_EVAL = (
    "    else:\n        mu, var = running_mean, running_var\n",
    "    else:\n        mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))\n",
)
REBOUND = (
    "        running_mean *= momentum\n        running_mean += (1 - momentum) * mu\n",
    "        running_mean = momentum * running_mean + (1 - momentum) * mu\n",
)
BIASED = (" * var * m / (m - 1)\n", " * var\n")  # the running variance's update
PER_PIXEL = """
def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, *, train=True, momentum=0.9,
                        eps=1e-5):
    if train:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        mu, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
        running_mean *= momentum
        running_mean += (1 - momentum) * mu.mean(axis=(0, 2, 3))
        running_var *= momentum
        running_var += (1 - momentum) * var.mean(axis=(0, 2, 3)) * m / (m - 1)
    else:
        mu, var = running_mean[None, :, None, None], running_var[None, :, None, None]
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mu) * inv_std
    out = gamma[None, :, None, None] * xhat + beta[None, :, None, None]
    return out, (xhat, gamma, inv_std, train)
"""
FORWARD_MISTAKES = {
    "batch statistics in eval mode": ([BATCH_STATS_IN_EVAL], "eval mode used the batch's own"),
    "running mean rebound, not updated in place": ([REBOUND], "in place"),
    "running var biased": ([BIASED], "biased variance"),
    "momentum the other way round": (
        [("running_mean *= momentum", "running_mean *= 1 - momentum"),
         ("running_mean += (1 - momentum) * mu", "running_mean += momentum * mu")],
        "the other way round",
    ),
    "unbiased variance to normalise": (
        [("var = x.var(axis=(0, 2, 3))", "var = x.var(axis=(0, 2, 3), ddof=1)"),
         BIASED],
        "the unbiased variance",
    ),
    "std for var in eval mode": (
        [("mu, var = running_mean, running_var", "mu, var = running_mean, running_var**2")],
        "as a standard deviation",
    ),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(FORWARD_MISTAKES))
def test_forward_mistakes_named(mistake):
    edits, needle = FORWARD_MISTAKES[mistake]
    fails(FWD, fwd(*edits), needle, public=True)


def test_forward_per_pixel_statistics():
    fails(FWD, {"batchnorm2d_forward": PER_PIXEL}, "per pixel", public=True)


@pytest.mark.parametrize(
    "mistake",
    ["batch statistics in eval mode", "running var biased", "momentum the other way round"],
)
def test_forward_mistakes_caught_by_the_hidden_part(mistake):
    edits, needle = FORWARD_MISTAKES[mistake]
    fails(FWD, fwd(*edits), hidden=True)


def test_forward_hidden_part_names_batch_stats_and_biased_running_var():
    fails(FWD, fwd(BATCH_STATS_IN_EVAL), "eval mode used the batch's own", hidden=True)
    fails(
        FWD,
        fwd(
            (
                "running_var += (1 - momentum) * var * m / (m - 1)",
                "running_var += (1 - momentum) * var",
            )
        ),
        "biased variance",
        hidden=True,
    )


def test_forward_rebinding_is_not_told_about_momentum():
    message = fails(FWD, fwd(REBOUND), "in place")
    assert "other way round" not in message and "biased" not in message


def test_forward_in_place_on_x():
    edit = ("    if train:\n        m =", "    if train:\n        x *= 2\n        m =")
    fails(FWD, fwd(edit), "x after batchnorm2d_forward", hidden=True, visible=False)


def test_forward_wrong_cache():
    fails(FWD, fwd(("return out, (xhat,", "return out, (x,")), "xhat",
          hidden=True, visible=False)  # fmt: skip


def test_forward_library_only():
    assert_forbidden(
        NB,
        FWD,
        "batchnorm2d_forward",
        """
def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, *, train=True, momentum=0.9,
                        eps=1e-5):
    return cl.layers.batchnorm2d_forward(x, gamma, beta, running_mean, running_var, train=train,
                                         momentum=momentum, eps=eps)
""",
    )


# --------------------------------------------------------------------------------------------
# batchnorm2d_backward
# --------------------------------------------------------------------------------------------
NO_STATS = ("    if not train:\n        return", "    if True:\n        return")
MEAN_ONLY = ("- xhat * sum_dxhat_xhat", "")
BACKWARD_MISTAKES = {
    "batch statistics ignored": ([NO_STATS], "depend on x"),
    "variance path missing": ([MEAN_ONLY], "path through the batch variance"),
    "dbeta averaged": ([("dbeta = dout.sum(axis=(0, 2, 3))", "dbeta = dout.mean(axis=(0, 2, 3))")],
                       "dbeta averaged"),
    "dgamma averaged": (
        [("dgamma = (dout * xhat).sum(axis=(0, 2, 3))",
          "dgamma = (dout * xhat).mean(axis=(0, 2, 3))")], "dgamma averaged"),
    "train formula in eval mode": ([("    if not train:\n", "    if False:\n")], "eval mode"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(BACKWARD_MISTAKES))
def test_backward_mistakes_named(mistake):
    edits, needle = BACKWARD_MISTAKES[mistake]
    fails(BWD, bwd(*edits), needle, public=True)


HIDDEN_BACKWARD = {
    "batch statistics ignored": (NO_STATS, "depend on x"),
    "train formula in eval mode": (("    if not train:\n", "    if False:\n"), "eval mode treated"),
    "dgamma from dout alone": (("dgamma = (dout * xhat).sum", "dgamma = dout.sum"), "not of dout"),
}


@pytest.mark.parametrize("mistake", list(HIDDEN_BACKWARD))
def test_backward_hidden_part_names_the_mistake(mistake):
    edit, needle = HIDDEN_BACKWARD[mistake]
    fails(BWD, bwd(edit), needle, hidden=True, visible=False)


def test_backward_variance_path_is_not_told_the_stats_are_ignored():
    message = fails(BWD, bwd(MEAN_ONLY), "path through the batch variance")
    assert "not just dout * gamma * inv_std" not in message


def test_backward_is_graded_on_its_own():
    """A broken forward pass does not cost the backward exercise: its cache comes from cnnlab."""
    assert (
        run_test_cell(
            NB,
            BWD,
            fwd(
                BATCH_STATS_IN_EVAL,
                (
                    "running_var += (1 - momentum) * var * m / (m - 1)",
                    "running_var += (1 - momentum) * var",
                ),
            ),
        )
        is None
    )


def test_backward_library_only():
    assert_forbidden(
        NB,
        BWD,
        "batchnorm2d_backward",
        """
def batchnorm2d_backward(dout, cache):
    return cl.layers.batchnorm2d_backward(dout, cache)
""",
    )


# --------------------------------------------------------------------------------------------
# cnnlab's layer is the reference: it has the exercises' contract
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("train", [True, False])
def test_library_twin_agrees_with_the_solution(train):
    ns = namespace(NB)
    rng = np.random.default_rng(5)
    x = rng.normal(2, 3, (3, 4, 5, 2))
    gamma, beta = rng.normal(1, 0.5, 4), rng.normal(0, 1, 4)
    stats = (rng.normal(0, 1, 4), rng.uniform(0.5, 2, 4))
    mine, theirs = [s.copy() for s in stats], [s.copy() for s in stats]
    out, cache = ns["batchnorm2d_forward"](x, gamma, beta, *mine, train=train, momentum=0.8)
    ref, ref_cache = cl.layers.batchnorm2d_forward(x, gamma, beta, *theirs, train=train,
                                                   momentum=0.8)  # fmt: skip
    np.testing.assert_allclose(out, ref, atol=1e-12)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert len(cache) == len(ref_cache) == 4 and cache[3] == ref_cache[3] == train
    for a, b in zip(cache[:3], ref_cache[:3]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    dout = rng.standard_normal(x.shape)
    for a, b in zip(ns["batchnorm2d_backward"](dout, cache),
                    cl.layers.batchnorm2d_backward(dout, ref_cache)):  # fmt: skip
        np.testing.assert_allclose(a, b, atol=1e-12)
