"""Saved models as ``.npz`` files: written atomically, read without pickle and without trust.

`autograd_lite.nn` and `autograd_lite.nielsen` both store their parameters here.

Writing (`write_npz()`) goes to a temporary file beside the target that replaces it only
once complete and flushed to disk, so a crash or a kill never leaves half a checkpoint. The
temporary file is named ``.<name>.<pid>.<random>.tmp``; one left by a killed process is removed
by the next save to the same path. A new file gets the mode the umask gives (``0644`` under
``022``); an existing file keeps its mode; saving through a symbolic link writes the link's
target and leaves the link a link.

Reading (`NpzReader`, `read_npz()`) never trusts the file. Before any array is
loaded, each member's name is checked (``<key>.npy``, no folders, no ``..``, no duplicates),
members the caller does not expect are refused without being decompressed, and each member's
``.npy`` header (shape, dtype) is read from the member stream and checked: no object or
structured dtypes (nothing is ever unpickled), native byte order, C order, and a declared size
that is exactly what the zip entry holds. Reading stops at the declared size, a member that
holds more (a zip bomb) or less (truncated) is refused, and the total is capped at
`MAX_BYTES` (a parameter raises it). Every failure, ``MemoryError`` included, is a
one-line [`CheckpointError`][autograd_lite.errors.CheckpointError] naming the file and the member.

Both kinds of model use one layout, written by `save_checkpoint()` and checked by
`load_checkpoint()`: a format tag under ``__format__`` (``"autograd_lite.nn/1"``,
``"autograd_lite.nielsen/1"``) and named arrays, none of them NaN or inf.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import stat
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.lib import format as npy_format

from autograd_lite.errors import CheckpointError

__all__ = [
    "MAX_BYTES",
    "NpzReader",
    "read_npz",
    "write_npz",
    "check_save_path",
    "refuse_non_finite",
    "FORMAT_KEY",
    "save_checkpoint",
    "load_checkpoint",
]

#: The member holding a checkpoint's format tag.
FORMAT_KEY = "__format__"

#: Largest total of array data a checkpoint may declare (2 GiB); ``max_bytes=`` raises it.
MAX_BYTES = 2**31

#: Deflate cannot shrink data more than ~1032 times; a zip entry claiming more is forged.
_MAX_DEFLATE_RATIO = 1100

_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


# -- writing ----------------------------------------------------------------------------------


def _target(path: str | os.PathLike[str]) -> Path:
    """The file a save to ``path`` writes: the end of its symbolic links, if any."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temp_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(re.escape(f".{target.name}.") + r"(\d+)\.[0-9a-f]{16}\.tmp")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _remove_stale_temps(target: Path) -> None:
    """Delete temporaries of saves to ``target`` whose process is gone (killed mid-save)."""
    pattern = _temp_pattern(target)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _pid_alive(int(match.group(1))):
            (target.parent / name).unlink(missing_ok=True)


def _open_temp(target: Path) -> tuple[int, Path]:
    """Create ``.<name>.<pid>.<random>.tmp`` beside ``target`` with mode 0666 less the umask."""
    tmp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    return os.open(tmp, flags, 0o666), tmp


def _checked_target(path: str | os.PathLike[str]) -> Path:
    target = _target(path)
    if not target.parent.is_dir():
        raise CheckpointError(
            f"{path}: cannot save here: the folder {target.parent} does not exist"
        )
    if target.exists() and not target.is_file():
        raise CheckpointError(f"{path}: cannot save here: it is a folder or a special file")
    return target


def check_save_path(path: str | os.PathLike[str]) -> Path:
    """Check, before any work, that `write_npz()` can write ``path``; returns the target.

    The folder must exist and accept a new file (a temporary file is created there and
    removed), and ``path`` must not be a folder or another non-regular file.

    Raises
    ------
    CheckpointError
        One line naming ``path`` and what is wrong with it.
    """
    target = _checked_target(path)
    try:
        fd, tmp = _open_temp(target)
    except OSError as error:
        raise CheckpointError(
            f"{path}: cannot save here: the folder {target.parent} is not writable "
            f"({error.strerror or error})"
        ) from None
    os.close(fd)
    tmp.unlink(missing_ok=True)
    return target


