"""Sparse building blocks: users x movies matrices from rating lists, row scaling, row-wise dot
products with sparse weights, a reproducible sample of each row."""

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


def _unit_hash(keys: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per integer key (splitmix64: exact integer arithmetic, the
    same on every machine)."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def about_per_row(matrix: sparse.csr_matrix, about: int, seed: int) -> sparse.csr_matrix:
    """About ``about`` entries of each row (all of a shorter row; 0: the whole matrix).

    Entry ``(r, c)`` of a row with ``n`` entries is kept if a hash of ``(r, c, seed)`` is below
    ``about / n``: an entry kept from a row is kept from any subset of that row holding it (the
    folds of a fit sample alike).
    """
    if about == 0:
        return matrix
    per_row = np.diff(matrix.indptr)
    row = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), per_row)
    keys = row * np.int64(matrix.shape[1]) + matrix.indices
    share = about / np.maximum(per_row, 1)
    kept = _unit_hash(keys, seed) < share[row]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row[kept], minlength=matrix.shape[0]))])
    return sparse.csr_matrix((matrix.data[kept], matrix.indices[kept], indptr),
                             shape=matrix.shape)
