"""Time cnnlab's conv layer and a full training step against PyTorch on the CPU.

Usage::

    python benchmarks/bench_layers.py            # prints a Markdown table
    python benchmarks/bench_layers.py --reps 50  # more repetitions, steadier medians
    python benchmarks/bench_layers.py --threads 1  # both libraries on one thread
    python benchmarks/bench_layers.py --threads 1 --clock cpu  # CPU time: steady under load

For each course shape (float32, batch 64) the table gives, in milliseconds (median over the
repetitions, cnnlab and PyTorch timed alternately in the same process so that load from other
programs affects both alike):

- conv1 / conv2: forward and backward of the first and second conv layer of the course network
  (3x3, pad 1; C -> 16 on HxW and 16 -> 32 on H/2 x W/2);
- conv1 / conv2 "BLAS products only": the three matrix products the layer's forward and
  backward make (forward, ``dw`` and the gradient of the columns, one product per image), timed
  alone on columns built beforehand: the speed NumPy's BLAS allows for these shapes, without
  im2col, col2im or any other bookkeeping;
- conv layers: conv1 + conv2 forward and backward together;
- step: a full training step of ``course_convnet`` (forward, softmax loss, backward, Adam).

``ratio`` is cnnlab time / PyTorch time (lower is better; 1.5 means 50 % slower). GFLOP/s counts
the multiply-adds of the convolutions and matrix products (backward = 2 x forward); the ceiling
is NumPy's own float32 matrix product on a 1024 x 1024 problem with the same threads. The ceiling
is measured again right before every timed repetition and "% of ceiling" is the median over the
repetitions of (cnnlab GFLOP/s) / (that ceiling), so that a shared machine whose speed drifts
from second to second affects both sides of the fraction alike. PyTorch uses as many threads as
the BLAS NumPy calls (threadpoolctl), else ``os.cpu_count()``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cnnlab import layers as L
from cnnlab.layers.conv import _receptive_fields as receptive_fields
from cnnlab.models import course_convnet
from cnnlab.optim import Adam

SHAPES = {
    "digits 1x8x8": (1, 8, 8),
    "shapes 1x28x28": (1, 28, 28),
    "CIFAR-like 3x32x32": (3, 32, 32),
}
BATCH = 64


def blas_threads():
    try:
        from threadpoolctl import threadpool_info

        counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if counts:
            return max(counts)
    except ImportError:
        pass
    return os.cpu_count() or 1


CLOCK = time.perf_counter  # --clock cpu switches to time.process_time
_SQUARE = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)


def timed(fn):
    start = CLOCK()
    fn()
    return CLOCK() - start


def ceiling_gflops():
    """GFLOP/s of one 1024 x 1024 x 1024 float32 matrix product, right now."""
    return 2 * 1024**3 / timed(lambda: _SQUARE @ _SQUARE) / 1e9


def median_ceiling(reps=10):
    """Median of ``reps`` ceiling measurements (after one warm-up product)."""
    ceiling_gflops()
    return float(np.median([ceiling_gflops() for _ in range(reps)]))


class Timing:
    """Per-repetition seconds of cnnlab (and PyTorch), with the ceiling measured before each."""

    def __init__(self, ours, theirs, ceilings):
        self.ours, self.theirs, self.ceilings = ours, theirs, ceilings

    def __add__(self, other):
        theirs = None if self.theirs is None else self.theirs + other.theirs
        return Timing(self.ours + other.ours, theirs, (self.ceilings + other.ceilings) / 2)

    def row(self, name, flops):
        ours = float(np.median(self.ours))
        theirs = None if self.theirs is None else float(np.median(self.theirs))
        share = float(np.median(flops / self.ours / 1e9 / self.ceilings))
        return name, ours, theirs, flops / ours / 1e9, share


def compare(ours, theirs, reps):
    """Time ``ours`` and ``theirs`` (None when PyTorch is missing) alternately, ``reps`` times."""
    ours()
    if theirs is not None:
        theirs()
    a, b, c = [], [], []
    for _ in range(reps):
        c.append(ceiling_gflops())
        a.append(timed(ours))
        if theirs is not None:
            b.append(timed(theirs))
    return Timing(np.array(a), np.array(b) if b else None, np.array(c))


def conv_rows(name, cin, cout, hw, torch, reps):
    """Rows for one 3x3, pad 1 conv layer on a batch of 64, and its forward+backward timing."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, cin, *hw)).astype(np.float32)
    wt = (rng.standard_normal((cout, cin, 3, 3)) * 0.1).astype(np.float32)
    b = np.zeros(cout, np.float32)
    out, cache = L.conv_forward(x, wt, b, stride=1, pad=1)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    flops = 2 * out.size * cin * 9
    fwd_t = bwd_t = None
    if torch is not None:
        tx, tw, tb, td = (torch.from_numpy(a) for a in (x, wt, b, dout))

        def fwd_t():
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, tb, padding=1)

        def bwd_t():
            mask = [True, True, True]
            torch.ops.aten.convolution_backward(
                td, tx, tw, [cout], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask
            )

    fwd = compare(lambda: L.conv_forward(x, wt, b, stride=1, pad=1), fwd_t, reps)
    bwd = compare(lambda: L.conv_backward(dout, cache), bwd_t, reps)
    blas = compare(blas_products(x, wt, dout), None, reps)
    rows = [
        fwd.row(f"{name} fwd {cin}->{cout} @{hw[0]}x{hw[1]}", flops),
        bwd.row(f"{name} bwd", 2 * flops),
        (fwd + bwd).row(f"{name} fwd+bwd", 3 * flops),
        blas.row(f"{name} fwd+bwd, BLAS products only", 3 * flops),
    ]
    return rows, fwd + bwd, 3 * flops


