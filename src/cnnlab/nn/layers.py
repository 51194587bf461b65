"""Modules with one layer each, on top of the functional layers of :mod:`cnnlab.layers`."""

from __future__ import annotations

import numpy as np

from .. import layers as L
from .module import Module, _make_rng, he_normal


class _ConvBase(Module):
    """Shared bookkeeping of Conv2d and ConvTranspose2d: kernel size, He init, config, grads."""

    _forward = _backward = None

    def __init__(
        self, in_channels, out_channels, kernel_size, stride=1, pad=0, rng=None, seed=None,
        dtype="float32",
    ):  # fmt: skip
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else tuple(kernel_size)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = int(kernel_size) if np.isscalar(kernel_size) else (int(kh), int(kw))
        self.stride, self.pad, self.dtype = int(stride), int(pad), np.dtype(dtype).name
        rng = _make_rng(rng, seed)
        shape, fan_in = self._weight_shape_and_fan_in(int(kh), int(kw))
        self.params["w"] = he_normal(rng, shape, fan_in, dtype)
        self.params["b"] = np.zeros(out_channels, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _weight_shape_and_fan_in(self, kh, kw):
        raise NotImplementedError

    def forward(self, x):
        out, self._cache = type(self)._forward(
            x, self.params["w"], self.params["b"], stride=self.stride, pad=self.pad
        )
        return out

    def backward(self, dout, need_dx=True):
        dx, dw, db = type(self)._backward(dout, self._need_cache(), need_dx=need_dx)
        self._store_grads(w=dw, b=db)
        return dx

    def config(self):
        return dict(
            in_channels=self.in_channels, out_channels=self.out_channels,
            kernel_size=self.kernel_size, stride=self.stride, pad=self.pad, dtype=self.dtype,
        )  # fmt: skip


class Conv2d(_ConvBase):
    """Convolution layer, weights (F, C, KH, KW) He-initialised, biases zero.

    Input (N, C, H, W) -> output (N, F, OH, OW) with ``OH = (H + 2*pad - KH) // stride + 1``.
    """

    _forward = staticmethod(L.conv_forward)
    _backward = staticmethod(L.conv_backward)

    def _weight_shape_and_fan_in(self, kh, kw):
        return (self.out_channels, self.in_channels, kh, kw), self.in_channels * kh * kw


class ConvTranspose2d(_ConvBase):
    """Transposed convolution ("up-convolution"), weights (C_in, C_out, KH, KW), biases zero.

    Input (N, C_in, H, W) -> output (N, C_out, OH, OW) with ``OH = (H - 1)*stride - 2*pad + KH``
    (``kernel_size=2, stride=2`` doubles H and W). He initialisation with the fan-in an output
    pixel really has: each input channel reaches it through about (KH / stride) * (KW / stride)
    kernel taps (at least one), so ``fan_in = C_in * max(1, KH/stride) * max(1, KW/stride)``.
    The weight layout is PyTorch's ``ConvTranspose2d``'s (its default init differs).
    """

    _forward = staticmethod(L.conv_transpose_forward)
    _backward = staticmethod(L.conv_transpose_backward)

    def _weight_shape_and_fan_in(self, kh, kw):
        taps = max(1.0, kh / self.stride) * max(1.0, kw / self.stride)
        return (self.in_channels, self.out_channels, kh, kw), self.in_channels * taps


class Linear(Module):
    """Fully connected layer ``x.reshape(N, D) @ w + b``; w (D, M) He-initialised, b zero."""

    def __init__(self, in_features, out_features, rng=None, seed=None, dtype="float32"):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = np.dtype(dtype).name
        rng = _make_rng(rng, seed)
        self.params["w"] = he_normal(rng, (in_features, out_features), in_features, dtype)
        self.params["b"] = np.zeros(out_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        out, self._cache = L.affine_forward(x, self.params["w"], self.params["b"])
        return out

    def backward(self, dout):
        dx, dw, db = L.affine_backward(dout, self._need_cache())
        self._store_grads(w=dw, b=db)
        return dx

    def config(self):
        return dict(in_features=self.in_features, out_features=self.out_features, dtype=self.dtype)


class ReLU(Module):
    """Element-wise ``max(x, 0)``."""

    def forward(self, x):
        out, self._cache = L.relu_forward(x)
        return out

    def backward(self, dout):
        return L.relu_backward(dout, self._need_cache())


class _Pool(Module):
    """Pooling over ``size x size`` windows; ``stride`` keyword-only, default ``size``."""

    _forward = _backward = None

    def __init__(self, size=2, *, stride=None):
        super().__init__()
        self.size = int(size)
        self.stride = self.size if stride is None else int(stride)

    def forward(self, x):
        out, self._cache = type(self)._forward(x, self.size, stride=self.stride)
        return out

    def backward(self, dout):
        return type(self)._backward(dout, self._need_cache())

    def config(self):
        return dict(size=self.size, stride=self.stride)


class MaxPool2d(_Pool):
    """Max pooling, ``OH = (H - size) // stride + 1``; gradient to the first maximum.

    ``MaxPool2d(2)`` is 2x2 pooling with stride 2; ``MaxPool2d(3, stride=1)`` overlaps.
    """

    _forward = staticmethod(L.maxpool_forward)
    _backward = staticmethod(L.maxpool_backward)


class AvgPool2d(_Pool):
    """Average pooling, ``OH = (H - size) // stride + 1``."""

    _forward = staticmethod(L.avgpool_forward)
    _backward = staticmethod(L.avgpool_backward)


class GlobalAvgPool2d(Module):
    """Mean over H and W: (N, C, H, W) -> (N, C)."""

    def forward(self, x):
        out, self._cache = L.global_avgpool_forward(x)
        return out

    def backward(self, dout):
        return L.global_avgpool_backward(dout, self._need_cache())


class Flatten(Module):
    """(N, d1, ..., dk) -> (N, d1 * ... * dk)."""

    def forward(self, x):
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self._need_cache())


class Upsample(Module):
    """Nearest-neighbour upsampling by an integer ``scale``: (N, C, H, W) -> (N, C, sH, sW)."""

    def __init__(self, scale=2):
        super().__init__()
        if isinstance(scale, bool) or int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
        self.scale = int(scale)

    def forward(self, x):
        out, self._cache = L.upsample_nearest_forward(x, scale=self.scale)
        return out

    def backward(self, dout):
        return L.upsample_nearest_backward(dout, self._need_cache())

    def config(self):
        return dict(scale=self.scale)


class Dropout(Module):
    """Inverted dropout; ``p`` is the probability of DROPPING. Identity in eval mode."""

    def __init__(self, p, rng=None, seed=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p (probability of dropping) must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = _make_rng(rng, seed)

    def forward(self, x):
        out, self._cache = L.dropout_forward(x, self.p, train=self.training, rng=self.rng)
        return out

    def backward(self, dout):
        return L.dropout_backward(dout, self._need_cache())

    def config(self):
        return dict(p=self.p)


class BatchNorm2d(Module):
    """Spatial batch normalisation; params gamma (ones), beta (zeros); buffers running stats.

    ``momentum`` is the weight of the OLD running statistics (PyTorch's momentum is 1 - this).
    """

    def __init__(self, num_features, momentum=0.9, eps=1e-5, dtype="float32"):
        super().__init__()
        self.num_features, self.momentum, self.eps = int(num_features), float(momentum), float(eps)
        self.dtype = np.dtype(dtype).name
        self.params = {"gamma": np.ones(num_features, dtype), "beta": np.zeros(num_features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(num_features, dtype),
            "running_var": np.ones(num_features, dtype),
        }

    def forward(self, x):
        p, b = self.params, self.buffers
        out, self._cache = L.batchnorm2d_forward(
            x, p["gamma"], p["beta"], b["running_mean"], b["running_var"],
            train=self.training, momentum=self.momentum, eps=self.eps,
        )  # fmt: skip
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = L.batchnorm2d_backward(dout, self._need_cache())
        self._store_grads(gamma=dgamma, beta=dbeta)
        return dx

    def config(self):
        return dict(
            num_features=self.num_features, momentum=self.momentum, eps=self.eps, dtype=self.dtype
        )
