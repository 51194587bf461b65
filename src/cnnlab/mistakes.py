"""Known mistakes of the convolution exercises, and what each one returns.

Each function takes the inputs of one exercise and returns a list of ``(hint, wrong)`` pairs:
``hint`` names a mistake learners make, ``wrong`` is what an answer with that mistake returns (an
array) or, when the mistake shows in the shape alone, its shape (a tuple). The lists go straight
into the ``mistakes=`` option of :func:`cnnlab.testing.assert_allclose`, which shows the hint of
the mistake an answer reproduces when the check fails::

    out = conv_forward_naive(x, w, b, stride=2, pad=1)
    ref = cl.layers.conv_forward(x, w, b, stride=2, pad=1)[0]
    T.assert_allclose(out, ref, name="conv out", mistakes=conv_forward_mistakes(x, w, b, 2, 1))

Reading the list is a fair way to check your own answer: every hint describes a wrong formula.
Mistakes that give the right answer for these particular inputs (for example ignoring the padding
when ``pad=0``) are left out, so every listed ``wrong`` differs from the correct result.
"""

from __future__ import annotations

import itertools

import numpy as np

from cnnlab.layers import conv_forward, im2col

__all__ = [
    "conv_forward_mistakes",
    "convolve2d_mistakes",
    "correlate2d_mistakes",
    "im2col_mistakes",
]

_SIZE = "OH = (H + 2*pad - KH) // stride + 1 and OW = (W + 2*pad - KW) // stride + 1"


def _distinct(reference, mistakes):
    """The mistakes whose output (or shape) differs from the correct ``reference``."""
    reference = np.asarray(reference)
    kept = []
    for hint, wrong in mistakes:
        if isinstance(wrong, tuple):
            if wrong != reference.shape:
                kept.append((hint, wrong))
        elif wrong.shape != reference.shape or not np.allclose(wrong, reference):
            kept.append((hint, wrong))
    return kept


def _valid(image, kernel):
    """Valid-mode cross-correlation of two 2-D arrays (the reference of ``correlate2d``)."""
    out = conv_forward(image[None, None], kernel[None, None], np.zeros(1))[0]
    return out[0, 0]


def _as_float_pair(image, kernel):
    """``image`` and ``kernel`` as float64 arrays, with their shapes."""
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    return image, kernel, image.shape, kernel.shape


def correlate2d_mistakes(image, kernel):
    """Known mistakes of valid-mode cross-correlation ``correlate2d(image, kernel)``.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (KH, KW)

    Returns
    -------
    list of (str, ndarray or tuple)
        ``(hint, wrong output or wrong shape)`` pairs for ``mistakes=``.
    """
    integer_image = np.asarray(image).dtype.kind in "biu"
    image, kernel, (h, w), (kh, kw) = _as_float_pair(image, kernel)
    size = "'valid' mode has H - KH + 1 rows and W - KW + 1 columns"
    transposed = ("kernel axes transposed: kernel[p, q] multiplies image[i + p, j + q]; p runs "
                  "along the rows (KH values), q along the columns (KW values)")  # fmt: skip
    ref = _valid(image, kernel)
    matmul = (
        "matrix product instead of an elementwise one: multiply each window by the kernel "
        "value by value, np.sum(window * kernel); @ and np.dot combine rows with columns"
    )
    products = [_window_sums(image, kernel, lambda win: win @ kernel.T)]
    if kh == kw:
        products.append(_window_sums(image, kernel, lambda win: win @ kernel))
    truncated = []
    if integer_image:
        hint = ("output truncated to integers: allocate it as floats (np.zeros gives float64), "
                "not with the integer image's dtype")  # fmt: skip
        truncated.append((hint, np.trunc(ref)))
    return _distinct(ref, truncated + [(matmul, wrong) for wrong in products] + [
        ("flipped kernel: flipping the kernel turns this into a convolution; cross-correlation "
         "multiplies image[i + p, j + q] by kernel[p, q] as it is",
         _valid(image, kernel[::-1, ::-1])),
        (f"output size is not 'valid': {size}, the positions where the whole kernel fits", (h, w)),
        (f"off-by-one output size: {size} (range(h - kh + 1), not range(h - kh))",
         (h - kh, w - kw)),
        (f"off-by-one output size: {size}", (h - kh + 2, w - kw + 2)),
        (transposed, _valid(image, kernel.T) if kh == kw else (h - kw + 1, w - kh + 1)),
    ])  # fmt: skip


def _window_sums(image, kernel, combine):
    """``out[i, j] = sum(combine(window))`` over the valid windows (for wrong window formulas)."""
    (h, w), (kh, kw) = image.shape, kernel.shape
    out = np.empty((h - kh + 1, w - kw + 1))
    for i, j in np.ndindex(out.shape):
        out[i, j] = np.sum(combine(image[i : i + kh, j : j + kw]))
    return out


