"""MNIST-style data: an IDX reader, the embedded 10,000 digits, folder loaders and downloads.

The package carries 10,000 real MNIST digits (see ``autograd_lite/data/README.md``), so the
chapter-2 network trains out of the box with no network access::

    from autograd_lite.datasets import load_data_wrapper

    training_data, validation_data, test_data = load_data_wrapper()

A folder holding the four standard IDX files (MNIST or Fashion-MNIST, gzipped or not) gives
the book's 50,000 / 10,000 / 10,000 split::

    data = load_mnist("/usr/share/datasets/fashion-mnist")

Every problem with a file (missing, truncated, corrupt, wrong checksum) raises
[`DatasetError`][autograd_lite.errors.DatasetError] with a message that names the file.

**Limits.** A data file is never trusted. `read_idx()` opens only regular files (a FIFO, a
device or a folder is refused at once, never read), compares the header's claim with the file's
size before allocating, and refuses a declared data section above ``max_bytes`` (default
`MAX_IDX_BYTES`, 2 GiB) before reading any of it. A gzip stream is inflated only up to
the declared size plus a few kilobytes (to detect trailing data), so a small file that inflates
to gigabytes costs no more memory than its header admits. `load_mnist()` also refuses a
folder whose float images would take more than ``max_bytes`` (use ``dtype=np.float32`` or raise
``max_bytes``), converts in bounded chunks, and turns running out of memory into a
`DatasetError`. `download()` reads at most the expected
``size`` (or ``max_bytes``), whatever the server sends or announces, and removes its partial
file on any failure, ``KeyboardInterrupt`` included.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.resources
import io
import os
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from autograd_lite.errors import DatasetError

__all__ = [
    "EMBEDDED_SHA256",
    "IDX_DTYPES",
    "MAX_IDX_BYTES",
    "MNIST_FILES",
    "MnistData",
    "Split",
    "download",
    "fetch_mnist",
    "load_data_wrapper",
    "load_mnist",
    "one_hot",
    "read_idx",
]

#: IDX type code -> element dtype (IDX stores every element big-endian).
IDX_DTYPES: Mapping[int, np.dtype] = MappingProxyType(
    {
        0x08: np.dtype("u1"),
        0x09: np.dtype("i1"),
        0x0B: np.dtype(">i2"),
        0x0C: np.dtype(">i4"),
        0x0D: np.dtype(">f4"),
        0x0E: np.dtype(">f8"),
    }
)

#: Largest array the loaders build, and largest download, by default (2 GiB): an IDX data
#: section, `load_mnist()`'s float images, a `download()`. Bigger claims are refused
#: before anything is read; every function takes ``max_bytes=`` to raise it.
MAX_IDX_BYTES = 2**31

_MAX_NDIM = 8
_MAX_INDEXABLE = int(np.iinfo(np.intp).max)
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
#: How far past the declared data a gzip stream is inflated to detect (and count) trailing data.
_TRAILING_PEEK = 1 << 12

#: sha256 of the embedded data files in ``autograd_lite/data``, checked on every load.
EMBEDDED_SHA256: Mapping[str, str] = MappingProxyType(
    {
        "images-idx3-ubyte.gz": "c57357b7f233235eb1e538ee125b55b20d88da422662fd72fe439c4947307fbd",
        "labels-idx1-ubyte.gz": "ed545b8ffef8656e44a67816308b76cf033930d9076bb519d941f927f54811df",
    }
)
_EMBEDDED_IMAGES = "images-idx3-ubyte.gz"
_EMBEDDED_LABELS = "labels-idx1-ubyte.gz"
_EMBEDDED_TRAIN = 8000

#: The four standard file names of an MNIST-format folder (each may also end in ``.gz``).
MNIST_FILES: Mapping[str, str] = MappingProxyType(
    {
        "train_images": "train-images-idx3-ubyte",
        "train_labels": "train-labels-idx1-ubyte",
        "test_images": "t10k-images-idx3-ubyte",
        "test_labels": "t10k-labels-idx1-ubyte",
    }
)

_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)
_BOOK_VALIDATION = 10_000


# ----------------------------------------------------------------------------------------------
# IDX reader
# ----------------------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike[str], *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or raw.

    Gzip is recognised by its magic bytes (``1f 8b``), whatever the file is called.

    Parameters
    ----------
    path : str or os.PathLike
        The file to read: a regular file (a FIFO, device or folder is refused unread).
    max_bytes : int, optional
        Refuse files whose header declares a data section larger than this many bytes
        (default `MAX_IDX_BYTES`, 2 GiB), before reading any of it. Claims are also
        checked against the data actually present before memory is allocated for them, and
        a gzip stream is inflated no further than the declared size (plus a few kilobytes to
        detect trailing data), so the memory used is bounded by the declared size.

    Returns
    -------
    numpy.ndarray
        A native-endian array with the dtype and shape the header declares.

    Raises
    ------
    DatasetError
        If the file is missing, unreadable or not a regular file, is not IDX (wrong magic,
        unknown type code, bad number of dimensions), is truncated, has trailing bytes,
        declares more than ``max_bytes``, is a corrupt gzip stream, or does not fit in
        memory. The message names the file and the problem.
    """
    path = Path(path)
    max_bytes = _byte_count("read_idx: max_bytes", max_bytes)
    with _open_regular(path) as f:
        try:
            head = f.read(2)
            f.seek(0)
            if head == _GZIP_MAGIC:
                return _read_idx_gzip(f, path, max_bytes)
            size = os.fstat(f.fileno()).st_size
            hint = (
                " (the name ends in .gz but the content is not gzip)"
                if path.suffix == ".gz"
                else ""
            )
            return _read_idx_stream(f, path, max_bytes, size, hint)
        except DatasetError:
            raise
        except EOFError:
            raise DatasetError(
                f"{path}: truncated gzip stream: it ends before its end-of-stream marker"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise DatasetError(f"{path}: corrupt gzip data: {exc}") from None
        except OSError as exc:
            raise DatasetError(f"{path}: read error: {exc}") from None


def _byte_count(what: str, value: object) -> int:
    """``value`` as a number of bytes, or a DatasetError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise DatasetError(f"{what} must be a non-negative integer number of bytes, got {value!r}")
    return int(value)


_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(path: Path | str, mode: int) -> DatasetError:
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return DatasetError(
        f"{path}: is {kind}, not a regular file; only regular files are read (a pipe or "
        "device could block or never end: copy the data to a file first)"
    )


def _open_regular(path: Path) -> io.BufferedReader:
    """Open ``path`` for binary reading if it is a regular file, else raise DatasetError.

    The type is checked on the opened descriptor (no race with a swapped path); ``O_NONBLOCK``
    keeps the open itself from waiting for a FIFO's writer.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_RDONLY | nonblock | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise _not_regular(path, stat.S_IFDIR) from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        if nonblock:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_idx_gzip(f: io.BufferedIOBase, path: Path, max_bytes: int) -> np.ndarray:
    with gzip.GzipFile(fileobj=f, mode="rb") as gz:
        return _read_idx_stream(gz, path, max_bytes, None, "")


def _read_exact(stream: io.BufferedIOBase, n: int) -> bytes:
    """Read up to ``n`` bytes, short only at end of stream."""
    parts = []
    while n > 0:
        part = stream.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _parse_header(
    stream: io.BufferedIOBase, path: Path, max_bytes: int
) -> tuple[np.dtype, tuple, int]:
    """Read and check the magic and the dimensions; return (dtype, shape, header length)."""
    magic = _read_exact(stream, 4)
    if len(magic) < 4:
        raise DatasetError(
            f"{path}: truncated: an IDX file starts with a 4-byte magic number, "
            f"the file holds {len(magic)} byte(s)"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"{path}: wrong magic number 0x{magic.hex()}: an IDX file starts with two zero "
            "bytes, a type code and the number of dimensions (MNIST images: 0x00000803, "
            "labels: 0x00000801)"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if not 1 <= ndim <= _MAX_NDIM:
        raise DatasetError(
            f"{path}: unsupported number of dimensions {ndim} (expected 1 to {_MAX_NDIM})"
        )
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(
            f"{path}: truncated: header promises {ndim} dimension(s) ({4 * ndim} bytes), "
            f"file holds {len(raw_dims)}"
        )
    shape = tuple(int.from_bytes(raw_dims[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    nbytes = extent = dtype.itemsize
    for d in shape:  # Python ints: no overflow, however absurd the dimensions
        nbytes *= d
        extent *= max(d, 1)  # what NumPy must index even when another dimension is 0
    limit = min(max_bytes, _MAX_INDEXABLE)
    if extent > limit:
        spans = f" (its non-zero dimensions span {extent})" if extent != nbytes else ""
        raise DatasetError(
            f"{path}: header declares shape {shape} of {dtype.name}, {nbytes} bytes of data"
            f"{spans}, more than the limit of {limit} bytes (pass max_bytes= to raise it)"
        )
    return dtype, shape, 4 + 4 * ndim


def _read_idx_stream(
    stream: io.BufferedIOBase, path: Path, max_bytes: int, size: int | None, hint: str
) -> np.ndarray:
    """Parse an IDX stream; ``size`` is the file size for raw files, ``None`` for gzip."""
    try:
        dtype, shape, header_len = _parse_header(stream, path, max_bytes)
    except DatasetError as exc:
        if hint:
            raise DatasetError(f"{exc}{hint}") from None
        raise
    count = 1
    for d in shape:
        count *= d
    nbytes = count * dtype.itemsize
    try:
        arr = _read_data(stream, path, dtype, shape, nbytes, size, header_len)
    except MemoryError:
        raise DatasetError(
            f"{path}: out of memory for the {nbytes} bytes of data the header declares "
            f"(shape {shape}, {dtype.name})"
        ) from None
    if not dtype.isnative:  # swap in place: no second copy of the data
        arr = arr.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return arr.reshape(shape)


def _read_data(
    stream: io.BufferedIOBase,
    path: Path,
    dtype: np.dtype,
    shape: tuple,
    nbytes: int,
    size: int | None,
    header_len: int,
) -> np.ndarray:
    """Read exactly the ``nbytes`` of data the header declares, as a flat writable array."""
    count = nbytes // dtype.itemsize
    if size is not None:
        # Raw file: compare the claim with the real size before allocating anything.
        held = size - header_len
        if held < nbytes:
            raise DatasetError(
                f"{path}: truncated: header promises {nbytes} bytes of data "
                f"(shape {shape}, {dtype.name}), file holds {held}"
            )
        if held > nbytes:
            raise DatasetError(
                f"{path}: {held - nbytes} trailing byte(s) after the {nbytes} bytes of data "
                f"the header declares (shape {shape}, {dtype.name})"
            )
        arr = np.empty(count, dtype=dtype)
        view = arr.data.cast("B")
        got = 0
        while got < nbytes:  # one read() returns at most ~2 GiB on Linux
            n = stream.readinto(view[got:])
            if not n:
                raise DatasetError(
                    f"{path}: truncated: header promises {nbytes} bytes of data, read {got} "
                    "(did the file shrink while being read?)"
                )
            got += n
        return arr
    # Gzip: the claim cannot be checked up front, so grow the buffer only as real data
    # arrives, stop as soon as it runs out, and never inflate more than a peek past it.
    buf = bytearray()
    while len(buf) < nbytes:
        chunk = stream.read(min(_CHUNK, nbytes - len(buf)))
        if not chunk:
            raise DatasetError(
                f"{path}: truncated: header promises {nbytes} bytes of data "
                f"(shape {shape}, {dtype.name}), decompressed data holds {len(buf)}"
            )
        buf += chunk
    # Reading to the end also makes gzip check the stream's CRC and length.
    extra = len(_read_exact(stream, _TRAILING_PEEK))
    if extra:
        amount = f"{extra}" if extra < _TRAILING_PEEK else f"at least {extra}"
        raise DatasetError(
            f"{path}: {amount} trailing byte(s) after the {nbytes} bytes of data the "
            f"header declares (shape {shape}, {dtype.name}); the rest was not decompressed"
        )
    return np.frombuffer(buf, dtype=dtype, count=count) if count else np.empty(0, dtype)


# ----------------------------------------------------------------------------------------------
# Splits
# ----------------------------------------------------------------------------------------------


def one_hot(labels: ArrayLike, n: int, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Rows ``e_label`` of length ``n``: shape ``(len(labels), n)``, a 1 in column ``labels[i]``
    of row ``i``.

    Raises
    ------
    DatasetError
        If a label is not an integer in ``0 .. n-1``.
    """
    labels = np.asarray(labels).reshape(-1)
    if labels.size and (labels.dtype.kind not in "iuf" or labels.min() < 0 or labels.max() >= n):
        raise DatasetError(f"labels must lie in 0..{n - 1}, got values outside that range")
    out = np.zeros((labels.size, n), dtype=dtype)
    out[np.arange(labels.size), labels.astype(np.intp, copy=False)] = 1
    return out


@dataclass(eq=False)
class Split:
    """One part of a data set: images as rows, labels as integers.

    Parameters
    ----------
    images : numpy.ndarray
        Floating array of shape ``(n, 784)`` with values in ``[0, 1]``; stored C-contiguous,
        so a mini-batch gathered by row is one contiguous block.
    labels : numpy.ndarray
        ``int64`` array of shape ``(n,)`` with the class of each image, ``0`` to ``9``.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        images = np.ascontiguousarray(self.images)
        labels = np.ascontiguousarray(self.labels, dtype=np.int64)
        if images.ndim != 2 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DatasetError(
                "Split: images must have shape (n, features) and labels shape (n,), got "
                f"{images.shape} and {labels.shape}"
            )
        if images.dtype.kind != "f":
            raise DatasetError(f"Split: images must be floating point, got {images.dtype}")
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def one_hot(self) -> np.ndarray:
        """Return the labels one-hot encoded.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, 10)``, the images' dtype, a 1 in column ``labels[i]`` of row ``i``.
        """
        return one_hot(self.labels, _NUM_CLASSES, self.images.dtype)

    def chapter(self, one_hot: bool) -> list[tuple[np.ndarray, Any]]:
        """Return the split in the format of Nielsen's ``mnist_loader``.

        Parameters
        ----------
        one_hot : bool
            ``True`` for the training format, where ``y`` is the one-hot ``(10, 1)`` column;
            ``False`` for the validation / test format, where ``y`` is the ``int`` label.

        Returns
        -------
        list of tuple
            ``(x, y)`` pairs with ``x`` of shape ``(784, 1)``. The ``x`` (and one-hot ``y``)
            columns are read-only views of one shared array, so the list costs no copies.
        """
        xs = self.images.view()
        xs.flags.writeable = False
        columns = xs.reshape(len(self), -1, 1)
        if one_hot:
            ys = self.one_hot()
            ys.flags.writeable = False
            targets = ys.reshape(len(self), _NUM_CLASSES, 1)
            return list(zip(columns, targets, strict=True))
        return [(x, int(y)) for x, y in zip(columns, self.labels, strict=True)]


@dataclass(eq=False)
class MnistData:
    """A loaded data set: the three splits and where they came from.

    Parameters
    ----------
    train : Split
        The training images.
    validation : Split or None
        Held-out images for choosing hyper-parameters; ``None`` for the embedded set.
    test : Split
        The test images.
    source : str
        A human-readable description of the origin and the split sizes.
    """

    train: Split
    validation: Split | None
    test: Split
    source: str

    def __iter__(self) -> Iterator[Split | None]:
        """``train, validation, test = load_mnist()``, like the book's ``load_data()``."""
        return iter((self.train, self.validation, self.test))


# ----------------------------------------------------------------------------------------------
# Loaders
# ----------------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DatasetError(f"dtype must be a floating-point type, got {dtype!r}") from None
    if dt.kind != "f":
        raise DatasetError(f"dtype must be a floating-point type, got {dt}")
    return dt


def _check_pair(images: np.ndarray, labels: np.ndarray, images_name: str, labels_name: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise DatasetError(
            f"{images_name}: expected uint8 images of shape (n, 28, 28), "
            f"got {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DatasetError(
            f"{labels_name}: expected integer labels of shape (n,), got {labels.dtype} "
            f"{labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{images_name} holds {images.shape[0]} images but {labels_name} holds "
            f"{labels.shape[0]} labels"
        )
    if images.shape[0] == 0:
        raise DatasetError(f"{images_name}: holds no images")
    if labels.min() < 0 or labels.max() >= _NUM_CLASSES:
        bad = labels[(labels < 0) | (labels >= _NUM_CLASSES)]
        raise DatasetError(
            f"{labels_name}: labels must lie in 0..9, found {int(bad[0])} ({bad.size} out of range)"
        )


def _check_float_size(name: str, images: np.ndarray, dtype: np.dtype, max_bytes: int) -> None:
    """Refuse images whose float copy would take more than ``max_bytes``, before building it."""
    nbytes = images.size * dtype.itemsize
    if nbytes > max_bytes:
        raise DatasetError(
            f"{name}: {images.shape[0]:,} images as {dtype.name} take {nbytes} bytes, more than "
            f"the limit of {max_bytes} bytes; load with dtype=np.float32 or pass max_bytes= to "
            "raise the limit"
        )


def _to_split(images: np.ndarray, labels: np.ndarray, dtype: np.dtype, name: str) -> Split:
    """Scale the uint8 images to ``dtype`` in ``[0, 1]``, a bounded block of rows at a time."""
    n = images.shape[0]
    flat = images.reshape(n, -1)
    try:
        rows = np.empty(flat.shape, dtype)
        step = max(1, _CHUNK // max(1, flat.shape[1]))
        for start in range(0, n, step):
            block = rows[start : start + step]
            block[...] = flat[start : start + step]
            block /= dtype.type(255)
        return Split(rows, labels.astype(np.int64))
    except MemoryError:
        raise DatasetError(
            f"{name}: out of memory for {n:,} images as {dtype.name} "
            f"({flat.size * dtype.itemsize} bytes); load with dtype=np.float32 or free memory"
        ) from None


def _load_embedded(dtype: np.dtype, max_bytes: int) -> MnistData:
    base = importlib.resources.files(__package__ or "autograd_lite").joinpath("data")
    arrays = []
    for name in (_EMBEDDED_IMAGES, _EMBEDDED_LABELS):
        resource = base.joinpath(name)
        with importlib.resources.as_file(resource) as path:
            try:
                digest = _sha256_file(path)
            except OSError as exc:
                raise DatasetError(
                    f"{path}: cannot read the embedded data ({exc}); reinstall autograd_lite"
                ) from None
            if digest != EMBEDDED_SHA256[name]:
                raise DatasetError(
                    f"{path}: embedded data fails its checksum: sha256 {digest}, expected "
                    f"{EMBEDDED_SHA256[name]}; the package is damaged, reinstall autograd_lite"
                )
            arrays.append(read_idx(path, max_bytes=max_bytes))
    images, labels = arrays
    _check_pair(images, labels, _EMBEDDED_IMAGES, _EMBEDDED_LABELS)
    _check_float_size(_EMBEDDED_IMAGES, images, dtype, max_bytes)
    n = images.shape[0]
    cut = _EMBEDDED_TRAIN
    return MnistData(
        train=_to_split(images[:cut], labels[:cut], dtype, _EMBEDDED_IMAGES),
        validation=None,
        test=_to_split(images[cut:], labels[cut:], dtype, _EMBEDDED_IMAGES),
        source=(
            f"embedded: {n:,} MNIST digits from autograd_lite/data "
            f"({cut:,} train / {n - cut:,} test, no validation)"
        ),
    )


def _find_file(folder: Path, stem: str) -> Path | None:
    """The regular file named ``stem`` or ``stem.gz``; else anything so named, which
    `read_idx()` then refuses with a message saying what it is."""
    candidates = [folder / stem, folder / (stem + ".gz")]
    hit = next((p for p in candidates if p.is_file()), None)
    return hit or next((p for p in candidates if os.path.lexists(p)), None)


def _validation_size(n_train: int) -> int:
    return min(_BOOK_VALIDATION, n_train // 6)


def _load_folder(folder: Path, dtype: np.dtype, max_bytes: int) -> MnistData:
    if not folder.exists():
        raise DatasetError(f"{folder}: folder not found")
    if not folder.is_dir():
        raise DatasetError(
            f"{folder}: not a folder; load_mnist expects a folder holding the four IDX files "
            "(use read_idx for a single file)"
        )
    found: dict[str, Path] = {}
    missing = []
    for key, stem in MNIST_FILES.items():
        hit = _find_file(folder, stem)
        if hit is None:
            missing.append(f"{stem} or {stem}.gz")
        else:
            found[key] = hit
    if missing:
        raise DatasetError(
            f"{folder}: missing {len(missing)} of the 4 MNIST files; looked for "
            + ", ".join(missing)
        )
    arrays = {key: read_idx(p, max_bytes=max_bytes) for key, p in found.items()}
    _check_pair(
        arrays["train_images"],
        arrays["train_labels"],
        str(found["train_images"]),
        str(found["train_labels"]),
    )
    _check_pair(
        arrays["test_images"],
        arrays["test_labels"],
        str(found["test_images"]),
        str(found["test_labels"]),
    )
    for key in ("train_images", "test_images"):
        _check_float_size(str(found[key]), arrays[key], dtype, max_bytes)
    images, labels = arrays["train_images"], arrays["train_labels"]
    n = images.shape[0]
    n_val = _validation_size(n)
    cut = n - n_val
    train_name, test_name = str(found["train_images"]), str(found["test_images"])
    validation = _to_split(images[cut:], labels[cut:], dtype, train_name) if n_val else None
    test = _to_split(arrays["test_images"], arrays["test_labels"], dtype, test_name)
    return MnistData(
        train=_to_split(images[:cut], labels[:cut], dtype, train_name),
        validation=validation,
        test=test,
        source=(
            f"folder {folder}: {cut:,} train / {n_val:,} validation (the last {n_val:,} of "
            f"the {n:,} training images) / {len(test):,} test"
        ),
    )


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    dtype: DTypeLike = np.float64,
    *,
    max_bytes: int = MAX_IDX_BYTES,
) -> MnistData:
    """Load MNIST-format data: the embedded digits, or a folder of IDX files.

    Parameters
    ----------
    path : str, os.PathLike or None, optional
        ``None`` (default) loads the 10,000 MNIST digits embedded in the package, checksum
        verified, split into the first 8,000 for training and the last 2,000 for testing,
        with no validation set. A folder loads the four standard files
        ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
        and ``t10k-labels-idx1-ubyte``, each raw or with ``.gz`` (MNIST, or Fashion-MNIST as
        installed by ``apt-get install dataset-fashion-mnist`` in
        ``/usr/share/datasets/fashion-mnist``). As in the book, the last 10,000 of the 60,000
        training images become the validation set, giving 50,000 / 10,000 / 10,000. A folder
        whose training set has ``n != 60000`` images keeps the last ``min(10000, n // 6)``
        for validation (``None`` when that is 0).
    dtype : numpy dtype, optional
        Floating dtype of the images (default ``float64``; ``float32`` halves the memory).
    max_bytes : int, optional
        The largest array built (default `MAX_IDX_BYTES`, 2 GiB): each file's declared
        data section is checked by `read_idx()` before it is read, and the float images
        of the training and test files before they are converted.

    Returns
    -------
    MnistData
        Images scaled to ``[0, 1]`` as ``(n, 784)`` rows, labels as ``int64``.

    Raises
    ------
    DatasetError
        If the folder or a file is missing (the message lists the names looked for), a file
        is corrupt, not a regular file or fails its checksum, image and label counts differ,
        images are not 28 x 28 ``uint8``, a label lies outside ``0..9``, an array would
        exceed ``max_bytes``, or memory runs out.
    """
    dt = _float_dtype(dtype)
    max_bytes = _byte_count("load_mnist: max_bytes", max_bytes)
    if path is None:
        return _load_embedded(dt, max_bytes)
    return _load_folder(Path(path), dt, max_bytes)


def load_data_wrapper(
    path: str | os.PathLike[str] | None = None,
) -> tuple[
    list[tuple[np.ndarray, Any]],
    list[tuple[np.ndarray, Any]] | None,
    list[tuple[np.ndarray, Any]],
]:
    """Return ``(training_data, validation_data, test_data)`` as Nielsen's ``mnist_loader``.

    Parameters
    ----------
    path : str, os.PathLike or None, optional
        As for [`load_mnist()`][autograd_lite.datasets.load_mnist].

    Returns
    -------
    training_data : list of tuple
        ``(x, y)`` with ``x`` the ``(784, 1)`` image and ``y`` the one-hot ``(10, 1)`` label.
    validation_data : list of tuple or None
        ``(x, y)`` with ``y`` the ``int`` label; ``None`` for the embedded data.
    test_data : list of tuple
        ``(x, y)`` with ``y`` the ``int`` label.
    """
    data = load_mnist(path)
    validation = None if data.validation is None else data.validation.chapter(one_hot=False)
    return (
        data.train.chapter(one_hot=True),
        validation,
        data.test.chapter(one_hot=False),
    )


# ----------------------------------------------------------------------------------------------
# Downloads
# ----------------------------------------------------------------------------------------------

_URL_SCHEMES = ("http", "https", "file")


def _check_sha256(sha256: str, what: str) -> str:
    value = sha256.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise DatasetError(f"{what}: expected sha256 must be 64 hex digits, got {sha256!r}")
    return value


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str,
    *,
    timeout: float = 30.0,
    size: int | None = None,
    max_bytes: int = MAX_IDX_BYTES,
) -> Path:
    """Download ``url`` to ``dest``, verified against a sha256 checksum.

    The data goes to a temporary ``.part`` file beside ``dest`` and is moved into place only
    once its checksum matches, so ``dest`` is never left half-written; the ``.part`` file is
    removed on any failure or interrupt (``KeyboardInterrupt`` included). At most ``size``
    bytes (or ``max_bytes`` when ``size`` is not given) are read, whatever the server sends.

    Parameters
    ----------
    url : str
        An ``http``, ``https`` or ``file`` URL.
    dest : str or os.PathLike
        Where to store the file; missing parent folders are created.
    sha256 : str
        The expected sha256 of the file, as 64 hex digits.
    timeout : float, optional
        Seconds to wait for the server at each step (connect, each read).
    size : int or None, optional
        The expected size in bytes: a server announcing or sending more is cut off there, one
        sending less is reported as short.
    max_bytes : int, optional
        Hard cap on the bytes read (default `MAX_IDX_BYTES`, 2 GiB).

    Returns
    -------
    pathlib.Path
        ``dest``. If it already exists with the right checksum nothing is downloaded; if it
        exists with another checksum it is replaced.

    Raises
    ------
    DatasetError
        On a network or HTTP error, a body larger than ``size`` or ``max_bytes`` or shorter
        than ``size``, a ``file`` URL naming something other than a regular file, or a
        checksum mismatch (the message names the URL and both hashes); no partial file is
        left behind.
    """
    dest = Path(dest)
    expected = _check_sha256(sha256, url)
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        raise DatasetError(f"{url}: unsupported URL scheme {scheme!r} (use http, https or file)")
    max_bytes = _byte_count(f"{url}: max_bytes", max_bytes)
    if size is not None and _byte_count(f"{url}: size", size) > max_bytes:
        raise DatasetError(
            f"{url}: expected size {size} bytes is above max_bytes ({max_bytes} bytes; "
            "pass max_bytes= to raise the limit)"
        )
    limit = max_bytes if size is None else size
    if scheme == "file":
        local = urllib.request.url2pathname(parts.path)
        try:
            mode = os.stat(local).st_mode
        except OSError:
            mode = stat.S_IFREG  # urlopen reports the missing file
        if not stat.S_ISREG(mode):
            raise _not_regular(url, mode)
    if dest.is_file():
        try:
            if _sha256_file(dest) == expected:
                return dest
        except OSError as exc:
            raise DatasetError(f"{dest}: cannot read the existing file: {exc}") from None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as exc:
        raise DatasetError(f"{dest}: cannot write there: {exc}") from None
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    got = _copy_bounded(response, out, digest, url, limit, size is not None)
            except urllib.error.HTTPError as exc:
                raise DatasetError(
                    f"{url}: download failed: HTTP {exc.code} {exc.reason}"
                ) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise DatasetError(f"{url}: download failed: {reason}") from None
        if size is not None and got < size:
            raise DatasetError(
                f"{url}: download short: {got} of the expected {size} bytes; "
                f"the download was discarded and {dest} left untouched"
            )
        actual = digest.hexdigest()
        if actual != expected:
            raise DatasetError(
                f"{url}: checksum mismatch: expected sha256 {expected}, got {actual}; "
                f"the download was discarded and {dest} left untouched"
            )
        try:
            os.replace(tmp, dest)
        except OSError as exc:
            raise DatasetError(f"{dest}: cannot move the download into place: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _copy_bounded(
    response: Any, out: IO[bytes], digest: Any, url: str, limit: int, expected: bool
) -> int:
    """Copy ``response`` into ``out`` and ``digest``, refusing to read more than ``limit``."""
    what = "the expected size" if expected else "the limit (max_bytes)"
    announced = response.headers.get("Content-Length", "").strip()
    if announced.isdigit() and int(announced) > limit:
        raise DatasetError(
            f"{url}: the server announces {int(announced)} bytes, more than {what} of "
            f"{limit} bytes; nothing was downloaded"
        )
    got = 0
    while chunk := response.read(min(_CHUNK, limit + 1 - got)):  # one byte past: is there more?
        got += len(chunk)
        if got > limit:
            raise DatasetError(
                f"{url}: the server sent more than {what} of {limit} bytes; "
                "the download was stopped there and discarded"
            )
        digest.update(chunk)
        out.write(chunk)
    if announced.isdigit() and got < int(announced):  # http.client's read(n) does not say
        raise DatasetError(
            f"{url}: download failed: the connection closed after {got} of the "
            f"{int(announced)} bytes the server announced"
        )
    return got


def fetch_mnist(
    folder: str | os.PathLike[str],
    base_url: str,
    sha256: Mapping[str, str],
    *,
    timeout: float = 30.0,
    max_bytes: int = MAX_IDX_BYTES,
) -> Path:
    """Download the four MNIST-format files into ``folder``, ready for `load_mnist()`.

    No URL is built in: pass the mirror you trust and the checksums you expect.

    Parameters
    ----------
    folder : str or os.PathLike
        Destination folder, created if needed.
    base_url : str
        URL of the folder holding the files; each file is fetched from
        ``base_url + "/" + name``.
    sha256 : Mapping[str, str]
        Expected sha256 of each file, keyed by file name: exactly one of
        ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
        ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]`` each.
    timeout, max_bytes : optional
        Passed to [`download()`][autograd_lite.datasets.download].

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    DatasetError
        If ``sha256`` does not name the four files, or any download fails (see
        `download()`). Files already present with the right checksum are not fetched
        again.
    """
    folder = Path(folder)
    allowed = {name: stem for stem in MNIST_FILES.values() for name in (stem, stem + ".gz")}
    unknown = sorted(set(sha256) - set(allowed))
    covered = [allowed[name] for name in sha256 if name in allowed]
    lacking = [stem for stem in MNIST_FILES.values() if stem not in covered]
    doubled = sorted({stem for stem in covered if covered.count(stem) > 1})
    if unknown or lacking or doubled:
        problems = []
        if unknown:
            problems.append(f"unknown file name(s) {unknown}")
        if lacking:
            problems.append(f"no checksum for {lacking}")
        if doubled:
            problems.append(f"both raw and .gz given for {doubled}")
        raise DatasetError(
            f"{folder}: sha256 must map each of the 4 MNIST file names (raw or .gz) to its "
            "checksum: " + "; ".join(problems)
        )
    base = base_url.rstrip("/")
    for name, digest in sha256.items():
        download(f"{base}/{name}", folder / name, digest, timeout=timeout, max_bytes=max_bytes)
    return folder
