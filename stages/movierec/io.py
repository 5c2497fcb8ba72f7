"""Shared plumbing for the stage scripts: user-facing errors, atomic writes, JSON and npz output."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from scipy import sparse


class UserInputError(Exception):
    """Something the user controls (a file, a param, an argument) is wrong; the message says how."""


def file_digest(path: str | os.PathLike, algorithm: str) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file, read in 1 MB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def add_evaluation_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every evaluation stage takes: both splits, params, metrics file, plots folder."""
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--test", type=Path, required=True, help="test interactions (parquet)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--metrics-out", type=Path, required=True)
    parser.add_argument("--plots-dir", type=Path, required=True)


def run_main(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; turn a :class:`UserInputError` into one clear line and exit status 2."""
    try:
        main()
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


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


def save_sparse(path: str | os.PathLike, matrix: sparse.csr_matrix, **extra: np.ndarray) -> None:
    """Save a CSR matrix in ``scipy.sparse.save_npz`` format, byte-identical for identical input,
    with ``extra`` arrays beside it (``load_npz`` ignores them; ``np.load`` reads them).

    ``save_npz`` stamps the current time into its zip entries; this writes fixed timestamps instead
    so that reruns give the same file hash in ``dvc.lock``.
    """
    matrix = sparse.csr_matrix(matrix)
    arrays = {
        "format": np.array(b"csr"),
        "shape": np.array(matrix.shape),
        "data": matrix.data,
        "indices": matrix.indices,
        "indptr": matrix.indptr,
    } | extra
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                             buffer.getvalue())
