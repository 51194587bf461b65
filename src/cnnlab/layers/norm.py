"""Spatial batch normalisation for (N, C, H, W) feature maps."""

from __future__ import annotations

import numpy as np

__all__ = ["batchnorm2d_forward", "batchnorm2d_backward"]


def batchnorm2d_forward(
    x, gamma, beta, running_mean, running_var, *, train=True, momentum=0.9, eps=1e-5
):
    """Spatial batch normalisation: one mean and variance per channel over (N, H, W).

    Train mode normalises with the batch statistics ``mu`` and ``var`` (biased, divided by
    m = N*H*W) and UPDATES THE RUNNING STATISTICS IN PLACE::

        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var  = momentum * running_var  + (1 - momentum) * var * m / (m - 1)

    (the running variance uses the unbiased estimate, as PyTorch does; PyTorch's ``momentum`` is
    ``1 - momentum`` here). Eval mode normalises with the running statistics and changes nothing.
    Both modes then compute ``out = gamma * (x - mean) / sqrt(var + eps) + beta``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    gamma, beta : ndarray, shape (C,)
        Scale and shift.
    running_mean, running_var : ndarray, shape (C,)
        Running statistics, modified in place in train mode.
    train : bool, default True
    momentum : float, default 0.9
        Weight of the old running statistics.
    eps : float, default 1e-5

    Returns
    -------
    out : ndarray, shape (N, C, H, W), dtype of ``x``
    cache : tuple
        ``(xhat, gamma, inv_std, train)`` with ``xhat`` the normalised input.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {getattr(x, 'shape', None)}")
    c = x.shape[1]
    for name, arr in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean)):
        if getattr(arr, "shape", None) != (c,):
            raise ValueError(
                f"{name} must have shape (C,) = ({c},), got {getattr(arr, 'shape', None)}"
            )
    if getattr(running_var, "shape", None) != (c,):
        raise ValueError(f"running_var must have shape (C,) = ({c},), got {running_var.shape}")
    dt = x.dtype
    if train:
        m = x.shape[0] * x.shape[2] * x.shape[3]
        mu = x.mean(axis=(0, 2, 3))
        centred = x - mu[:, None, None]
        var = np.mean(np.square(centred), axis=(0, 2, 3))
        running_mean *= momentum
        running_mean += (1 - momentum) * mu
        running_var *= momentum
        running_var += (1 - momentum) * var * (m / max(m - 1, 1))
    else:
        mu, var = running_mean.astype(dt), running_var.astype(dt)
        centred = x - mu[:, None, None]
    inv_std = (1.0 / np.sqrt(var + eps)).astype(dt)
    xhat = centred * inv_std[:, None, None]
    out = xhat * gamma.astype(dt)[:, None, None] + beta.astype(dt)[:, None, None]
    return out, (xhat, gamma, inv_std, train)


def batchnorm2d_backward(dout, cache):
    """Backward pass of :func:`batchnorm2d_forward`.

    In train mode the batch statistics depend on ``x``; the compact formula is::

        dx = inv_std / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))

    with ``dxhat = dout * gamma`` and sums over (N, H, W). In eval mode ``dx = dxhat * inv_std``.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H, W)
    cache : tuple

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dgamma : ndarray, shape (C,)
    dbeta : ndarray, shape (C,)
    """
    xhat, gamma, inv_std, train = cache
    if dout.shape != xhat.shape:
        raise ValueError(f"dout must have shape (N, C, H, W) = {xhat.shape}, got {dout.shape}")
    dout = dout.astype(xhat.dtype, copy=False)
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = np.sum(dout * xhat, axis=(0, 2, 3))
    g = gamma.astype(xhat.dtype)
    if train:
        m = xhat.shape[0] * xhat.shape[2] * xhat.shape[3]
        scale = (g * inv_std)[:, None, None]
        dx = dout - (dbeta / m)[:, None, None] - xhat * (dgamma / m)[:, None, None]
        dx *= scale
    else:
        dx = dout * (g * inv_std)[:, None, None]
    return dx, dgamma.astype(gamma.dtype, copy=False), dbeta.astype(gamma.dtype, copy=False)