def convolve2d_mistakes(image, kernel):
    """Known mistakes of valid-mode convolution ``convolve2d(image, kernel)``.

    Parameters and return value as in :func:`correlate2d_mistakes`.
    """
    image, kernel, (h, w), (kh, kw) = _as_float_pair(image, kernel)
    one_axis = "kernel flipped along one axis only: convolution flips rows AND columns"
    rot90 = ("kernel rotated by 90 degrees: convolution rotates it by 180 degrees, "
             "kernel[::-1, ::-1] (np.rot90(kernel, 2))")  # fmt: skip
    mistakes = [
        ("kernel not flipped: that is cross-correlation; convolution uses kernel[::-1, ::-1]",
         _valid(image, kernel)),
        (one_axis, _valid(image, kernel[::-1, :])),
        (one_axis, _valid(image, kernel[:, ::-1])),
        ("the output was flipped instead of the kernel: flip the kernel, kernel[::-1, ::-1], "
         "then cross-correlate", _valid(image, kernel)[::-1, ::-1]),
    ]  # fmt: skip
    if kh == kw:
        mistakes += [
            ("kernel transposed instead of flipped: a flip reverses both axes, kernel[::-1, ::-1]",
             _valid(image, kernel.T)),
            (rot90, _valid(image, np.rot90(kernel))),
            (rot90, _valid(image, np.rot90(kernel, -1))),
        ]  # fmt: skip
    else:
        mistakes.append(
            ("kernel axes swapped (transposed or rotated by 90 degrees): a flip keeps the shape "
             "(KH, KW) and reverses both axes, kernel[::-1, ::-1]", (h - kw + 1, w - kh + 1))
        )  # fmt: skip
    return _distinct(_valid(image, kernel[::-1, ::-1]), mistakes)


