"""Optimisers that update a dict of named parameter arrays in place.

Usage with a :mod:`cnnlab.nn` model::

    opt = Adam(model.params, lr=2e-3)
    ...
    model.backward(dscores)
    opt.step(model.grads)

Weight decay (L2 regularisation, ``grad + weight_decay * param``) applies to WEIGHTS ONLY: every
array with ``ndim >= 2`` (conv filters, fully connected matrices). One-dimensional arrays
(biases, batch-norm gamma and beta) are never decayed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Optimizer", "SGD", "Momentum", "Adam"]


class Optimizer:
    """Base class: keeps the parameter dict and applies weight decay."""

    def __init__(self, params, lr, weight_decay=0.0):
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.t = 0  # number of steps taken

    def _grad(self, name, grads):
        """The gradient of ``name``, plus weight decay for arrays with ndim >= 2."""
        if name not in grads:
            raise ValueError(f"no gradient for parameter {name!r}; grads has {sorted(grads)}")
        p, g = self.params[name], grads[name]
        if g.shape != p.shape:
            raise ValueError(f"grad {name!r} has shape {g.shape}, parameter has {p.shape}")
        if self.weight_decay and p.ndim >= 2:
            return g + self.weight_decay * p
        return g

    def step(self, grads):
        """Update every parameter in place from ``grads`` (a dict with the same keys)."""
        self.t += 1
        for name, p in self.params.items():
            self._update(name, p, self._grad(name, grads).astype(p.dtype, copy=False))

    def _update(self, name, p, g):
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    def _update(self, name, p, g):
        p -= self.lr * g


class Momentum(Optimizer):
    """SGD with momentum (PyTorch's form): ``v = beta * v + g``; ``p -= lr * v``."""

    def __init__(self, params, lr, beta=0.9, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def _update(self, name, p, g):
        v = self.velocity[name]
        v *= self.beta
        v += g
        p -= self.lr * v


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980).

    ``m = beta1*m + (1-beta1)*g``, ``v = beta2*v + (1-beta2)*g**2``,
    ``p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)``.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {b}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def _update(self, name, p, g):
        m, v = self.m[name], self.v[name]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * np.square(g)
        step_size = self.lr / (1 - self.beta1**self.t)
        denom = np.sqrt(v / (1 - self.beta2**self.t))
        denom += self.eps
        p -= step_size * m / denom
