"""Transcendental functions that give the same bits on every machine.

numpy picks SIMD kernels for ``log``, ``log1p``, ``exp`` and ``power`` by CPU (AVX-512 or not),
and their results differ in the last bit, which changes every hash in dvc.lock. These apply the
C library's scalar functions (Python's ``math``) once per distinct value: the inputs here are
counts, with few distinct values, so this costs a sort.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def _per_value(values: np.ndarray, function: Callable[[float], float]) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    distinct, inverse = np.unique(values, return_inverse=True)
    mapped = np.fromiter((function(float(value)) for value in distinct), dtype=float,
                         count=len(distinct))
    return mapped[inverse].reshape(values.shape)


def log1p(values: np.ndarray) -> np.ndarray:
    """``log(1 + values)``, elementwise."""
    return _per_value(values, math.log1p)


def log(values: np.ndarray) -> np.ndarray:
    """``log(values)``, elementwise."""
    return _per_value(values, math.log)


def log1p_float32(values: np.ndarray) -> np.ndarray:
    """``log(1 + values)`` for continuous values (too many distinct ones for :func:`log1p`),
    rounded to float32 precision: kernels that differ in the last bit of a float64 give the
    same float32 except within 2**-29 of a rounding boundary."""
    return np.log1p(np.asarray(values, dtype=float)).astype(np.float32).astype(float)


def exp(values: np.ndarray) -> np.ndarray:
    """``exp(values)``, elementwise."""
    return _per_value(values, math.exp)


def power(values: np.ndarray, exponent: float) -> np.ndarray:
    """``values ** exponent``, elementwise."""
    return _per_value(values, lambda value: math.pow(value, exponent))


def row_std(matrix: np.ndarray) -> np.ndarray:
    """The standard deviation of each row, its sums added in column order (``np.std`` adds with
    SIMD kernels chosen by CPU)."""
    matrix = np.asarray(matrix, dtype=float)
    n_rows, n_columns = matrix.shape
    row = np.repeat(np.arange(n_rows), n_columns)
    mean = np.bincount(row, matrix.ravel(), minlength=n_rows) / max(n_columns, 1)
    squares = (matrix - mean[:, None]) ** 2
    return np.sqrt(np.bincount(row, squares.ravel(), minlength=n_rows) / max(n_columns, 1))
