"""Tests for cnnlab.scenes (cl.data.make_scenes): labels, boxes and masks agree with the picture."""

import numpy as np
import pytest

from cnnlab import data
from cnnlab.scenes import Scenes


def tight_box(region):
    """(x0, y0, x1, y1) of the True pixels of a 2-D mask; x1 = last column + 1."""
    ys, xs = np.nonzero(region)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=np.float32)


@pytest.fixture(scope="module")
def crowded():
    """Several objects per image, no noise: the picture is exactly what was drawn."""
    return data.make_scenes(60, 64, objects=(2, 6), seed=3, noise=0.0)


@pytest.mark.parametrize(
    "n, size, objects", [(7, 24, 1), (5, 37, 2), (4, 64, (0, 4)), (3, 48, (3, 5))]
)
def test_shapes_dtypes_and_ranges(n, size, objects):
    s = data.make_scenes(n, size, objects=objects, seed=1)
    assert isinstance(s, Scenes) and len(s) == n
    assert s.images.shape == (n, 1, size, size) and s.images.dtype == np.float32
    assert s.masks.shape == (n, size, size) and s.masks.dtype == np.int64
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0
    assert s.class_names == data.SHAPE_CLASSES
    low, high = (objects, objects) if np.isscalar(objects) else objects
    assert len(s.boxes) == len(s.labels) == n
    for boxes, labels in zip(s.boxes, s.labels):
        assert boxes.dtype == np.float32 and labels.dtype == np.int64
        assert boxes.shape == (len(labels), 4) and low <= len(labels) <= high
        assert ((0 <= boxes) & (boxes <= size)).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        assert ((0 <= labels) & (labels < len(data.SHAPE_CLASSES))).all()


def test_boxes_are_tight_boxes_of_mask_pixels_and_masks_carry_the_labels(crowded):
    for i in range(len(crowded)):
        mask, seen = crowded.masks[i], np.zeros_like(crowded.masks[i], dtype=bool)
        for box, label in zip(crowded.boxes[i], crowded.labels[i]):
            x0, y0, x1, y1 = box.astype(int)
            inside = mask[y0:y1, x0:x1] == label + 1
            region = np.zeros_like(seen)
            region[y0:y1, x0:x1] = inside
            np.testing.assert_array_equal(tight_box(region), box, err_msg=f"image {i}")
            seen |= region
        # every labelled pixel belongs to one of the boxes, and only classes present appear
        np.testing.assert_array_equal(mask > 0, seen, err_msg=f"image {i}")
        assert set(np.unique(mask)) - {0} == set(crowded.labels[i] + 1)


def test_masks_and_boxes_agree_with_the_picture(crowded):
    """Noise-free: a mask pixel is at least half its object's brightness (>= 0.3), the rest is
    darker than every mask pixel of the object, and away from all objects the image is black."""
    img = crowded.images[:, 0]
    assert img[crowded.masks > 0].min() >= 0.3
    assert img[crowded.masks == 0].max() < 0.5
    for i in range(len(crowded)):
        for box in crowded.boxes[i].astype(int):
            x0, y0, x1, y1 = box
            patch, labelled = img[i, y0:y1, x0:x1], crowded.masks[i, y0:y1, x0:x1] > 0
            if (~labelled).any():  # a filled square may cover its whole box
                assert patch[labelled].min() >= patch[~labelled].max(), f"image {i} box {box}"
        # outside the boxes grown by two pixels (anti-aliased edges, which reach one pixel
        # further at the sharp corners of triangles) nothing is drawn
        grown = np.zeros(img.shape[1:], dtype=bool)
        for x0, y0, x1, y1 in crowded.boxes[i].astype(int):
            grown[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2] = True
        assert (img[i][~grown] == 0).all()


def test_objects_do_not_overlap(crowded):
    """Boxes (and so masks) of two objects never touch: at least one background pixel apart."""
    for boxes in crowded.boxes:
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                ax0, ay0, ax1, ay1 = boxes[a]
                bx0, by0, bx1, by1 = boxes[b]
                apart_x = ax1 < bx0 or bx1 < ax0
                apart_y = ay1 < by0 or by1 < ay0
                assert apart_x or apart_y, f"boxes {boxes[a]} and {boxes[b]} touch"


def test_reproducible_from_seed_or_generator():
    a = data.make_scenes(20, 40, objects=(1, 3), seed=7)
    b = data.make_scenes(20, 40, objects=(1, 3), seed=np.random.default_rng(7))
    c = data.make_scenes(20, 40, objects=(1, 3), seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    for x, y in zip(a.boxes + a.labels, b.boxes + b.labels):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.images, c.images)
    rng = np.random.default_rng(0)
    first, second = data.make_scenes(5, 32, seed=rng), data.make_scenes(5, 32, seed=rng)
    assert not np.array_equal(first.images, second.images)  # the generator advanced


def test_single_object_classes_balanced_and_single():
    s = data.make_scenes(83, 32, seed=0, classes=["ring", "cross", "square"])
    boxes, labels = s.single()
    assert boxes.shape == (83, 4) and boxes.dtype == np.float32
    assert labels.shape == (83,) and labels.dtype == np.int64
    counts = np.bincount(labels, minlength=3)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 83
    assert s.class_names == ("ring", "cross", "square")
    np.testing.assert_array_equal(boxes, np.concatenate(s.boxes))
    np.testing.assert_array_equal(s.masks.max(axis=(1, 2)), labels + 1)
    many = data.make_scenes(4, 48, objects=(1, 2), seed=2)
    assert any(len(lab) == 2 for lab in many.labels)
    with pytest.raises(ValueError, match="exactly one object"):
        many.single()


def test_object_sides_control_the_scale():
    small = data.make_scenes(200, 48, seed=0, min_side=12, max_side=12)
    large = data.make_scenes(200, 48, seed=0, min_side=40, max_side=48)
    extent = lambda s: np.concatenate([b[:, 2:] - b[:, :2] for b in s.boxes]).max(axis=1)
    assert extent(small).max() <= 12 < extent(large).mean()
    assert np.percentile(extent(large), 90) <= 48


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=0), "n must be"),
        (dict(size=23), "between 24 and 64"),
        (dict(size=65), "between 24 and 64"),
        (dict(noise=-0.1), "noise"),
        (dict(classes=["circle", "hexagon"]), "classes"),
        (dict(objects=(3, 2)), "objects"),
        (dict(objects=-1), "objects"),
        (dict(objects=1.5), "objects"),
        (dict(min_side=11), "min_side"),
        (dict(max_side=40, size=32), "max_side"),
        (dict(min_side=20, max_side=16), "min_side"),
    ],
)
def test_bad_arguments(kwargs, match):
    kwargs = {"n": 2, "size": 32, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.make_scenes(**kwargs)


def test_objects_that_cannot_fit_give_a_clear_error():
    with pytest.raises(ValueError, match="could not place 12 objects .* 24x24"):
        data.make_scenes(1, 24, objects=12, min_side=20, max_side=24)


def test_empty_images_and_repr():
    s = data.make_scenes(3, 24, objects=0, seed=0, noise=0.0)
    assert all(b.shape == (0, 4) for b in s.boxes) and (s.masks == 0).all()
    assert (s.images == 0).all()
    assert "3 images of 24x24" in repr(s)
