"""Procedural scenes for localization, detection and segmentation (offline, seeded).

:func:`make_scenes` draws images holding one or several shapes of :data:`cnnlab.data.SHAPE_CLASSES`
(drawn by the same code as :func:`cnnlab.data.make_shapes`), placed without overlap, together
with everything the four tasks need: a class label per object (classification), a box per object
(localization, detection) and a class per pixel (semantic segmentation). They come back as a
:class:`Scenes`; ``cnnlab.data`` re-exports both names.

Boxes are corners ``(x0, y0, x1, y1)`` in pixel units, where pixel column j spans [j, j + 1): the
tight box of an object's mask is ``x0 = first column``, ``x1 = last column + 1`` (likewise y), so
its area is ``(x1 - x0) * (y1 - y0)`` with no "+1".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scenes", "make_scenes"]

_GAP = 1  # background pixels kept between the drawn pixels of two objects
_ATTEMPTS = 20  # fresh draws of an image's objects before giving up on fitting them


@dataclass(frozen=True, eq=False, repr=False)
class Scenes:
    """Images with per-object labels and boxes and a per-pixel class mask.

    Attributes
    ----------
    images : ndarray, shape (N, 1, S, S), float32 in [0, 1]
    masks : ndarray, shape (N, S, S), int64
        0 for background, ``k + 1`` on the pixels of an object of class k.
    boxes : list of N ndarrays, shape (k_i, 4), float32
        One row ``(x0, y0, x1, y1)`` per object of image i: the tight box of its mask pixels,
        ``x1 = last column + 1``, area ``(x1 - x0) * (y1 - y0)``.
    labels : list of N ndarrays, shape (k_i,), int64
        Class of each object, in the order of ``boxes``.
    class_names : tuple of str
        ``class_names[k]`` names class k.
    """

    images: np.ndarray
    masks: np.ndarray
    boxes: list
    labels: list
    class_names: tuple

    def __len__(self):
        return len(self.images)

    def __repr__(self):
        counts = [len(lab) for lab in self.labels]
        return (
            f"Scenes({len(self)} images of {self.images.shape[-1]}x{self.images.shape[-1]}, "
            f"{min(counts)}-{max(counts)} objects each, classes {self.class_names})"
        )

    def single(self):
        """Boxes and labels as arrays, for scenes with exactly one object each.

        Returns
        -------
        boxes : ndarray, shape (N, 4), float32
            ``(x0, y0, x1, y1)`` of each image's object.
        labels : ndarray, shape (N,), int64

        Raises
        ------
        ValueError
            If some image does not hold exactly one object.
        """
        counts = np.array([len(lab) for lab in self.labels])
        bad = np.flatnonzero(counts != 1)
        if bad.size:
            raise ValueError(
                f"single() needs exactly one object per image, but {bad.size} images do not hold "
                f"one (image {bad[0]} holds {counts[bad[0]]}); draw with objects=1"
            )
        boxes = np.concatenate(self.boxes).astype(np.float32).reshape(len(self), 4)
        return boxes, np.concatenate(self.labels).astype(np.int64)


def _object_range(objects):
    """``objects`` as an inclusive (low, high) range of counts per image."""
    pair = (objects, objects) if np.isscalar(objects) else tuple(objects)
    ok = len(pair) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair
    )
    if not ok or not 0 <= pair[0] <= pair[1]:
        raise ValueError(
            f"objects must be an int >= 0 or a (low, high) pair with 0 <= low <= high, "
            f"got {objects!r}"
        )
    return int(pair[0]), int(pair[1])


def _side_range(size, min_side, max_side):
    """Defaults and checks of the drawing square's side: 12 <= min_side <= max_side <= size."""
    if max_side is None:
        max_side = min(size, max(24, min_side or 0))
    if min_side is None:
        min_side = min(16, max_side)
    if not 12 <= min_side <= max_side <= size:
        raise ValueError(
            f"need 12 <= min_side <= max_side <= size, got min_side={min_side}, "
            f"max_side={max_side}, size={size}"
        )
    return int(min_side), int(max_side)


def _bounds(rows):
    """First index and last index + 1 of the True entries of each row of a (m, k) bool array."""
    k = rows.shape[1]
    return rows.argmax(axis=1), k - rows[:, ::-1].argmax(axis=1)


