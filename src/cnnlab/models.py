"""The course network, built from :mod:`cnnlab.nn` modules, and the pretrained networks.

``pretrained(name)`` loads a network that ships with cnnlab (``cnnlab/pretrained/<name>.npz``,
rebuilt by ``python -m cnnlab.pretrain NAME``); ``PRETRAINED`` describes each in one line.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import nn
from .nn.module import _make_rng

__all__ = ["course_convnet", "pretrained", "PRETRAINED"]

_PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"

PRETRAINED = {
    path.stem: json.loads(path.read_text())["description"]
    for path in sorted(_PRETRAINED_DIR.glob("*.json"))
}
"""name -> one line: architecture, source task, input shape, classes, test accuracy."""


def pretrained(name):
    """Load a pretrained network that ships with cnnlab, in eval mode.

    Parameters
    ----------
    name : str
        A key of :data:`PRETRAINED`, e.g. ``"shapes4"``.

    Returns
    -------
    cnnlab.nn.Sequential
        A fresh copy on every call (changing it never changes the file), in eval mode.
    """
    from .spec import load_model

    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained network {name!r}; available: {sorted(PRETRAINED)}")
    return load_model(_PRETRAINED_DIR / f"{name}.npz").eval()


def course_convnet(
    input_shape, num_classes, conv_channels=(16, 32), convs_per_block=1, hidden=(64,), rng=None,
    *, seed=None, dropout=0.0, batchnorm=False, dtype="float32",
):  # fmt: skip
    """INPUT -> [[CONV3x3 pad 1 -> (BN) -> RELU] * N -> MAXPOOL 2x2] * M -> [FC -> RELU] * K -> FC.

    The library twin of notebook 03's ``build_convnet``: the same arguments up to ``rng``, and
    for the same generator the same layers with the same weights (every Conv2d and Linear weight
    He-initialised from ``rng`` in layer order, biases zero). The keyword-only arguments add
    what the exercise leaves out.

    Parameters
    ----------
    input_shape : tuple of int
        (C, H, W) of one example, e.g. (1, 8, 8) for the digits.
    num_classes : int
        Number of output scores.
    conv_channels : tuple of int, default (16, 32)
        Output channels of each block (M = len(conv_channels)); each block halves H and W
        (floor).
    convs_per_block : int, default 1
        N, the number of conv layers per block.
    hidden : tuple of int, default (64,)
        Widths of the hidden fully connected layers (K = len(hidden)).
    rng : numpy.random.Generator, optional
        Source of the He-initialised weights (and of the dropout masks); a fresh generator
        when both ``rng`` and ``seed`` are None, as for every :mod:`cnnlab.nn` layer.
    seed : int, optional, keyword-only
        Seeds a new generator instead of ``rng`` (pass one of the two, not both).
    dropout : float, default 0.0
        Drop probability after every hidden FC + ReLU; no Dropout layer when 0.
    batchnorm : bool, default False
        Insert BatchNorm2d between every conv and its ReLU.
    dtype : str, default "float32"

    Returns
    -------
    model : cnnlab.nn.Sequential
        Maps (N, C, H, W) to scores of shape (N, num_classes).
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape}")
    c, h, w = (int(v) for v in input_shape)
    rng = _make_rng(rng, seed)
    layers = []
    for channels in conv_channels:
        for _ in range(convs_per_block):
            layers.append(nn.Conv2d(c, channels, 3, pad=1, rng=rng, dtype=dtype))
            if batchnorm:
                layers.append(nn.BatchNorm2d(channels, dtype=dtype))
            layers.append(nn.ReLU())
            c = channels
        if h < 2 or w < 2:
            raise ValueError(
                f"input_shape {tuple(input_shape)} is too small for {len(conv_channels)} "
                "2x2 max-pool blocks"
            )
        layers.append(nn.MaxPool2d(2, stride=2))
        h, w = h // 2, w // 2
    layers.append(nn.Flatten())
    features = c * h * w
    for width in hidden:
        layers += [nn.Linear(features, width, rng=rng, dtype=dtype), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout, rng=rng))
        features = width
    layers.append(nn.Linear(features, num_classes, rng=rng, dtype=dtype))
    return nn.Sequential(*layers)
