"""Training loop, evaluation and prediction for :mod:`cnnlab.nn` models.

``fit`` runs mini-batch training with the softmax cross-entropy loss and returns a history of
per-epoch numbers, ready for ``cnnlab.plot``. A progress bar (tqdm, on stdout) shows the loss and
accuracy in a terminal or a Jupyter notebook and stays silent otherwise (pipes, CI, nbgrader).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import numpy as np

from .layers import softmax_cross_entropy
from .nn import Sequential

__all__ = ["fit", "train_epoch", "evaluate", "predict", "predict_proba", "random_shift"]


def _interactive():
    """True in a Jupyter kernel or a terminal; False under a grader or with output redirected."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is not None:  # running inside a Jupyter kernel
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _check_xy(X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, ...) and y (N,) labels; got X {X.shape} and y {y.shape}")
    return X, y


def fit(
    model, optimizer, X, y, *, epochs, batch_size, val=None, augment=None, seed=0, progress=None,
    blas_threads=1,
):  # fmt: skip
    """Train ``model`` with mini-batches and the softmax cross-entropy loss.

    Parameters
    ----------
    model : cnnlab.nn.Module
        Maps (B, ...) inputs to (B, K) class scores; put in train mode here.
    optimizer : cnnlab.optim.Optimizer
        Built on ``model.params``; ``optimizer.step(model.grads)`` after every batch.
    X : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    epochs, batch_size : int
    val : tuple (X_val, y_val), optional
        Evaluated after every epoch (eval mode).
    augment : callable, optional
        ``augment(Xb, rng) -> Xb`` applied to every training batch.
    seed : int, default 0
        Seeds the shuffling and the generator passed to ``augment``.
    progress : bool or None
        Show a tqdm bar on stdout; None shows it only in a terminal or a Jupyter kernel, never
        while nbgrader executes a notebook.
    blas_threads : int or None, default 1
        Threads for NumPy's matrix products during training (via threadpoolctl); None keeps
        the current setting. The course's products are small: on a busy or shared machine
        several BLAS threads spend more time waiting for each other than computing (a training
        step measured 5x slower with 2 threads than with 1 on a loaded 2-core machine).

    Returns
    -------
    history : dict of lists, one entry per epoch
        ``"train_loss"``, ``"train_acc"`` (running means over the epoch's batches, in train mode),
        ``"val_loss"``, ``"val_acc"`` (empty without ``val``) and ``"time"`` (seconds since the
        start of training, at the end of each epoch).
    """
    X, y = _check_xy(X, y)
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"need epochs >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    n_batches = -(-n // batch_size)
    history = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "time")}
    with contextlib.ExitStack() as stack:
        if blas_threads is not None:
            from threadpoolctl import threadpool_limits  # installed with scikit-learn

            stack.enter_context(threadpool_limits(limits=int(blas_threads), user_api="blas"))
        bar = None
        if _interactive() if progress is None else progress:
            from tqdm import tqdm

            bar = stack.enter_context(
                tqdm(total=epochs * n_batches, file=sys.stdout, unit="batch", leave=True)
            )
        start = time.perf_counter()
        for epoch in range(epochs):
            tick = None if bar is None else (lambda: bar.update(1))
            loss_sum, correct = _epoch(model, optimizer.step, X, y, batch_size, rng, augment, tick)
            history["train_loss"].append(loss_sum / n)
            history["train_acc"].append(correct / n)
            info = {"loss": f"{loss_sum / n:.4f}", "acc": f"{correct / n:.4f}"}
            if val is not None:
                vl, va = evaluate(model, *val)
                history["val_loss"].append(vl)
                history["val_acc"].append(va)
                info.update(val_loss=f"{vl:.4f}", val_acc=f"{va:.4f}")
            history["time"].append(time.perf_counter() - start)
            if bar is not None:
                bar.set_description(f"epoch {epoch + 1}/{epochs}")
                bar.set_postfix(info)
    return history


