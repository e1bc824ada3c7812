"""Hostile data files and servers: the loaders read only what a file declares, within limits.

Every hostile file is built in ``tmp_path``; every server listens on 127.0.0.1 in this process.
Tests whose failure mode on a vulnerable reader is a multi-gigabyte allocation run the reader in
a subprocess whose address space is capped (``RLIMIT_AS``), so a regression shows up as a bare
``MemoryError`` in that subprocess, never as a test machine out of memory.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_lite import datasets
from autograd_lite.datasets import MAX_IDX_BYTES, download, load_mnist, read_idx
from autograd_lite.errors import DatasetError

try:  # tests/ is not a package: pytest puts it on sys.path
    from loopback import serving
except ModuleNotFoundError:  # pragma: no cover - if tests/ becomes a package
    from tests.loopback import serving

HEADROOM = 400 * 2**20  # address space the capped subprocess may add after its imports
GIB3 = 3 * 10**9

needs_rlimit = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status are Linux's"
)
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no os.mkfifo here")


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


def zeros_gzip(n_bytes: int, member: int = 1 << 24) -> bytes:
    """``n_bytes`` zeros (rounded up to whole members) as concatenated gzip members: each
    16 MiB member compresses to about 16 KB, so gigabytes cost milliseconds to build."""
    one = gzip.compress(b"\0" * member, compresslevel=9)
    return one * -(-n_bytes // member)


def sparse_file(path: Path, header: bytes, n_data: int) -> Path:
    """A file of ``header`` then ``n_data`` zero bytes that takes no disk space."""
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + n_data)
    if os.stat(path).st_blocks * 512 > 2**20:
        pytest.skip(f"{path.parent} does not keep files sparse")
    return path


def run_capped(code: str, timeout: float = 120) -> dict:
    """Run ``code`` in a fresh interpreter with ``HEADROOM`` more address space than it
    has after importing numpy and autograd_lite; ``code`` sets ``result`` (a dict)."""
    prelude = (
        "import json, os, resource, traceback\n"
        "import numpy as np\n"
        "from autograd_lite.datasets import read_idx, load_mnist\n"
        "from autograd_lite.errors import DatasetError\n"
        "vm = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status')"
        " if l.startswith('VmSize:'))\n"
        f"resource.setrlimit(resource.RLIMIT_AS, (vm + {HEADROOM}, vm + {HEADROOM}))\n"
        "rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "def attempt(f):\n"
        "    try:\n"
        "        f()\n"
        "        return {'error': None}\n"
        "    except BaseException as exc:\n"
        "        return {'error': type(exc).__name__, 'dataset_error':"
        " isinstance(exc, DatasetError), 'message': str(exc)}\n"
    )
    epilogue = (
        "\nresult['rss_growth'] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0)"
        " * 1024\nprint(json.dumps(result))\n"
    )
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", prelude + code + epilogue],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------
# Gzip bombs: never inflate past the declared size
# ----------------------------------------------------------------------------------------------


@needs_rlimit
def test_gzip_bomb_declaring_3gb_is_refused_from_its_header(tmp_path):
    # A 3 MB file that inflates to 3 GB and whose header declares all of it.
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, (GIB3,))) + zeros_gzip(GIB3))
    assert path.stat().st_size < 4 * 10**6
    result = run_capped(f"result = attempt(lambda: read_idx({str(path)!r}))")
    assert result["dataset_error"], result
    assert str(path) in result["message"]
    assert f"({GIB3},)" in result["message"]  # the declared shape
    assert f"limit of {MAX_IDX_BYTES} bytes" in result["message"]
    assert result["rss_growth"] < 64 * 2**20


@settings(max_examples=25, deadline=None)
@given(
    n_data=st.integers(0, 3000),
    trailing=st.one_of(st.integers(1, 5000), st.sampled_from([4095, 4096, 4097])),
)
def test_gzip_trailing_data_is_counted_only_a_little_way(n_data, trailing):
    payload = (bytes(range(256)) * (n_data // 256 + 1))[:n_data]
    blob = gzip.compress(idx_header(0x08, (n_data,)) + payload + b"\x07" * trailing)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.idx.gz"
        path.write_bytes(blob)
        with pytest.raises(DatasetError) as info:
            read_idx(path)
    shown = f"{trailing}" if trailing < 4096 else "at least 4096"
    assert f"{path}: {shown} trailing byte(s) after the {n_data} bytes" in str(info.value)


def test_gzip_bomb_behind_small_data_stops_after_a_peek(tmp_path):
    # 16 bytes declared, then 100 MB of zeros: the reader inflates a few KiB past the data,
    # so its peak allocation stays far below even one megabyte.
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, (16,)) + bytes(16)) + zeros_gzip(10**8))
    tracemalloc.start()
    try:
        start = time.perf_counter()
        with pytest.raises(DatasetError, match=r"bomb\.gz: at least 4096 trailing byte"):
            read_idx(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"peak allocation {peak} bytes"
    assert elapsed < 1.0


# ----------------------------------------------------------------------------------------------
# Declared sizes: refused above the limit, MemoryError never escapes
# ----------------------------------------------------------------------------------------------


@needs_rlimit
def test_sparse_file_declaring_3gb(tmp_path):
    path = sparse_file(tmp_path / "sparse.idx", idx_header(0x08, (GIB3,)), GIB3)
    result = run_capped(
        f"p = {str(path)!r}\n"
        "result = {'default': attempt(lambda: read_idx(p)),\n"
        "          'raised': attempt(lambda: read_idx(p, max_bytes=2**32))}\n"
    )
    default, raised = result["default"], result["raised"]
    # Above the default limit: refused from the header, naming file, shape and limit.
    assert default["dataset_error"], default
    assert default["message"].startswith(f"{path}: header declares shape ({GIB3},)")
    assert f"limit of {MAX_IDX_BYTES} bytes" in default["message"]
    # Limit raised, memory too small: a DatasetError naming the file, not a MemoryError.
    assert raised["dataset_error"], raised
    assert raised["message"].startswith(f"{path}: out of memory")
    assert f"{GIB3} bytes" in raised["message"]


@settings(max_examples=60, deadline=None)
@given(
    code=st.sampled_from(sorted(datasets.IDX_DTYPES)),
    dims=st.lists(
        st.one_of(st.just(0), st.integers(1, 2**32 - 1), st.just(2**32 - 1)),
        min_size=1,
        max_size=8,
    ),
    max_bytes=st.sampled_from([2**20, MAX_IDX_BYTES, 2**62, 2**80]),
)
def test_any_declared_dimensions_give_an_array_or_a_dataset_error(code, dims, max_bytes):
    # Products that overflow int64, zeros next to huge dimensions, limits above what NumPy
    # can index: the header alone decides, before any data is read.
    itemsize = datasets.IDX_DTYPES[code].itemsize
    extent = itemsize * int(np.prod([max(d, 1) for d in dims], dtype=object))
    refused = extent > min(max_bytes, np.iinfo(np.intp).max)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dims.idx"
        path.write_bytes(idx_header(code, tuple(dims)))  # no data at all
        if not refused and 0 in dims:
            out = read_idx(path, max_bytes=max_bytes)
            assert out.shape == tuple(dims) and out.size == 0
            return
        with pytest.raises(DatasetError) as info:
            read_idx(path, max_bytes=max_bytes)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    if refused:
        assert f"shape {tuple(dims)}" in message and "limit of" in message
    else:
        assert "truncated" in message


def write_sparse_mnist(folder: Path, n_train: int, n_test: int) -> None:
    folder.mkdir()
    for stem, n in (("train", n_train), ("t10k", n_test)):
        sparse_file(folder / f"{stem}-images-idx3-ubyte", idx_header(0x08, (n, 28, 28)), n * 784)
        sparse_file(folder / f"{stem}-labels-idx1-ubyte", idx_header(0x08, (n,)), n)


def test_float_images_above_the_limit_are_refused_before_conversion(tmp_path):
    write_sparse_mnist(tmp_path / "d", 12, 4)
    # 12 images are 9,408 bytes as uint8 (under the limit), 75,264 as float64 (over it).
    with pytest.raises(DatasetError) as info:
        load_mnist(tmp_path / "d", max_bytes=20_000)
    message = str(info.value)
    assert message.startswith(str(tmp_path / "d" / "train-images-idx3-ubyte"))
    assert "12 images as float64 take 75264 bytes" in message
    assert "limit of 20000 bytes" in message and "float32" in message
    data = load_mnist(tmp_path / "d", dtype=np.float16, max_bytes=20_000)  # 18,816 bytes
    assert data.train.images.dtype == np.float16
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: header declares"):
        load_mnist(tmp_path / "d", max_bytes=9_000)


@needs_rlimit
def test_float_conversion_out_of_memory_is_a_dataset_error(tmp_path):
    # 100 MB of uint8 images read fine within the cap; 800 MB of float64 do not fit.
    n = 127_551
    write_sparse_mnist(tmp_path / "big", n, 10)
    result = run_capped(f"result = attempt(lambda: load_mnist({str(tmp_path / 'big')!r}))")
    assert result["dataset_error"], result
    assert result["message"].startswith(str(tmp_path / "big" / "train-images-idx3-ubyte"))
    assert "out of memory" in result["message"] and "float32" in result["message"]


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3000), dtype=st.sampled_from([np.float16, np.float32, np.float64]))
def test_blockwise_conversion_is_bitwise_the_whole_array_one(n, dtype):
    rng = np.random.default_rng(n)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    split = datasets._to_split(images, labels, np.dtype(dtype), "x")
    whole = images.reshape(n, -1).astype(dtype)
    whole /= np.dtype(dtype).type(255)
    assert split.images.tobytes() == whole.tobytes()


# ----------------------------------------------------------------------------------------------
# Not a regular file: FIFOs, devices, folders are refused, never read
# ----------------------------------------------------------------------------------------------


def call_with_deadline(fn, *args, unblock=None, seconds: float = 10.0):
    """Run ``fn(*args)`` in a thread; return its exception (or None), failing if it hangs."""
    outcome: list = []

    def target():
        try:
            fn(*args)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    if hung and unblock is not None:
        unblock()
        thread.join(seconds)
    assert not hung, f"{fn.__name__} blocked for {seconds} s"
    return outcome[0]


def release_fifo(path: Path):
    def unblock():
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # lets a blocked reader's open return
        os.close(fd)  # and gives it end of file

    return unblock


@needs_fifo
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "images.idx"
    os.mkfifo(fifo)
    exc = call_with_deadline(read_idx, fifo, unblock=release_fifo(fifo))
    assert isinstance(exc, DatasetError), exc
    assert str(exc).startswith(f"{fifo}: is a FIFO (named pipe), not a regular file")
    link = tmp_path / "link.idx"
    link.symlink_to(fifo)
    exc = call_with_deadline(read_idx, link, unblock=release_fifo(fifo))
    assert isinstance(exc, DatasetError) and "FIFO" in str(exc), exc


@needs_fifo
def test_fifo_in_an_mnist_folder_is_named(tmp_path):
    write_sparse_mnist(tmp_path / "d", 12, 4)
    labels = tmp_path / "d" / "t10k-labels-idx1-ubyte"
    labels.unlink()
    os.mkfifo(labels)
    exc = call_with_deadline(load_mnist, tmp_path / "d", unblock=release_fifo(labels))
    assert isinstance(exc, DatasetError), exc
    assert str(exc).startswith(f"{labels}: is a FIFO")


@pytest.mark.parametrize(
    ("device", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")]
)
def test_devices_are_refused(device, kind):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    with pytest.raises(DatasetError, match=rf"^{device}: is {kind}, not a regular file"):
        read_idx(device)


def test_folders_are_refused(tmp_path):
    with pytest.raises(DatasetError, match=r"is a folder, not a regular file"):
        read_idx(tmp_path)
    write_sparse_mnist(tmp_path / "d", 12, 4)
    images = tmp_path / "d" / "train-images-idx3-ubyte"
    images.unlink()
    images.mkdir()
    with pytest.raises(DatasetError, match=rf"^{images}: is a folder"):
        load_mnist(tmp_path / "d")


# ----------------------------------------------------------------------------------------------
# download(): bounded, and no .part file left by any failure
# ----------------------------------------------------------------------------------------------


class _HostileHandler(http.server.BaseHTTPRequestHandler):
    """``/bytes/N``: N bytes with an honest Content-Length. ``/endless``: zeros with no
    Content-Length until the client hangs up. ``/broken/N/M``: announces N, sends M, closes."""

    sent: dict[str, int]

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        try:
            if parts[0] == "bytes":
                self._send(int(parts[1]), int(parts[1]))
            elif parts[0] == "endless":
                self._send(None, 1 << 30)
            elif parts[0] == "broken":
                self._send(int(parts[1]), int(parts[2]))
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, announced: int | None, n: int) -> None:
        self.send_response(200)
        if announced is not None:
            self.send_header("Content-Length", str(announced))
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"\x01" * 65536
        self.sent[self.path] = 0
        while self.sent[self.path] < n:
            piece = block[: n - self.sent[self.path]]
            self.wfile.write(piece)
            self.sent[self.path] += len(piece)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hostile_server() -> Iterator[tuple[str, dict[str, int]]]:
    sent: dict[str, int] = {}
    with serving(type("Handler", (_HostileHandler,), {"sent": sent})) as url:
        yield url, sent


def body_sha(n: int) -> str:
    return hashlib.sha256(b"\x01" * n).hexdigest()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 200_000), size=st.integers(0, 200_000))
def test_download_reads_exactly_the_expected_size(hostile_server, n, size):
    url, _ = hostile_server
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "f.bin"
        if n == size:
            assert download(f"{url}/bytes/{n}", dest, body_sha(n), size=size) == dest
            assert dest.stat().st_size == n
        else:
            expected = "announces" if n > size else "download short"
            with pytest.raises(DatasetError, match=expected):
                download(f"{url}/bytes/{n}", dest, body_sha(n), size=size)
        assert [p.name for p in Path(folder).iterdir()] == (["f.bin"] if n == size else [])


def test_download_of_an_endless_body_stops_at_the_cap(hostile_server, tmp_path):
    url, sent = hostile_server
    start = time.perf_counter()
    with pytest.raises(DatasetError, match=r"/endless: the server sent more than the limit"):
        download(f"{url}/endless", tmp_path / "e.bin", "0" * 64, max_bytes=2**20)
    assert time.perf_counter() - start < 10
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DatasetError, match=r"/endless: the server sent more than the expected"):
        download(f"{url}/endless", tmp_path / "e.bin", "0" * 64, size=5000)
    assert list(tmp_path.iterdir()) == []


def test_download_expected_size_above_the_cap_is_refused_before_connecting(tmp_path):
    with pytest.raises(DatasetError, match=r"expected size 100 bytes is above max_bytes \(99"):
        download("http://127.0.0.1:9/x", tmp_path / "x", "0" * 64, size=100, max_bytes=99)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [None, -1, 2.5, "1000", True])
def test_byte_limits_must_be_non_negative_integers(tmp_path, bad):
    path = tmp_path / "a.idx"
    path.write_bytes(idx_header(0x08, (1,)) + b"\0")
    message = r"max_bytes must be a non-negative integer number of bytes"
    with pytest.raises(DatasetError, match=f"read_idx: {message}"):
        read_idx(path, max_bytes=bad)
    with pytest.raises(DatasetError, match=f"load_mnist: {message}"):
        load_mnist(max_bytes=bad)
    with pytest.raises(DatasetError, match=message):
        download("http://127.0.0.1:9/x", tmp_path / "x", "0" * 64, max_bytes=bad)
    if bad is not None:
        with pytest.raises(DatasetError, match=r"size must be a non-negative integer"):
            download("http://127.0.0.1:9/x", tmp_path / "x", "0" * 64, size=bad)
    assert read_idx(path, max_bytes=np.int64(1)).tolist() == [0]


def test_download_broken_mid_way_leaves_nothing(hostile_server, tmp_path):
    url, _ = hostile_server
    with pytest.raises(DatasetError, match=r"/broken/300000/100000: download failed"):
        download(f"{url}/broken/300000/100000", tmp_path / "b.bin", body_sha(300_000))
    assert list(tmp_path.iterdir()) == []


def test_download_interrupted_leaves_nothing(hostile_server, tmp_path, monkeypatch):
    url, _ = hostile_server
    real = hashlib.sha256

    class Interrupting:
        """A sha256 whose second update is a Ctrl-C, mid-download."""

        def __init__(self):
            self.inner, self.calls = real(), 0

        def update(self, data):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt
            self.inner.update(data)

        def hexdigest(self):
            return self.inner.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", Interrupting)
    with pytest.raises(KeyboardInterrupt):
        download(f"{url}/bytes/{3 * 2**20}", tmp_path / "k.bin", "0" * 64)
    assert list(tmp_path.iterdir()) == []


@needs_fifo
def test_download_from_a_file_url_naming_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    out.mkdir()
    exc = call_with_deadline(
        download, fifo.as_uri(), out / "x", "0" * 64, unblock=release_fifo(fifo)
    )
    assert isinstance(exc, DatasetError) and "is a FIFO" in str(exc), exc
    assert list(out.iterdir()) == []