def conv_forward_mistakes(x, w, b, stride=1, pad=0):
    """Known mistakes of a convolutional layer's forward pass ``conv_forward(x, w, b)``.

    Covers the loop version and the im2col version (output reshaped in the wrong order, weights
    flattened in another order than the im2col columns).

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C, KH, KW)
    b : ndarray, shape (F,)
    stride, pad : int

    Returns
    -------
    list of (str, ndarray or tuple)
        ``(hint, wrong output or wrong shape)`` pairs for ``mistakes=``.
    """
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))

    def conv(xx, ww, s=stride):
        return conv_forward(xx, np.ascontiguousarray(ww), b, stride=s, pad=pad)[0]

    ref = conv(x, w)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    oh, ow = ref.shape[2:]
    no_bias = ref - b[:, None, None]
    mistakes = [
        ("(N*OH*OW, F) reshaped straight to (N, F, OH, OW): reshape to (N, OH, OW, F) first, "
         "then transpose(0, 3, 1, 2)", ref.transpose(0, 2, 3, 1).reshape(n, f, oh, ow)),
        ("output axes in the wrong order: return (N, F, OH, OW)", (n, oh, ow, f)),
        ("flipped kernel inside conv_forward: a convolutional layer computes cross-correlation, "
         "use w as it is (no [::-1, ::-1])", conv(x, w[:, :, ::-1, ::-1])),
        ("bias missing: add b[f] to every output value of filter f", no_bias),
        ("channels not summed: each filter covers all C channels of its window, so sum over the "
         "channels too (you used only channel 0)", conv(x[:, :1], w[:, :1])),
        ("channels not summed: each filter covers all C channels of its window; only the last "
         "channel is left (did a loop over c overwrite the value with = instead of adding?)",
         conv(x[:, -1:], w[:, -1:])),
        ("channels not summed: each filter ADDS UP the contributions of all C channels (you "
         "averaged them)", no_bias / c + b[:, None, None]),
        ("stride ignored when placing the windows: window (i, j) starts at row i*stride and "
         "column j*stride of the padded input", conv(x, w, s=1)[:, :, :oh, :ow]),
        (f"stride ignored in the output size: {_SIZE}",
         (n, f, h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1)),
        (f"padding ignored in the output size: {_SIZE}",
         (n, f, (h - kh) // stride + 1, (wd - kw) // stride + 1)),
        (f"off-by-one output size: {_SIZE}", (n, f, oh - 1, ow - 1)),
        (f"off-by-one output size: {_SIZE}", (n, f, oh + 1, ow + 1)),
        ("channels not summed: the output has one map per filter, shape (N, F, OH, OW)",
         (n, f * c, oh, ow)),
        ("channels not summed: the output has one map per filter, shape (N, F, OH, OW)",
         (n, f, c, oh, ow)),
        ("weights reshaped in another order than the im2col columns: w.reshape(F, -1) lists "
         "w[f, c, p, q] at column c*KH*KW + p*KW + q, which must match im2col's columns",
         conv(x, w.transpose(0, 2, 3, 1).reshape(f, c, kh, kw))),
        ("weights reshaped with w.reshape(-1, F): that mixes the values of different filters; "
         "w.reshape(F, -1) has one row per filter, and cols @ w.reshape(F, -1).T gives "
         "(N*OH*OW, F)", (im2col(x, kh, kw, stride=stride, pad=pad) @ w.reshape(-1, f) + b)
         .reshape(n, oh, ow, f).transpose(0, 3, 1, 2)),
        ("output rows and columns swapped: transpose(0, 3, 1, 2) takes (N, OH, OW, F) to "
         "(N, F, OH, OW)", ref.transpose(0, 1, 3, 2)),
    ]  # fmt: skip
    if f > 1:
        mistakes.append(
            ("all filters summed into every map: output map f uses filter w[f] only "
             "(np.sum(window * w[f]), not window * w)",
             np.broadcast_to(no_bias.sum(axis=1, keepdims=True), ref.shape)
             + b[:, None, None])
        )  # fmt: skip
    transposed = ("kernel axes transposed: w[f, c, p, q] multiplies the pixel at row "
                  "i*stride + p (KH rows) and column j*stride + q (KW columns)")  # fmt: skip
    if kh == kw:
        mistakes.append((transposed, conv(x, w.swapaxes(2, 3))))
    else:
        mistakes.append((transposed, (n, f, (h + 2 * pad - kw) // stride + 1,
                                      (wd + 2 * pad - kh) // stride + 1)))  # fmt: skip
    wrong_axis = (
        "bias broadcast on the wrong axis: b has one value per filter, so it belongs on "
        "axis 1 of (N, F, OH, OW), e.g. b[None, :, None, None] or b.reshape(1, -1, 1, 1)"
    )
    for axis in (0, 2, 3):
        if ref.shape[axis] == f and f > 1:  # otherwise the wrong broadcast raises an error
            shape = [1, 1, 1, 1]
            shape[axis] = f
            mistakes.append((wrong_axis, no_bias + b.reshape(shape)))
    return _distinct(ref, mistakes)


def im2col_mistakes(x, kh, kw, stride=1, pad=0):
    """Known mistakes of ``im2col(x, kh, kw, stride, pad)``, one row per window.

    The parameters are those of :func:`cnnlab.layers.im2col`.

    Returns
    -------
    list of (str, ndarray or tuple)
        ``(hint, wrong output or wrong shape)`` pairs for ``mistakes=``.
    """
    x = np.asarray(x, dtype=np.float64)
    n, c, h, wd = x.shape
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    k = c * kh * kw
    ref = im2col(x, kh, kw, stride=stride, pad=pad)
    cols6 = ref.reshape(n, oh, ow, c, kh, kw)
    columns = ("im2col columns in another order: column c*KH*KW + p*KW + q must hold "
               "xpad[n, c, i*stride + p, j*stride + q] (channel first, then kernel row, then "
               "kernel column), the order of w[f].ravel()")  # fmt: skip
    rows = ("im2col rows in another order: row n*OH*OW + i*OW + j must hold the window of "
            "image n at output position (i, j)")  # fmt: skip
    mistakes = [
        (columns, cols6.transpose(0, 1, 2, *perm).reshape(n * oh * ow, k))
        for perm in itertools.permutations((3, 4, 5))
        if perm != (3, 4, 5)
    ]
    mistakes += [
        (rows, cols6.transpose(*perm, 3, 4, 5).reshape(n * oh * ow, k))
        for perm in itertools.permutations((0, 1, 2))
        if perm != (0, 1, 2)
    ]
    if kh != kw:
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        if (oh - 1) * stride + kw <= xp.shape[2] and (ow - 1) * stride + kh <= xp.shape[3]:
            swapped = np.stack(
                [xp[:, :, i * stride : i * stride + kw, j * stride : j * stride + kh]
                 for i in range(oh) for j in range(ow)], axis=1
            )  # fmt: skip
            mistakes.append(
                ("kh and kw swapped: a window covers KH rows and KW columns, "
                 "xpad[n, :, i*stride : i*stride + KH, j*stride : j*stride + KW]",
                 swapped.reshape(n * oh * ow, k))
            )  # fmt: skip
    size = f"OH = (H + 2*pad - KH) // stride + 1 = {oh}, OW = {ow}, so N*OH*OW = {n * oh * ow} rows"
    stride1 = im2col(x, kh, kw, stride=1, pad=pad)
    mistakes += [
        ("matrix transposed: one ROW per window, shape (N*OH*OW, C*KH*KW)", (k, n * oh * ow)),
        (f"stride ignored in the number of windows: {size}",
         (n * (h + 2 * pad - kh + 1) * (wd + 2 * pad - kw + 1), k)),
        (f"padding ignored in the number of windows: {size}",
         (n * ((h - kh) // stride + 1) * ((wd - kw) // stride + 1), k)),
        (f"off-by-one output size: {size}", (n * (oh - 1) * (ow - 1), k)),
        (f"off-by-one output size: {size}", (n * (oh + 1) * (ow + 1), k)),
        ("stride ignored when placing the windows: window (i, j) starts at row i*stride and "
         "column j*stride of the padded input",
         stride1.reshape(n, h + 2 * pad - kh + 1, -1, k)[:, :oh, :ow].reshape(n * oh * ow, k)),
    ]  # fmt: skip
    return _distinct(ref, mistakes)