def _epoch(model, step, X, y, batch_size, rng, augment=None, tick=None):
    """One epoch of shuffled mini-batches in train mode: (summed loss, correct predictions)."""
    model.train()
    n = X.shape[0]
    order = rng.permutation(n)
    loss_sum, correct = 0.0, 0
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        xb, yb = X[idx], y[idx]
        if augment is not None:
            xb = augment(xb, rng)
        scores = model.forward(xb)
        loss, dscores = softmax_cross_entropy(scores, yb)
        if isinstance(model, Sequential):
            model.backward(dscores, need_dx=False)  # no gradient w.r.t. the images
        else:
            model.backward(dscores)
        step(model.grads)
        loss_sum += loss * len(idx)
        correct += int((scores.argmax(axis=1) == yb).sum())
        if tick is not None:
            tick()
    return loss_sum, correct


def train_epoch(model, X, y, step_fn, batch_size, rng):
    """Train ``model`` for one epoch of shuffled mini-batches; return the mean loss.

    The contract of notebook 03's exercise (its grader's reference): the samples are visited in
    the order ``rng.permutation(N)``, in batches of ``batch_size`` (the last may be smaller),
    and ``step_fn(model.params, model.grads)`` follows every backward pass.

    Parameters
    ----------
    model : cnnlab.nn.Module
        Maps (B, ...) inputs to (B, K) scores; set to training mode here.
    X : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    step_fn : callable
        ``step_fn(params, grads)``, one optimiser update in place.
    batch_size : int
    rng : numpy.random.Generator

    Returns
    -------
    loss : float
        Softmax cross-entropy averaged over the N samples, as measured during the epoch.
    """
    X, y = _check_xy(X, y)
    loss_sum, _ = _epoch(model, lambda grads: step_fn(model.params, grads), X, y, batch_size, rng)
    return float(loss_sum / X.shape[0])


def _scores(model, X, batch_size):
    was_training = model.training
    model.eval()
    try:
        return np.concatenate(
            [model.forward(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        )
    finally:
        model.train() if was_training else model.eval()


def evaluate(model, X, y, batch_size=256):
    """Mean loss and accuracy of ``model`` on ``(X, y)``, in eval mode (mode restored).

    The library twin of notebook 03's ``evaluate``, with the same contract.

    Parameters
    ----------
    model : cnnlab.nn.Module
        Maps (B, ...) inputs to (B, K) scores; left in the mode it was in.
    X : ndarray, shape (N, ...)
    y : ndarray of int, shape (N,)
    batch_size : int, default 256
        Largest number of samples sent through the model at once.

    Returns
    -------
    loss : float
        Softmax cross-entropy averaged over the N samples.
    accuracy : float
        Fraction of samples with ``argmax(scores) == y``, in [0, 1].
    """
    X, y = _check_xy(X, y)
    scores = _scores(model, X, batch_size)
    loss, _ = softmax_cross_entropy(scores, y)
    return float(loss), float((scores.argmax(axis=1) == y).mean())


def predict_proba(model, X, batch_size=256):
    """Class probabilities, shape (N, K): softmax of the scores in eval mode."""
    scores = _scores(model, np.asarray(X), batch_size)
    scores = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    return p / p.sum(axis=1, keepdims=True)


def predict(model, X, batch_size=256):
    """Predicted labels, shape (N,), in eval mode."""
    return _scores(model, np.asarray(X), batch_size).argmax(axis=1)


def random_shift(images, rng, max_shift=1):
    """Shift every image by its own random offsets, filling with zeros (pad and random crop).

    The library twin of notebook 03's ``random_shift``: the same arguments, the same draws and,
    for the same generator, the same images. An augmentation for :func:`fit`.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
    rng : numpy.random.Generator
        Draws ``dy = rng.integers(-max_shift, max_shift + 1, size=N)``, then ``dx`` the same
        way.
    max_shift : int, default 1
        Largest shift in pixels, for rows and columns.

    Returns
    -------
    shifted : ndarray, shape (N, C, H, W), dtype of ``images``, a new array
        ``shifted[i, :, r, c] = images[i, :, r + dy[i], c + dx[i]]`` where that pixel exists,
        0 elsewhere.
    """
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {images.shape}")
    n, _, h, w = images.shape
    m = int(max_shift)
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy, dx = rng.integers(-m, m + 1, size=n), rng.integers(-m, m + 1, size=n)
    out = np.empty_like(images)
    for a in range(-m, m + 1):  # one vectorised copy per possible shift
        for b in range(-m, m + 1):
            sel = (dy == a) & (dx == b)
            out[sel] = padded[sel, :, m + a : m + a + h, m + b : m + b + w]
    return out
