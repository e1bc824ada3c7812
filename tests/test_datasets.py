"""Tests of autograd_lite.datasets: IDX reader, embedded digits, folder loader, downloads."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import socket
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd_lite import datasets
from autograd_lite.datasets import (
    IDX_DTYPES,
    MnistData,
    Split,
    download,
    fetch_mnist,
    load_data_wrapper,
    load_mnist,
    read_idx,
)
from autograd_lite.errors import DatasetError

try:  # tests/ is not a package: pytest puts it on sys.path
    from loopback import serving
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.loopback import serving

CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
IMAGES_SHA = "c57357b7f233235eb1e538ee125b55b20d88da422662fd72fe439c4947307fbd"
LABELS_SHA = "ed545b8ffef8656e44a67816308b76cf033930d9076bb519d941f927f54811df"
FASHION = Path("/usr/share/datasets/fashion-mnist")
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The IDX type code of each native dtype, the inverse of IDX_DTYPES.
CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}


def idx_bytes(arr: np.ndarray, code: int | None = None) -> bytes:
    """Encode ``arr`` as an IDX file."""
    arr = np.asarray(arr)
    if code is None:
        code = CODES[arr.dtype.newbyteorder("=")]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(IDX_DTYPES[code]).tobytes()


def write_idx(path: Path, arr: np.ndarray, *, gz: bool = False) -> Path:
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# ----------------------------------------------------------------------------------------------
# Embedded data
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded() -> MnistData:
    return load_mnist()


def test_embedded_shapes_and_range(embedded):
    assert isinstance(embedded, MnistData)
    assert embedded.validation is None
    assert "embedded" in embedded.source
    for split, n in ((embedded.train, 8000), (embedded.test, 2000)):
        assert len(split) == n
        assert split.images.shape == (n, 784)
        assert split.images.dtype == np.float64
        assert split.images.flags.c_contiguous
        assert split.labels.shape == (n,)
        assert split.labels.dtype == np.int64
        assert split.images.min() >= 0.0 and split.images.max() <= 1.0
        assert split.images.max() == 1.0
        # Every pixel is exactly a byte over 255.
        pixels = split.images * 255
        np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-9)


def test_embedded_class_counts(embedded):
    labels = np.concatenate([embedded.train.labels, embedded.test.labels])
    assert np.bincount(labels, minlength=10).tolist() == CLASS_COUNTS


def test_embedded_deterministic_and_float32(embedded):
    again = load_mnist()
    np.testing.assert_array_equal(again.train.images, embedded.train.images)
    np.testing.assert_array_equal(again.test.labels, embedded.test.labels)
    single = load_mnist(dtype=np.float32)
    assert single.train.images.dtype == np.float32
    assert single.test.images.dtype == np.float32
    np.testing.assert_array_equal(single.train.images, embedded.train.images.astype(np.float32))
    np.testing.assert_array_equal(single.train.labels, embedded.train.labels)


def test_embedded_checksums_are_the_documented_ones():
    assert datasets.EMBEDDED_SHA256 == {
        "images-idx3-ubyte.gz": IMAGES_SHA,
        "labels-idx1-ubyte.gz": LABELS_SHA,
    }


def test_embedded_checksum_failure(monkeypatch):
    monkeypatch.setattr(
        datasets,
        "EMBEDDED_SHA256",
        {"images-idx3-ubyte.gz": "0" * 64, "labels-idx1-ubyte.gz": LABELS_SHA},
    )
    with pytest.raises(DatasetError, match=r"images-idx3-ubyte\.gz.*checksum"):
        load_mnist()


def test_bad_dtype():
    with pytest.raises(DatasetError, match="floating"):
        load_mnist(dtype=np.int32)


def test_load_data_wrapper_format():
    training, validation, test = load_data_wrapper()
    assert validation is None
    assert len(training) == 8000 and len(test) == 2000
    x, y = training[0]
    assert x.shape == (784, 1) and y.shape == (10, 1)
    assert y.sum() == 1.0
    x, y = test[0]
    assert x.shape == (784, 1) and isinstance(y, int) and 0 <= y <= 9


def test_split_one_hot_and_chapter():
    images = np.linspace(0, 1, 3 * 784).reshape(3, 784)
    split = Split(images, np.array([2, 0, 9]))
    assert split.labels.dtype == np.int64
    oh = split.one_hot()
    assert oh.shape == (3, 10) and oh.dtype == images.dtype
    np.testing.assert_array_equal(oh.argmax(axis=1), [2, 0, 9])
    np.testing.assert_array_equal(oh.sum(axis=1), 1)
    train = split.chapter(one_hot=True)
    assert len(train) == 3
    np.testing.assert_array_equal(train[1][0], images[1].reshape(784, 1))
    np.testing.assert_array_equal(train[2][1], oh[2].reshape(10, 1))
    test = split.chapter(one_hot=False)
    assert [y for _, y in test] == [2, 0, 9]
    assert all(type(y) is int for _, y in test)
    # The columns share memory with the split but cannot corrupt it.
    assert np.shares_memory(test[0][0], split.images)
    with pytest.raises(ValueError):
        test[0][0][0, 0] = 5.0


def test_split_rejects_mismatched_shapes():
    with pytest.raises(DatasetError, match="Split"):
        Split(np.zeros((3, 784)), np.zeros(2, dtype=np.int64))
    with pytest.raises(DatasetError, match="floating"):
        Split(np.zeros((3, 784), dtype=np.uint8), np.zeros(3, dtype=np.int64))


# ----------------------------------------------------------------------------------------------
# read_idx
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("code", sorted(IDX_DTYPES), ids=lambda c: f"0x{c:02X}")
def test_read_idx_round_trip_every_type(tmp_path, code, gz):
    native = IDX_DTYPES[code].newbyteorder("=")
    rng = np.random.default_rng(code)
    arr = (rng.standard_normal((3, 4, 5)) * 50).astype(native)
    out = read_idx(write_idx(tmp_path / "a.idx", arr, gz=gz))
    assert out.dtype == native and out.dtype.isnative
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, arr)


@FUZZ
@given(
    arr=hnp.arrays(
        st.sampled_from([dt.newbyteorder("=") for dt in IDX_DTYPES.values()]),
        hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    ),
    gz=st.booleans(),
)
def test_read_idx_round_trip_property(tmp_path, arr, gz):
    out = read_idx(write_idx(tmp_path / "p.idx", arr, gz=gz))
    assert out.dtype == arr.dtype and out.shape == arr.shape
    assert out.tobytes() == arr.tobytes()  # bitwise, so NaN payloads and -0.0 count too


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "plain", arr, gz=True)), arr)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "raw.gz", arr)), arr)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_truncated(tmp_path, gz):
    data = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))[:-100]
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: truncated.*7840.*7740"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_truncated_header(tmp_path, gz):
    for data in (b"", b"\0\0", b"\0\0\x08\x03\0\0\0\x01"):
        path = tmp_path / "h.idx"
        path.write_bytes(gzip.compress(data) if gz else data)
        with pytest.raises(DatasetError, match=r"h\.idx: truncated"):
            read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_trailing_bytes(tmp_path, gz):
    data = idx_bytes(np.arange(10, dtype=np.uint8)) + b"xyz"
    path = tmp_path / "t.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DatasetError, match=r"t\.idx: 3 trailing byte"):
        read_idx(path)


def test_wrong_magic(tmp_path):
    path = tmp_path / "m.idx"
    path.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x07")
    with pytest.raises(DatasetError, match=r"m\.idx: wrong magic number 0x01000801"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(DatasetError, match="wrong magic"):
        read_idx(path)


def test_gz_name_without_gzip_content_says_so(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"hello world")
    with pytest.raises(DatasetError, match=r"x\.gz: wrong magic.*not gzip"):
        read_idx(path)


@pytest.mark.parametrize("code", [0x00, 0x0A, 0x0F, 0xFF])
def test_unknown_type_code(tmp_path, code):
    path = tmp_path / "c.idx"
    path.write_bytes(bytes([0, 0, code, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(DatasetError, match=rf"c\.idx: unknown IDX type code 0x{code:02X}"):
        read_idx(path)


@pytest.mark.parametrize("ndim", [0, 9, 255])
def test_bad_ndim(tmp_path, ndim):
    path = tmp_path / "d.idx"
    path.write_bytes(bytes([0, 0, 8, ndim]) + b"\0" * 4 * ndim)
    with pytest.raises(DatasetError, match=rf"d\.idx: unsupported number of dimensions {ndim}"):
        read_idx(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"nope\.idx: file not found"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(DatasetError, match="is a folder, not a regular file"):
        read_idx(tmp_path)


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = tmp_path / "z.gz"
    bad = bytearray(good)
    bad[-8] ^= 0xFF  # the CRC32 in the trailer
    path.write_bytes(bytes(bad))
    with pytest.raises(DatasetError, match=r"z\.gz: corrupt gzip"):
        read_idx(path)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x55  # the deflate stream
    path.write_bytes(bytes(bad))
    with pytest.raises(DatasetError, match=r"z\.gz: "):
        read_idx(path)
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match=r"z\.gz: truncated gzip stream"):
        read_idx(path)
    path.write_bytes(good + b"garbage after the gzip member")
    with pytest.raises(DatasetError, match=r"z\.gz: corrupt gzip"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_huge_claim_rejected_without_allocating(tmp_path, gz):
    # 2**31 uint8 items promised, 1000 bytes delivered.
    data = b"\0\0\x08\x01" + (2**31).to_bytes(4, "big") + bytes(1000)
    path = tmp_path / "huge.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(DatasetError, match=r"huge\.idx: truncated.*2147483648.*1000"):
            read_idx(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 4 * 2**20, f"peak allocation {peak} bytes"


def test_absurd_claim_rejected_up_front(tmp_path):
    path = tmp_path / "absurd.idx"
    path.write_bytes(b"\0\0\x0e\x08" + b"\xff" * 32)
    with pytest.raises(DatasetError, match=r"absurd\.idx: header declares .* limit"):
        read_idx(path)
    path.write_bytes(idx_bytes(np.zeros(100, dtype=np.uint8)))
    with pytest.raises(DatasetError, match="limit of 99 bytes"):
        read_idx(path, max_bytes=99)
    assert read_idx(path, max_bytes=100).shape == (100,)


# ----------------------------------------------------------------------------------------------
# Fuzzing: read_idx returns an array or raises DatasetError, nothing else
# ----------------------------------------------------------------------------------------------


def check_reads_or_rejects(path: Path) -> None:
    try:
        out = read_idx(path)
    except DatasetError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(out, np.ndarray) and out.dtype.isnative


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=80),
        st.binary(max_size=80).map(lambda b: b"\0\0" + b),
        st.binary(max_size=80).map(gzip.compress),
        st.binary(max_size=80).map(lambda b: gzip.compress(b"\0\0" + b)),
    )
)
def test_fuzz_random_bytes(tmp_path, data):
    path = tmp_path / "fuzz.idx"
    path.write_bytes(data)
    check_reads_or_rejects(path)


_position = st.one_of(st.integers(0, 16), st.integers(0, 10**6))
_mutation = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(1, 255)),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), _position, st.integers(1, 4)),
    st.tuples(st.just("truncate"), _position, st.none()),
)


def mutate(data: bytes, ops: list[tuple]) -> bytes:
    buf = bytearray(data)
    for op, pos, arg in ops:
        pos %= len(buf) + 1
        if op == "flip" and pos < len(buf):
            buf[pos] ^= arg
        elif op == "insert":
            buf[pos:pos] = arg
        elif op == "delete":
            del buf[pos : pos + arg]
        elif op == "truncate":
            del buf[pos:]
    return bytes(buf)


@FUZZ
@given(
    arr=hnp.arrays(
        st.sampled_from([dt.newbyteorder("=") for dt in IDX_DTYPES.values()]),
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4),
    ),
    stage=st.sampled_from(["raw", "before-gzip", "after-gzip"]),
    ops=st.lists(_mutation, min_size=1, max_size=4),
)
def test_fuzz_mutated_valid_files(tmp_path, arr, stage, ops):
    data = idx_bytes(arr)
    if stage == "raw":
        data = mutate(data, ops)
    elif stage == "before-gzip":
        data = gzip.compress(mutate(data, ops))
    else:
        data = mutate(gzip.compress(data), ops)
    path = tmp_path / "mutant.idx"
    path.write_bytes(data)
    check_reads_or_rejects(path)


# ----------------------------------------------------------------------------------------------
# Folder loader
# ----------------------------------------------------------------------------------------------


def make_mnist_folder(
    folder: Path, n_train: int, n_test: int, *, gz: bool = True, seed: int = 0
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for i, (stem, arr) in enumerate(arrays.items()):
        # Mix raw and gzipped files when gz is True: the loader takes either.
        zipped = gz and i % 2 == 0
        write_idx(folder / (stem + ".gz" if zipped else stem), arr, gz=zipped)
    return arrays


def test_folder_splits(tmp_path):
    arrays = make_mnist_folder(tmp_path / "mnist", 120, 20)
    data = load_mnist(tmp_path / "mnist")
    assert (len(data.train), len(data.validation), len(data.test)) == (100, 20, 20)
    images = arrays["train-images-idx3-ubyte"].reshape(120, 784) / 255.0
    labels = arrays["train-labels-idx1-ubyte"]
    np.testing.assert_array_equal(data.train.images, images[:100])
    np.testing.assert_array_equal(data.validation.images, images[100:])
    np.testing.assert_array_equal(data.validation.labels, labels[100:])
    np.testing.assert_array_equal(data.test.labels, arrays["t10k-labels-idx1-ubyte"])
    assert data.validation.labels.dtype == np.int64
    assert "100 train / 20 validation" in data.source
    single = load_mnist(str(tmp_path / "mnist"), dtype="float32")
    assert single.validation.images.dtype == np.float32
    assert single.train.images.flags.c_contiguous


def test_folder_validation_rule(tmp_path):
    make_mnist_folder(tmp_path / "a", 13, 3, gz=False)
    data = load_mnist(tmp_path / "a")
    assert (len(data.train), len(data.validation)) == (11, 2)
    make_mnist_folder(tmp_path / "b", 5, 3)
    data = load_mnist(tmp_path / "b")
    assert len(data.train) == 5 and data.validation is None
    assert datasets._validation_size(60_000) == 10_000
    assert datasets._validation_size(120_000) == 10_000
    assert datasets._validation_size(120) == 20


def test_folder_load_data_wrapper(tmp_path):
    make_mnist_folder(tmp_path, 12, 4)
    training, validation, test = load_data_wrapper(tmp_path)
    assert (len(training), len(validation), len(test)) == (10, 2, 4)
    assert training[0][1].shape == (10, 1)
    assert isinstance(validation[0][1], int)


def test_folder_missing_files_message(tmp_path):
    make_mnist_folder(tmp_path, 12, 4)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "missing 2 of the 4" in message
    assert "train-labels-idx1-ubyte or train-labels-idx1-ubyte.gz" in message
    assert "t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz" in message


def test_folder_not_found_or_not_a_folder(tmp_path):
    with pytest.raises(DatasetError, match="folder not found"):
        load_mnist(tmp_path / "absent")
    path = write_idx(tmp_path / "f.idx", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DatasetError, match="not a folder"):
        load_mnist(path)


def test_folder_count_mismatch(tmp_path):
    make_mnist_folder(tmp_path, 12, 4, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"holds 4 images but .*t10k-labels.* holds 5 labels"):
        load_mnist(tmp_path)


def test_folder_bad_image_shape(tmp_path):
    make_mnist_folder(tmp_path, 12, 4, gz=False)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((12, 28, 27), dtype=np.uint8))
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: expected uint8 images"):
        load_mnist(tmp_path)


def test_folder_label_out_of_range(tmp_path):
    make_mnist_folder(tmp_path, 12, 4, gz=False)
    labels = np.zeros(12, dtype=np.uint8)
    labels[7] = 10
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    with pytest.raises(DatasetError, match=r"train-labels-idx1-ubyte: labels must lie in 0\.\.9"):
        load_mnist(tmp_path)


def test_folder_corrupt_file_named(tmp_path):
    make_mnist_folder(tmp_path, 12, 4, gz=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte: truncated"):
        load_mnist(tmp_path)


def test_fashion_mnist():
    if not all(
        (FASHION / f"{stem}.gz").is_file() or (FASHION / stem).is_file()
        for stem in datasets.MNIST_FILES.values()
    ):
        pytest.skip(
            f"Fashion-MNIST not installed at {FASHION} (apt-get install dataset-fashion-mnist)"
        )
    data = load_mnist(FASHION, dtype=np.float32)
    assert (len(data.train), len(data.validation), len(data.test)) == (50_000, 10_000, 10_000)
    assert data.train.images.shape == (50_000, 784)
    assert data.train.images.dtype == np.float32
    assert 0.0 <= data.test.images.min() and data.test.images.max() <= 1.0
    # Fashion-MNIST is balanced: 6,000 of each class in training, 1,000 in test.
    train_labels = np.concatenate([data.train.labels, data.validation.labels])
    assert np.bincount(train_labels).tolist() == [6000] * 10
    assert np.bincount(data.test.labels).tolist() == [1000] * 10


# ----------------------------------------------------------------------------------------------
# Downloads (against a local HTTP server only)
# ----------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []
    handler = type("Handler", (_QuietHandler,), {"requests": requests})
    with serving(functools.partial(handler, directory=str(root))) as url:
        yield url, root, requests


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_good_checksum(server, tmp_path):
    url, root, requests = server
    payload = b"some bytes " * 1000
    (root / "file.bin").write_bytes(payload)
    dest = tmp_path / "out" / "file.bin"
    assert download(f"{url}/file.bin", dest, sha(payload).upper()) == dest
    assert dest.read_bytes() == payload
    assert requests == ["/file.bin"]
    assert list(dest.parent.iterdir()) == [dest]


def test_download_bad_checksum_leaves_nothing(server, tmp_path):
    url, root, _ = server
    (root / "file.bin").write_bytes(b"tampered")
    dest = tmp_path / "out" / "file.bin"
    wrong = "ab" * 32
    with pytest.raises(DatasetError) as info:
        download(f"{url}/file.bin", dest, wrong)
    message = str(info.value)
    assert f"{url}/file.bin" in message and wrong in message and sha(b"tampered") in message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_download_404(server, tmp_path):
    url, _, _ = server
    dest = tmp_path / "missing.bin"
    with pytest.raises(DatasetError, match=r"missing\.bin: download failed: HTTP 404"):
        download(f"{url}/missing.bin", dest, "0" * 64)
    assert list(tmp_path.glob("*missing*")) == []


def test_download_skips_present_file_and_replaces_wrong_one(server, tmp_path):
    url, root, requests = server
    payload = b"payload"
    (root / "f").write_bytes(payload)
    dest = tmp_path / "f"
    dest.write_bytes(payload)
    download(f"{url}/f", dest, sha(payload))
    assert requests == []
    dest.write_bytes(b"stale")
    download(f"{url}/f", dest, sha(payload))
    assert requests == ["/f"]
    assert dest.read_bytes() == payload


def test_download_connection_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on that port any more.
    with pytest.raises(DatasetError, match="download failed"):
        download(f"http://127.0.0.1:{port}/x", tmp_path / "x", "0" * 64, timeout=5)
    assert list(tmp_path.iterdir()) == []


def test_download_argument_errors(tmp_path):
    with pytest.raises(DatasetError, match="64 hex digits"):
        download("http://127.0.0.1/x", tmp_path / "x", "not-a-hash")
    with pytest.raises(DatasetError, match="unsupported URL scheme 'ftp'"):
        download("ftp://127.0.0.1/x", tmp_path / "x", "0" * 64)


def test_fetch_mnist_then_load(server, tmp_path):
    url, root, requests = server
    make_mnist_folder(root, 12, 4, gz=False)
    checksums = {p.name: sha(p.read_bytes()) for p in root.iterdir()}
    dest = tmp_path / "fetched"
    assert fetch_mnist(dest, url + "/", checksums) == dest
    assert len(requests) == 4
    data = load_mnist(dest)
    assert (len(data.train), len(data.validation), len(data.test)) == (10, 2, 4)
    fetch_mnist(dest, url, checksums)
    assert len(requests) == 4  # everything already there


def test_fetch_mnist_checks_the_names(tmp_path):
    good = {stem: "0" * 64 for stem in datasets.MNIST_FILES.values()}
    with pytest.raises(DatasetError, match="no checksum for"):
        fetch_mnist(tmp_path, "http://127.0.0.1", dict(list(good.items())[:3]))
    with pytest.raises(DatasetError, match="unknown file name"):
        fetch_mnist(tmp_path, "http://127.0.0.1", {**good, "../evil": "0" * 64})
    with pytest.raises(DatasetError, match="both raw and .gz"):
        fetch_mnist(tmp_path, "http://127.0.0.1", {**good, "t10k-images-idx3-ubyte.gz": "0" * 64})


def test_loaded_data_unpacks_into_its_three_splits():
    data = load_mnist()
    train, validation, test = data
    assert train is data.train and validation is None and test is data.test
