"""Tests for cnnlab.plot: every function returns a titled Figure with the expected axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnnlab import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _title(fig):
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


@pytest.mark.parametrize(
    "shape", [(5, 8, 8), (5, 1, 8, 8), (5, 3, 8, 8)], ids=["NHW", "N1HW", "N3HW"]
)
def test_image_grid_shapes_and_captions(shape):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=shape)
    fig = plot.image_grid(images, labels=[0, 1, 2, 3, 4], ncols=3, title="digits")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5
    assert _title(fig) == "digits"
    assert [ax.get_title() for ax in fig.axes] == [f"label: {i}" for i in range(5)]
    shown = fig.axes[0].images[0].get_array()
    expected = images[0].transpose(1, 2, 0) if shape[1] == 3 else images[0].reshape(8, 8)
    np.testing.assert_allclose(shown, expected)


def test_image_grid_titles_and_out_of_range_colour():
    images = np.random.default_rng(1).normal(size=(2, 3, 4, 4)) * 5  # not in [0, 1]
    fig = plot.image_grid(images, titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    shown = np.asarray(fig.axes[1].images[0].get_array())
    assert shown.min() >= 0 and shown.max() <= 1
    assert _title(fig)


def test_image_grid_bad_input():
    with pytest.raises(ValueError, match=r"expected \(N, H, W\), \(N, 1, H, W\)"):
        plot.image_grid(np.zeros((2, 2, 8, 8)))
    with pytest.raises(ValueError, match="expected"):
        plot.image_grid(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"labels has length 2"):
        plot.image_grid(np.zeros((3, 8, 8)), labels=[1, 2])


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_show_kernels(channels):
    w = np.random.default_rng(2).normal(size=(6, channels, 3, 3))
    fig = plot.show_kernels(w, title="conv1")
    assert len(fig.axes) == 6
    assert _title(fig).startswith("conv1")
    for ax in fig.axes:
        k = np.asarray(ax.images[0].get_array())
        assert k.min() == pytest.approx(0) and k.max() == pytest.approx(1)  # per-filter scaling
        assert ax.get_title()
    with pytest.raises(ValueError, match=r"\(F, C, KH, KW\)"):
        plot.show_kernels(np.zeros((6, 3, 3)))


@pytest.mark.parametrize("shape", [(10, 5, 5), (1, 10, 5, 5)])
def test_feature_maps(shape):
    maps = np.random.default_rng(3).normal(size=shape)
    fig = plot.feature_maps(maps, title="conv1 output", max_maps=4)
    assert len(fig.axes) == 4
    assert "conv1 output" in _title(fig)
    assert all(ax.get_title() for ax in fig.axes)
    with pytest.raises(ValueError, match=r"\(C, H, W\) or \(1, C, H, W\)"):
        plot.feature_maps(np.zeros((2, 3, 5, 5)))


def test_training_curves():
    history = {
        "train_loss": [2.0, 1.0, 0.5],
        "val_loss": [2.1, 1.2, 0.9],
        "train_acc": [0.3, 0.6, 0.8],
        "val_acc": [0.25, 0.55, 0.7],
    }
    fig = plot.training_curves(history, title="run 1")
    assert len(fig.axes) == 2
    assert _title(fig) == "run 1"
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() and acc_ax.get_title()
    assert loss_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    assert len(loss_ax.lines) == 2 and len(acc_ax.lines) == 2
    np.testing.assert_array_equal(loss_ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(acc_ax.lines[1].get_ydata(), history["val_acc"])
    fig = plot.training_curves({"train_loss": [1.0, 0.5]})
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 0
    with pytest.raises(ValueError, match="'loss' or 'acc'"):
        plot.training_curves({"lr": [0.1]})


def test_image_with_kernel():
    rng = np.random.default_rng(4)
    fig = plot.image_with_kernel(rng.uniform(size=(1, 1, 9, 9)), rng.normal(size=(3, 3)),
                                 rng.normal(size=(7, 7)), title="edge filter")  # fmt: skip
    assert len(fig.axes) == 6  # three panels, three colour bars
    assert [ax.get_title() for ax in fig.axes[:3]] == ["Input 9x9", "Kernel 3x3", "Output 7x7"]
    assert _title(fig) == "edge filter"
    with pytest.raises(ValueError, match=r"kernel has shape \(2, 3, 3\), expected \(H, W\)"):
        plot.image_with_kernel(np.zeros((9, 9)), np.zeros((2, 3, 3)), np.zeros((7, 7)))


def test_confusion_matrix():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plot.confusion_matrix(cm, class_names=["a", "b", "c"])
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() == "predicted class"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 9 and texts[3] == "2"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"square \(K, K\)"):
        plot.confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="expected K = 3"):
        plot.confusion_matrix(cm, class_names=["a", "b"])


def test_image_tiles_draws_every_image_into_one_axes_at_its_square():
    tiles = plot.ImageTiles(2, 3, "grid", size=1.0, title_lines=1, label_lines=1)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(2, 3, 5, 5))
    for r in range(2):
        for c in range(3):
            tiles.show(r, c, images[r, c], title=f"{r},{c}", cmap="gray")
        tiles.label_row(r, f"row {r}")
    fig = tiles.fig
    assert fig.axes == [tiles.ax] and _title(fig) == "grid"
    width, height = fig.get_size_inches()
    assert (width, height) == pytest.approx((tiles.width, tiles.height))
    # squares are size wide, in order, and never overlap
    boxes = [tiles.box(r, c) for r in range(2) for c in range(3)]
    for (left, right, bottom, top), im in zip(boxes, tiles.ax.images):
        assert right - left == pytest.approx(1.0) and bottom - top == pytest.approx(1.0)
        assert im.get_extent() == pytest.approx([left, right, bottom, top])
        assert 0 <= left and right <= tiles.width and 0 <= top and bottom <= tiles.height
    assert boxes[1][0] > boxes[0][1] and boxes[3][3] > boxes[0][2]
    np.testing.assert_array_equal(tiles.ax.images[4].get_array(), images[1, 1])
    texts = [t.get_text() for t in tiles.ax.texts]
    assert texts == ["0,0", "0,1", "0,2", "row 0", "1,0", "1,1", "1,2", "row 1"]
    assert len(tiles.ax.patches) == 6  # one frame per image
    with pytest.raises(ValueError, match="at least one row"):
        plot.ImageTiles(0, 3, "empty")
