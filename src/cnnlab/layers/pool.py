"""Pooling layers: max, average and global average pooling.

Windows of ``size x size`` move with step ``stride`` over every channel separately, without
padding. ``stride`` is keyword-only and defaults to ``size`` (non-overlapping windows, as in
PyTorch), so ``maxpool_forward(x, 2)`` is the usual 2x2 pooling with stride 2 and
``maxpool_forward(x, 3, stride=1)`` lets windows overlap. Along each spatial axis::

    OH = (H - size) // stride + 1

Rows or columns that no window reaches are ignored (their gradient is zero). Windows may overlap
(stride < size). Instead of copying every window, the loops below run over the size*size
offsets inside a window and work on one strided view of the whole batch per offset.
"""

from __future__ import annotations

import numpy as np

from .conv import _as_float, conv_output_size

__all__ = [
    "maxpool_forward",
    "maxpool_backward",
    "avgpool_forward",
    "avgpool_backward",
    "global_avgpool_forward",
    "global_avgpool_backward",
]


def _pool_geometry(x, size, stride):
    """Checked ``(x as float, stride, OH, OW)``; ``stride=None`` means ``stride = size``."""
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(
            f"x must be an array of shape (N, C, H, W), got shape {getattr(x, 'shape', None)}"
        )
    stride = size if stride is None else stride
    oh = conv_output_size(x.shape[2], size, stride, 0)
    ow = conv_output_size(x.shape[3], size, stride, 0)
    return _as_float(x), stride, oh, ow


def _offset_view(a, p, q, oh, ow, stride):
    """The (N, C, OH, OW) view of ``a`` holding entry (p, q) of every window."""
    return a[:, :, p : p + stride * (oh - 1) + 1 : stride, q : q + stride * (ow - 1) + 1 : stride]


def maxpool_forward(x, size=2, *, stride=None):
    """Max pooling over ``size x size`` windows moved by ``stride``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    size : int, default 2
        Window height and width.
    stride : int, optional, keyword-only
        Step between windows; default ``size`` (windows tile the image). Windows overlap when
        stride < size.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
        ``OH = (H - size) // stride + 1``, likewise OW.
    cache : tuple
        ``(x, size, stride, out, rowmax)``: ``rowmax`` holds the row maxima of the fast path
        (non-overlapping windows that tile the image), None on the general path; the backward
        pass follows the same path.
    """
    x, stride, oh, ow = _pool_geometry(x, size, stride)
    if _tiles(x, size, stride, oh, ow):
        return _maxpool_tiles_forward(x, size, oh, ow)
    # Maximum over rows first, then over columns: 2*(size-1) element-wise passes on strided views.
    rows = x[:, :, 0 : stride * (oh - 1) + 1 : stride].copy()  # (N, C, OH, W)
    for p in range(1, size):
        np.maximum(rows, x[:, :, p : p + stride * (oh - 1) + 1 : stride], out=rows)
    out = rows[..., 0 : stride * (ow - 1) + 1 : stride].copy()  # (N, C, OH, OW)
    for q in range(1, size):
        np.maximum(out, rows[..., q : q + stride * (ow - 1) + 1 : stride], out=out)
    return out, (x, size, stride, out, None)


def _tiles(x, size, stride, oh, ow):
    """Windows tile a C-contiguous x exactly (the usual 2x2, stride 2 case on even sizes)."""
    return (
        stride == size
        and oh * size == x.shape[2]
        and ow * size == x.shape[3]
        and x.flags.c_contiguous
    )


def _first_max_masks(candidates, m):
    """For each candidate array in turn: where it holds the maximum ``m`` for the FIRST time."""
    pending = None  # where the maximum has not been found yet (None: everywhere)
    last = len(candidates) - 1
    for k, v in enumerate(candidates):
        if k == last and pending is not None:
            yield pending  # the maximum must be in the last candidate
            return
        hit = v == m
        if pending is None:
            pending = ~hit
        else:
            hit &= pending
            if k < last:
                pending &= ~hit
        yield hit


def _maxpool_tiles_forward(x, s, oh, ow):
    """Fast path: max within each row of a window (flat 1-D views), then over the rows.

    ``x.reshape(-1, s)`` puts the s pixels of one window row side by side, so the first stage
    runs over long 1-D arrays; ``rowmax`` is kept for the backward pass.
    """
    n, c = x.shape[:2]
    xf = x.reshape(-1, s)  # (N*C*H*OW, s): one window row per line
    rowmax = xf[:, 0].copy()
    for q in range(1, s):
        np.maximum(rowmax, xf[:, q], out=rowmax)
    r3 = rowmax.reshape(-1, s, ow)  # (N*C*OH, s, OW): the s rows of every window
    out = r3[:, 0].copy()
    for p in range(1, s):
        np.maximum(out, r3[:, p], out=out)
    return out.reshape(n, c, oh, ow), (x, s, s, out.reshape(n, c, oh, ow), rowmax)


