"""The base class of every module and the initialisation helpers."""

from __future__ import annotations

import numpy as np


def he_normal(rng, shape, fan_in, dtype):
    """He initialisation: normal with standard deviation sqrt(2 / fan_in).

    Parameters
    ----------
    rng : numpy.random.Generator
    shape : tuple of int
        Shape of the weight array, e.g. (F, C, KH, KW).
    fan_in : int
        Inputs each output unit sums over (C * KH * KW for a convolution).
    dtype : str or numpy.dtype

    Returns
    -------
    ndarray of ``shape`` and ``dtype``
    """
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def _make_rng(rng, seed):
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    return rng if rng is not None else np.random.default_rng(seed)


class Module:
    """Base class: no parameters, identity ``train``/``eval`` bookkeeping, plain-data config."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.training = True
        self._cache = None

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        """Switch to training mode (dropout active, batch statistics); returns self."""
        self.training = True
        return self

    def eval(self):
        """Switch to evaluation mode (dropout off, running statistics); returns self."""
        self.training = False
        return self

    def config(self):
        """Constructor keyword arguments as plain data (``type(self)(**config())`` rebuilds it)."""
        return {}

    def _store_grads(self, **grads):
        for name, g in grads.items():
            np.copyto(self.grads[name], g)

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def num_params(self):
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        cfg = {k: v for k, v in self.config().items() if (k, v) != ("dtype", "float32")}
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
        return f"{type(self).__name__}({args})"
