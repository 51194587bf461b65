"""Convolution: output size, im2col / col2im and the vectorised conv layer.

The convolution (strictly, cross-correlation) of an input ``x`` of shape (N, C, H, W) with
filters ``w`` of shape (F, C, KH, KW) is computed as ONE matrix product per image: every
receptive field is copied into a column ("im2col"), so that

    out[n] = w.reshape(F, C*KH*KW) @ cols[n]          cols[n]: (C*KH*KW, OH*OW)

The backward pass reuses the same columns: ``dw`` is ``dout @ cols.T`` summed over the batch and
the gradient of the columns is folded back onto the image with ``col2im`` (adding one strided
slice per kernel offset, so the Python loop runs KH*KW times, never over pixels).

Output size along each spatial axis (floor division, as in PyTorch)::

    OH = (H + 2 * pad - KH) // stride + 1
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["conv_output_size", "im2col", "col2im", "conv_forward", "conv_backward"]


def conv_output_size(n, k, stride=1, pad=0):
    """Size of a convolution or pooling output along one axis.

    Parameters
    ----------
    n : int
        Input size (height or width), n >= 1.
    k : int
        Kernel (window) size, k >= 1.
    stride : int
        Step between windows, stride >= 1.
    pad : int
        Zero padding added on both sides, pad >= 0.

    Returns
    -------
    int
        ``(n + 2 * pad - k) // stride + 1``.

    Raises
    ------
    ValueError
        If an argument is out of range or the kernel does not fit in the padded input.
    """
    for name, value, low in (("n", n, 1), ("k", k, 1), ("stride", stride, 1), ("pad", pad, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if n + 2 * pad < k:
        raise ValueError(
            f"kernel size {k} does not fit in an input of size {n} with pad={pad} "
            f"(need n + 2*pad >= k)"
        )
    return (n + 2 * pad - k) // stride + 1


def _check_x(x, name="x"):
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        shape = getattr(x, "shape", None)
        raise ValueError(f"{name} must be an array of shape (N, C, H, W), got shape {shape}")


def _windows(x, kh, kw, stride, pad):
    """View of all receptive fields: shape (N, C, KH, KW, OH, OW), no copy (besides padding)."""
    n, c, h, w = x.shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    sn, sc, sh, sw = x.strides
    shape = (n, c, kh, kw, oh, ow)
    strides = (sn, sc, sh, sw, sh * stride, sw * stride)
    return as_strided(x, shape=shape, strides=strides, writeable=False)


def im2col(x, kh, kw, *, stride=1, pad=0):
    """Copy every receptive field of ``x`` into one row of a matrix.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kh, kw : int
        Kernel height and width.
    stride, pad : int
        As in :func:`conv_forward`.

    Returns
    -------
    cols : ndarray, shape (N*OH*OW, C*KH*KW)
        Row ``n*OH*OW + i*OW + j`` holds the window whose top-left corner is at output position
        (i, j) of image n; column ``c*KH*KW + p*KW + q`` holds the padded input pixel
        ``x[n, c, i*stride + p, j*stride + q]``.
    """
    _check_x(x)
    win = _windows(x, kh, kw, stride, pad)  # (N, C, KH, KW, OH, OW)
    n, c, _, _, oh, ow = win.shape
    return win.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, c * kh * kw)


def _fold(dcols, x_shape, kh, kw, stride, pad):
    """Add ``dcols`` of shape (N, C, KH, KW, OH, OW) back onto a (padded) image; unpad."""
    n, c, h, w = x_shape
    oh, ow = dcols.shape[-2:]
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for p in range(kh):
        for q in range(kw):
            dxp[:, :, p : p + stride * oh : stride, q : q + stride * ow : stride] += dcols[
                :, :, p, q
            ]
    return dxp[:, :, pad : pad + h, pad : pad + w] if pad else dxp


def col2im(cols, x_shape, kh, kw, *, stride=1, pad=0):
    """Inverse bookkeeping of :func:`im2col`: add every row back onto its window.

    Pixels covered by several windows receive the SUM of their entries, which is exactly the
    gradient of ``im2col`` (so ``col2im(im2col(x))`` is ``x`` times the window count per pixel).

    Parameters
    ----------
    cols : ndarray, shape (N*OH*OW, C*KH*KW)
        Same index layout as returned by :func:`im2col`.
    x_shape : tuple of int
        (N, C, H, W), the shape of the unpadded image.
    kh, kw, stride, pad : int
        As in :func:`im2col`.

    Returns
    -------
    ndarray, shape (N, C, H, W)
    """
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {x_shape}")
    n, c, h, w = x_shape
    oh = conv_output_size(h, kh, stride, pad)
    ow = conv_output_size(w, kw, stride, pad)
    expected = (n * oh * ow, c * kh * kw)
    if cols.shape != expected:
        raise ValueError(f"cols must have shape (N*OH*OW, C*KH*KW) = {expected}, got {cols.shape}")
    dcols = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    return _fold(dcols, x_shape, kh, kw, stride, pad)


def conv_forward(x, w, b, *, stride=1, pad=0):
    """Vectorised convolution layer (cross-correlation, as in every deep-learning library).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
        Input images.
    w : ndarray, shape (F, C, KH, KW)
        Filters.
    b : ndarray, shape (F,)
        One bias per filter.
    stride : int, default 1
    pad : int, default 0
        Zeros added on every side of H and W.

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        ``OH = (H + 2*pad - KH) // stride + 1``, likewise OW; same dtype as ``x``.
    cache : tuple
        ``(x, w, b, stride, pad, cols)``; the first five items are the inputs, so a naive
        backward can unpack ``x, w, b, stride, pad = cache[:5]``.
    """
    _check_x(x)
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have shape (F, C, KH, KW) with C = {x.shape[1]}, got {np.shape(w)}"
        )
    f, c, kh, kw = w.shape
    if not isinstance(b, np.ndarray) or b.shape != (f,):
        raise ValueError(f"b must have shape (F,) = ({f},), got {getattr(b, 'shape', None)}")
    n = x.shape[0]
    win = _windows(x, kh, kw, stride, pad)
    oh, ow = win.shape[-2:]
    # One contiguous copy: cols[n] is (C*KH*KW, OH*OW), rows ordered c, p, q.
    cols = np.ascontiguousarray(win, dtype=x.dtype).reshape(n, c * kh * kw, oh * ow)
    w2 = w.reshape(f, c * kh * kw).astype(x.dtype, copy=False)
    out = np.matmul(w2, cols)  # (N, F, OH*OW): a batch of BLAS matrix products
    out += b.astype(x.dtype, copy=False)[:, None]
    return out.reshape(n, f, oh, ow), (x, w, b, stride, pad, cols)


def conv_backward(dout, cache):
    """Backward pass of :func:`conv_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient.
    cache : tuple
        From :func:`conv_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    x, w, b, stride, pad, cols = cache
    f, c, kh, kw = w.shape
    n = x.shape[0]
    oh = conv_output_size(x.shape[2], kh, stride, pad)
    ow = conv_output_size(x.shape[3], kw, stride, pad)
    if dout.shape != (n, f, oh, ow):
        raise ValueError(
            f"dout must have shape (N, F, OH, OW) = {(n, f, oh, ow)}, got {dout.shape}"
        )
    dt = x.dtype
    d3 = dout.reshape(n, f, oh * ow).astype(dt, copy=False)
    db = d3.sum(axis=(0, 2)).astype(b.dtype, copy=False)
    # dw = sum_n dout[n] @ cols[n].T, as one (F, N*L) @ (N*L, CKK) product when affordable.
    dw = np.matmul(d3, cols.transpose(0, 2, 1)).sum(axis=0)
    dw = dw.reshape(w.shape).astype(w.dtype, copy=False)
    w2 = w.reshape(f, c * kh * kw).astype(dt, copy=False)
    dcols = np.matmul(w2.T, d3)  # (N, CKK, L)
    dx = _fold(dcols.reshape(n, c, kh, kw, oh, ow), x.shape, kh, kw, stride, pad)
    return dx, dw, db
