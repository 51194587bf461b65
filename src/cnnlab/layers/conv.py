"""Convolution: output size, im2col / col2im and the vectorised conv layer.

The convolution (strictly, cross-correlation) of an input ``x`` of shape (N, C, H, W) with
filters ``w`` of shape (F, C, KH, KW) is computed as ONE matrix product per image: every
receptive field is copied into a column, so that

    out[n] = w.reshape(F, C*KH*KW) @ blocks[n]        blocks[n]: (C*KH*KW, OH*OW)

(with stride 1 the blocks are "wide", see :func:`_receptive_fields`, which makes the copy much
faster). Two layouts, two names: :func:`im2col` returns ``cols`` with one receptive field per
ROW, shape (N*OH*OW, C*KH*KW), as the course's exercise does (and :func:`col2im` takes them);
the layer works on ``blocks``, one matrix per image with the receptive fields as COLUMNS,
shape (N, C*KH*KW, OH*OW): the transpose of that image's part of ``cols``.

The backward pass reuses the same blocks: ``dw`` is ``dout @ blocks.T`` summed over the batch and
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


def _as_float(x):
    """float32 / float64 arrays unchanged; anything else (ints, bools) as float64."""
    return x if x.dtype.kind == "f" else x.astype(np.float64)


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
        ``(x, w, b, stride, pad, blocks)``; the first five items are the inputs, so a naive
        backward can unpack ``x, w, b, stride, pad = cache[:5]``. ``blocks`` has shape
        (N, C*KH*KW, OH*width), see :func:`_receptive_fields`.

    Notes
    -----
    With stride 1, ``out`` is a view that skips the "wide" columns, so it is usually not
    C-contiguous; ``np.ascontiguousarray(out)`` gives a compact copy when one is needed.
    """
    _check_x(x)
    x = _as_float(x)
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have shape (F, C, KH, KW) with C = {x.shape[1]}, got {np.shape(w)}"
        )
    f, c, kh, kw = w.shape
    if not isinstance(b, np.ndarray) or b.shape != (f,):
        raise ValueError(f"b must have shape (F,) = ({f},), got {getattr(b, 'shape', None)}")
    n, k = x.shape[0], c * kh * kw
    fields, oh, ow, width = _receptive_fields(x, kh, kw, stride, pad)
    w2 = w.reshape(f, k).astype(x.dtype, copy=False)
    blocks = np.empty((n, k, oh * width), dtype=x.dtype)
    out = np.empty((n, f, oh * width), dtype=x.dtype)
    # A few images at a time, so that each block of columns is still in cache for its product.
    for i in _chunks(n, k * oh * width * x.itemsize):
        blocks[i].reshape(fields[i].shape)[...] = fields[i]  # im2col copy
        np.matmul(w2, blocks[i], out=out[i])
    out += b.astype(x.dtype, copy=False)[:, None]
    out = out.reshape(n, f, oh, width)[:, :, :, :ow]  # drop the extra "wide" columns (a view)
    return out, (x, w, b, stride, pad, blocks)


def _padded(x, pad):
    """Zero-padded copy with ONE extra zero row at the bottom, shape (N, C, Hp + 1, Wp)."""
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * pad + 1, w + 2 * pad), dtype=x.dtype)
    xp[:, :, pad : pad + h, pad : pad + w] = x
    return xp


def _chunks(n, bytes_per_image, budget=1 << 20):
    """Slices of about ``budget`` bytes of columns (at least one image each)."""
    step = max(1, budget // max(1, bytes_per_image))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _receptive_fields(x, kh, kw, stride, pad):
    """View of every receptive field, the source of im2col; returns (view, OH, OW, width).

    Any stride: the view is (N, C, KH, KW, OH, OW) and width = OW, so that the columns of image
    n, ``view[n].reshape(C*KH*KW, OH*OW)``, are the transpose of its block of :func:`im2col`.

    Stride 1 ("wide" columns, width = Wp, the padded width): window (i, j) at kernel offset
    (p, q) reads the padded pixel ``(i + p) * Wp + (j + q)`` of the flattened image, so letting j
    run over the whole padded width turns each (c, p, q) row of the columns into ONE contiguous
    run of OH*Wp values: the view is (N, C, KH, KW, OH*Wp). Copying long runs instead of short
    rows makes im2col several times faster; the Wp - OW extra outputs per row are computed and
    thrown away.
    """
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, stride, pad), conv_output_size(w, kw, stride, pad)
    if stride != 1:
        return _windows(x, kh, kw, stride, pad), oh, ow, ow
    xp = _padded(x, pad)
    wp, it = xp.shape[3], xp.itemsize
    runs = as_strided(
        xp, shape=(n, c, kh, kw, oh * wp), strides=(*xp.strides[:2], wp * it, it, it),
        writeable=False,
    )  # fmt: skip
    return runs, oh, ow, wp


def conv_backward(dout, cache, *, need_dx=True):
    """Backward pass of :func:`conv_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient.
    cache : tuple
        From :func:`conv_forward`.
    need_dx : bool, default True
        False skips the input gradient (returned as None), e.g. for a network's first layer.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C, KH, KW)
    db : ndarray, shape (F,)
    """
    x, w, b, stride, pad, blocks = cache[:6]
    f, c, kh, kw = w.shape
    n, _, h, wd = x.shape
    oh, ow = conv_output_size(h, kh, stride, pad), conv_output_size(wd, kw, stride, pad)
    if dout.shape != (n, f, oh, ow):
        raise ValueError(
            f"dout must have shape (N, F, OH, OW) = {(n, f, oh, ow)}, got {dout.shape}"
        )
    dt = x.dtype
    dout = dout.astype(dt, copy=False)
    db = dout.sum(axis=(0, 2, 3)).astype(b.dtype, copy=False)
    width = blocks.shape[2] // oh  # Wp for wide columns, OW otherwise
    d3 = np.zeros((n, f, oh, width), dtype=dt)  # zero on the thrown-away wide columns
    d3[:, :, :, :ow] = dout
    d3 = d3.reshape(n, f, oh * width)
    dw = np.matmul(blocks, d3.transpose(0, 2, 1)).sum(axis=0).T  # sum_n blocks[n] @ dout[n].T
    dw = dw.reshape(w.shape).astype(w.dtype)
    if not need_dx:
        return None, dw, db
    w2t = w.reshape(f, c * kh * kw).astype(dt, copy=False).T
    if stride != 1:
        dcols = np.matmul(w2t, d3)  # (N, C*KH*KW, OH*OW)
        dx = _fold(dcols.reshape(n, c, kh, kw, oh, ow), x.shape, kh, kw, stride, pad)
        return dx, dw, db
    # wide columns: add each (p, q) run back at flat offset p*Wp + q of the padded image,
    # a few images at a time so that the block of dcols is still in cache
    dxp = np.zeros((n, c, h + 2 * pad + 1, width), dtype=dt)
    flat = dxp.reshape(n, c, -1)
    for i in _chunks(n, blocks[0].nbytes):
        dcols = np.matmul(w2t, d3[i]).reshape(-1, c, kh, kw, oh * width)
        for p in range(kh):
            for q in range(kw):
                start = p * width + q
                flat[i, :, start : start + oh * width] += dcols[:, :, p, q]
    return dxp[:, :, pad : pad + h, pad : pad + wd], dw, db
