"""Transfer learning with the shipped network: when does pretraining help?

The network ``cnnlab.models.pretrained("shapes4")`` was trained on four make_shapes classes
(circle, triangle, vertical bar, cross; 16x16, 4000 labelled images). Two targets:

- ``shapes``: the OTHER four classes (ring, square, horizontal bar, diagonal bar): a similar
  task, new classes;
- ``digits``: scikit-learn's 8x8 digits, upsampled to 16x16 (each pixel repeated 2x2): a
  dissimilar task with ten classes.

For k labelled images per class (drawn per seed from a fixed pool), three methods with the same
budget of gradient steps (Adam, mini-batches of min(32, N) images):

- ``frozen``: the pretrained network up to its last hidden layer (32 features, eval mode) as a
  fixed feature extractor, and a new linear head trained on the features;
- ``fine-tune``: the whole pretrained network with a new head, the pretrained layers at a tenth
  of the head's learning rate (``lr_scale``);
- ``scratch``: the same architecture from a fresh He initialisation.

Test accuracy on a separate test set (1000 shapes, or the 360 test digits). Run::

    .venv/bin/python benchmarks/transfer_study.py             # the table in results.md
    .venv/bin/python benchmarks/transfer_study.py --reduced   # the notebook's configuration
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from cnnlab import data, models, nn, optim, spec, train

SOURCE = "shapes4"
TARGET_SHAPES = ("ring", "square", "horizontal bar", "diagonal bar")
FULL = dict(plan={"shapes": (1, 3, 10, 30, 100), "digits": (1, 3, 10, 30, 100)}, seeds=5, steps=200)
REDUCED = dict(plan={"shapes": (3, 10, 100), "digits": (30,)}, seeds=2, steps=100, n_test=500)
LR = {"frozen": 1e-2, "fine-tune": 1e-2, "scratch": 2e-3}  # each its best of 2e-3..2e-2
BODY_SCALE = 0.1  # fine-tuning: learning rate of the pretrained layers / that of the new head


def target_data(name, n_test=1000):
    """(X_pool, y_pool, X_test, y_test) of a target task, 16x16 images, float32.

    ``shapes``: a pool of 1000 labelled images (250 per class) and ``n_test`` test images of
    ``TARGET_SHAPES``; ``digits``: the digits' train split as the pool, its test split (360
    images) as the test set, every pixel repeated 2x2.
    """
    if name == "shapes":
        return data.shapes_split(1000, n_test, size=16, seed=100, classes=TARGET_SHAPES)
    if name == "digits":
        up = lambda X: X.repeat(2, axis=2).repeat(2, axis=3)
        X_pool, y_pool, X_test, y_test = data.load_digits()
        return up(X_pool), y_pool, up(X_test), y_test
    raise ValueError(f"unknown target {name!r}; expected 'shapes' or 'digits'")


def labelled_subset(X, y, k, rng):
    """k images of every class, drawn without replacement: (X_k, y_k), N = k * classes."""
    idx = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), k, replace=False) for c in np.unique(y)]
    )
    return X[idx], y[idx]


def _fit(model, opt, X, y, steps, seed):
    """Train for about ``steps`` Adam steps: full epochs of batches of min(32, N) images."""
    batch = min(32, len(y))
    epochs = max(1, round(steps / -(-len(y) // batch)))
    train.fit(model, opt, X, y, epochs=epochs, batch_size=batch, seed=seed, progress=False)
    return model


def with_new_head(pretrained, num_classes, seed):
    """A copy of ``pretrained`` whose last Linear layer is replaced by a fresh one."""
    model = spec.from_spec(spec.to_spec(pretrained))
    model.layers[-1] = nn.Linear(model.layers[-1].in_features, num_classes, seed=seed)
    return model.train()


def frozen(pretrained, X, y, X_test, y_test, steps, seed):
    """Test accuracy of a linear head on the frozen features (all layers but the last)."""
    body = nn.Sequential(*pretrained.layers[:-1]).eval()
    features = lambda X: np.concatenate([body(X[i : i + 500]) for i in range(0, len(X), 500)])
    F = features(X)
    head = nn.Linear(F.shape[1], int(y.max()) + 1, seed=seed)
    _fit(head, optim.Adam(head.params, lr=LR["frozen"]), F, y, steps, seed)
    return train.evaluate(head, features(X_test), y_test)[1]


def fine_tune(pretrained, X, y, X_test, y_test, steps, seed):
    """Test accuracy after fine-tuning every layer, the pretrained ones at BODY_SCALE x lr."""
    model = with_new_head(pretrained, int(y.max()) + 1, seed)
    head = f"{len(model) - 1}."
    opt = optim.Adam(model.params, lr=LR["fine-tune"], lr_scale={"": BODY_SCALE, head: 1.0})
    return train.evaluate(_fit(model, opt, X, y, steps, seed), X_test, y_test)[1]


def scratch(pretrained, X, y, X_test, y_test, steps, seed):
    """Test accuracy of the same architecture trained from a fresh initialisation."""
    model = models.course_convnet(X.shape[1:], int(y.max()) + 1, (8, 16), hidden=(32,), seed=seed)
    opt = optim.Adam(model.params, lr=LR["scratch"])
    return train.evaluate(_fit(model, opt, X, y, steps, seed), X_test, y_test)[1]


METHODS = {"frozen": frozen, "fine-tune": fine_tune, "scratch": scratch}


def study(plan, seeds, steps, n_test=1000):
    """Test accuracies: ``{(target, k, method): [accuracy for each seed]}``.

    ``plan`` maps a target ("shapes", "digits") to its labels per class; seeds 0..seeds-1.
    """
    pretrained = models.pretrained(SOURCE)
    results = {}
    for target, labels in plan.items():
        X_pool, y_pool, X_test, y_test = target_data(target, n_test)
        for k in labels:
            for seed in range(seeds):
                X, y = labelled_subset(X_pool, y_pool, k, np.random.default_rng(seed))
                for name, method in METHODS.items():
                    acc = method(pretrained, X, y, X_test, y_test, steps, seed)
                    results.setdefault((target, k, name), []).append(acc)
    return results


def table(results):
    """Markdown table: mean +- standard deviation (%), and transfer minus scratch per seed."""
    lines = [
        "| target | labels/class | frozen | fine-tune | scratch | best transfer - scratch "
        "(mean; min, max over seeds) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    keys = sorted({(t, k) for t, k, _ in results}, key=lambda tk: (tk[0] != "shapes", tk[1]))
    for target, k in keys:
        acc = {m: 100 * np.array(results[(target, k, m)]) for m in METHODS}
        cells = [f"{a.mean():.1f} +- {a.std():.1f}" for a in acc.values()]
        best = max(("frozen", "fine-tune"), key=lambda m: acc[m].mean())
        gain = acc[best] - acc["scratch"]
        lines.append(
            f"| {target} | {k} | {' | '.join(cells)} | {best}: {gain.mean():+.1f} "
            f"({gain.min():+.1f}, {gain.max():+.1f}) |"
        )
    return "\n".join(lines)


def main(argv=None):
    """Run the study and print the table with its timing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reduced", action="store_true", help="the notebook's configuration")
    parser.add_argument("--seeds", type=int)
    args = parser.parse_args(argv)
    config = dict(REDUCED if args.reduced else FULL)
    if args.seeds:
        config["seeds"] = args.seeds
    wall, cpu = time.perf_counter(), time.process_time()
    results = study(**config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(table(results))
    print(f"\nconfiguration: {config}; lr {LR}, body scale {BODY_SCALE}")
    print(f"time: {wall:.1f} s elapsed, {cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
