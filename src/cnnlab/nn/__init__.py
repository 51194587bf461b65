"""A small module API on top of :mod:`cnnlab.layers`.

Every module has ``forward(x)`` (also ``module(x)``), ``backward(dout) -> dx``, and three dicts
of named arrays: ``params`` (trainable), ``grads`` (same keys, filled by ``backward``) and
``buffers`` (non-trainable state such as BatchNorm running statistics). The arrays in these dicts
are the module's own, so an in-place update reaches the module::

    model = Sequential(Conv2d(1, 8, 3, pad=1, seed=0), ReLU(), Flatten(), Linear(512, 10, seed=1))
    scores = model(x)                       # x: (N, 1, 8, 8)
    loss, dscores = cnnlab.layers.softmax_cross_entropy(scores, y)
    model.backward(dscores)
    for name, p in model.params.items():    # names like "0.w", "3.b"
        p -= 0.1 * model.grads[name]

Models travel as plain data: ``to_spec(model)`` gives a dict of class names, constructor keyword
arguments and arrays, ``from_spec(spec)`` rebuilds it, ``load_state(model, spec)`` copies the
arrays into an existing model; ``save_model`` / ``load_into`` / ``load_model`` store the same in
an ``.npz`` file. Persistence lives in :mod:`cnnlab.spec`, which builds on this module (never
the other way round).
"""

from __future__ import annotations

from .layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
    Upsample,
)
from .module import Module, he_normal
from .sequential import Sequential

__all__ = [
    "Module",
    "he_normal",
    "Conv2d",
    "ConvTranspose2d",
    "Upsample",
    "ReLU",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "Flatten",
    "Linear",
    "Dropout",
    "BatchNorm2d",
    "Sequential",
]