def refuse_non_finite(path: str | os.PathLike[str], arrays: dict[str, Any], rate: str) -> None:
    """Refuse to save a diverged model: raise if an array of ``arrays`` holds NaN or inf.

    Raises
    ------
    CheckpointError
        Naming ``path`` and the array, and suggesting a smaller learning rate ``rate``.
    """
    for key, value in arrays.items():
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            raise CheckpointError(
                f"{path}: not saved: '{key}' holds NaN or inf (training diverged; try a "
                f"smaller learning rate {rate})"
            )


def write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to an ``.npz`` file exactly at ``path``, atomically.

    The data goes to a temporary file beside the target that replaces it only once complete
    and flushed, so an interrupted save never leaves a truncated checkpoint; a temporary file
    left by a killed save to the same path is removed first. The mode follows the umask for a
    new file and is kept for an existing one; a symbolic link is followed (its target is
    written). Arrays are stored in C order. Returns ``path``.

    Raises
    ------
    CheckpointError
        If the folder is missing or not writable, or ``path`` is a folder; the message names
        ``path``, not the temporary file.
    """
    target = _checked_target(path)
    _remove_stale_temps(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    try:
        fd, tmp = _open_temp(target)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot save: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            c_ordered: dict[str, Any] = {k: np.asarray(v, order="C") for k, v in arrays.items()}
            np.savez(f, **c_ordered)
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CheckpointError(f"{path}: cannot save: {error.strerror or error}") from None
        raise
    return Path(path)


# -- reading ----------------------------------------------------------------------------------


class NpzReader:
    """An ``.npz`` file opened for checked reading; use it as a context manager.

    Opening checks the archive and its member names only; `header()` reads one member's
    ``.npy`` header (never its data) and `array()` its data, after checking the header
    against the expected shape and dtype kinds.

    Parameters
    ----------
    path : path-like
    allowed : callable, optional
        ``allowed(key) -> bool``; a member whose key it rejects is refused, undecompressed.
    max_bytes : int
        Cap on the array data all members together may declare (default `MAX_BYTES`).

    Raises
    ------
    CheckpointError
        One line naming the file (and the member): missing, not a regular file, a bare
        ``.npy``, not a zip, unsafe or duplicated member names, unexpected members.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        allowed: Callable[[str], bool] | None = None,
        *,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise CheckpointError(f"{self.path}: checkpoint file not found") from None
        except OSError as error:
            raise self._fail(error.strerror or str(error)) from None
        if not stat.S_ISREG(st.st_mode):
            raise CheckpointError(f"{self.path}: checkpoint path is not a regular file")
        self._file_size = st.st_size
        try:
            with open(self.path, "rb") as f:
                start = f.read(len(npy_format.MAGIC_PREFIX))
            if start == npy_format.MAGIC_PREFIX:
                raise self._fail("it holds a single .npy array, not an .npz archive")
            self._zip = zipfile.ZipFile(self.path)
        except CheckpointError:
            raise
        except Exception as error:  # BadZipFile, NotImplementedError (a zip version), OSError
            raise self._fail(error) from None
        try:
            self._members = self._check_members(allowed)
        except BaseException:
            self._zip.close()
            raise
        self._headers: dict[str, tuple[tuple[int, ...], np.dtype, int]] = {}
        self._declared = 0

    def _fail(self, why: Any, key: str | None = None) -> CheckpointError:
        why = " ".join(str(why).split()) or type(why).__name__
        where = f"member '{key}': " if key is not None else ""
        return CheckpointError(
            f"{self.path}: not a readable .npz checkpoint (corrupt or truncated): {where}{why}"
        )

    def _check_members(self, allowed: Callable[[str], bool] | None) -> dict[str, zipfile.ZipInfo]:
        members: dict[str, zipfile.ZipInfo] = {}
        unexpected: list[str] = []
        for info in self._zip.infolist():
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else name
            if not name.endswith(".npy") or not _KEY.fullmatch(key) or ".." in key:
                raise self._fail(f"unsafe or foreign member name {name!r} (expected <key>.npy)")
            if key in members:
                raise self._fail("the archive holds it twice", key)
            if allowed is not None and not allowed(key):
                unexpected.append(key)
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._fail(f"unsupported compression method {info.compress_type}", key)
            stored_limit = info.compress_size * (
                1 if info.compress_type == zipfile.ZIP_STORED else _MAX_DEFLATE_RATIO
            )
            if info.compress_size > self._file_size or info.file_size > stored_limit + 1024:
                raise self._fail(
                    f"the zip entry claims {info.file_size} bytes from {info.compress_size} "
                    "stored bytes, more than the file can hold (forged sizes or a zip bomb)",
                    key,
                )
            members[key] = info
        if unexpected:
            raise CheckpointError(f"{self.path}: unexpected keys {unexpected} (refused unread)")
        return members

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    @property
    def keys(self) -> list[str]:
        """The member keys (file names without ``.npy``), in archive order."""
        return list(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def _read_header(self, f: Any, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            return npy_format.read_array_header_1_0(f)
        if version == (2, 0):
            return npy_format.read_array_header_2_0(f)
        raise self._fail(f"unsupported .npy format version {version}", key)

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """``(shape, dtype)`` that member ``key`` declares, read without touching its data.

        Raises
        ------
        CheckpointError
            If the member is missing or its header is unreadable, declares an object,
            structured, non-native-byte-order or Fortran-order array, a size that is not
            exactly what the zip entry holds, or more data in all than ``max_bytes``.
        """
        if key not in self._headers:
            if key not in self._members:
                raise CheckpointError(f"{self.path}: member '{key}' missing")
            info = self._members[key]
            try:
                with self._zip.open(info) as f:
                    shape, fortran, dtype = self._read_header(f, key)
                    offset = f.tell()
            except CheckpointError:
                raise
            except Exception as error:  # zipfile, zlib, numpy's header parser
                raise self._fail(error, key) from None
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise self._fail(
                    f"dtype {dtype} is not plain numbers or text (it would need pickle, "
                    "allow_pickle, which loading never uses)",
                    key,
                )
            if dtype.kind not in "biufcSU":
                raise self._fail(f"dtype {dtype} is not numbers or text", key)
            if not dtype.isnative and dtype.byteorder != "|":
                raise self._fail(f"dtype {dtype.str} is not in this machine's byte order", key)
            if fortran:
                raise self._fail("Fortran-order array (checkpoints are written in C order)", key)
            if any(n < 0 for n in shape) or dtype.itemsize == 0:
                raise self._fail(f"impossible shape {shape} or dtype {dtype}", key)
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if offset + nbytes != info.file_size:
                raise self._fail(
                    f"header declares shape {shape} of {dtype} ({nbytes} bytes) but the member "
                    f"holds {info.file_size - offset} bytes of data",
                    key,
                )
            if self._declared + nbytes > self.max_bytes:
                raise self._fail(
                    f"shape {shape} of {dtype} takes the arrays past {self.max_bytes} bytes "
                    "(pass max_bytes= to allow more)",
                    key,
                )
            self._declared += nbytes
            self._headers[key] = (tuple(shape), dtype, offset)
        shape, dtype, _ = self._headers[key]
        return shape, dtype

    def array(
        self, key: str, shape: Sequence[int] | None = None, kinds: str | None = None
    ) -> np.ndarray:
        """Member ``key`` as a writable array, after its header is checked.

        Parameters
        ----------
        key : str
        shape : sequence of int, optional
            The shape it must have.
        kinds : str, optional
            The dtype kinds it may have, e.g. ``"f"`` (floating) or ``"iu"`` (integers).

        Raises
        ------
        CheckpointError
            As `header()`, or a shape or dtype other than expected, or data that is
            truncated, longer than declared, or fails the zip's CRC; ``MemoryError`` too.
        """
        have_shape, dtype = self.header(key)
        if shape is not None and have_shape != tuple(shape):
            raise CheckpointError(
                f"{self.path}: '{key}' has shape {have_shape}, expected {tuple(shape)}"
            )
        if kinds is not None and dtype.kind not in kinds:
            raise CheckpointError(f"{self.path}: '{key}' has dtype {dtype}, not of kind {kinds!r}")
        offset = self._headers[key][2]
        nbytes = self._members[key].file_size - offset
        try:
            buffer = bytearray(nbytes)
            with cast(io.BufferedIOBase, self._zip.open(self._members[key])) as f:
                f.read(offset)
                view = memoryview(buffer)
                filled = 0
                while filled < nbytes:
                    got = f.readinto(view[filled : filled + (1 << 20)])
                    if not got:
                        raise self._fail(f"data ends after {filled} of {nbytes} bytes", key)
                    filled += got
                if f.read(1):  # also where zipfile checks the CRC
                    raise self._fail(f"more data than the {nbytes} bytes declared", key)
        except CheckpointError:
            raise
        except MemoryError:
            raise self._fail(f"not enough memory for {nbytes} bytes", key) from None
        except Exception as error:  # zlib, CRC mismatch, I/O
            raise self._fail(error, key) from None
        return np.frombuffer(buffer, dtype=dtype).reshape(have_shape)


def read_npz(
    path: str | os.PathLike[str],
    allowed: Callable[[str], bool] | None = None,
    *,
    max_bytes: int = MAX_BYTES,
) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``, each checked as `NpzReader` does.

    All headers are read and checked before any data is.

    Raises
    ------
    CheckpointError
        With a one-line message naming the file (and the member), if it is missing, not a
        regular file, a bare ``.npy`` array, or not a safe, readable ``.npz``.
    """
    with NpzReader(path, allowed, max_bytes=max_bytes) as npz:
        for key in npz.keys:
            npz.header(key)
        return {key: npz.array(key) for key in npz.keys}


# -- the checkpoint layout --------------------------------------------------------------------

#: What `load_checkpoint()` expects: key -> (shape, dtype kinds such as ``"f"``).
Expected = Mapping[str, tuple[tuple[int, ...], str]]


def save_checkpoint(
    path: str | os.PathLike[str], tag: str, arrays: Mapping[str, Any], rate: str
) -> Path:
    """Write ``arrays`` and the format ``tag`` (under `FORMAT_KEY`) atomically to ``path``.

    Refused, nothing written, if an array holds NaN or inf (`refuse_non_finite()`, which
    suggests a smaller learning rate ``rate``); then `write_npz()`. Returns ``path``.
    """
    out = {FORMAT_KEY: np.array(tag), **{key: np.asarray(a) for key, a in arrays.items()}}
    refuse_non_finite(path, out, rate)
    return write_npz(path, out)


def load_checkpoint(
    path: str | os.PathLike[str],
    tag: str,
    expected: Expected | Callable[[NpzReader], Expected],
    *,
    allowed: Callable[[str], bool] | None = None,
    tag_keys: Sequence[str] = (FORMAT_KEY,),
    tag_required: bool = True,
) -> dict[str, np.ndarray]:
    """The arrays of a file written by `save_checkpoint()`, every one checked first.

    ``expected`` maps each key to read to its shape and dtype kinds; it may be a function of
    the open `NpzReader` for layouts that store their shapes (it may read small
    members). Members ``allowed`` rejects are refused unread; the tag (the first of
    ``tag_keys`` present) must be ``tag``; every expected member's header is checked before any
    array is read; floating arrays must be finite.

    Raises
    ------
    CheckpointError
        One line naming ``path`` and what is wrong (a ``CheckpointError`` raised by
        ``expected`` gets the path too).
    """
    path = Path(path)
    try:
        with NpzReader(path, allowed) as npz:
            key = next((k for k in tag_keys if k in npz), None)
            head = npz.header(key) if key is not None else None
            if (head is None and tag_required) or (
                head is not None
                and (head[0] != () or head[1].kind != "U" or head[1].itemsize > 400)
            ):
                raise CheckpointError(
                    f"not an {tag.split('/')[0]} checkpoint (no '{FORMAT_KEY}' = {tag!r} entry)"
                )
            want = expected(npz) if callable(expected) else expected
            for name, (shape, kinds) in want.items():  # every header before any array
                if name not in npz:
                    raise CheckpointError(f"entry '{name}' missing")
                have, dtype = npz.header(name)
                if have != tuple(shape):
                    raise CheckpointError(f"'{name}' has shape {have}, expected {tuple(shape)}")
                if dtype.kind not in kinds:
                    kind = "a floating dtype" if kinds == "f" else f"a dtype of kind {kinds!r}"
                    raise CheckpointError(f"'{name}' has dtype {dtype}, expected {kind}")
            if key is not None and str(npz.array(key)) != tag:
                raise CheckpointError(
                    f"not an {tag.split('/')[0]} checkpoint (no '{FORMAT_KEY}' = {tag!r} entry)"
                )
            arrays = {name: npz.array(name) for name in want}
        for name, a in arrays.items():
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                raise CheckpointError(f"'{name}' holds non-finite values (NaN or inf)")
        return arrays
    except CheckpointError as error:  # the same error (its subclass kept), named by the file
        if not str(error).startswith(str(path)):
            error.args = (f"{path}: {error}",)
        raise
