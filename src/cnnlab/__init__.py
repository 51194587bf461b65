"""cnnlab: the helper package of the open CNN course.

Submodules are imported on first use, so ``import cnnlab as cl`` stays fast and
``cl.data``, ``cl.layers``, ``cl.nn`` ... work without further imports.

============  ===========================================================
module        what it holds
============  ===========================================================
data          offline data sets (digits, shapes, scenes, sample photos)
scenes        multi-object scenes with boxes and masks (re-exported by data)
datafiles     MNIST, Fashion-MNIST, CIFAR-10 from local files (re-exported by data)
gradcheck     numerical gradients and relative errors
testing       assertion helpers used by the graded test cells
calls         forbid_calls / reference_helpers and the call matcher behind them
sources       the learner's def in the cells that ran, and its loops (assert_no_loops)
mistakes      known mistakes of the convolution exercises, for ``mistakes=``
plot          image grids, kernels, feature maps, training curves
layers        fast functional layers (forward -> (out, cache), backward)
nn            modules (Conv2d, ConvTranspose2d, ReLU, ..., Sequential)
spec          models as plain data (specs, .npz files)
optim         SGD, Momentum, Adam
train         fit, evaluate, predict
models        the course network and the shipped pretrained networks
pretrain      reproduces a shipped pretrained network (python -m cnnlab.pretrain)
============  ===========================================================
"""

from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "datafiles",
    "scenes",
    "gradcheck",
    "testing",
    "calls",
    "sources",
    "mistakes",
    "plot",
    "layers",
    "nn",
    "spec",
    "optim",
    "train",
    "models",
    "pretrain",
)

__all__ = [*_SUBMODULES, "is_grading", "claim", "ClaimError", "__version__"]


def is_grading() -> bool:
    """Return True while a notebook runs under an autograder or a fast check.

    nbgrader sets ``NBGRADER_EXECUTION`` while it executes a notebook; ``CNNLAB_FAST=1`` does the
    same by hand. Demonstration cells (training runs, searches, t-SNE) use this to shrink their
    budget; graded checks never change.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get("CNNLAB_FAST", "").lower() in {"1", "true", "yes"}


class ClaimError(AssertionError):
    """A number the notebook's prose quotes no longer holds for the data it was read from."""


def claim(what: str, value, *, low=None, high=None, equals=None) -> None:
    """Check a number that the notebook's prose quotes, when the course checks its own notebooks.

    Every figure a sentence quotes ("im2col is at least 30x faster", "5 of 360 test digits
    wrong") is computed in the notebook and passed here with the range the sentence asserts.
    With ``CNNLAB_CHECK_CLAIMS=1`` (set by the course's notebook tests on the solution
    notebooks) a value outside the range raises :class:`ClaimError` naming the sentence; in a
    learner's run it does nothing, because there the number depends on the learner's answers.

    Parameters
    ----------
    what : str
        The sentence (or its number) as the prose states it.
    value : float
        The number computed in the notebook.
    low, high : float, optional
        Inclusive bounds the sentence asserts.
    equals : optional
        The exact value the sentence states (compared with ``==``).
    """
    if os.environ.get("CNNLAB_CHECK_CLAIMS", "").lower() not in {"1", "true", "yes"}:
        return
    bad = (
        (equals is not None and value != equals)
        or (low is not None and not value >= low)
        or (high is not None and not value <= high)
    )
    if bad:
        wanted = f"== {equals!r}" if equals is not None else f"in [{low}, {high}]"
        raise ClaimError(
            f"the prose says {what!r}, but the notebook computed {value!r} (not {wanted})"
        )


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
