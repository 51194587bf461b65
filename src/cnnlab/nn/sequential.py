"""A chain of modules, itself a module."""

from __future__ import annotations

import numpy as np

from .layers import _ConvBase
from .module import Module


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
        parameter gradients), which saves about a third of that layer's backward time (a first
        ConvTranspose2d returns None as well).
        """
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not need_dx:
                if isinstance(layer, (_ConvBase, Sequential)):
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