def blas_products(x, w, dout):
    """The matrix products of the layer's forward and backward, on columns built beforehand.

    The same products as ``conv_forward`` / ``conv_backward`` make (stride 1, "wide" columns,
    one product per image), without the im2col copy, the col2im fold or any other bookkeeping:
    the speed NumPy's BLAS allows for this layer's shapes.
    """
    n, f = x.shape[0], w.shape[0]
    fields, oh, ow, width = receptive_fields(x, 3, 3, 1, 1)
    cols = np.ascontiguousarray(fields).reshape(n, -1, oh * width)
    d3 = np.zeros((n, f, oh, width), np.float32)
    d3[..., :ow] = dout
    d3 = d3.reshape(n, f, -1)
    w2 = w.reshape(f, -1)

    def run():
        np.matmul(w2, cols)  # forward
        np.matmul(cols, d3.transpose(0, 2, 1)).sum(axis=0)  # dw
        np.matmul(w2.T, d3)  # gradient of the columns

    return run


def conv_cases(shape, torch, reps):
    """Rows for the two conv layers of the course network at this input shape, and both."""
    c, h, w = shape
    rows1, both1, flops1 = conv_rows("conv1", c, 16, (h, w), torch, reps)
    rows2, both2, flops2 = conv_rows("conv2", 16, 32, (h // 2, w // 2), torch, reps)
    total = (both1 + both2).row("conv layers (conv1 + conv2) fwd+bwd", flops1 + flops2)
    return rows1 + rows2 + [total]


def torch_course_net(torch, model, shape):
    """The same architecture and weights as ``model`` in PyTorch."""
    tnn = torch.nn
    layers = []
    for layer in model:
        kind = type(layer).__name__
        if kind == "Conv2d":
            m = tnn.Conv2d(layer.in_channels, layer.out_channels, 3, padding=layer.pad)
            m.weight.data = torch.from_numpy(layer.params["w"].copy())
        elif kind == "Linear":
            m = tnn.Linear(layer.in_features, layer.out_features)
            m.weight.data = torch.from_numpy(layer.params["w"].T.copy())
        elif kind == "MaxPool2d":
            m = tnn.MaxPool2d(layer.size, stride=layer.stride)
        else:
            m = {"ReLU": tnn.ReLU, "Flatten": tnn.Flatten}[kind]()
        if kind in ("Conv2d", "Linear"):
            m.bias.data.zero_()
        layers.append(m)
    return tnn.Sequential(*layers)


def step_case(shape, torch, reps):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((BATCH, *shape)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    model = course_convnet(shape, 10, seed=0)
    opt = Adam(model.params, lr=1e-3)

    def ours():
        scores = model.forward(x)
        _, dscores = L.softmax_cross_entropy(scores, y)
        model.backward(dscores, need_dx=False)  # as in cnnlab.train.fit
        opt.step(model.grads)

    theirs = None
    if torch is not None:
        tmodel = torch_course_net(torch, model, shape)
        topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def theirs():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
            topt.step()

    flops = 0
    a = np.zeros((1, *shape), np.float32)
    for layer in model:
        out = layer.forward(a)
        if type(layer).__name__ == "Conv2d":
            flops += 2 * out.size * layer.params["w"][0].size
        elif type(layer).__name__ == "Linear":
            flops += 2 * layer.params["w"].size
        a = out
    return [compare(ours, theirs, reps).row("train step (fwd+bwd+Adam)", 3 * flops * BATCH)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="timed repetitions per row")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="limit NumPy's BLAS and PyTorch to this many threads (default: BLAS default)",
    )  # fmt: skip
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall",
        help="wall: elapsed time; cpu: CPU time of this process (steady on a shared machine, "
        "equal to elapsed time on an idle one when --threads 1)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    threads = blas_threads()
    try:
        import torch

        torch.set_num_threads(threads)
        torch_version = torch.__version__
    except ImportError:
        torch, torch_version = None, "not installed"
    ceiling = median_ceiling()
    print(f"NumPy {np.__version__}, PyTorch {torch_version}, {threads} thread(s), batch {BATCH}")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"{os.cpu_count()} CPUs, load average {load} (other programs share the CPUs)")
    print(
        f"clock: {args.clock}; NumPy float32 matmul (1024^3): {ceiling:.1f} GFLOP/s (ceiling, "
        "median of 10; re-measured before every repetition for the last column)\n"
    )
    print("| shape | operation | cnnlab ms | PyTorch ms | ratio | cnnlab GFLOP/s | % of ceiling |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, shape in SHAPES.items():
        rows = conv_cases(shape, torch, args.reps) + step_case(shape, torch, args.reps)
        for name, ours, theirs, gf, share in rows:
            t_ms = f"{theirs * 1e3:.2f}" if theirs else "-"
            ratio = f"{ours / theirs:.2f}" if theirs else "-"
            print(
                f"| {label} | {name} | {ours * 1e3:.2f} | {t_ms} | {ratio} | {gf:.1f} "
                f"| {100 * share:.0f} % |"
            )
    print(f"\nceiling re-measured at the end: {median_ceiling():.1f} GFLOP/s")


if __name__ == "__main__":
    main()
