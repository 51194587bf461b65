"""Data sets for the course, all offline and deterministic.

Every loader returns images as float32 NCHW arrays with values in [0, 1] and labels as int64:

- :func:`load_digits` - scikit-learn's bundled 8x8 handwritten digits, split train/test.
- :func:`make_shapes` / :func:`shapes_split` - a procedural data set of simple shapes (circles,
  squares, bars, ...) drawn with NumPy at random positions, sizes and rotations.
- :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10` - read the official
  distribution files from a local folder (argument or ``CNNLAB_DATA``) and verify their checksums.
  Nothing is ever downloaded: when the files are missing, the error says where to get them.
- :func:`sample_image` - a real photograph shipped with scikit-learn, for convolution demos.
- :func:`make_scenes` / :class:`Scenes` - scenes of several non-overlapping shapes with labels,
  boxes and pixel masks, for localization, detection and segmentation (from :mod:`cnnlab.scenes`).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np

from cnnlab.datafiles import (
    CIFAR10_CLASSES,
    FASHION_MNIST_CLASSES,
    MD5,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    parse_idx,
)
from cnnlab.scenes import Scenes, make_scenes

__all__ = [
    "CIFAR10_CLASSES",
    "FASHION_MNIST_CLASSES",
    "MD5",
    "SHAPE_CLASSES",
    "Scenes",
    "load_cifar10",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "make_scenes",
    "make_shapes",
    "parse_idx",
    "sample_image",
    "shapes_split",
]

# --------------------------------------------------------------------------------------------
# scikit-learn digits
# --------------------------------------------------------------------------------------------


def load_digits(test_size=0.2, seed=0):
    """Load scikit-learn's 8x8 handwritten digits as NCHW images, split train/test.

    The 1,797 images ship with scikit-learn, so nothing is downloaded. Pixel values (0..16 in
    the original) are divided by 16. The split is scikit-learn's stratified
    ``train_test_split(..., random_state=seed, stratify=y)``, so every digit keeps its share in
    both parts, and it depends only on ``seed``. The default split is stored with cnnlab, so the
    usual call reads the file and does not import scikit-learn (which takes about 2 s).

    Parameters
    ----------
    test_size : float
        Fraction of the images put in the test set, strictly between 0 and 1.
    seed : int
        ``random_state`` of the split; the same seed gives the same split.

    Returns
    -------
    X_train : ndarray, shape (N_train, 1, 8, 8), float32 in [0, 1]
    y_train : ndarray, shape (N_train,), int64 in 0..9
    X_test : ndarray, shape (N_test, 1, 8, 8), float32 in [0, 1]
    y_test : ndarray, shape (N_test,), int64 in 0..9
    """
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    pixels, labels = _digits_file()
    X = (pixels.reshape(-1, 8, 8).astype(np.float32) / 16.0)[:, None, :, :]
    y = labels.astype(np.int64)
    train, test = _digits_split(y, test_size, seed)
    return X[train], y[train], X[test], y[test]


def _sklearn_file(*parts):
    """Path of a data file inside the installed scikit-learn, found WITHOUT importing it.

    Importing scikit-learn takes about 2 s (it pulls in SciPy's statistics); reading the file
    the way scikit-learn's own loaders do takes milliseconds and gives the same arrays.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cnnlab's digits and sample photos come with scikit-learn")
    return Path(spec.submodule_search_locations[0], *parts)


@functools.cache
def _digits_file():
    """scikit-learn's ``datasets/data/digits.csv.gz``: (pixels 0..16, labels), read-only."""
    with gzip.open(_sklearn_file("datasets", "data", "digits.csv.gz")) as f:
        lines = f.read().decode("ascii").splitlines()  # 10x faster than reading a text stream
    data = np.loadtxt(lines, delimiter=",")  # as sklearn.datasets.load_digits parses it
    pixels, labels = data[:, :-1], data[:, -1].astype(np.int64)
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


# The default split, train_test_split(..., test_size=0.2, random_state=0, stratify=y), stored as
# index arrays (train rows, then test rows, in the order train_test_split returns them), so that
# the usual call needs no scikit-learn import. tests/library/test_data.py checks that it is
# exactly scikit-learn's split; any other test_size or seed asks scikit-learn.
_DEFAULT_SPLIT = Path(__file__).parent / "splits" / "digits-test0.2-seed0.npz"


def _digits_split(y, test_size, seed):
    """(train indices, test indices) of the stratified split of ``y``."""
    seed_is_0 = isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed == 0
    if float(test_size) == 0.2 and seed_is_0:
        with np.load(_DEFAULT_SPLIT) as stored:
            return stored["train"].astype(np.intp), stored["test"].astype(np.intp)
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=test_size, random_state=seed, stratify=y)


# --------------------------------------------------------------------------------------------
# procedural shapes
# --------------------------------------------------------------------------------------------

