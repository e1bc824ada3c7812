"""Saved models as ``.npz`` files: written atomically, read without pickle, errors that name the
file. :mod:`autograd_lite.nn` and :mod:`autograd_lite.nielsen` both store their parameters here;
each checks the contents against its own model.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from autograd_lite.errors import CheckpointError

__all__ = ["write_npz", "read_npz"]


def write_npz(path: str | os.PathLike[str], arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to an ``.npz`` file exactly at ``path``, atomically.

    The data goes to a temporary file beside ``path`` that replaces it only once complete, so
    an interrupted save never leaves a truncated checkpoint. Returns the path written.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file at ``path``, read with ``allow_pickle=False``.

    Raises
    ------
    CheckpointError
        With a one-line message naming the file, if it is missing, not a regular file, a bare
        ``.npy`` array, or not a readable ``.npz`` (corrupt, truncated, or needing pickle).
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint path is not a regular file")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with npz:
            return {key: npz[key] for key in npz.files}
    except MemoryError:
        raise
    except Exception as error:  # zipfile, zlib, numpy's header parser: any failure to parse
        why = " ".join(str(error).split()) or type(error).__name__
        raise CheckpointError(
            f"{path}: not a readable .npz checkpoint (corrupt or truncated): {why}"
        ) from None
