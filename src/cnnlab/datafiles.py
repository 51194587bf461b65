"""MNIST, Fashion-MNIST and CIFAR-10 read from their official distribution files.

Nothing is downloaded: the files come from a folder given by argument or by the ``CNNLAB_DATA``
environment variable, their MD5 checksums are verified before anything is parsed (or, for
CIFAR-10's pickled batches, unpickled), and a missing file gives an error naming what is expected
and where it comes from. ``cnnlab.data`` re-exports the public functions.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES",
    "FASHION_MNIST_CLASSES",
    "MD5",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "parse_idx",
]

_IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "cifar-10": {
        "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    },
}
"""Official MD5 checksums of the distribution files, per data set."""

_SOURCES = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ "
    "(mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist "
    "(files in data/fashion/: "
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/)",
    "cifar-10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
    "(page: https://www.cs.toronto.edu/~kriz/cifar.html)",
}

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def _data_root(path):
    """The folder to search: ``path``, else ``$CNNLAB_DATA``, else ``./data``."""
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get("CNNLAB_DATA")
    return Path(env).expanduser() if env else Path("data")


def _md5_bytes(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _verify(name, data, expected):
    got = _md5_bytes(data)
    if got != expected:
        raise ValueError(
            f"MD5 checksum mismatch for {name}: expected {expected}, got {got}. The file is "
            "corrupt or not the official one; download it again, or pass verify=False to skip "
            "the check (e.g. for your own files in the same format)."
        )


def _missing(dataset, files, searched):
    where = ", ".join(str(p) for p in searched)
    return FileNotFoundError(
        f"{dataset} files not found. Expected {', '.join(files)} in one of: {where}. "
        f"Download them from {_SOURCES[dataset]} and put them in that folder, or pass "
        "path=... / set the CNNLAB_DATA environment variable to the folder that holds them. "
        "cnnlab never downloads data itself."
    )


def parse_idx(data, expected_ndim):
    """Parse an uncompressed IDX file (the MNIST format) holding unsigned bytes.

    Layout: two zero bytes, a type byte (0x08 = uint8), a byte with the number of
    dimensions, one big-endian uint32 per dimension, then the values in C order.

    Parameters
    ----------
    data : bytes
        The whole file content.
    expected_ndim : int
        1 for label files (magic 0x00000801), 3 for image files (magic 0x00000803).

    Returns
    -------
    ndarray, uint8, shape given by the header, e.g. (N,) or (N, 28, 28)

    Raises
    ------
    ValueError
        If the magic number, the dimensions or the length of the file are wrong.
    """
    if len(data) < 4:
        raise ValueError(f"IDX file too short ({len(data)} bytes) to hold a header")
    magic = int.from_bytes(data[:4], "big")
    want = 0x0800 + expected_ndim
    if magic != want:
        raise ValueError(
            f"bad IDX magic number 0x{magic:08x}, expected 0x{want:08x} "
            f"(uint8 data with {expected_ndim} dimension(s)); the file is corrupt or not IDX"
        )
    header = 4 + 4 * expected_ndim
    if len(data) < header:
        raise ValueError(f"IDX header truncated: {len(data)} bytes, need {header}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=expected_ndim, offset=4))
    if len(data) - header != int(np.prod(dims)):
        raise ValueError(
            f"IDX dims {dims} need {int(np.prod(dims))} bytes of data, "
            f"file has {len(data) - header}; the file is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx_set(dataset, subfolder, path, verify):
    root = _data_root(path)
    searched = [root, root / subfolder]
    folder = next((d for d in searched if all((d / f).is_file() for f in _IDX_FILES)), None)
    if folder is None:
        raise _missing(dataset, _IDX_FILES, searched)
    arrays = []
    for name in _IDX_FILES:
        raw = (folder / name).read_bytes()
        if verify:
            _verify(name, raw, MD5[dataset][name])
        try:
            content = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"{folder / name} is not a valid gzip file: {err}") from err
        arrays.append(parse_idx(content, 3 if "images" in name else 1))
    out = []
    for images, labels in (arrays[0:2], arrays[2:4]):
        if images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{dataset}: {images.shape[0]} images but {labels.shape[0]} labels; "
                "expected the same number"
            )
        out += [(images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64)]
    return tuple(out)


def load_mnist(path=None, verify=True):
    """Load MNIST from the four official ``*-ubyte.gz`` files in a local folder.

    The files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) are looked for in ``path``
    (default: the ``CNNLAB_DATA`` environment variable, else ``./data``) and in its subfolder
    ``mnist``. Nothing is downloaded.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding the files (or a ``mnist`` subfolder with them).
    verify : bool
        Check each file against its official MD5 in :data:`MD5` before parsing.

    Returns
    -------
    X_train : ndarray, shape (60000, 1, 28, 28), float32 in [0, 1]
    y_train : ndarray, shape (60000,), int64
    X_test : ndarray, shape (10000, 1, 28, 28), float32 in [0, 1]
    y_test : ndarray, shape (10000,), int64

    Raises
    ------
    FileNotFoundError
        If the files are missing; the message names them, the folders searched and the URL.
    ValueError
        On a checksum mismatch (``verify=True``) or a corrupt file.
    """
    return _load_idx_set("mnist", "mnist", path, verify)


def load_fashion_mnist(path=None, verify=True):
    """Load Fashion-MNIST from its four official ``*-ubyte.gz`` files in a local folder.

    Same file names, format, parameters, return values and errors as :func:`load_mnist`; looked
    for in ``path`` (default: ``CNNLAB_DATA``, else ``./data``) and its subfolder
    ``fashion-mnist``. Class names: :data:`FASHION_MNIST_CLASSES`.
    """
    return _load_idx_set("fashion-mnist", "fashion-mnist", path, verify)


def _read_cifar_members(root, verify):
    """Raw bytes of the six CIFAR-10 batch pickles, from the folder or the tar.gz."""
    for folder in (root / "cifar-10-batches-py", root):
        if all((folder / b).is_file() for b in _CIFAR_BATCHES):
            raws = {b: (folder / b).read_bytes() for b in _CIFAR_BATCHES}
            if verify:
                for b, raw in raws.items():
                    _verify(b, raw, MD5["cifar-10"][b])
            return raws
    archive = root / "cifar-10-python.tar.gz"
    if archive.is_file():
        raw = archive.read_bytes()
        if verify:
            _verify(archive.name, raw, MD5["cifar-10"][archive.name])
        raws = {}
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for b in _CIFAR_BATCHES:
                try:
                    member = tar.extractfile(f"cifar-10-batches-py/{b}")
                except KeyError:
                    member = None
                if member is None:
                    raise ValueError(f"{archive} has no member cifar-10-batches-py/{b}")
                raws[b] = member.read()
        return raws
    raise _missing(
        "cifar-10",
        ["cifar-10-python.tar.gz", "or cifar-10-batches-py/ with " + ", ".join(_CIFAR_BATCHES)],
        [root, root / "cifar-10-batches-py"],
    )


def _parse_cifar_batch(name, raw):
    batch = pickle.loads(raw, encoding="bytes")  # noqa: S301 - official file, checked first
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"CIFAR-10 batch {name} is not a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise ValueError(
            f"CIFAR-10 batch {name}: data {data.shape} and labels {labels.shape}, "
            "expected (N, 3072) and (N,)"
        )
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar10(path=None, verify=True):
    """Load CIFAR-10 (python version) from a local folder.

    Accepts either the extracted folder ``cifar-10-batches-py/`` (with ``data_batch_1`` ..
    ``data_batch_5`` and ``test_batch``) or the archive ``cifar-10-python.tar.gz`` (read in
    memory, not extracted), looked for in ``path`` (default: ``CNNLAB_DATA``, else ``./data``).
    The batches are Python pickles and are loaded with ``pickle`` (``encoding='bytes'``):
    unpickling runs code from the file, which is acceptable only for the official file, so keep
    ``verify=True`` (the MD5 is checked before unpickling) unless the file is your own.
    Class names: :data:`CIFAR10_CLASSES`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder holding ``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz`` (or the batch
        files themselves).
    verify : bool
        Check the files against their official MD5 in :data:`MD5` before unpickling.

    Returns
    -------
    X_train : ndarray, shape (50000, 3, 32, 32), float32 in [0, 1], RGB
    y_train : ndarray, shape (50000,), int64
    X_test : ndarray, shape (10000, 3, 32, 32), float32 in [0, 1], RGB
    y_test : ndarray, shape (10000,), int64

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_mnist` (missing files; a checksum mismatch or a malformed batch).
    """
    raws = _read_cifar_members(_data_root(path), verify)
    parts = [_parse_cifar_batch(b, raws[b]) for b in _CIFAR_BATCHES]
    X_train = np.concatenate([p[0] for p in parts[:-1]]).astype(np.float32) / 255.0
    y_train = np.concatenate([p[1] for p in parts[:-1]])
    X_test = parts[-1][0].astype(np.float32) / 255.0
    return X_train, y_train, X_test, parts[-1][1]
