"""Optimisers that update a dict of named parameter arrays in place.

Usage with a :mod:`cnnlab.nn` model::

    opt = Adam(model.params, lr=2e-3)
    ...
    model.backward(dscores)
    opt.step(model.grads)

Weight decay (L2 regularisation, ``grad + weight_decay * param``) applies to WEIGHTS ONLY: every
array with ``ndim >= 2`` (conv filters, fully connected matrices). One-dimensional arrays
(biases, batch-norm gamma and beta) are never decayed.

Per-layer learning rates and freezing (transfer learning): ``lr_scale`` maps a prefix of the
parameter names to a multiplier of ``lr``; the longest matching prefix wins and names that match
none keep ``lr``. A multiplier of 0 freezes: the parameter is skipped entirely (no weight decay,
no momentum or Adam state, so it never moves)::

    opt = Adam(model.params, lr=1e-3, lr_scale={"": 0.1, "9.": 1.0})  # body 10x slower, new head
    opt = SGD(model.params, lr=0.1, lr_scale={"0.": 0, "3.": 0})      # layers 0 and 3 frozen
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Optimizer", "SGD", "Momentum", "Adam", "sgd_step", "momentum_step", "rmsprop_step",
    "adam_step",
]  # fmt: skip


def _scales(names, lr_scale):
    """Multiplier of lr for every name: the value of its longest matching prefix, else 1."""
    if lr_scale is None:
        return dict.fromkeys(names, 1.0)
    if not isinstance(lr_scale, dict):
        raise ValueError(f"lr_scale must be a dict {{name prefix: multiplier}}, got {lr_scale!r}")
    for prefix, scale in lr_scale.items():
        if not isinstance(prefix, str) or not float(scale) >= 0:
            raise ValueError(f"lr_scale needs str prefixes and multipliers >= 0, got {prefix!r}")
        if not any(name.startswith(prefix) for name in names):
            raise ValueError(f"lr_scale prefix {prefix!r} matches no parameter; names: {names}")
    scales = {}
    for name in names:
        matches = [prefix for prefix in lr_scale if name.startswith(prefix)]
        scales[name] = float(lr_scale[max(matches, key=len)]) if matches else 1.0
    return scales


class Optimizer:
    """Base class: keeps the parameter dict, applies weight decay and per-parameter lr scales.

    Parameters
    ----------
    params : dict of str -> ndarray
        Updated in place (e.g. ``model.params``).
    lr : float
        Learning rate, > 0.
    weight_decay : float, default 0.0
        L2 coefficient for arrays with ndim >= 2.
    lr_scale : dict of str -> float, optional
        Name prefix -> multiplier of ``lr`` (longest matching prefix wins; 0 freezes). Every
        prefix must match at least one parameter name.
    """

    def __init__(self, params, lr, weight_decay=0.0, lr_scale=None):
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.lr_scale = dict(lr_scale) if lr_scale is not None else None
        self.scales = _scales(list(params), lr_scale)  # name -> multiplier of lr
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
        """Update every parameter in place from ``grads`` (a dict with the same keys).

        Frozen parameters (lr scale 0) are skipped: they need no entry in ``grads``.
        """
        self.t += 1
        for name, p in self.params.items():
            scale = self.scales[name]
            if scale == 0.0:
                continue
            g = self._grad(name, grads).astype(p.dtype, copy=False)
            self._update(name, p, g, self.lr * scale)

    def _update(self, name, p, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    """Plain gradient descent: ``p -= lr * g``."""

    def _update(self, name, p, g, lr):
        p -= lr * g


class Momentum(Optimizer):
    """SGD with momentum (PyTorch's form): ``v = beta * v + g``; ``p -= lr * v``."""

    def __init__(self, params, lr, beta=0.9, weight_decay=0.0, lr_scale=None):
        super().__init__(params, lr, weight_decay, lr_scale)
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = float(beta)
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()}

    def _update(self, name, p, g, lr):
        _momentum_update(p, g, self.velocity[name], lr, self.beta)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980).

    ``m = beta1*m + (1-beta1)*g``, ``v = beta2*v + (1-beta2)*g**2``,
    ``p -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)``.
    """

    def __init__(
        self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, lr_scale=None
    ):
        super().__init__(params, lr, weight_decay, lr_scale)
        for name, b in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {b}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def _update(self, name, p, g, lr):
        _adam_update(p, g, self.m[name], self.v[name], self.t, lr, self.beta1, self.beta2, self.eps)


# --------------------------------------------------------------------------------------------
# One update of one array, shared by the classes and the functional steps
# --------------------------------------------------------------------------------------------


def _momentum_update(p, g, v, lr, beta):
    v *= beta
    v += g
    p -= lr * v


def _adam_update(p, g, m, v, t, lr, beta1, beta2, eps):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * np.square(g)
    denom = np.sqrt(v / (1 - beta2**t))
    denom += eps
    p -= (lr / (1 - beta1**t)) * m / denom


# --------------------------------------------------------------------------------------------
# Functional steps: the contracts of notebook 03's exercises (its graders' references)
# --------------------------------------------------------------------------------------------


def sgd_step(params, grads, lr):
    """One step of gradient descent, in place: ``params[k] -= lr * grads[k]`` for every key.

    Parameters
    ----------
    params, grads : dict of str -> ndarray
        Same keys and shapes; ``params`` is updated in place.
    lr : float
        Learning rate (0 leaves the parameters unchanged).

    Returns
    -------
    None
    """
    for name, p in params.items():
        p -= lr * grads[name]


def momentum_step(params, grads, velocity, lr, beta=0.9):
    """One step of SGD with momentum, in place: ``v = beta * v + g``, then ``p -= lr * v``.

    Parameters
    ----------
    params, grads : dict of str -> ndarray
        Same keys and shapes; ``params`` is updated in place.
    velocity : dict of str -> ndarray
        Filled with zeros on the first step (when empty), then updated in place.
    lr : float
    beta : float, default 0.9

    Returns
    -------
    None
    """
    for name, p in params.items():
        _momentum_update(p, grads[name], velocity.setdefault(name, np.zeros_like(p)), lr, beta)


def rmsprop_step(params, grads, square_avg, lr, decay=0.99, eps=1e-8):
    """One RMSProp step, in place: ``s = decay * s + (1 - decay) * g**2``, then
    ``p -= lr * g / (sqrt(s) + eps)`` (eps outside the root, no bias correction).

    Parameters
    ----------
    params, grads : dict of str -> ndarray
        Same keys and shapes; ``params`` is updated in place, ``grads`` left unchanged.
    square_avg : dict of str -> ndarray
        Running means of the squared gradients: filled with zeros on the first step (when
        empty), then updated in place.
    lr : float
    decay : float, default 0.99
    eps : float, default 1e-8

    Returns
    -------
    None
    """
    for name, p in params.items():
        g = grads[name]
        s = square_avg.setdefault(name, np.zeros_like(p))
        s *= decay
        s += (1 - decay) * np.square(g)
        denom = np.sqrt(s)
        denom += eps
        p -= lr * g / denom


def adam_step(params, grads, state, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step with bias correction, in place (the update of :class:`Adam`).

    Parameters
    ----------
    params, grads : dict of str -> ndarray
        Same keys and shapes; ``params`` is updated in place.
    state : dict
        Empty before the first step, then ``{"t": steps taken, "m": {...}, "v": {...}}``
        (running means of g and g**2 per name), updated in place.
    lr : float
    beta1, beta2, eps : float

    Returns
    -------
    None
    """
    if not state:
        state.update(
            t=0,
            m={k: np.zeros_like(p) for k, p in params.items()},
            v={k: np.zeros_like(p) for k, p in params.items()},
        )
    state["t"] += 1
    for name, p in params.items():
        m, v = state["m"][name], state["v"][name]
        _adam_update(p, grads[name], m, v, state["t"], lr, beta1, beta2, eps)
