"""Sparse building blocks: users x movies matrices from rating lists, row scaling, reproducible
samples of rows."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from movierec.kernels import sample_rows


def by_user(user_idx: np.ndarray, movie_idx: np.ndarray, values: np.ndarray, n_users: int,
            n_movies: int) -> sparse.csr_matrix:
    """Users x movies CSR of ``values``; linear time when rows come grouped by user, as training
    ratings do (interactions are sorted by user and movie)."""
    if len(user_idx) and (np.diff(user_idx) < 0).any():
        order = np.argsort(user_idx, kind="stable")
        user_idx, movie_idx, values = user_idx[order], movie_idx[order], values[order]
    index_dtype = np.int32 if len(values) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    np.cumsum(np.bincount(user_idx, minlength=n_users), out=indptr[1:])
    return sparse.csr_matrix((values, movie_idx.astype(index_dtype, copy=False), indptr),
                             shape=(n_users, n_movies))


def row_normalize(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Scale each row to sum 1 (rows of zeros stay zero)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ matrix


def about_per_row(matrix: sparse.csr_matrix, about: int, seed: int) -> sparse.csr_matrix:
    """About ``about`` entries of each row (all of a shorter row; 0: the whole matrix).

    Entry ``(r, c)`` of a row with ``n`` entries is kept if a hash of ``(r, c, seed)``
    (:func:`movierec.kernels.sample_rows`) is below ``about / n``: an entry kept from a row is
    kept from any subset of that row holding it (the folds of a fit sample alike).
    """
    if about == 0:
        return matrix
    kept = sample_rows(matrix.indptr, matrix.indices, matrix.shape[1], about, seed)
    indptr = np.concatenate([[0], np.cumsum(kept)])[matrix.indptr]
    return sparse.csr_matrix((matrix.data[kept], matrix.indices[kept], indptr),
                             shape=matrix.shape)


def within_pairs(matrix: sparse.csr_matrix, max_pairs: int, seed: int) -> sparse.csr_matrix:
    """The matrix, or if its rows' pairs (the sum of their entries squared: the work of ``X'X``)
    exceed ``max_pairs`` (0: no limit), about the largest number of entries of each row that
    keeps them within it (:func:`about_per_row`): only the longest rows are sampled."""
    per_row = np.sort(np.diff(matrix.indptr)).astype(np.float64)
    if max_pairs == 0 or float(per_row @ per_row) <= max_pairs:
        return matrix
    caps = np.arange(1, int(per_row[-1]) + 1)
    shorter = np.searchsorted(per_row, caps)  # rows with fewer than each cap's entries
    below = np.concatenate([[0.0], np.cumsum(per_row ** 2)])
    pairs = below[shorter] + (len(per_row) - shorter) * caps.astype(np.float64) ** 2
    cap = caps[max(np.searchsorted(pairs, max_pairs, side="right") - 1, 0)]
    return about_per_row(matrix, int(cap), seed)
