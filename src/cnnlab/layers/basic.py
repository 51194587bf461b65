"""Element-wise and fully connected layers, dropout and the softmax cross-entropy loss."""

from __future__ import annotations

import numpy as np

__all__ = [
    "relu_forward",
    "relu_backward",
    "affine_forward",
    "affine_backward",
    "dropout_forward",
    "dropout_backward",
    "softmax_cross_entropy",
]


def relu_forward(x):
    """Rectified linear unit, ``max(x, 0)`` element-wise.

    Parameters
    ----------
    x : ndarray, any shape

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : ndarray
        ``x``.
    """
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`: the gradient passes where ``x > 0``.

    Parameters
    ----------
    dout : ndarray, same shape as ``x``
    cache : ndarray
        ``x`` from the forward pass.

    Returns
    -------
    dx : ndarray, same shape as ``x``
    """
    x = cache
    if dout.shape != x.shape:
        raise ValueError(f"dout must have the shape of x, {x.shape}, got {dout.shape}")
    return (dout * (x > 0)).astype(x.dtype, copy=False)


def affine_forward(x, w, b):
    """Fully connected layer ``out = x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray, shape (N, d1, ..., dk)
        Flattened to (N, D) with D = d1 * ... * dk.
    w : ndarray, shape (D, M)
    b : ndarray, shape (M,)

    Returns
    -------
    out : ndarray, shape (N, M)
    cache : tuple
        ``(x, w, b)``.
    """
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise ValueError(f"x must have shape (N, d1, ..., dk), got {getattr(x, 'shape', None)}")
    n = x.shape[0]
    d = int(np.prod(x.shape[1:]))
    if not isinstance(w, np.ndarray) or w.ndim != 2 or w.shape[0] != d:
        raise ValueError(f"w must have shape (D, M) with D = {d}, got {getattr(w, 'shape', None)}")
    if not isinstance(b, np.ndarray) or b.shape != (w.shape[1],):
        raise ValueError(
            f"b must have shape (M,) = ({w.shape[1]},), got {getattr(b, 'shape', None)}"
        )
    out = x.reshape(n, d) @ w.astype(x.dtype, copy=False)
    out += b.astype(x.dtype, copy=False)
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, M)
    cache : tuple
        ``(x, w, b)``.

    Returns
    -------
    dx : ndarray, shape (N, d1, ..., dk)
    dw : ndarray, shape (D, M)
    db : ndarray, shape (M,)
    """
    x, w, b = cache
    n = x.shape[0]
    if dout.shape != (n, w.shape[1]):
        raise ValueError(f"dout must have shape (N, M) = {(n, w.shape[1])}, got {dout.shape}")
    dout = dout.astype(x.dtype, copy=False)
    dx = (dout @ w.astype(x.dtype, copy=False).T).reshape(x.shape)
    dw = (x.reshape(n, -1).T @ dout).astype(w.dtype, copy=False)
    db = dout.sum(axis=0).astype(b.dtype, copy=False)
    return dx, dw, db


def dropout_forward(x, p, train=True, rng=None):
    """Inverted dropout.

    At train time every entry is zeroed with probability ``p`` and the survivors are scaled by
    ``1 / (1 - p)``, so the expected output equals ``x``; at test time the layer is the identity.

    Parameters
    ----------
    x : ndarray, any shape
    p : float
        Probability of DROPPING an entry, 0 <= p < 1.
    train : bool, default True
    rng : numpy.random.Generator, optional
        Source of the mask; a fresh unseeded generator when None.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : tuple
        ``(mask, p, train)``; ``mask`` holds 0 or 1/(1-p) (None when not applied).
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p (probability of dropping) must be in [0, 1), got {p}")
    if not train or p == 0.0:
        return x, (None, p, train)
    rng = np.random.default_rng() if rng is None else rng
    dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    keep = rng.random(x.shape, dtype=dtype) >= p
    mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return x * mask, (mask, p, train)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray, same shape as ``x``
    cache : tuple

    Returns
    -------
    dx : ndarray, same shape as ``x``
    """
    mask, _, _ = cache
    if mask is None:
        return dout
    if dout.shape != mask.shape:
        raise ValueError(f"dout must have the shape of x, {mask.shape}, got {dout.shape}")
    return dout * mask


def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy loss and its gradient.

    ``loss = -mean_i log softmax(scores[i])[y[i]]``, computed stably by subtracting each row's
    maximum before exponentiating.

    Parameters
    ----------
    scores : ndarray, shape (N, K)
        Unnormalised class scores (logits).
    y : ndarray of int, shape (N,)
        Correct classes, 0 <= y[i] < K.

    Returns
    -------
    loss : float
    dscores : ndarray, shape (N, K)
        ``(softmax(scores) - onehot(y)) / N``, in the dtype of ``scores``.
    """
    if not isinstance(scores, np.ndarray) or scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, K), got {getattr(scores, 'shape', None)}")
    n, k = scores.shape
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must be integer labels of shape (N,) = ({n},), got {y.dtype} {y.shape}"
        )
    if n and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"labels must lie in [0, {k - 1}], got range [{y.min()}, {y.max()}]")
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_norm
    rows = np.arange(n)
    loss = -float(log_probs[rows, y].mean())
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    dscores /= n
    return loss, dscores
