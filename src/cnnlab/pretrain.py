"""Reproduce the pretrained networks that ship with cnnlab (``cnnlab/pretrained/<name>.npz``).

The offline stand-in for "download a pretrained network": every shipped file is the output of a
recipe below (procedural data, fixed seeds, :func:`cnnlab.train.fit` with one BLAS thread), so
anyone can rebuild it::

    python -m cnnlab.pretrain shapes4             # retrain, overwrite the shipped file
    python -m cnnlab.pretrain shapes4 --out DIR   # write DIR/shapes4.npz and DIR/shapes4.json
    python -m cnnlab.pretrain shapes4 --check     # retrain in memory, compare, exit 1 if different

Each ``.npz`` (cnnlab's own format, :func:`cnnlab.spec.save_model`, no pickle) has a ``.json``
record beside it: the recipe, the sha256 of the arrays (:func:`array_digest`) and the test
accuracy. Rounding in the BLAS kernels differs between CPUs (AVX2 or AVX-512, FMA or not), so
a rerun elsewhere need not be bit for bit the same; :func:`compare` accepts a rerun whose every
array is within ``WEIGHT_RTOL`` of the shipped one (relative to the array's largest entry) and
whose test accuracy is within ``ACCURACY_MARGIN``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = [
    "RECIPES",
    "WEIGHT_RTOL",
    "ACCURACY_MARGIN",
    "PRETRAINED_DIR",
    "source_data",
    "build",
    "pretrain",
    "array_digest",
    "write",
    "compare",
    "main",
]

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
WEIGHT_RTOL = 1e-3  # max |rerun - shipped| <= WEIGHT_RTOL * max |shipped|, per array
ACCURACY_MARGIN = 0.01  # |rerun accuracy - recorded accuracy| <= this

RECIPES = {
    "shapes4": {
        "task": "4 of the 8 make_shapes classes",
        "classes": ["circle", "triangle", "vertical bar", "cross"],
        "size": 16,
        "noise": 0.05,
        "n_train": 4000,
        "n_test": 1000,
        "data_seed": 0,
        "conv_channels": [8, 16],
        "hidden": [32],
        "model_seed": 0,
        "lr": 2e-3,
        "epochs": 8,
        "batch_size": 32,
        "fit_seed": 0,
        "train_dtype": "float64",
    },
}
"""name -> recipe: source data (``make_shapes`` classes, image size, noise, counts, seed), the
``course_convnet`` architecture and the training run (Adam, in ``train_dtype``; the shipped
arrays are float32). Training in float64 keeps BLAS rounding differences between CPUs (about
1e-16 per operation) from growing into visible weight differences: trained in float32 with
OpenBLAS's Sandybridge kernels instead of Haswell's, the weights moved by up to 24 % of their
largest entry."""


def _recipe(name):
    if name not in RECIPES:
        raise ValueError(f"unknown pretrained network {name!r}; available: {sorted(RECIPES)}")
    return RECIPES[name]


def source_data(name):
    """The source task of recipe ``name``: independent train and test sets.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES`.

    Returns
    -------
    X_train : ndarray, shape (n_train, 1, size, size), float32
    y_train : ndarray, shape (n_train,), int64; label k is ``RECIPES[name]["classes"][k]``
    X_test : ndarray, shape (n_test, 1, size, size), float32
    y_test : ndarray, shape (n_test,), int64
    """
    from .data import shapes_split

    r = _recipe(name)
    return shapes_split(
        r["n_train"], r["n_test"], size=r["size"], seed=r["data_seed"],
        classes=r["classes"], noise=r["noise"],
    )  # fmt: skip


def build(name, dtype="float32"):
    """The untrained network of recipe ``name`` (He initialisation from ``model_seed``).

    Parameters
    ----------
    name : str
    dtype : str, default "float32"

    Returns
    -------
    cnnlab.nn.Sequential
        ``course_convnet((1, size, size), len(classes), conv_channels, hidden=hidden)``.
    """
    from .models import course_convnet

    r = _recipe(name)
    return course_convnet(
        (1, r["size"], r["size"]), num_classes=len(r["classes"]),
        conv_channels=tuple(r["conv_channels"]), hidden=tuple(r["hidden"]), seed=r["model_seed"],
        dtype=dtype,
    )  # fmt: skip


def array_digest(model):
    """sha256 of a model's arrays: names, dtypes, shapes and bytes, in sorted name order.

    Independent of the ``.npz`` container (zip timestamps), so equal arrays give equal digests.

    Parameters
    ----------
    model : cnnlab.nn.Module

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    arrays = {f"param/{k}": v for k, v in model.params.items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers.items()})
    h = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{a.dtype.str}|{a.shape};".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def pretrain(name):
    """Run recipe ``name`` from its seeds.

    Returns
    -------
    model : cnnlab.nn.Sequential
        The trained network, float32, in eval mode.
    record : dict
        Plain data for the ``.json`` file: name, description, recipe, input shape, classes,
        ``test_accuracy``, ``sha256`` (:func:`array_digest`), the NumPy version and the
        training time in seconds (informative only).
    """
    from . import optim, train

    r = _recipe(name)
    X_train, y_train, X_test, y_test = source_data(name)
    trained = build(name, dtype=r["train_dtype"])
    start = time.perf_counter()
    opt = optim.Adam(trained.params, lr=r["lr"])
    train.fit(
        trained, opt, X_train.astype(r["train_dtype"]), y_train, epochs=r["epochs"],
        batch_size=r["batch_size"], seed=r["fit_seed"], progress=False, blas_threads=1,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    model = build(name).eval()  # float32 copy of the trained arrays
    for key, arr in model.params.items():
        np.copyto(arr, trained.params[key])
    _, acc = train.evaluate(model, X_test, y_test)
    shape = [1, r["size"], r["size"]]
    classes = ", ".join(r["classes"])
    description = (
        f"course_convnet {tuple(r['conv_channels'])} + FC {r['hidden'][0]}, pretrained on "
        f"make_shapes {classes} ({len(r['classes'])} classes, input {tuple(shape)}, "
        f"{r['n_train']} training images); test accuracy {100 * acc:.1f} % on {r['n_test']}"
    )
    record = {
        "name": name,
        "description": description,
        "input_shape": shape,
        "classes": list(r["classes"]),
        "test_accuracy": acc,
        "sha256": array_digest(model),
        "recipe": dict(r),
        "numpy": np.__version__,
        "train_seconds": round(seconds, 2),
    }
    return model, record


def write(name, out_dir=None):
    """Run :func:`pretrain` and write ``<name>.npz`` and ``<name>.json`` into ``out_dir``.

    Parameters
    ----------
    name : str
    out_dir : str or Path, optional
        Default: the package's own ``pretrained/`` folder (overwrites the shipped file).

    Returns
    -------
    record : dict
    """
    from .spec import save_model

    out = Path(out_dir) if out_dir is not None else PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    model, record = pretrain(name)
    save_model(model, out / f"{name}.npz")
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def compare(shipped, rerun, recorded_accuracy, rerun_accuracy):
    """Differences between two runs of a recipe, as a list of sentences (empty: they agree).

    Parameters
    ----------
    shipped, rerun : cnnlab.nn.Module
        Same architecture.
    recorded_accuracy, rerun_accuracy : float

    Returns
    -------
    list of str
        One sentence per array beyond ``WEIGHT_RTOL`` and one when the accuracies differ by
        more than ``ACCURACY_MARGIN``.
    """
    problems = []
    theirs = rerun.params | rerun.buffers
    for key, ours in (shipped.params | shipped.buffers).items():
        diff = float(np.max(np.abs(theirs[key] - ours)))
        scale = float(np.max(np.abs(ours))) or 1.0
        if diff > WEIGHT_RTOL * scale:
            problems.append(
                f"{key}: max |difference| {diff:.3g} > {WEIGHT_RTOL} x max |w| = {scale:.3g}"
            )
    if abs(rerun_accuracy - recorded_accuracy) > ACCURACY_MARGIN:
        problems.append(
            f"test accuracy {rerun_accuracy:.4f} differs from the recorded "
            f"{recorded_accuracy:.4f} by more than {ACCURACY_MARGIN}"
        )
    return problems


def _check(name):
    """Retrain into a temporary folder and compare with the shipped file; 0 when they agree."""
    from .models import pretrained
    from .spec import load_model

    shipped = pretrained(name)
    record = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())
    problems = []
    if array_digest(shipped) != record["sha256"]:
        problems.append(f"shipped {name}.npz does not match the sha256 in {name}.json")
    with tempfile.TemporaryDirectory() as tmp:
        rerun = write(name, tmp)
        model = load_model(Path(tmp) / f"{name}.npz")
    problems += compare(shipped, model, record["test_accuracy"], rerun["test_accuracy"])
    exact = rerun["sha256"] == record["sha256"]
    print(
        f"{name}: rerun test accuracy {rerun['test_accuracy']:.4f} (recorded "
        f"{record['test_accuracy']:.4f}); arrays {'bit for bit identical' if exact else 'differ'}"
        f"; trained in {rerun['train_seconds']:.1f} s"
    )
    for p in problems:
        print(f"MISMATCH {p}")
    return 1 if problems else 0


def main(argv=None):
    """Command line: ``python -m cnnlab.pretrain NAME [--out DIR | --check]``."""
    parser = argparse.ArgumentParser(
        prog="python -m cnnlab.pretrain", description=__doc__.split("\n")[0]
    )
    parser.add_argument("name", choices=sorted(RECIPES))
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--out", metavar="DIR", help="write DIR/NAME.npz and DIR/NAME.json instead")
    group.add_argument("--check", action="store_true", help="retrain and compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        return _check(args.name)
    record = write(args.name, args.out)
    where = Path(args.out) if args.out else PRETRAINED_DIR
    print(
        f"wrote {where / (args.name + '.npz')}: test accuracy {record['test_accuracy']:.4f}, "
        f"sha256 {record['sha256'][:16]}..., trained in {record['train_seconds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
