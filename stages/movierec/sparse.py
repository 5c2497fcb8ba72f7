"""Sparse building blocks: users x movies matrices from rating lists, top-k per row, row scaling,
row-wise dot products with sparse weights."""

from __future__ import annotations

import numpy as np
from scipy import sparse


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


def strongest_per_row(row: np.ndarray, col: np.ndarray, values: np.ndarray,
                      shape: tuple[int, int], k: int) -> sparse.csr_matrix:
    """Keep the ``k`` largest ``|values|`` of each row, off the diagonal; ties keep lower columns.

    Entries must be grouped by row with ascending columns (canonical CSR order).
    """
    keep = (row != col) & (values != 0)
    row, col, values = row[keep], col[keep], values[keep]
    per_row = np.bincount(row, minlength=shape[0])
    chosen = np.repeat(per_row <= k, per_row)  # short rows keep everything
    ends = np.cumsum(per_row)
    strength = np.abs(values)
    for r in np.flatnonzero(per_row > k):  # a loop over movies, not ratings
        start = ends[r] - per_row[r]
        segment = strength[start:ends[r]]
        kth = np.partition(segment, len(segment) - k)[len(segment) - k]
        above = segment > kth
        ties = np.flatnonzero(segment == kth)[: k - int(above.sum())]
        above[ties] = True
        chosen[start:ends[r]] = above
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row[chosen], minlength=shape[0]))])
    return sparse.csr_matrix((values[chosen], col[chosen], indptr), shape=shape)


def row_normalize(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Scale each row to sum 1 (rows of zeros stay zero)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ matrix


def row_dot(dense_by_user: np.ndarray, weights: np.ndarray | sparse.csr_matrix,
             user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
    """``dense_by_user[u] . weights[m]`` for each (u, m) query row.

    Each movie has few non-zero weights (its genres, its tokens): pass ``t`` adds the ``t``-th of
    them for the rows whose movie has more than ``t``, so the work is the query rows' non-zeros,
    not rows x columns.
    """
    weights = sparse.csr_matrix(weights)
    per_row = np.diff(weights.indptr)
    width = int(per_row.max(initial=0))
    # slot t of every movie, contiguous: each pass gathers from two short 1-d arrays
    columns = np.zeros((width, weights.shape[0]), dtype=np.int64)
    values = np.zeros((width, weights.shape[0]))
    movie = np.repeat(np.arange(weights.shape[0]), per_row)
    slot = np.arange(weights.nnz) - np.repeat(weights.indptr[:-1], per_row)
    columns[slot, movie], values[slot, movie] = weights.indices, weights.data
    flat, n_columns = dense_by_user.ravel(), dense_by_user.shape[1]
    out = np.zeros(len(user_idx))
    rows, base = slice(None), user_idx.astype(np.int64) * n_columns
    for t in range(width):
        if t:  # keep the rows whose movie has a slot t
            longer = np.flatnonzero(per_row.take(movie_idx) > t)
            rows = longer if t == 1 else rows[longer]
            movie_idx, base = movie_idx[longer], base[longer]
        out[rows] += values[t].take(movie_idx) * flat.take(base + columns[t].take(movie_idx))
    return out
