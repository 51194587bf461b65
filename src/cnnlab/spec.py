"""Models as plain data: specs for moving them between processes, ``.npz`` files for keeping them.

``to_spec(model)`` gives a dict of class names, constructor keyword arguments (``config()``) and
arrays; ``from_spec(spec)`` rebuilds the model from cnnlab.nn classes only; ``load_state(model,
spec)`` copies arrays into an existing model in place. ``save_model(model, path)`` /
``load_into(model, path)`` / ``load_model(path)`` store the same in an ``.npz`` file read with
``allow_pickle=False``, and refuse a file whose architecture differs, saying what differs.
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import nn
from .nn import Sequential

__all__ = ["to_spec", "from_spec", "load_state", "load_model", "save_model", "load_into"]


def save_model(model, path):
    """Save architecture, parameters, buffers and mode of ``model`` to an ``.npz`` file."""
    arrays = {f"param/{k}": v for k, v in model.params.items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers.items()})
    arrays["architecture"] = np.array(json.dumps(_architecture(model)))
    arrays["training"] = np.array(model.training)
    np.savez(path, **arrays)


def load_into(model, path):
    """Load a file written by :func:`save_model` into ``model``, in place; returns ``model``."""
    with np.load(_npz_path(path), allow_pickle=False) as f:
        theirs = json.loads(str(f["architecture"]))
        _check_same_architecture(theirs, _architecture(model), where=str(path))
        for key, arr in model.params.items():
            np.copyto(arr, f[f"param/{key}"])
        for key, arr in model.buffers.items():
            np.copyto(arr, f[f"buffer/{key}"])
        model.train() if bool(f["training"]) else model.eval()
    return model


# the classes a spec may name: every layer cnnlab.nn exports, nothing else
_CLASSES = {
    name: cls
    for name, cls in ((n, getattr(nn, n)) for n in nn.__all__)
    if isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not nn.Module
}


def _architecture(module):
    """Nested plain description (types and configs, no arrays), JSON-normalised."""
    if isinstance(module, Sequential):
        return {"type": "Sequential", "layers": [_architecture(m) for m in module.layers]}
    return json.loads(json.dumps({"type": type(module).__name__, "config": module.config()}))


def _describe(arch):
    if arch["type"] == "Sequential":
        return f"Sequential with {len(arch['layers'])} layers"
    args = ", ".join(f"{k}={v}" for k, v in arch["config"].items())
    return f"{arch['type']}({args})"


def _check_same_architecture(theirs, ours, where="spec", prefix="model"):
    """Raise ValueError naming the first layer (and the layer count) where two differ."""
    if theirs["type"] != ours["type"] or theirs.get("config") != ours.get("config"):
        raise ValueError(
            f"architecture mismatch at {prefix}: {where} has {_describe(theirs)}, "
            f"this model has {_describe(ours)}"
        )
    if ours["type"] == "Sequential":
        a, b = theirs["layers"], ours["layers"]
        count = ""
        if len(a) != len(b):
            count = f"{where} has {len(a)} layers, this model has {len(b)}; "
        for i, (x, y) in enumerate(zip(a, b)):
            try:
                _check_same_architecture(x, y, where, prefix=f"{prefix} layer {i}")
            except ValueError as err:
                raise ValueError(count + str(err)) from None
        if count:
            raise ValueError(f"architecture mismatch at {prefix}: {count.rstrip('; ')}")


def to_spec(module):
    """Describe a module as plain data (dicts, lists, str, numbers, bool and arrays).

    Returns
    -------
    dict
        ``{"type": class name, "config": {...}, "params": {name: array}, "buffers": {...},
        "training": bool}``; for a Sequential ``{"type": "Sequential", "layers": [spec, ...],
        "training": bool}``. The arrays are copies.
    """
    if isinstance(module, Sequential):
        return {
            "type": "Sequential",
            "layers": [to_spec(m) for m in module.layers],
            "training": bool(module.training),
        }
    if type(module).__name__ not in _CLASSES or _CLASSES[type(module).__name__] is not type(module):
        raise ValueError(f"to_spec supports cnnlab.nn classes only, got {type(module).__name__}")
    return {
        "type": type(module).__name__,
        "config": dict(module.config()),
        "params": {k: v.copy() for k, v in module.params.items()},
        "buffers": {k: v.copy() for k, v in module.buffers.items()},
        "training": bool(module.training),
    }


def from_spec(spec):
    """Rebuild a module from :func:`to_spec` output (cnnlab.nn classes only)."""
    if not isinstance(spec, dict) or spec.get("type") not in _CLASSES:
        kind = spec.get("type") if isinstance(spec, dict) else type(spec).__name__
        raise ValueError(f"unknown module type {kind!r}; expected one of {sorted(_CLASSES)}")
    if spec["type"] == "Sequential":
        module = Sequential(*[from_spec(s) for s in spec["layers"]])
    else:
        module = _CLASSES[spec["type"]](**spec.get("config", {}))
    return load_state(module, spec)


def load_state(module, spec):
    """Copy params, buffers and mode from ``spec`` into ``module`` in place; returns ``module``.

    Raises ValueError when the architecture (types, configs, array shapes) differs.
    """
    theirs = _architecture_of_spec(spec)
    _check_same_architecture(theirs, _architecture(module))
    if "training" in spec:  # first, so that the layers' own flags below win
        module.train() if spec["training"] else module.eval()
    if isinstance(module, Sequential):
        for layer, sub in zip(module.layers, spec["layers"]):
            load_state(layer, sub)
    else:
        for kind in ("params", "buffers"):
            if kind not in spec:  # an architecture-only spec keeps the fresh arrays
                continue
            ours, given = getattr(module, kind), spec[kind]
            if set(ours) != set(given):
                raise ValueError(
                    f"{kind} names differ: spec has {sorted(given)}, model {sorted(ours)}"
                )
            for name, arr in ours.items():
                src = np.asarray(given[name])
                if src.shape != arr.shape:
                    raise ValueError(f"{kind} {name!r}: spec shape {src.shape} != {arr.shape}")
                np.copyto(arr, src)
    return module


def _architecture_of_spec(spec):
    if not isinstance(spec, dict) or spec.get("type") not in _CLASSES:
        raise ValueError(f"not a cnnlab.nn spec: {spec!r:.80}")
    if spec["type"] == "Sequential":
        return {"type": "Sequential", "layers": [_architecture_of_spec(s) for s in spec["layers"]]}
    return json.loads(json.dumps({"type": spec["type"], "config": spec.get("config", {})}))


def _npz_path(path):
    """``np.savez`` adds ".npz" to names without it; accept the name as given to saving."""
    path = str(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        return path + ".npz"
    return path


def load_model(path):
    """Build a new model from a file written by :func:`save_model`."""
    with np.load(_npz_path(path), allow_pickle=False) as f:
        arch = json.loads(str(f["architecture"]))
    return load_into(from_spec(_spec_without_arrays(arch)), path)


def _spec_without_arrays(arch):
    if arch["type"] == "Sequential":
        return {"type": "Sequential", "layers": [_spec_without_arrays(a) for a in arch["layers"]]}
    return {"type": arch["type"], "config": arch["config"]}