def _maxpool_tiles_backward(dout, cache):
    """First maximum in row-major order = first ROW holding the maximum, then its first pixel."""
    x, s, _, out, rowmax = cache
    ow = out.shape[3]
    r3 = rowmax.reshape(-1, s, ow)
    d_rows = np.empty(r3.shape, dtype=x.dtype)
    out3, dout3 = out.reshape(-1, ow), dout.reshape(-1, ow)
    for p, hit in enumerate(_first_max_masks([r3[:, p] for p in range(s)], out3)):
        np.multiply(hit, dout3, out=d_rows[:, p])
    dx = np.empty(x.shape, dtype=x.dtype)
    xf, dxf, d_flat = x.reshape(-1, s), dx.reshape(-1, s), d_rows.reshape(-1)
    for q, hit in enumerate(_first_max_masks([xf[:, q] for q in range(s)], rowmax)):
        np.multiply(hit, d_flat, out=dxf[:, q])
    return dx


def maxpool_backward(dout, cache):
    """Backward pass of :func:`maxpool_forward`.

    Each window sends its upstream gradient to the FIRST position (in row-major order inside the
    window) that holds the window's maximum; where windows overlap, the contributions add up.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
    cache : tuple
        From :func:`maxpool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, size, stride, out, rowmax = cache
    if dout.shape != out.shape:
        raise ValueError(f"dout must have shape (N, C, OH, OW) = {out.shape}, got {dout.shape}")
    dout = dout.astype(x.dtype, copy=False)
    if rowmax is not None:  # the forward pass took the fast path
        return _maxpool_tiles_backward(dout, cache)
    oh, ow = out.shape[2:]
    dx = np.zeros_like(x)
    offsets = [divmod(k, size) for k in range(size * size)]  # row-major order in the window
    views = [_offset_view(x, p, q, oh, ow, stride) for p, q in offsets]
    for (p, q), hit in zip(offsets, _first_max_masks(views, out)):
        target = _offset_view(dx, p, q, oh, ow, stride)
        if stride >= size:  # windows do not overlap: each input position is written once
            np.multiply(hit, dout, out=target)
        else:
            target += hit * dout
    return dx


def avgpool_forward(x, size=2, *, stride=None):
    """Average pooling over ``size x size`` windows moved by ``stride``.

    The parameters and ``out`` are those of :func:`maxpool_forward`.

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
    cache : tuple
        ``(x.shape, size, stride, dtype)``.
    """
    x, stride, oh, ow = _pool_geometry(x, size, stride)
    out = _offset_view(x, 0, 0, oh, ow, stride).copy()
    for p in range(size):
        for q in range(size):
            if p or q:
                out += _offset_view(x, p, q, oh, ow, stride)
    out *= x.dtype.type(1.0 / (size * size))
    return out, (x.shape, size, stride, x.dtype)


def avgpool_backward(dout, cache):
    """Backward pass of :func:`avgpool_forward`: every window position gets dout / size**2.

    Parameters
    ----------
    dout : ndarray, shape (N, C, OH, OW)
    cache : tuple
        From :func:`avgpool_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x_shape, size, stride, dtype = cache
    oh = conv_output_size(x_shape[2], size, stride, 0)
    ow = conv_output_size(x_shape[3], size, stride, 0)
    if dout.shape != (*x_shape[:2], oh, ow):
        raise ValueError(
            f"dout must have shape (N, C, OH, OW) = {(*x_shape[:2], oh, ow)}, got {dout.shape}"
        )
    share = dout.astype(dtype) * dtype.type(1.0 / (size * size))
    dx = np.zeros(x_shape, dtype=dtype)
    for p in range(size):
        for q in range(size):
            _offset_view(dx, p, q, oh, ow, stride)[...] += share
    return dx


def global_avgpool_forward(x):
    """Average every channel over all its pixels.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)

    Returns
    -------
    out : ndarray, shape (N, C)
    cache : tuple
        ``(x.shape, dtype)``.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(
            f"x must be an array of shape (N, C, H, W), got shape {getattr(x, 'shape', None)}"
        )
    x = _as_float(x)
    return x.mean(axis=(2, 3)), (x.shape, x.dtype)


def global_avgpool_backward(dout, cache):
    """Backward pass of :func:`global_avgpool_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, C)
    cache : tuple

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        ``dout / (H*W)`` broadcast over every pixel.
    """
    x_shape, dtype = cache
    if dout.shape != tuple(x_shape[:2]):
        raise ValueError(f"dout must have shape (N, C) = {tuple(x_shape[:2])}, got {dout.shape}")
    h, w = x_shape[2:]
    scaled = dout.astype(dtype) * dtype.type(1.0 / (h * w))
    return np.broadcast_to(scaled[:, :, None, None], x_shape).copy()
