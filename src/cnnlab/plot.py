"""Figures for the course: image grids, kernels, feature maps, training curves, confusion matrices.

Every function builds its own figure with matplotlib's object API, gives it a title and axis
labels, and returns the :class:`~matplotlib.figure.Figure` (nothing calls ``plt.show``). Images
are channels-first like the rest of the course: (N, H, W), (N, 1, H, W) or (N, 3, H, W).

Figures are created through ``pyplot`` so that notebooks show them at the end of the cell; write
``fig = cl.plot.image_grid(...)`` (or end the line with ``;``) to avoid a second copy, and close
figures in long scripts with ``plt.close(fig)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = [
    "ImageTiles",
    "confusion_matrix",
    "feature_maps",
    "image_grid",
    "image_with_kernel",
    "show_kernels",
    "training_curves",
]


def _grid(n, ncols, cell=1.3, title=None):
    """Figure with ``n`` image axes on a grid of ``ncols`` columns (unused cells removed)."""
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(cell * ncols, cell * nrows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    axes = axes.ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig, axes[:n]


class ImageTiles:
    """A figure for a grid of small images, all drawn into ONE axes.

    ``plt.subplots(rows, cols)`` gives every image its own axes, and matplotlib pays for each
    axes' frame, ticks and layout at every draw: for a few dozen images that takes longer than
    computing them (a 6 x 8 grid: about 1 s of CPU to save, against 0.3 s here). The images sit
    side by side in one axes without ticks whose data units are inches from the top left corner
    of the figure, so the layout is fixed and nothing is measured at draw time. Square (r, c) is
    ``size`` inches wide, with room above it for ``title_lines`` lines of title and room on the
    left of each row for ``label_lines`` lines of row label (written upwards).

    Parameters
    ----------
    rows, cols : int
        Grid size.
    title : str
        Figure title.
    size : float, default 1.1
        Side of each image square, in inches.
    title_lines : int, default 1
        Lines of title above each square (0: none).
    label_lines : int, default 1
        Lines of row label on the left of each row (0: none).
    right : float, default 0.1
        Free space on the right, in inches (e.g. for colour bars).

    Attributes
    ----------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
        The one axes, its y axis pointing down; :meth:`box` gives each square's extent in it.
    width, height : float
        Figure size in inches.
    """

    def __init__(self, rows, cols, title, size=1.1, title_lines=1, label_lines=1, right=0.1):
        if int(rows) < 1 or int(cols) < 1:
            raise ValueError(f"need at least one row and one column, got {rows} x {cols}")
        self.size, self.title_h = float(size), 0.15 * title_lines
        self.left = 0.05 + 0.16 * label_lines
        self.step_x, self.step_y = self.size + 0.08, self.size + self.title_h + 0.1
        self.width = self.left + int(cols) * self.step_x + right
        self.height = 0.35 + int(rows) * self.step_y
        self.fig = plt.figure(figsize=(self.width, self.height))
        self.ax = self.fig.add_axes((0, 0, 1, 1), xlim=(0, self.width), ylim=(self.height, 0))
        self.ax.set_axis_off()
        self.fig.suptitle(title, y=1 - 0.08 / self.height, va="top")

    def box(self, r, c):
        """Square (r, c) as ``(left, right, bottom, top)`` in the axes' units: an imshow extent."""
        x, y = self.left + c * self.step_x, 0.35 + r * self.step_y + self.title_h
        return (x, x + self.size, y + self.size, y)

    def show(self, r, c, image, title=None, fontsize=7.5, **imshow_kwargs):
        """Draw ``image`` (H, W) or (H, W, 3) over square (r, c), framed, ``title`` above it.

        Extra keyword arguments go to ``imshow`` (``cmap``, ``vmin``, ...). Returns the
        ``AxesImage`` (e.g. for a colour bar).
        """
        x0, x1, y1, y0 = self.box(r, c)
        if title is not None:
            self.ax.text((x0 + x1) / 2, y0 - 0.03, title, ha="center", va="bottom",
                         fontsize=fontsize)  # fmt: skip
        self.ax.add_patch(self.frame(r, c))
        return self.ax.imshow(image, extent=(x0, x1, y1, y0), aspect="auto", **imshow_kwargs)

    def frame(self, r, c):
        """A thin black frame around square (r, c) (also usable as a clip path)."""
        x0, _, _, y0 = self.box(r, c)
        return plt.Rectangle((x0, y0), self.size, self.size, fill=False, linewidth=0.8,
                             transform=self.ax.transData)  # fmt: skip

    def label_row(self, r, text, fontsize=9):
        """A row label, written upwards on the left of row r, as a y-axis label would be."""
        x0, _, y1, y0 = self.box(r, 0)
        self.ax.text(x0 - 0.05, (y0 + y1) / 2, text, rotation=90, ha="right", va="center",
                     fontsize=fontsize)  # fmt: skip