def _draw_objects(names, labels, sides, rng):
    """One crop per object, its anti-aliased coverage in [0, 1] cut to its visible pixels.

    Objects of the same class and side are drawn together by make_shapes' own code, in a
    side x side square; an object whose mask would be empty (no pixel covered at least half)
    is drawn again.

    Returns
    -------
    crops : list of 2-D float64 arrays
    mask_boxes : ndarray, shape (len(labels), 4), int64
        Tight box (x0, y0, x1, y1) of each crop's mask (coverage >= 0.5), in crop pixels.
    """
    from cnnlab import data  # imported here: cnnlab.data re-exports this module

    crops, mask_boxes = [None] * len(labels), np.zeros((len(labels), 4), dtype=np.int64)
    todo = np.arange(len(labels))
    while todo.size:
        keys = labels[todo] * 1000 + sides[todo]
        again = []
        for key in np.unique(keys):
            idx = todo[keys == key]
            dist = data._draw_class(names[labels[idx[0]]], idx.size, int(sides[idx[0]]), rng)
            cov = np.clip(0.5 - dist, 0.0, 1.0)
            (r0, r1), (c0, c1) = _bounds(cov.any(axis=2)), _bounds(cov.any(axis=1))
            inside = cov >= 0.5
            (mr0, mr1), (mc0, mc1) = _bounds(inside.any(axis=2)), _bounds(inside.any(axis=1))
            mask_boxes[idx] = np.stack([mc0 - c0, mr0 - r0, mc1 - c0, mr1 - r0], axis=1)
            for t, j in enumerate(idx):
                crops[j] = cov[t, r0[t] : r1[t], c0[t] : c1[t]]
            again.extend(idx[~inside.any(axis=(1, 2))])
        todo = np.array(again, dtype=np.int64)
    return crops, mask_boxes


def _place(shapes, size, rng):
    """Top-left corners (y, x) for rectangles ``shapes`` (k, 2) that keep ``_GAP`` pixels apart.

    Largest first, each at a position drawn uniformly among those still free (found for all
    positions at once from a summed-area table of the occupied pixels). None if one does not fit.
    """
    occupied = np.zeros((size, size), dtype=bool)
    table = np.zeros((size + 1, size + 1), dtype=np.int32)
    corners = np.zeros((len(shapes), 2), dtype=np.int64)
    for n_placed, i in enumerate(np.argsort(-shapes[:, 0] * shapes[:, 1], kind="stable")):
        h, w = shapes[i]
        if n_placed == 0:  # the whole image is free
            y, x = int(rng.integers(size + 1 - h)), int(rng.integers(size + 1 - w))
        else:
            table[1:, 1:] = occupied.cumsum(axis=0).cumsum(axis=1)
            inside = table[h:, w:] - table[: size + 1 - h, w:] - table[h:, : size + 1 - w]
            free = np.flatnonzero(inside + table[: size + 1 - h, : size + 1 - w] == 0)
            if free.size == 0:
                return None
            y, x = divmod(int(free[rng.integers(free.size)]), size + 1 - w)
        occupied[max(0, y - _GAP) : y + h + _GAP, max(0, x - _GAP) : x + w + _GAP] = True
        corners[i] = (y, x)
    return corners


