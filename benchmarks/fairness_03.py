"""Is 03's `train_convnet` target fair? Every reasonable reading of the recipe, seeds 0-9.

The recipe of notebook 03 (section 11): the default network of `build_convnet`, Adam with
batches of 16 for 15 epochs, the learning rate from 3e-3 down to 0 along a half cosine, and at
every epoch each image shifted by up to one pixel with probability 1/2. The target (issue 19):
at least 97.5 % test accuracy, at most 9 of the 360 test digits wrong, with the worst case as
graded at least 3 errors below that. The recipe leaves a few choices to the reader. This runs each
reading with each seed, the way the hidden test does (the reference helpers of cnnlab, which
have the exercises' contracts: `course_convnet`, `adam_step`, `train_epoch`, `random_shift`),
and prints the number of wrong test digits (of 360) per reading and seed, with the worst case,
and the worst case as the test grades it: seeds 2k and 2k + 1 stand for a learner's seeds 0
and 1; the test counts the run with seed 2k, and only when that one falls short (more wrong
than `--allowed`) the run with seed 2k + 1.

Readings:
- `prob` / `half`: every image shifted with probability 1/2, or exactly half of them (a random
  subset of N // 2);
- `e0` / `e1`: the epoch index in the cosine runs 0..E-1 (the first epoch at the full rate) or
  1..E (the last at rate 0).

    .venv/bin/python benchmarks/fairness_03.py                      # the notebook's recipe
    .venv/bin/python benchmarks/fairness_03.py --epochs 30 --batch 32 --readings prob-e0
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

import cnnlab as cl


def train(X, y, seed, epochs, lr0, batch, shift, first, channels=(16, 32), hidden=(64,)):
    """The recipe under one reading; returns the model."""
    rng = np.random.default_rng(seed)
    model = cl.models.course_convnet(X.shape[1:], int(y.max()) + 1, channels, 1, hidden, rng)
    state = {}
    for epoch in range(epochs):
        e = epoch + first
        lr = lr0 * 0.5 * (1 + np.cos(np.pi * e / epochs))
        shifted = cl.train.random_shift(X, rng, max_shift=1)
        if shift == "prob":
            keep = rng.random(len(X)) < 0.5
        else:
            keep = np.ones(len(X), bool)
            keep[rng.permutation(len(X))[: len(X) // 2]] = False
        X_epoch = np.where(keep[:, None, None, None], X, shifted)
        cl.train.train_epoch(
            model, X_epoch, y, lambda p, g, lr=lr: cl.optim.adam_step(p, g, state, lr), batch, rng
        )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--verbose", action="store_true", help="print every run as it ends")
    parser.add_argument("--allowed", type=int, default=9, help="wrong test digits the mark allows")
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--hidden", type=int, nargs="*", default=[64])
    parser.add_argument(
        "--readings", nargs="+", default=["prob-e0", "prob-e1", "half-e0", "half-e1"]
    )
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = cl.data.load_digits()
    readings = [(r.split("-")[0], int(r[-1])) for r in args.readings]
    print(f"recipe: {args.epochs} epochs, lr {args.lr:g} cosine, batch {args.batch}, network "
          f"{tuple(args.channels)} {tuple(args.hidden)}; "
          f"CPU: {platform.processor() or platform.machine()}")  # fmt: skip
    print("test errors of 360 per reading (rows) and seed (columns)")
    print(f"{'reading':<8}" + "".join(f"{s:>4}" for s in range(args.seeds)) + "   worst  s/run")
    worst = worst_graded = 0
    for shift, first in readings:
        errors, t0 = [], time.perf_counter()
        for seed in range(args.seeds):
            model = train(X_train, y_train, seed, args.epochs, args.lr, args.batch, shift, first,
                          tuple(args.channels), tuple(args.hidden))  # fmt: skip
            errors.append(int(np.sum(cl.train.predict(model, X_test) != y_test)))
            if args.verbose:
                print(f"  seed {seed}: {errors[-1]} errors", flush=True)
        seconds = (time.perf_counter() - t0) / args.seeds
        worst = max(worst, max(errors))
        graded = [  # the first run counts unless it falls short
            errors[k] if errors[k] <= args.allowed or k + 1 == len(errors) else errors[k + 1]
            for k in range(0, len(errors), 2)
        ]
        worst_graded = max(worst_graded, max(graded))
        label = f"{shift}-e{first}"
        print(f"{label:<8}" + "".join(f"{e:>4}" for e in errors) + f"   {max(errors):>5}"
              f"  {seconds:5.1f}", flush=True)  # fmt: skip
    print(f"worst case: {worst} errors ({1 - worst / 360:.2%} accuracy)")
    print(f"worst case as graded (seed 2k, or 2k + 1 if 2k falls short): {worst_graded} errors, "
          f"{args.allowed - worst_graded} below the {args.allowed} allowed")  # fmt: skip


if __name__ == "__main__":
    with threadpool_limits(1, user_api="blas"):
        main()