SHAPE_CLASSES = (
    "circle",
    "square",
    "triangle",
    "cross",
    "horizontal bar",
    "vertical bar",
    "diagonal bar",
    "ring",
)
"""Class names of :func:`make_shapes`; label ``k`` means ``SHAPE_CLASSES[k]``.

- circle: filled disc.
- square: filled square, any rotation.
- triangle: filled equilateral triangle, any rotation.
- cross: "+" of two perpendicular strokes, rotated at most 15 degrees (never an "x").
- horizontal bar / vertical bar: one stroke within 10 degrees of horizontal / vertical.
- diagonal bar: one stroke within 10 degrees of either diagonal ("/" or "\\").
- ring: circle outline (annulus).
"""


def _rotated_coords(size, cx, cy, theta):
    """Pixel coordinates in each image's own frame: (u, v), each of shape (n, size, size)."""
    grid = np.arange(size, dtype=np.float64)
    dx = grid[None, None, :] - cx[:, None, None]
    dy = grid[None, :, None] - cy[:, None, None]
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    return c * dx + s * dy, -s * dx + c * dy


def _box(u, v, half_u, half_v):
    """Approximate signed distance to a centred box (negative inside)."""
    return np.maximum(np.abs(u) - half_u[:, None, None], np.abs(v) - half_v[:, None, None])


def _polygon(u, v, n_sides, apothem):
    """Approximate signed distance to a regular polygon with the given inradius."""
    d = np.full(u.shape, -np.inf)
    for k in range(n_sides):
        phi = np.pi / 2 + 2 * np.pi * k / n_sides
        d = np.maximum(d, u * np.cos(phi) + v * np.sin(phi) - apothem[:, None, None])
    return d


def _draw_class(name, m, size, rng):
    """Signed distance fields of ``m`` random instances of one class, shape (m, size, size)."""
    s = size / 28.0  # all lengths below are given for 28x28 images
    u1 = lambda lo, hi: rng.uniform(lo * s, hi * s, m)
    width = rng.uniform(max(1.5, 1.5 * s), max(1.5, 3.5 * s), m)  # stroke width
    theta = rng.uniform(0.0, 2 * np.pi, m)
    if name == "circle":
        radius = u1(3.5, 9.0)
        extent = radius
    elif name == "ring":
        radius = u1(5.0, 10.0)
        width = np.minimum(width, 0.6 * radius)
        extent = radius + width / 2
    elif name == "square":
        half = u1(3.5, 7.5)
        extent = half * np.sqrt(2)
    elif name == "triangle":
        apothem = u1(3.0, 6.0)
        extent = 2 * apothem
    elif name == "cross":
        half = u1(5.0, 10.0)
        theta = np.deg2rad(rng.uniform(-15.0, 15.0, m))
        extent = np.hypot(half, width / 2)
    elif name.endswith("bar"):
        half = u1(5.5, 11.0)
        base = {"horizontal bar": 0.0, "vertical bar": 90.0}.get(name)
        if base is None:  # diagonal: "/" or "\"
            base = rng.choice([45.0, 135.0], m)
        theta = np.deg2rad(base + rng.uniform(-10.0, 10.0, m))
        extent = np.hypot(half, width / 2)
    else:
        raise ValueError(f"unknown shape class {name!r}; expected one of {SHAPE_CLASSES}")
    margin = np.minimum(extent + 1.0, (size - 1) / 2.0)
    cx = margin + rng.uniform(0.0, 1.0, m) * (size - 1 - 2 * margin)
    cy = margin + rng.uniform(0.0, 1.0, m) * (size - 1 - 2 * margin)
    u, v = _rotated_coords(size, cx, cy, theta)
    if name == "circle":
        return np.hypot(u, v) - radius[:, None, None]
    if name == "ring":
        return np.abs(np.hypot(u, v) - radius[:, None, None]) - width[:, None, None] / 2
    if name == "square":
        return _polygon(u, v, 4, half)
    if name == "triangle":
        return _polygon(u, v, 3, apothem)
    if name == "cross":
        return np.minimum(_box(u, v, half, width / 2), _box(u, v, width / 2, half))
    return _box(u, v, half, width / 2)


