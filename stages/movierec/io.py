"""Files: atomic writes, stable JSON and npz output, digests, a lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy import sparse


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file, read in 1 MB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    """The process's umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    A crash, an exception or SIGKILL inside the block leaves the previous file (or none), never a
    half-written one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a new file gets 0644-ish
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: object) -> None:
    """Write ``data`` as stable, indented JSON (sorted keys, trailing newline), atomically."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_arrays(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Save arrays in ``np.savez`` format (``np.load`` reads them), atomically and byte-identical
    for identical input: ``np.savez`` stamps the current time into its zip entries, this writes
    fixed timestamps, so that reruns give the same file hash in ``dvc.lock``."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                             buffer.getvalue())


def save_sparse(path: str | os.PathLike, matrix: sparse.csr_matrix, **extra: np.ndarray) -> None:
    """Save a CSR matrix in ``scipy.sparse.save_npz`` format (:func:`save_arrays`), with
    ``extra`` arrays beside it (``load_npz`` ignores them; ``np.load`` reads them)."""
    matrix = sparse.csr_matrix(matrix)
    save_arrays(path, format=np.array(b"csr"), shape=np.array(matrix.shape), data=matrix.data,
                indices=matrix.indices, indptr=matrix.indptr, **extra)


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block: an existing directory (so no lock
    file is left beside what it guards) or a file (created if needed)."""
    path = Path(path)
    if path.is_dir():
        fd = os.open(path, os.O_RDONLY)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
