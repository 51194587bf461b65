"""Transposed convolution and nearest-neighbour upsampling: layers that make images larger.

A convolution maps an input z of shape (N, C_out, Ho, Wo) to y of shape (N, C_in, H, W) with
filters ``w`` of shape (C_in, C_out, KH, KW) (C_in plays the convolution's F). Its input gradient,
``conv_backward``'s dx, maps an array shaped like y back to one shaped like z: that map is the
TRANSPOSED convolution. So

    conv_transpose_forward(x, w, 0, stride=s, pad=p)  ==  dx of conv_backward(x, conv cache)
    conv_transpose_backward's dx                      ==  conv_forward(dout, w, 0, stride=s, pad=p)

and both are built here on the im2col / col2im machinery of :mod:`.conv`: the forward is one
matrix product per image (``w`` as a (C_out*KH*KW, C_in) matrix times the pixels of ``x``)
followed by ``col2im``'s fold, which ADDS each column back at its window: every input pixel
stamps a (C_out, KH, KW) copy of its filters, scaled by its value, onto the output, at
``stride`` steps, and ``pad`` rows and columns are then cropped from every side. ``w`` uses
PyTorch's ``ConvTranspose2d`` layout (C_in, C_out, KH, KW).

Output size along each spatial axis (the inverse of the convolution's formula, exact)::

    OH = (H - 1) * stride - 2 * pad + KH
"""

from __future__ import annotations

import numpy as np

from .conv import _as_float, _check_x, _fold, conv_backward, conv_forward

__all__ = [
    "conv_transpose_output_size",
    "conv_transpose_forward",
    "conv_transpose_backward",
    "upsample_nearest_forward",
    "upsample_nearest_backward",
]


def _check_int(name, value, low):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def conv_transpose_output_size(n, k, stride=1, pad=0):
    """Size of a transposed-convolution output along one axis.

    Parameters
    ----------
    n : int
        Input size (height or width), n >= 1.
    k : int
        Kernel size, k >= 1.
    stride : int
        Step between the stamped kernels in the output, stride >= 1.
    pad : int
        Rows (columns) cropped from each side of the output, pad >= 0.

    Returns
    -------
    int
        ``(n - 1) * stride - 2 * pad + k``: a convolution with the same k, stride and pad maps
        this size back to n.

    Raises
    ------
    ValueError
        If an argument is out of range or the padding crops the whole output.
    """
    for name, value, low in (("n", n, 1), ("k", k, 1), ("stride", stride, 1), ("pad", pad, 0)):
        _check_int(name, value, low)
    size = (n - 1) * stride - 2 * pad + k
    if size < 1:
        raise ValueError(
            f"pad={pad} crops the whole output: (n - 1) * stride - 2 * pad + k = {size} < 1 "
            f"for n={n}, k={k}, stride={stride}"
        )
    return int(size)


def conv_transpose_forward(x, w, b, *, stride=1, pad=0):
    """Transposed convolution (the input gradient of a convolution, used as a layer).

    Parameters
    ----------
    x : ndarray, shape (N, C_in, H, W)
        Input images.
    w : ndarray, shape (C_in, C_out, KH, KW)
        Filters in PyTorch's ``ConvTranspose2d`` layout: input pixel ``x[n, i, h, w]`` adds
        ``x[n, i, h, w] * w[i]`` onto the output window whose top-left corner is at
        ``(h * stride - pad, w * stride - pad)``.
    b : ndarray, shape (C_out,) or scalar 0
        One bias per output channel (a scalar is broadcast).
    stride : int, default 1
        Step between the stamped windows in the output (the upsampling factor).
    pad : int, default 0
        Rows and columns cropped from each side of the output.

    Returns
    -------
    out : ndarray, shape (N, C_out, OH, OW)
        ``OH = (H - 1) * stride - 2 * pad + KH``, likewise OW; same dtype as ``x``.
    cache : tuple
        ``(x, w, b, stride, pad)``.
    """
    _check_x(x)
    x = _as_float(x)
    n, c_in, h, wd = x.shape
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[0] != c_in:
        raise ValueError(
            f"w must have shape (C_in, C_out, KH, KW) with C_in = {c_in}, got {np.shape(w)}"
        )
    _, c_out, kh, kw = w.shape
    b = np.asarray(b)
    if b.shape not in ((c_out,), ()):
        raise ValueError(f"b must have shape (C_out,) = ({c_out},), got {b.shape}")
    oh = conv_transpose_output_size(h, kh, stride, pad)
    ow = conv_transpose_output_size(wd, kw, stride, pad)
    w2t = w.reshape(c_in, c_out * kh * kw).astype(x.dtype, copy=False).T
    cols = np.matmul(w2t, x.reshape(n, c_in, h * wd))  # (N, C_out*KH*KW, H*W)
    out = _fold(cols.reshape(n, c_out, kh, kw, h, wd), (n, c_out, oh, ow), kh, kw, stride, pad)
    out += b.astype(x.dtype, copy=False).reshape(-1, 1, 1)
    return out, (x, w, b, stride, pad)