def _as_rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def make_shapes(n, size=28, seed=0, classes=None, noise=0.05):
    """Draw a labelled data set of simple shapes, one per image, with NumPy only.

    Each image shows one shape from :data:`SHAPE_CLASSES` (or from ``classes``) at a random
    position, scale, stroke width, rotation (only where it keeps the class: bars keep their
    orientation, a cross stays a "+") and brightness in [0.6, 1] on a black background, plus
    Gaussian pixel noise of standard deviation ``noise``; values are clipped to [0, 1]. Edges
    are anti-aliased over about one pixel. The classes are balanced: counts differ by at most
    one, in shuffled order.

    Parameters
    ----------
    n : int
        Number of images, n >= 1.
    size : int
        Height and width of the images in pixels, at least 12. Shape sizes scale with it.
    seed : int or numpy.random.Generator
        Seed (or generator) for all randomness; the same seed gives the same images.
    classes : sequence of str, optional
        Subset of :data:`SHAPE_CLASSES` to draw, in the order that defines the labels: label
        ``k`` is ``classes[k]``. Default: all of :data:`SHAPE_CLASSES`.
    noise : float
        Standard deviation of the additive Gaussian noise, >= 0.

    Returns
    -------
    X : ndarray, shape (n, 1, size, size), float32 in [0, 1]
    y : ndarray, shape (n,), int64 in 0..len(classes)-1
    """
    n, size = int(n), int(size)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if size < 12:
        raise ValueError(f"size must be >= 12 pixels to draw shapes, got {size}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    names = SHAPE_CLASSES if classes is None else tuple(classes)
    if not names or any(c not in SHAPE_CLASSES for c in names) or len(set(names)) != len(names):
        raise ValueError(f"classes must be distinct names from {SHAPE_CLASSES}, got {classes!r}")
    rng = _as_rng(seed)
    y = rng.permutation(np.arange(n) % len(names)).astype(np.int64)
    X = np.empty((n, 1, size, size), dtype=np.float32)
    for k, name in enumerate(names):
        idx = np.flatnonzero(y == k)
        if idx.size == 0:
            continue
        dist = _draw_class(name, idx.size, size, rng)
        brightness = rng.uniform(0.6, 1.0, idx.size)[:, None, None]
        X[idx, 0] = brightness * np.clip(0.5 - dist, 0.0, 1.0)
    if noise > 0:
        X += rng.normal(0.0, noise, X.shape).astype(np.float32)
    np.clip(X, 0.0, 1.0, out=X)
    return X, y


def shapes_split(n_train, n_test, size=28, seed=0, **kwargs):
    """Draw independent, balanced train and test sets with :func:`make_shapes`.

    Parameters
    ----------
    n_train, n_test : int
        Number of training and test images.
    size : int
        Image height and width.
    seed : int or numpy.random.Generator
        Seed for both sets (the test set is drawn after the training set).
    **kwargs
        Passed on to :func:`make_shapes` (``classes``, ``noise``).

    Returns
    -------
    X_train : ndarray, shape (n_train, 1, size, size), float32 in [0, 1]
    y_train : ndarray, shape (n_train,), int64
    X_test : ndarray, shape (n_test, 1, size, size), float32 in [0, 1]
    y_test : ndarray, shape (n_test,), int64
    """
    rng = _as_rng(seed)
    X_train, y_train = make_shapes(n_train, size=size, seed=rng, **kwargs)
    X_test, y_test = make_shapes(n_test, size=size, seed=rng, **kwargs)
    return X_train, y_train, X_test, y_test


# --------------------------------------------------------------------------------------------
# sample photographs
# --------------------------------------------------------------------------------------------

_SAMPLE_IMAGES = {"china": "china.jpg", "flower": "flower.jpg"}


@functools.cache
def _decoded_photo(filename):
    """The decoded photo as uint8 (H, W, 3), read once per process (decoding takes ~0.3 s)."""
    from PIL import Image

    with Image.open(_sklearn_file("datasets", "images", filename)) as image:
        photo = np.asarray(image)  # as sklearn.datasets.load_sample_image reads it
    photo.setflags(write=False)
    return photo


def sample_image(name="china", gray=True, downscale=1):
    """A real photograph shipped with scikit-learn, as floats in [0, 1].

    Parameters
    ----------
    name : {"china", "flower"}
        ``"china"`` (a temple, 427x640) or ``"flower"`` (427x640).
    gray : bool
        Convert to luminance ``0.299 R + 0.587 G + 0.114 B``.
    downscale : int, default 1
        Integer factor by which each side shrinks: the mean of every non-overlapping
        ``downscale x downscale`` block (the image is first cropped to a multiple of it). Handy
        for fast demos, e.g. ``downscale=4`` gives 106x160. Default 1: full resolution.

    Returns
    -------
    ndarray, float64 in [0, 1]
        Shape (H, W) when ``gray`` else (3, H, W) (channels first).
    """

    if name not in _SAMPLE_IMAGES:
        raise ValueError(f"unknown sample image {name!r}; valid names: {sorted(_SAMPLE_IMAGES)}")
    k = int(downscale) if isinstance(downscale, (int, np.integer)) else 0
    if k < 1 or isinstance(downscale, bool):
        raise ValueError(f"downscale must be a positive integer factor, got {downscale!r}")
    img = _decoded_photo(_SAMPLE_IMAGES[name]).astype(np.float64) / 255.0  # (H, W, 3)
    img = img.transpose(2, 0, 1)
    if gray:
        img = np.tensordot(np.array([0.299, 0.587, 0.114]), img, axes=1)
    if k > 1:
        H, W = img.shape[-2] // k, img.shape[-1] // k
        if H == 0 or W == 0:
            raise ValueError(f"downscale {k} is larger than the image {img.shape[-2:]}")
        img = img[..., : H * k, : W * k]
        img = img.reshape(img.shape[:-2] + (H, k, W, k)).mean(axis=(-3, -1))
    return np.clip(img, 0.0, 1.0)
