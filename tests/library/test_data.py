"""Tests for cnnlab.data: digits, procedural shapes, offline loaders and sample photos."""

import gzip
import io
import pickle
import subprocess
import sys
import tarfile
import time

import numpy as np
import pytest

from cnnlab import data

# ------------------------------------------------------------------------------------------
# digits
# ------------------------------------------------------------------------------------------


def test_load_digits_shapes_dtypes_range():
    X_train, y_train, X_test, y_test = data.load_digits()
    assert X_train.shape == (1437, 1, 8, 8) and X_test.shape == (360, 1, 8, 8)
    assert y_train.shape == (1437,) and y_test.shape == (360,)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_load_digits_is_stratified():
    _, y_train, _, y_test = data.load_digits(test_size=0.25, seed=3)
    full = np.bincount(np.concatenate([y_train, y_test]), minlength=10)
    np.testing.assert_allclose(np.bincount(y_test, minlength=10), 0.25 * full, atol=1.01)


def test_load_digits_same_seed_same_split():
    a = data.load_digits(seed=7)
    b = data.load_digits(seed=7)
    c = data.load_digits(seed=8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="test_size"):
        data.load_digits(test_size=1.5)


@pytest.mark.parametrize("test_size, seed", [(0.2, 0), (0.25, 1), (0.2, 3)])
def test_load_digits_is_scikit_learns_split(test_size, seed):
    """The stored default split and the file reader give exactly scikit-learn's arrays."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    X, y = (bunch.images.astype(np.float32) / 16.0)[:, None], bunch.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    got = data.load_digits(test_size=test_size, seed=seed)
    for name, expected, actual in zip(("X_train", "y_train", "X_test", "y_test"),
                                      (X_train, y_train, X_test, y_test), got):  # fmt: skip
        assert actual.dtype == expected.dtype, name
        np.testing.assert_array_equal(actual, expected, err_msg=name)


def test_default_digits_and_photos_do_not_import_scikit_learn():
    """Importing scikit-learn costs ~2 s per notebook; the usual calls read its files instead."""
    code = (
        "import sys, cnnlab as cl; cl.data.load_digits(); cl.data.sample_image('flower');"
        "print('sklearn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sample_photos_are_scikit_learns():
    from sklearn.datasets import load_sample_image

    for name in ("china", "flower"):
        np.testing.assert_array_equal(
            data._decoded_photo(f"{name}.jpg"), load_sample_image(f"{name}.jpg")
        )


# ------------------------------------------------------------------------------------------
# procedural shapes
# ------------------------------------------------------------------------------------------


def _class_images(name, n=40, size=28, noise=0.0, seed=0):
    X, _ = data.make_shapes(n, size=size, seed=seed, classes=[name], noise=noise)
    return X[:, 0].astype(np.float64)


def test_make_shapes_layout_and_balance():
    X, y = data.make_shapes(83, size=20, seed=1)
    assert X.shape == (83, 1, 20, 20) and X.dtype == np.float32
    assert y.shape == (83,) and y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    counts = np.bincount(y, minlength=len(data.SHAPE_CLASSES))
    assert counts.max() - counts.min() <= 1
    assert len(counts) == len(data.SHAPE_CLASSES) == 8
    assert not np.array_equal(y, np.sort(y))  # shuffled, not in blocks


def test_make_shapes_deterministic():
    a = data.make_shapes(50, seed=4)
    b = data.make_shapes(50, seed=4)
    c = data.make_shapes(50, seed=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    gen = data.make_shapes(50, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(gen[0], a[0])


def test_make_shapes_classes_subset_defines_labels():
    X, y = data.make_shapes(30, seed=0, classes=["ring", "circle"], noise=0.0)
    assert set(np.unique(y)) == {0, 1}
    rings, circles = X[y == 0, 0], X[y == 1, 0]
    # a ring is hollow: at its centre of mass the pixel is dark, for a disc it is bright
    for imgs, bright in ((rings, False), (circles, True)):
        for img in imgs:
            r, c = np.indices(img.shape)
            cy, cx = (img * r).sum() / img.sum(), (img * c).sum() / img.sum()
            centre = img[int(round(cy)), int(round(cx))]
            assert (centre > 0.5) == bright, f"centre pixel {centre:.2f}"


@pytest.mark.parametrize(
    "name, axis_strong",
    [("vertical bar", "x"), ("horizontal bar", "y")],
)
def test_bars_keep_their_orientation(name, axis_strong):
    imgs = _class_images(name, noise=0.02)
    gx = np.sum(np.diff(imgs, axis=2) ** 2, axis=(1, 2))  # changes along x: vertical edges
    gy = np.sum(np.diff(imgs, axis=1) ** 2, axis=(1, 2))
    strong, weak = (gx, gy) if axis_strong == "x" else (gy, gx)
    assert np.all(strong > 2 * weak), f"{name}: gradient energies {strong} vs {weak}"


def test_diagonal_bar_is_diagonal():
    imgs = _class_images("diagonal bar")
    for img in imgs:
        r, c = np.nonzero(img > 0.5)
        r, c = r - r.mean(), c - c.mean()
        cov = np.cov(np.stack([c, r]))
        angle = np.degrees(np.arctan2(*np.linalg.eigh(cov)[1][:, -1][::-1])) % 180
        assert 30 < angle < 60 or 120 < angle < 150, f"bar at {angle:.0f} degrees"


def test_filled_shapes_differ_from_outlines_and_positions_vary():
    filled = _class_images("square").mean(axis=(1, 2))
    cross = _class_images("cross").mean(axis=(1, 2))
    assert filled.mean() > cross.mean()
    imgs = _class_images("circle", n=60)
    r, c = np.indices(imgs.shape[1:])
    cx = (imgs * c).sum(axis=(1, 2)) / imgs.sum(axis=(1, 2))
    assert cx.std() > 2.0  # translated across the image, not always centred
    assert np.all(imgs.max(axis=(1, 2)) >= 0.6)  # every image shows its shape


def test_make_shapes_is_fast_and_noise_applies():
    start = time.perf_counter()
    X, _ = data.make_shapes(2000, seed=0)
    assert time.perf_counter() - start < 5.0
    clean, _ = data.make_shapes(20, seed=0, noise=0.0)
    noisy, _ = data.make_shapes(20, seed=0, noise=0.1)
    assert np.mean(clean == 0) > 0.5 and np.mean(noisy == 0) < np.mean(clean == 0)


def test_make_shapes_bad_input():
    with pytest.raises(ValueError, match="size must be >= 12"):
        data.make_shapes(10, size=8)
    with pytest.raises(ValueError, match="classes must be distinct names"):
        data.make_shapes(10, classes=["hexagon"])
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.make_shapes(0)


def test_shapes_split():
    X_tr, y_tr, X_te, y_te = data.shapes_split(40, 16, size=16, seed=2, noise=0.0)
    assert X_tr.shape == (40, 1, 16, 16) and X_te.shape == (16, 1, 16, 16)
    assert np.bincount(y_tr).tolist() == [5] * 8 and np.bincount(y_te).tolist() == [2] * 8
    assert not np.array_equal(X_tr[:16], X_te)
    again = data.shapes_split(40, 16, size=16, seed=2, noise=0.0)
    np.testing.assert_array_equal(again[2], X_te)


# ------------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST from small IDX files written here
# ------------------------------------------------------------------------------------------


def _idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def _write_idx_set(folder, rng, n_train=6, n_test=4, hw=5):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, hw, hw)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, hw, hw)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    for name, arr in arrays.items():
        (folder / name).write_bytes(gzip.compress(_idx_bytes(arr)))
    return list(arrays.values())


@pytest.mark.parametrize(
    "loader, sub", [(data.load_mnist, "mnist"), (data.load_fashion_mnist, "fashion-mnist")]
)
def test_idx_loader_reads_real_format(tmp_path, loader, sub):
    raw = _write_idx_set(tmp_path, np.random.default_rng(0))
    X_train, y_train, X_test, y_test = loader(tmp_path, verify=False)
    assert X_train.shape == (6, 1, 5, 5) and X_test.shape == (4, 1, 5, 5)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(X_train[:, 0], raw[0] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, raw[1])
    np.testing.assert_allclose(X_test[:, 0], raw[2] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, raw[3])


@pytest.mark.parametrize(
    "loader, sub", [(data.load_mnist, "mnist"), (data.load_fashion_mnist, "fashion-mnist")]
)
def test_idx_loader_finds_subfolder_via_env(tmp_path, monkeypatch, loader, sub):
    raw = _write_idx_set(tmp_path / sub, np.random.default_rng(1))
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    _, y_train, _, _ = loader(verify=False)
    np.testing.assert_array_equal(y_train, raw[1])


def test_idx_loader_verify_rejects_unofficial_files(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(2))
    with pytest.raises(ValueError, match="MD5 checksum mismatch for train-images-idx3-ubyte.gz"):
        data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="f68b3c2dcbeaaa9fbdd348bbdeb94873"):
        data.load_mnist(tmp_path, verify=True)


def test_idx_loader_missing_files_message(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path)
    msg = str(info.value)
    for expected in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", str(tmp_path)):
        assert expected in msg
    assert "http" in msg and "CNNLAB_DATA" in msg
    with pytest.raises(FileNotFoundError, match="fashion-mnist"):
        data.load_fashion_mnist(tmp_path)


def test_idx_corrupt_magic_and_length(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(3))
    good = gzip.decompress((tmp_path / "train-images-idx3-ubyte.gz").read_bytes())
    bad = bytes([0, 0, 0x08, 0x02]) + good[4:]  # claims 2 dims
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(bad))
    with pytest.raises(ValueError, match="magic number 0x00000802, expected 0x00000803"):
        data.load_mnist(tmp_path, verify=False)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.parse_idx(good[:-3], 3)
    with pytest.raises(ValueError, match="too short"):
        data.parse_idx(b"\x00\x00", 1)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(good)  # not gzip at all
    with pytest.raises(ValueError, match="not a valid gzip file"):
        data.load_mnist(tmp_path, verify=False)


def test_idx_image_label_count_mismatch(tmp_path):
    _write_idx_set(tmp_path, np.random.default_rng(4))
    labels = gzip.compress(_idx_bytes(np.zeros(5)))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(labels)
    with pytest.raises(ValueError, match="6 images but 5 labels"):
        data.load_mnist(tmp_path, verify=False)


# ------------------------------------------------------------------------------------------
# CIFAR-10 from small pickled batches written here
# ------------------------------------------------------------------------------------------

_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _cifar_batches(rng, n=3):
    out = {}
    for name in _BATCHES:
        batch = {
            b"batch_label": name.encode(),
            b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
            b"filenames": [b"x.png"] * n,
        }
        out[name] = pickle.dumps(batch, protocol=2)
    return out


def _check_cifar(loaded, raws):
    X_train, y_train, X_test, y_test = loaded
    assert X_train.shape == (15, 3, 32, 32) and X_test.shape == (3, 3, 32, 32)
    assert X_train.dtype == np.float32 and y_test.dtype == np.int64
    first = pickle.loads(raws["data_batch_1"], encoding="bytes")
    # row layout: 1024 red values, then green, then blue, each row-major 32x32
    np.testing.assert_allclose(X_train[0, 1, 0, 0], first[b"data"][0, 1024] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(X_train[0, 2, 1, 3], first[b"data"][0, 2048 + 35] / 255.0)
    np.testing.assert_array_equal(y_train[:3], first[b"labels"])
    last = pickle.loads(raws["test_batch"], encoding="bytes")
    np.testing.assert_array_equal(y_test, last[b"labels"])


def test_cifar_from_extracted_folder(tmp_path):
    raws = _cifar_batches(np.random.default_rng(0))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, raw in raws.items():
        (folder / name).write_bytes(raw)
    _check_cifar(data.load_cifar10(tmp_path, verify=False), raws)
    with pytest.raises(ValueError, match="MD5 checksum mismatch for data_batch_1"):
        data.load_cifar10(tmp_path)


def test_cifar_from_tar_gz_via_env(tmp_path, monkeypatch):
    raws = _cifar_batches(np.random.default_rng(1))
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, raw in raws.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    _check_cifar(data.load_cifar10(verify=False), raws)
    with pytest.raises(ValueError, match="c58f30108f718f92721af3b95e74349a"):
        data.load_cifar10()


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar10(tmp_path)
    msg = str(info.value)
    assert "cifar-10-python.tar.gz" in msg and "data_batch_1" in msg and str(tmp_path) in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
    raws = _cifar_batches(np.random.default_rng(2))
    raws["test_batch"] = pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]})
    for name, raw in raws.items():
        (tmp_path / name).write_bytes(raw)
    with pytest.raises(ValueError, match=r"expected \(N, 3072\) and \(N,\)"):
        data.load_cifar10(tmp_path, verify=False)


# ------------------------------------------------------------------------------------------
# sample photographs
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["china", "flower"])
def test_sample_image_shapes_and_range(name):
    gray = data.sample_image(name)
    rgb = data.sample_image(name, gray=False)
    assert gray.shape == (427, 640) and rgb.shape == (3, 427, 640)
    assert gray.dtype == np.float64 and rgb.dtype == np.float64
    assert gray.min() >= 0 and gray.max() <= 1 and gray.std() > 0.05
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    np.testing.assert_allclose(gray, lum, atol=1e-12)


def test_sample_image_block_average():
    full = data.sample_image("china", gray=False)
    small = data.sample_image("china", gray=False, downscale=4)
    assert small.shape == (3, 106, 160)
    np.testing.assert_allclose(small[:, 1, 2], full[:, 4:8, 8:12].mean(axis=(1, 2)))
    np.testing.assert_array_equal(data.sample_image(downscale=1), data.sample_image())
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="downscale must be a positive integer factor"):
            data.sample_image(downscale=bad)


def test_sample_image_bad_name_lists_valid():
    with pytest.raises(ValueError, match=r"\['china', 'flower'\]"):
        data.sample_image("lena")