def conv_transpose_backward(dout, cache, *, need_dx=True):
    """Backward pass of :func:`conv_transpose_forward`.

    ``dx`` is a convolution of ``dout`` with the same ``w`` (read as (F, C, KH, KW) = (C_in,
    C_out, KH, KW)), stride and pad; ``dw`` is that convolution's weight gradient with ``x`` as
    its upstream gradient.

    Parameters
    ----------
    dout : ndarray, shape (N, C_out, OH, OW)
        Upstream gradient.
    cache : tuple
        From :func:`conv_transpose_forward`.
    need_dx : bool, default True
        False returns None for dx (e.g. for a network's first layer).

    Returns
    -------
    dx : ndarray, shape (N, C_in, H, W)
    dw : ndarray, shape (C_in, C_out, KH, KW)
    db : ndarray, shape (C_out,) (shape () when the forward got a scalar bias)
    """
    x, w, b, stride, pad = cache[:5]
    n, c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    expected = (
        n, c_out, conv_transpose_output_size(h, kh, stride, pad),
        conv_transpose_output_size(wd, kw, stride, pad),
    )  # fmt: skip
    if not isinstance(dout, np.ndarray) or dout.shape != expected:
        raise ValueError(
            f"dout must have shape (N, C_out, OH, OW) = {expected}, got {np.shape(dout)}"
        )
    dout = dout.astype(x.dtype, copy=False)
    zero = np.zeros(c_in, dtype=x.dtype)
    dx, conv_cache = conv_forward(dout, w.astype(x.dtype, copy=False), zero, stride=stride, pad=pad)
    _, dw, _ = conv_backward(x, conv_cache, need_dx=False)
    db = dout.sum(axis=(0, 2, 3)) if b.ndim else dout.sum()
    db = db.astype(b.dtype if b.dtype.kind == "f" else x.dtype, copy=False)
    return (np.ascontiguousarray(dx) if need_dx else None), dw.astype(w.dtype, copy=False), db


def upsample_nearest_forward(x, *, scale=2):
    """Nearest-neighbour upsampling: every pixel becomes a ``scale`` x ``scale`` block.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    scale : int, default 2
        Integer factor, >= 1.

    Returns
    -------
    out : ndarray, shape (N, C, H * scale, W * scale)
        ``out[n, c, i, j] = x[n, c, i // scale, j // scale]``; same dtype as ``x``.
    cache : tuple
        ``(x.shape, scale, dtype)``.
    """
    _check_x(x)
    _check_int("scale", scale, 1)
    x = _as_float(x)
    n, c, h, w = x.shape
    big = np.broadcast_to(x[:, :, :, None, :, None], (n, c, h, scale, w, scale))
    return big.reshape(n, c, h * scale, w * scale), (x.shape, scale, x.dtype)


def upsample_nearest_backward(dout, cache):
    """Backward pass of :func:`upsample_nearest_forward`: sum each ``scale`` x ``scale`` block.

    Parameters
    ----------
    dout : ndarray, shape (N, C, H * scale, W * scale)
    cache : tuple
        From :func:`upsample_nearest_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    (n, c, h, w), s, dtype = cache
    expected = (n, c, h * s, w * s)
    if not isinstance(dout, np.ndarray) or dout.shape != expected:
        raise ValueError(
            f"dout must have shape (N, C, H*scale, W*scale) = {expected}, got {np.shape(dout)}"
        )
    return dout.astype(dtype, copy=False).reshape(n, c, h, s, w, s).sum(axis=(3, 5))
