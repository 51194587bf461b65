"""cnnlab: the helper package of the open CNN course.

Submodules are imported on first use, so ``import cnnlab as cl`` stays fast and
``cl.data``, ``cl.layers``, ``cl.nn`` ... work without further imports.

============  ===========================================================
module        what it holds
============  ===========================================================
data          offline data sets (digits, procedural shapes, sample photos)
datafiles     MNIST, Fashion-MNIST, CIFAR-10 from local files (re-exported by data)
gradcheck     numerical gradients and relative errors
testing       assertion helpers used by the graded test cells
mistakes      known mistakes of the convolution exercises, for ``mistakes=``
plot          image grids, kernels, feature maps, training curves
layers        fast functional layers (forward -> (out, cache), backward)
nn            a small module API (Conv2d, ReLU, ..., Sequential)
spec          models as plain data (specs, .npz files)
optim         SGD, Momentum, Adam
train         fit, evaluate, predict
models        the course network
============  ===========================================================
"""

from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

_SUBMODULES = (
    "data",
    "datafiles",
    "gradcheck",
    "testing",
    "mistakes",
    "plot",
    "layers",
    "nn",
    "spec",
    "optim",
    "train",
    "models",
)

__all__ = [*_SUBMODULES, "is_grading", "__version__"]


def is_grading() -> bool:
    """Return True while a notebook runs under an autograder or a fast check.

    nbgrader sets ``NBGRADER_EXECUTION`` while it executes a notebook; ``CNNLAB_FAST=1`` does the
    same by hand. Demonstration cells (training runs, searches, t-SNE) use this to shrink their
    budget; graded checks never change.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return True
    return os.environ.get("CNNLAB_FAST", "").lower() in {"1", "true", "yes"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