def _to_display(images, name, shape_hint):
    """(N, H, W) or (N, 1, H, W) -> (N, H, W); (N, 3, H, W) -> (N, H, W, 3)."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    elif images.ndim == 4 and images.shape[1] == 3:
        images = images.transpose(0, 2, 3, 1)
    elif images.ndim != 3:
        raise ValueError(f"{name} has shape {images.shape}, expected {shape_hint}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty, expected {shape_hint} with N >= 1")
    return images.astype(np.float64)


def _rescale(a):
    """Min-max scale one array to [0, 1] (a constant array becomes 0.5)."""
    lo, hi = a.min(), a.max()
    return np.full_like(a, 0.5) if hi - lo < 1e-12 else (a - lo) / (hi - lo)


def image_grid(images, labels=None, ncols=8, titles=None, cmap="gray", title=None):
    """Show a batch of images on a grid, optionally with one caption per image.

    Gray images in [0, 1] share the scale 0..1; otherwise each image is scaled on its own.

    Parameters
    ----------
    images : ndarray, shape (N, H, W), (N, 1, H, W) or (N, 3, H, W)
        Channels-first images; colour ones are shown as RGB.
    labels : sequence, optional, length N
        Shown as ``"label: <value>"`` above each image when ``titles`` is not given.
    ncols : int
        Number of columns.
    titles : sequence of str, optional, length N
        Caption for each image.
    cmap : str
        Colour map for gray images.
    title : str, optional
        Figure title; default "N images".

    Returns
    -------
    matplotlib.figure.Figure
        With N axes.
    """
    imgs = _to_display(images, "images", "(N, H, W), (N, 1, H, W) or (N, 3, H, W)")
    n = len(imgs)
    for what, seq in (("labels", labels), ("titles", titles)):
        if seq is not None and len(seq) != n:
            raise ValueError(f"{what} has length {len(seq)}, expected one per image, (N,) = ({n},)")
    if titles is None and labels is not None:
        titles = [f"label: {lab}" for lab in labels]
    in_unit = imgs.min() >= 0.0 and imgs.max() <= 1.0
    fig, axes = _grid(n, ncols, title=title or f"{n} images")
    for i, ax in enumerate(axes):
        img = imgs[i]
        if img.ndim == 3:
            ax.imshow(img if in_unit else _rescale(img))
        else:
            ax.imshow(img, cmap=cmap, vmin=0 if in_unit else None, vmax=1 if in_unit else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return fig


def show_kernels(w, title="Convolution kernels", ncols=8):
    """Show conv weights, one small image per filter, each normalised on its own.

    Parameters
    ----------
    w : ndarray, shape (F, C, KH, KW)
        Filters; with C == 3 shown as RGB, otherwise the first input channel in gray.
    title : str
        Figure title.
    ncols : int
        Number of columns.

    Returns
    -------
    matplotlib.figure.Figure
        With F axes, titled by filter index.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 4 or w.shape[0] == 0:
        raise ValueError(f"w has shape {w.shape}, expected conv weights (F, C, KH, KW)")
    rgb = w.shape[1] == 3
    shown = title + ("" if rgb or w.shape[1] == 1 else " (input channel 0)")
    fig, axes = _grid(w.shape[0], ncols, cell=1.0, title=shown)
    for f, ax in enumerate(axes):
        k = _rescale(w[f].transpose(1, 2, 0) if rgb else w[f, 0])
        ax.imshow(k, cmap=None if rgb else "gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"filter {f}", fontsize=7)
    return fig


def feature_maps(maps, title="Feature maps", max_maps=32, ncols=8, cmap="viridis"):
    """Show the channels of one activation volume, one image per channel.

    Parameters
    ----------
    maps : ndarray, shape (C, H, W) or (1, C, H, W)
        Activations of one image.
    title : str
        Figure title.
    max_maps : int
        Show at most this many channels (the first ones).
    ncols : int
        Number of columns.
    cmap : str
        Colour map; each map is scaled on its own.

    Returns
    -------
    matplotlib.figure.Figure
        With min(C, max_maps) axes, titled by channel index.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3 or maps.shape[0] == 0:
        raise ValueError(f"maps has shape {maps.shape}, expected (C, H, W) or (1, C, H, W)")
    n = min(maps.shape[0], int(max_maps))
    label = f"{title} ({n} of {maps.shape[0]})" if n < maps.shape[0] else title
    fig, axes = _grid(n, ncols, cell=1.2, title=label)
    for c, ax in enumerate(axes):
        ax.imshow(maps[c], cmap=cmap)
        ax.set_title(f"channel {c}", fontsize=7)
    return fig


def training_curves(history, title="Training curves"):
    """Plot loss and accuracy per epoch, in two panels.

    Parameters
    ----------
    history : dict of str to sequence of float
        One value per epoch, e.g. ``{"train_loss": [...], "val_loss": [...], "train_acc": [...],
        "val_acc": [...]}``. Keys containing "loss" go to the left panel, keys containing "acc"
        to the right one.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: loss and accuracy against epochs 1, 2, ...
    """
    if not isinstance(history, Mapping):
        raise ValueError(f"history must be a dict of lists per epoch, got {type(history)}")
    panels = {"loss": {}, "acc": {}}
    for key, values in history.items():
        for kind, curves in panels.items():
            if kind in key:
                curves[key] = np.asarray(values, dtype=np.float64).ravel()
    if not panels["loss"] and not panels["acc"]:
        raise ValueError(
            f"history has keys {sorted(history)}, expected keys containing 'loss' or 'acc', "
            "e.g. 'train_loss', 'val_acc'"
        )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    for ax, (kind, curves) in zip(axes, panels.items()):
        for key, values in curves.items():
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
        if curves:
            ax.legend()
        else:
            ax.text(0.5, 0.5, f"no {kind} recorded", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("loss" if kind == "loss" else "accuracy")
        ax.set_title("Loss" if kind == "loss" else "Accuracy")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig


def _as_2d(a, name):
    a = np.asarray(a, dtype=np.float64)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f"{name} has shape {a.shape}, expected (H, W) (or with leading 1s)")
    return a


def image_with_kernel(image, kernel, output, titles=("Input", "Kernel", "Output"), title=None):
    """Input image, kernel and response side by side, each with a colour bar.

    Kernel and output use a diverging colour map centred at 0, so positive and negative
    responses are told apart at a glance.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    kernel : ndarray, shape (KH, KW)
    output : ndarray, shape (OH, OW)
        Leading axes of size 1 are dropped from all three.
    titles : sequence of 3 str
        Panel titles.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        With 6 axes: the three panels and their three colour bars.
    """
    arrays = [_as_2d(a, n) for a, n in ((image, "image"), (kernel, "kernel"), (output, "output"))]
    if len(titles) != 3:
        raise ValueError(f"titles has length {len(titles)}, expected 3 (input, kernel, output)")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), width_ratios=[1, 0.6, 1], layout="constrained")
    for i, (ax, a, t) in enumerate(zip(axes, arrays, titles)):
        if i == 0:
            im = ax.imshow(a, cmap="gray")
        else:
            m = max(np.abs(a).max(), 1e-12)
            im = ax.imshow(a, cmap="RdBu_r", vmin=-m, vmax=m, interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        ax.set_title(f"{t} {a.shape[0]}x{a.shape[1]}")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(cm, class_names=None, title="Confusion matrix", cmap="Blues"):
    """Heat map of a confusion matrix with the count written in every cell.

    Parameters
    ----------
    cm : ndarray, shape (K, K)
        ``cm[i, j]`` = number of examples of true class i predicted as class j.
    class_names : sequence of str, optional, length K
        Tick labels; default 0..K-1.
    title : str
        Figure title.
    cmap : str
        Colour map.

    Returns
    -------
    matplotlib.figure.Figure
        With 2 axes: the matrix and its colour bar.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] == 0:
        raise ValueError(f"cm has shape {cm.shape}, expected a square (K, K) matrix")
    k = cm.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"class_names has length {len(names)}, expected K = {k}")
    fig, ax = plt.subplots(
        figsize=(max(4.5, 1.8 + 0.55 * k), max(3.8, 1.2 + 0.5 * k)), layout="constrained"
    )
    im = ax.imshow(cm, cmap=cmap)
    fig.colorbar(im, ax=ax, label="count")
    integer = np.issubdtype(cm.dtype, np.integer) or np.all(cm == np.round(cm))
    threshold = (cm.max() + cm.min()) / 2
    for i in range(k):
        for j in range(k):
            text = f"{int(cm[i, j])}" if integer else f"{cm[i, j]:.2f}"
            color = "white" if cm[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    return fig
