"""A small module API on top of :mod:`cnnlab.layers`.

Every module has ``forward(x)`` (also ``module(x)``), ``backward(dout) -> dx``, and three dicts
of named arrays: ``params`` (trainable), ``grads`` (same keys, filled by ``backward``) and
``buffers`` (non-trainable state such as BatchNorm running statistics). The arrays in these dicts
are the module's own, so an in-place update reaches the module::

    model = Sequential(Conv2d(1, 8, 3, pad=1, seed=0), ReLU(), Flatten(), Linear(512, 10, seed=1))
    scores = model(x)                       # x: (N, 1, 8, 8)
    loss, dscores = cnnlab.layers.softmax_cross_entropy(scores, y)
    model.backward(dscores)
    for name, p in model.params.items():    # names like "0.w", "3.b"
        p -= 0.1 * model.grads[name]

Models travel as plain data: ``to_spec(model)`` gives a dict of class names, constructor keyword
arguments and arrays, ``from_spec(spec)`` rebuilds it, ``load_state(model, spec)`` copies the
arrays into an existing model; ``save_model`` / ``load_into`` / ``load_model`` store the same in
an ``.npz`` file. Persistence lives in :mod:`cnnlab.spec`, which builds on this module (never
the other way round).
"""

from __future__ import annotations

import numpy as np

from . import layers as L

__all__ = [
    "Module",
    "Conv2d",
    "ReLU",
    "MaxPool2d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "Flatten",
    "Linear",
    "Dropout",
    "BatchNorm2d",
    "Sequential",
]


def _he_normal(rng, shape, fan_in, dtype):
    """He initialisation: normal with standard deviation sqrt(2 / fan_in)."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def _make_rng(rng, seed):
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    return rng if rng is not None else np.random.default_rng(seed)


class Module:
    """Base class: no parameters, identity ``train``/``eval`` bookkeeping, plain-data config."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.training = True
        self._cache = None

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def train(self):
        """Switch to training mode (dropout active, batch statistics); returns self."""
        self.training = True
        return self

    def eval(self):
        """Switch to evaluation mode (dropout off, running statistics); returns self."""
        self.training = False
        return self

    def config(self):
        """Constructor keyword arguments as plain data (``type(self)(**config())`` rebuilds it)."""
        return {}

    def _store_grads(self, **grads):
        for name, g in grads.items():
            np.copyto(self.grads[name], g)

    def _need_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    def num_params(self):
        """Number of trainable scalars."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self):
        cfg = {k: v for k, v in self.config().items() if (k, v) != ("dtype", "float32")}
        args = ", ".join(f"{k}={v!r}" for k, v in cfg.items())
        return f"{type(self).__name__}({args})"


class Conv2d(Module):
    """Convolution layer, weights (F, C, KH, KW) He-initialised, biases zero.

    Input (N, C, H, W) -> output (N, F, OH, OW) with ``OH = (H + 2*pad - KH) // stride + 1``.
    """

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
        fan_in = in_channels * kh * kw
        self.params["w"] = _he_normal(rng, (out_channels, in_channels, kh, kw), fan_in, dtype)
        self.params["b"] = np.zeros(out_channels, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        out, self._cache = L.conv_forward(
            x, self.params["w"], self.params["b"], stride=self.stride, pad=self.pad
        )
        return out

    def backward(self, dout, need_dx=True):
        dx, dw, db = L.conv_backward(dout, self._need_cache(), need_dx=need_dx)
        self._store_grads(w=dw, b=db)
        return dx

    def config(self):
        return dict(
            in_channels=self.in_channels, out_channels=self.out_channels,
            kernel_size=self.kernel_size, stride=self.stride, pad=self.pad, dtype=self.dtype,
        )  # fmt: skip


class Linear(Module):
    """Fully connected layer ``x.reshape(N, D) @ w + b``; w (D, M) He-initialised, b zero."""

    def __init__(self, in_features, out_features, rng=None, seed=None, dtype="float32"):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dtype = np.dtype(dtype).name
        rng = _make_rng(rng, seed)
        self.params["w"] = _he_normal(rng, (in_features, out_features), in_features, dtype)
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
    _forward = _backward = None

    def __init__(self, size=2, stride=2):
        super().__init__()
        self.size, self.stride = int(size), int(stride)

    def forward(self, x):
        out, self._cache = type(self)._forward(x, self.size, self.stride)
        return out

    def backward(self, dout):
        return type(self)._backward(dout, self._need_cache())

    def config(self):
        return dict(size=self.size, stride=self.stride)


class MaxPool2d(_Pool):
    """Max pooling, ``OH = (H - size) // stride + 1``; gradient to the first maximum."""

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


class Sequential(Module):
    """A chain of modules; ``params``/``grads``/``buffers`` keyed ``"<index>.<name>"``."""

    def __init__(self, *layers):
        # No Module.__init__: params/grads/buffers are read-only views gathered from the layers.
        self.training, self._cache = True, None
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise ValueError(f"layer {i} is a {type(layer).__name__}, not a cnnlab.nn.Module")
        self.layers = list(layers)

    def _gather(self, attr):
        return {
            f"{i}.{name}": arr
            for i, layer in enumerate(self.layers)
            for name, arr in getattr(layer, attr).items()
        }

    params = property(lambda self: self._gather("params"), doc="The layers' own parameter arrays.")
    grads = property(lambda self: self._gather("grads"), doc="The layers' gradient arrays.")
    buffers = property(lambda self: self._gather("buffers"), doc="The layers' buffers.")

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout, need_dx=True):
        """Backpropagate through all layers; returns dx (None if ``need_dx`` is False).

        ``need_dx=False`` lets a first Conv2d skip its input gradient (training needs only the
        parameter gradients), which saves about a third of that layer's backward time.
        """
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not need_dx:
                if isinstance(layer, (Conv2d, Sequential)):
                    return layer.backward(dout, need_dx=False)
                layer.backward(dout)
                return None
            dout = layer.backward(dout)
        return dout

    def train(self):
        self.training = True
        for layer in self.layers:
            layer.train()
        return self

    def eval(self):
        self.training = False
        for layer in self.layers:
            layer.eval()
        return self

    def __repr__(self):
        inner = "".join(f"\n  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"

    def summary(self, input_shape, print_fn=print):
        """Print (and return) one line per layer: output shape and parameter count.

        Parameters
        ----------
        input_shape : tuple of int
            Shape of ONE example, e.g. (1, 8, 8); a batch of one zero image is run in eval mode
            (no running statistics change).
        print_fn : callable or None
            Where the text goes; None prints nothing.
        """
        dtype = next(iter(self.params.values()), np.zeros(0, np.float32)).dtype
        x = np.zeros((1, *input_shape), dtype=dtype)
        was_training = self.training
        self.eval()
        rows = [("layer", "output shape", "params"), ("input", str(tuple(input_shape)), "")]
        try:
            for i, layer in enumerate(self.layers):
                x = layer.forward(x)
                rows.append((f"{i}: {layer!r}", str(x.shape[1:]), f"{layer.num_params():,}"))
        finally:
            self.train() if was_training else self.eval()
        widths = [max(len(r[k]) for r in rows) for k in range(3)]
        fmt = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
        rule = "-" * (sum(widths) + 4)
        lines = [fmt(rows[0]), rule, *map(fmt, rows[1:]), rule]
        lines.append(f"total trainable parameters: {self.num_params():,}")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text