def make_scenes(
    n, size=48, *, objects=1, classes=None, seed=0, noise=0.05, min_side=None, max_side=None
):
    """Draw scenes of non-overlapping shapes with their labels, boxes and pixel masks.

    Each object is a shape of :data:`cnnlab.data.SHAPE_CLASSES` (or ``classes``) drawn exactly as
    :func:`cnnlab.data.make_shapes` draws one in an image of side ``side`` (drawn uniformly in
    [min_side, max_side] per object, so an object spans at most about ``side`` pixels, whatever
    the scene's ``size``), with brightness in [0.6, 1]. It is cut to its visible pixels and
    pasted at a random position where it keeps at least one background pixel from every other
    object (rejection sampling: positions are drawn among the free ones, and an image whose
    objects do not fit is drawn again, up to 20 times). Then Gaussian noise of standard deviation
    ``noise`` is added and values are clipped to [0, 1].

    Mask rule: an object's mask is the set of pixels where its drawn intensity (before noise) is
    at least half its brightness, i.e. the pixels it covers at least half (edges are
    anti-aliased over about one pixel); its box is the tight box of that mask.

    With ``objects=1`` the classes are balanced as in ``make_shapes`` (counts differ by at most
    one, shuffled); with several objects per image they are balanced over all objects.

    Parameters
    ----------
    n : int
        Number of images, n >= 1.
    size : int
        Height and width of the images, 24 <= size <= 64.
    objects : int or (int, int)
        Objects per image: a count, or an inclusive range (low, high) drawn per image.
    classes : sequence of str, optional
        Subset of ``SHAPE_CLASSES``, in the order that defines the labels (default: all).
    seed : int or numpy.random.Generator
        Seed (or generator) for all randomness; the same seed gives the same scenes.
    noise : float
        Standard deviation of the additive Gaussian noise, >= 0.
    min_side, max_side : int, optional
        Range of the drawing square's side, 12 <= min_side <= max_side <= size. Defaults 16 and
        24, the same for every ``size``, so that objects have the same scale in small
        single-object scenes and in large multi-object ones.

    Returns
    -------
    Scenes
        ``images`` (n, 1, size, size) float32, ``masks`` (n, size, size) int64 (0 background,
        k + 1 for class k), ``boxes`` (list of (k_i, 4) float32, corners (x0, y0, x1, y1)),
        ``labels`` (list of (k_i,) int64), ``class_names``.

    Raises
    ------
    ValueError
        For arguments out of range, or when an image's objects cannot be placed without
        overlap (the message says what to change).
    """
    from cnnlab import data  # imported here: cnnlab.data re-exports this module

    n, size = int(n), int(size)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 24 <= size <= 64:
        raise ValueError(f"size must be between 24 and 64 pixels, got {size}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    names = data.SHAPE_CLASSES if classes is None else tuple(classes)
    if (
        not names
        or any(c not in data.SHAPE_CLASSES for c in names)
        or len(set(names)) != len(names)
    ):
        raise ValueError(
            f"classes must be distinct names from {data.SHAPE_CLASSES}, got {classes!r}"
        )
    low, high = _object_range(objects)
    min_side, max_side = _side_range(size, min_side, max_side)
    rng = data._as_rng(seed)

    counts = rng.integers(low, high + 1, n)
    ends = np.cumsum(counts)
    labels = rng.permutation(np.arange(ends[-1]) % len(names)).astype(np.int64)
    sides = rng.integers(min_side, max_side + 1, labels.size)
    brightness = rng.uniform(0.6, 1.0, labels.size).astype(np.float32)
    crops, mask_boxes = _draw_objects(names, labels, sides, rng)

    # The first (largest) object of an image may go anywhere: drawn for all images at once.
    shapes = np.array([c.shape for c in crops], dtype=np.int64).reshape(-1, 2)
    corners = (rng.random((labels.size, 2)) * (size + 1 - shapes)).astype(np.int64)  # (y, x)
    for i in np.flatnonzero(counts > 1):
        objs = slice(ends[i] - counts[i], ends[i])
        for _ in range(_ATTEMPTS):
            placed = _place(shapes[objs], size, rng)
            if placed is not None:
                break
            new_sides = rng.integers(min_side, max_side + 1, counts[i])
            crops[objs], mask_boxes[objs] = _draw_objects(names, labels[objs], new_sides, rng)
            shapes[objs] = [c.shape for c in crops[objs]]
        else:
            raise ValueError(
                f"could not place {counts[i]} objects (drawn in squares of side {min_side} to "
                f"{max_side}) without overlap in a {size}x{size} image after {_ATTEMPTS} draws; "
                "use fewer objects, a larger size or a smaller max_side"
            )
        corners[objs] = placed

    images = np.zeros((n, 1, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.int64)
    image_of = np.repeat(np.arange(n), counts)
    for j, (i, (y, x), (h, w)) in enumerate(zip(image_of, corners.tolist(), shapes.tolist())):
        images[i, 0, y : y + h, x : x + w] = brightness[j] * crops[j]
        masks[i, y : y + h, x : x + w][crops[j] >= 0.5] = labels[j] + 1
    if noise > 0:
        images += rng.normal(0.0, noise, images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    boxes = (mask_boxes + corners[:, [1, 0, 1, 0]]).astype(np.float32)
    starts = ends - counts
    return Scenes(
        images,
        masks,
        [boxes[a:b] for a, b in zip(starts, ends)],
        [labels[a:b] for a, b in zip(starts, ends)],
        tuple(names),
    )
