"""Compiled kernels (numba) for the loops over sparse rating structures that numpy and scipy do
poorly: each movie's most similar movies without the movies x movies product
(:func:`fits_top_k_pairs`, several fits in one pass; :func:`top_k_co_ratings` for counts of
co-ratings), the item model's Gram matrix (:func:`pair_counts`), a user's residuals on a movie's
neighbours (:func:`neighbor_sums`, :func:`neighbor_rows`), affinities without a users x tokens
matrix (:func:`affinities`, :func:`affinity_rows`), every fit's biases and residuals in one pass
over the ratings (:func:`fold_sums`, :func:`fold_residuals`, :func:`fold_square_sums`), a
reproducible sample of rows (:func:`sample_rows`), a sparse x float32 product in float64
(:func:`sparse_dense`).

Each kernel runs on one thread and releases the GIL, so callers run independent fits in threads
(the similarity pass splits its movie rows over the cores that way itself). Sums run in a fixed
order (no fast-math), so the results are the same on every machine; the tests compare them with
a pure numpy/scipy reference.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from scipy import sparse

BLOCK_MOVIES = 16384  # the similarity pass sums each movie row over blocks of this many movies
#                       (1.8 MB of sums for six fits: in cache; measured at ml-latest scale)
BLOCK_COUNTS = 65536  # ...and counts co-ratings over blocks of this many (256 KB of counts)


def kernel_csr(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """``matrix`` as CSR in the kernels' types (int64 index arrays, float64 values), for a matrix
    that many kernel calls read: :func:`_csr_arrays` then passes its arrays without copying."""
    converted = sparse.csr_matrix(matrix).astype(float)  # a copy: the caller's stays
    converted.indptr = converted.indptr.astype(np.int64)  # set directly: scipy's constructor
    converted.indices = converted.indices.astype(np.int64)  # would narrow them to int32
    return converted


def _csr_arrays(matrix: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CSR matrix's index pointers, indices (int64) and values (float64), as kernels take them
    (copied only if they are of other types)."""
    matrix = sparse.csr_matrix(matrix)
    return (matrix.indptr.astype(np.int64, copy=False),
            matrix.indices.astype(np.int64, copy=False), matrix.data.astype(float, copy=False))


@numba.njit(nogil=True, cache=True)
def _keep_best(strength, column, value, size, k, ties):
    """Cut ``size`` candidates back to the ``k`` best in place (stronger, or as strong with a
    lower column); the weakest strength kept."""
    weakest = np.partition(strength[:size], size - k)[size - k]
    n_ties = stronger = 0
    for t in range(size):
        if strength[t] == weakest:
            ties[n_ties] = column[t]
            n_ties += 1
        stronger += strength[t] > weakest
    cut = np.sort(ties[:n_ties])[k - stronger - 1]  # the highest column of a kept tie
    at = 0
    for t in range(size):
        if strength[t] > weakest or (strength[t] == weakest and column[t] <= cut):
            strength[at], column[at], value[at] = strength[t], column[t], value[t]
            at += 1
    return weakest


@numba.njit(nogil=True, cache=True)
def _rooms(n_fits, k):
    """Per fit: a room of candidates for its ``k`` best (strengths, columns, values), cut back
    to the ``k`` best whenever full; the cut's tie buffer; each room's fill; each fit's k-th
    best so far (a weaker candidate is not kept)."""
    room = 4 * max(k, 16)
    return (np.empty((n_fits, room)), np.empty((n_fits, room), dtype=np.int64),
            np.empty((n_fits, room)), np.empty(room, dtype=np.int64),
            np.zeros(n_fits, dtype=np.int64), np.empty(n_fits))


@numba.njit(nogil=True, cache=True)
def _cut(kept_strength, kept_column, kept_value, fill, weakest, f, k, ties):
    """Cut fit ``f``'s full room back to its ``k`` best; its k-th best, ``weakest[f]``, moves up.

    The kernels put each candidate in the next place of the room, then count it (advance the
    fill) only if it is non-zero and at least as strong as ``weakest[f]``: no branch to
    mispredict per candidate (written out in each kernel: a call per candidate cost more than
    the pass's sums)."""
    weakest[f] = _keep_best(kept_strength[f], kept_column[f], kept_value[f], fill[f], k, ties)
    fill[f] = k


@numba.njit(nogil=True, cache=True)
def _emit_row(row, kept_strength, kept_column, kept_value, fill, k, ties, out_col, out_val,
              out_len):
    """Each fit's ``k`` best of a finished movie row into its output row, ascending columns
    (canonical CSR order)."""
    for f in range(len(fill)):
        size = min(fill[f], k)
        if fill[f] > k:
            _keep_best(kept_strength[f], kept_column[f], kept_value[f], fill[f], k, ties)
        order = np.argsort(kept_column[f, :size])
        for t in range(size):
            out_col[f, row, t] = kept_column[f, order[t]]
            out_val[f, row, t] = kept_value[f, order[t]]
        out_len[f, row] = size


@numba.njit(nogil=True, cache=True)
def _top_k_pairs(fits, user_ptr, user_movies, values, skip, movie_ptr, movie_users,
                 movie_entry, label, row_scale, column_scale, row_gain, column_gain, shrinkage, k,
                 block, first, step, out_col, out_val, out_len):
    # ``fits``: a tuple of one 0 per fit, so that the kernel is compiled for each number of fits
    # and its loops over them have a known length (about 5% of the pass at full scale)
    n_fits = len(fits)
    n_movies = len(movie_ptr) - 1
    # per movie j of a block of the movies: the dot product with i in each fit; the co-ratings
    # that each fit skips (after a slot for the entries no fit skips); all co-ratings
    block = max(min(block, n_movies), 1)
    sums = np.zeros((block, 2 * n_fits + 2))
    touched = np.empty(block + 1, dtype=np.int64)
    # per user of movie i: their next movie (each block takes the users' movies in it)
    cursor = np.empty(np.max(movie_ptr[1:] - movie_ptr[:-1]) if n_movies else 0, dtype=np.int64)
    kept_strength, kept_column, kept_value, ties, fill, weakest = _rooms(n_fits, k)
    room, scored = kept_strength.shape[1], np.empty(n_fits)
    for i in range(first, n_movies, step):
        for t in range(movie_ptr[i + 1] - movie_ptr[i]):
            cursor[t] = user_ptr[movie_users[movie_ptr[i] + t]]
        fill[:] = 0
        weakest[:] = -1.0
        least = -1.0  # the weakest of all fits' k-th best
        for start in range(0, n_movies, block):  # a block's sums stay in cache
            stop = start + block
            n_touched = 0
            for t in range(movie_ptr[i + 1] - movie_ptr[i]):
                a = movie_ptr[i] + t
                user, entry_a = movie_users[a], movie_entry[a]
                skip_a = n_fits + 1 + skip[entry_a]
                value_a = values[entry_a]
                b, end = cursor[t], user_ptr[user + 1]
                while b < end and user_movies[b] < stop:
                    j = user_movies[b] - start
                    line, value_b = sums[j], values[b]
                    touched[n_touched] = j  # branch-free: kept only on the first touch of j
                    n_touched += line[2 * n_fits + 1] == 0.0
                    for f in range(n_fits):  # 0 where a fit skips either entry: adds exactly 0
                        line[f] += value_a[f] * value_b[f]
                    skip_b = n_fits + 1 + skip[b]
                    line[skip_a] += 1.0
                    line[skip_b] += skip_b != skip_a
                    line[2 * n_fits + 1] += 1.0
                    b += 1
                cursor[t] = b
            for t in range(n_touched if k > 0 else 0):
                line = sums[touched[t]]
                j = touched[t] + start
                if j == i:
                    continue
                total = line[2 * n_fits + 1]
                # every fit's |score| is at most the co-ratings times the largest |values| of i and
                # j over its scales (shrunk): below every fit's k-th best, j is kept by none
                bound = total * row_gain[i] * column_gain[j]
                if shrinkage >= 0:
                    bound = bound * total / (total + shrinkage)
                if bound < least:
                    continue  # (the common case)
                for f in range(n_fits):  # every fit's score first (no branches), then offers
                    denominator = row_scale[i, f] * column_scale[j, f]
                    similarity = line[f] / denominator if denominator > 0 else 0.0
                    if shrinkage >= 0:
                        count = total - line[n_fits + 1 + f]
                        similarity = similarity * count / (count + shrinkage)
                    scored[f] = similarity
                for f in range(n_fits):
                    similarity = scored[f]
                    strength = abs(similarity)
                    at = fill[f]
                    kept_strength[f, at] = strength
                    kept_column[f, at] = label[j]
                    kept_value[f, at] = similarity
                    at += (similarity != 0) & (strength >= weakest[f])
                    fill[f] = at
                    if at == room:
                        _cut(kept_strength, kept_column, kept_value, fill, weakest, f, k, ties)
                        least = weakest.min()
            for t in range(n_touched):
                sums[touched[t]] = 0.0
        _emit_row(label[i], kept_strength, kept_column, kept_value, fill, k, ties, out_col,
                  out_val, out_len)


@numba.njit(nogil=True, cache=True)
def _permute_rows(rows, order):
    """``rows[:] = rows[order]`` in place, following the permutation's cycles."""
    done = np.zeros(len(order), dtype=np.bool_)
    saved = np.empty(rows.shape[1])
    for start in range(len(order)):
        if done[start]:
            continue
        saved[:] = rows[start]
        at = start
        while True:
            done[at] = True
            source = order[at]
            if source == start:
                rows[at] = saved
                break
            rows[at] = rows[source]
            at = source


@numba.njit(nogil=True, cache=True)
def _skipped_and_largest(order, skip_in, user_movies, values, skip, largest):
    """In one pass over the laid-out entries: each one's skipped fit (``skip_in[order]``), 0
    where its fit skips it (it adds exactly 0 to that fit's products), and each movie's largest
    ``|value|`` in any fit."""
    for e in range(len(order)):
        skip[e] = skip_in[order[e]]
        line = values[e]
        if 0 <= skip[e] < len(line):
            line[skip[e]] = 0.0
        movie = user_movies[e]
        for f in range(len(line)):
            largest[movie] = max(largest[movie], abs(line[f]))


def fits_top_k_pairs(pattern: sparse.csr_matrix, values: np.ndarray, skip: np.ndarray,
                     row_scale: np.ndarray, column_scale: np.ndarray, shrinkage: float,
                     k: int, overwrite_values: bool = False) -> list[sparse.csr_matrix]:
    """Each movie's ``k`` strongest pair scores in each of several fits over one users x movies
    ``pattern``, off the diagonal and non-zero, as movies x movies (ties keep the lower columns).

    Fit ``f`` is the matrix ``X`` of the entries ``e`` with ``skip[e] != f``, valued
    ``values[e, f]`` (entries x fits); its score of movies ``(i, j)`` is
    ``(X'X)_ij / (row_scale_i column_scale_j)`` with column ``f`` of ``row_scale`` and
    ``column_scale`` (movies x fits), times ``c / (c + shrinkage)`` for the ``c`` users who have
    both if ``shrinkage >= 0``. Each fit's result is what a pass of its own would give, to the
    last bit (each sum adds the same terms in the same order, a skipped entry adding 0). The
    pass costs the sum over users of their movies squared, once for all fits (out-of-fold
    similarities: fit ``f`` leaves out fold ``f``). Each movie row is summed over blocks of
    ``BLOCK_MOVIES`` movies, whose sums stay in cache (the movies are relabelled by popularity
    first, so the first blocks hold the most touched movies). Each fit keeps a movie row's
    candidates in a small room cut back to its ``k`` best when full, and a candidate whose bound
    (co-ratings times the largest ``|values|`` of both movies over their smallest scales) is
    below every fit's ``k``-th best so far is not scored at all. It runs on all cores, each
    taking every n-th movie. ``overwrite_values`` (float64, C-ordered ``values`` only) reorders
    and zeroes ``values`` in place instead of in a copy (0.87 GB less at full scale).
    """
    pattern = sparse.csr_matrix(pattern)
    n_movies, n_fits = pattern.shape[1], values.shape[1]
    layout = _Layout.of(pattern)
    if overwrite_values:
        if values.dtype != np.float64 or not values.flags.c_contiguous:
            raise ValueError(f"overwrite_values needs C-ordered float64 values, not "
                             f"{values.dtype} {'C' if values.flags.c_contiguous else 'strided'}")
        _permute_rows(values, layout.order)
    else:
        values = np.asarray(values, dtype=float)[layout.order]  # a copy, C-ordered
    skip_in, skip = np.asarray(skip, dtype=np.int64), np.empty(len(layout.order), dtype=np.int64)
    largest = np.zeros(n_movies)  # each movie's largest |value| in any fit
    _skipped_and_largest(layout.order, skip_in, layout.user_movies, values, skip, largest)
    row_scale = np.ascontiguousarray(np.asarray(row_scale, dtype=float)[layout.label])
    column_scale = np.ascontiguousarray(np.asarray(column_scale, dtype=float)[layout.label])
    with np.errstate(divide="ignore", invalid="ignore"):  # (a 0 scale: no bound, inf or nan)
        gains = [largest / scale.min(axis=1, initial=np.inf) * (1 + 1e-9)  # (past rounding)
                 for scale in (row_scale, column_scale)]
    return layout.run(_top_k_pairs, n_fits, k, BLOCK_MOVIES, (
        (0,) * n_fits, layout.user_ptr, layout.user_movies, values, skip, layout.movie_ptr,
        layout.movie_users, layout.by_movie, layout.label, row_scale, column_scale, *gains,
        float(shrinkage)))


def top_k_co_ratings(by_user: sparse.csr_matrix, row_scale: np.ndarray,
                     column_scale: np.ndarray, k: int) -> sparse.csr_matrix:
    """Each movie's ``k`` strongest co-rating scores, ``co-ratings / (row_scale_i
    column_scale_j)`` over the pattern of users x movies ``by_user`` (its values are ignored):
    what :func:`fits_top_k_pairs` gives for one fit of ones without shrinkage, to the last bit,
    from a pass that counts co-ratings in 4-byte integers and reads no values."""
    layout = _Layout.of(sparse.csr_matrix(by_user))
    return layout.run(_top_k_counts, 1, k, BLOCK_COUNTS, (
        layout.user_ptr, layout.user_movies.astype(np.int32), layout.movie_ptr,
        layout.movie_users, layout.label,
        np.asarray(row_scale, dtype=float)[layout.label],
        np.asarray(column_scale, dtype=float)[layout.label]))[0]


@numba.njit(nogil=True, cache=True)
def _rows_by_label(indptr, indices, relabel, first, step, order, user_movies):
    """For every ``step``-th user from ``first``: their entries by relabelled movie (``order``:
    positions in the pattern; ``user_movies``: the relabelled movies), ties in pattern order."""
    for user in range(first, len(indptr) - 1, step):
        start, end = indptr[user], indptr[user + 1]
        keys = relabel[indices[start:end]]
        by_key = np.argsort(keys, kind="mergesort")  # stable
        for t in range(end - start):
            order[start + t] = start + by_key[t]
            user_movies[start + t] = keys[by_key[t]]


@numba.njit(nogil=True, cache=True)
def _by_movie(indptr, user_movies, movie_ptr, by_movie, movie_users):
    """A counting sort of the entries by movie, users ascending within a movie: ``movie_ptr``
    (zeros in, CSC pointers out), ``by_movie`` (the entries), ``movie_users`` (their users)."""
    for e in range(len(user_movies)):
        movie_ptr[user_movies[e] + 1] += 1
    for movie in range(len(movie_ptr) - 1):
        movie_ptr[movie + 1] += movie_ptr[movie]
    cursor = movie_ptr[:-1].copy()
    for user in range(len(indptr) - 1):
        for e in range(indptr[user], indptr[user + 1]):
            at = cursor[user_movies[e]]
            cursor[user_movies[e]] = at + 1
            by_movie[at] = e
            movie_users[at] = user


@numba.njit(nogil=True, cache=True)
def _fold_sums(keys, ratings, fold, shift, table_keys, table, sums, counts):
    for r in range(len(keys)):
        key, row_fold, rating = keys[r], fold[r], ratings[r]
        for f in range(sums.shape[1]):
            if row_fold != f:
                sums[key, f] += (rating - shift[f]) - table[table_keys[r], f]
                counts[key, f] += 1.0


def fold_sums(keys: np.ndarray, n_keys: int, ratings: np.ndarray, fold: np.ndarray,
              shift: np.ndarray, table_keys: np.ndarray | None = None,
              table: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per key and fit ``f`` (keys x fits): the sum of ``ratings - shift[f] - table[table_keys,
    f]`` over the rows with ``fold != f``, and their count; what ``np.bincount`` gives each fit's
    rows, to the last bit (rows added in order), from one pass over all rows for all fits."""
    n_fits = len(shift)
    if table is None:
        table_keys, table = np.zeros(len(keys), dtype=np.int64), np.zeros((1, n_fits))
    sums, counts = np.zeros((n_keys, n_fits)), np.zeros((n_keys, n_fits))
    _fold_sums(np.asarray(keys, dtype=np.int64), np.asarray(ratings, dtype=float), fold,
               np.asarray(shift, dtype=float), np.asarray(table_keys, dtype=np.int64),
               np.ascontiguousarray(table, dtype=float), sums, counts)
    return sums, counts


@numba.njit(nogil=True, cache=True)
def _fold_residuals(rows, user_idx, movie_idx, ratings, fold, shift, movie_bias, user_bias, out):
    for e in range(len(rows)):
        r = rows[e]
        for f in range(out.shape[1]):
            if fold[r] != f:
                out[e, f] = (((ratings[r] - shift[f]) - movie_bias[movie_idx[r], f])
                             - user_bias[user_idx[r], f])


def fold_residuals(rows: np.ndarray, user_idx: np.ndarray, movie_idx: np.ndarray,
                   ratings: np.ndarray, fold: np.ndarray, shift: np.ndarray,
                   movie_bias: np.ndarray, user_bias: np.ndarray) -> np.ndarray:
    """Residual of each of the ratings ``rows`` in each fit ``f`` (rows x fits): its rating minus
    ``shift[f]``, its movie's and its user's bias in that fit; 0 in the fit that leaves its fold
    out."""
    out = np.zeros((len(rows), len(shift)))
    _fold_residuals(np.asarray(rows, dtype=np.int64), np.asarray(user_idx, dtype=np.int64),
                    np.asarray(movie_idx, dtype=np.int64), np.asarray(ratings, dtype=float), fold,
                    np.asarray(shift, dtype=float), np.ascontiguousarray(movie_bias),
                    np.ascontiguousarray(user_bias), out)
    return out


@numba.njit(nogil=True, cache=True)
def _fold_square_sums(keys, values, skip, out):
    for e in range(len(keys)):
        for f in range(values.shape[1]):
            if skip[e] != f:
                out[keys[e], f] += values[e, f] * values[e, f]


def fold_square_sums(keys: np.ndarray, n_keys: int, values: np.ndarray,
                     skip: np.ndarray) -> np.ndarray:
    """Per key and fit ``f`` (keys x fits): the sum of ``values[e, f]`` squared over the entries
    ``e`` with ``skip[e] != f``, as ``np.bincount`` of each fit's entries gives it."""
    out = np.zeros((n_keys, values.shape[1]))
    _fold_square_sums(np.asarray(keys, dtype=np.int64), values, np.asarray(skip, dtype=np.int64),
                      out)
    return out


@dataclass(frozen=True)
class _Layout:
    """A users x movies pattern as the pair kernels read it: the movies relabelled by popularity
    (``label``: new position -> movie), the entries in CSR order of the relabelled pattern
    (``order``: their positions in the pattern's), and by movie, users ascending (``by_movie``:
    entries in that order; ``movie_ptr``, ``movie_users``)."""

    user_ptr: np.ndarray
    user_movies: np.ndarray
    order: np.ndarray
    movie_ptr: np.ndarray
    movie_users: np.ndarray
    by_movie: np.ndarray
    label: np.ndarray

    @classmethod
    def of(cls, pattern: sparse.csr_matrix) -> _Layout:
        """The layout of a CSR ``pattern``: each user's entries sorted by relabelled movie, the
        users split over the cores (the order of a stable sort by user, then movie), then one
        counting sort by movie (0.9 s against 3.6 s for three global counting sorts and their
        gathers on the full-scale co-rating pattern of 17.96M entries; the same arrays)."""
        n_movies = pattern.shape[1]
        counts = np.bincount(pattern.indices, minlength=n_movies)
        label = np.lexsort((np.arange(n_movies), -counts))
        relabel = np.empty(n_movies, dtype=np.int64)
        relabel[label] = np.arange(n_movies)
        user_ptr = pattern.indptr.astype(np.int64)
        n_entries = len(pattern.indices)
        order, user_movies = (np.empty(n_entries, dtype=np.int64) for _ in range(2))
        step = max(min(os.cpu_count() or 1, pattern.shape[0]), 1)
        with ThreadPoolExecutor(max_workers=step) as pool:
            list(pool.map(lambda first: _rows_by_label(user_ptr, pattern.indices, relabel, first,
                                                       step, order, user_movies), range(step)))
        movie_ptr = np.zeros(n_movies + 1, dtype=np.int64)
        by_movie, movie_users = (np.empty(n_entries, dtype=np.int64) for _ in range(2))
        _by_movie(user_ptr, user_movies, movie_ptr, by_movie, movie_users)
        return cls(user_ptr, user_movies, order, movie_ptr, movie_users, by_movie, label)

    def run(self, kernel, n_fits: int, k: int, block: int,
            arguments: tuple) -> list[sparse.csr_matrix]:
        """Each fit's ``k`` best per movie row from ``kernel`` (summing over blocks of ``block``
        movies) on all cores (each taking every n-th movie row: disjoint rows; the kernels are
        nogil), as movies x movies CSR."""
        n_movies = len(self.label)
        width = max(min(k, n_movies), 0)
        out_col = np.zeros((n_fits, n_movies, width), dtype=np.int32)  # (CSR's index type)
        out_val = np.zeros((n_fits, n_movies, width))
        out_len = np.zeros((n_fits, n_movies), dtype=np.int64)
        step = max(min(os.cpu_count() or 1, n_movies), 1)
        with ThreadPoolExecutor(max_workers=step) as pool:
            list(pool.map(lambda first: kernel(*arguments, width, block, first, step, out_col,
                                               out_val, out_len), range(step)))
        keep = np.arange(width)[None, None, :] < out_len[:, :, None]
        results = []
        for f in range(n_fits):
            indptr = np.concatenate([[0], np.cumsum(out_len[f])])
            results.append(sparse.csr_matrix((out_val[f][keep[f]], out_col[f][keep[f]], indptr),
                                             shape=(n_movies, n_movies)))
        return results


@numba.njit(nogil=True, cache=True)
def _top_k_counts(user_ptr, user_movies, movie_ptr, movie_users, label, row_scale, column_scale,
                  k, block, first, step, out_col, out_val, out_len):
    """:func:`_top_k_pairs` of one fit whose values are all 1 and no shrinkage: each pair's
    co-ratings counted in a block of integers."""
    n_movies = len(movie_ptr) - 1
    block = max(min(block, n_movies), 1)
    counts = np.zeros(block, dtype=np.int32)
    touched = np.empty(block + 1, dtype=np.int64)
    cursor = np.empty(np.max(movie_ptr[1:] - movie_ptr[:-1]) if n_movies else 0, dtype=np.int64)
    kept_strength, kept_column, kept_value, ties, fill, weakest = _rooms(1, k)
    room = kept_strength.shape[1]
    for i in range(first, n_movies, step):
        for t in range(movie_ptr[i + 1] - movie_ptr[i]):
            cursor[t] = user_ptr[movie_users[movie_ptr[i] + t]]
        fill[0] = 0
        weakest[0] = -1.0
        for start in range(0, n_movies, block):
            stop = start + block
            n_touched = 0
            for t in range(movie_ptr[i + 1] - movie_ptr[i]):
                b, end = cursor[t], user_ptr[movie_users[movie_ptr[i] + t] + 1]
                while b < end and user_movies[b] < stop:
                    j = user_movies[b] - start
                    touched[n_touched] = j  # kept only on the first touch of j
                    n_touched += counts[j] == 0
                    counts[j] += 1
                    b += 1
                cursor[t] = b
            for t in range(n_touched if k > 0 else 0):
                j = touched[t] + start
                if j == i:
                    continue
                denominator = row_scale[i] * column_scale[j]
                similarity = counts[touched[t]] / denominator if denominator > 0 else 0.0
                strength = abs(similarity)
                at = fill[0]
                kept_strength[0, at] = strength
                kept_column[0, at] = label[j]
                kept_value[0, at] = similarity
                at += (similarity != 0) & (strength >= weakest[0])
                fill[0] = at
                if at == room:
                    _cut(kept_strength, kept_column, kept_value, fill, weakest, 0, k, ties)
            for t in range(n_touched):
                counts[touched[t]] = 0
        _emit_row(label[i], kept_strength, kept_column, kept_value, fill, k, ties, out_col,
                  out_val, out_len)


@numba.njit(nogil=True, cache=True)
def _neighbor_sums(evidence_ptr, evidence_movies, evidence_values, neighbor_ptr, neighbor_movies,
                   neighbor_weights, user_idx, movie_idx, n_movies, numerator, support):
    value = np.zeros(n_movies)
    owner = np.full(n_movies, -1, dtype=np.int64)
    current = -1
    for q in range(len(user_idx)):
        user = user_idx[q]
        if user != current:  # scatter the user's evidence once per run of their rows
            for b in range(evidence_ptr[user], evidence_ptr[user + 1]):
                owner[evidence_movies[b]] = user
                value[evidence_movies[b]] = evidence_values[b]
            current = user
        total = 0.0
        mass = 0.0
        movie = movie_idx[q]
        for c in range(neighbor_ptr[movie], neighbor_ptr[movie + 1]):
            j = neighbor_movies[c]
            if owner[j] == user:
                weight = neighbor_weights[c]
                total += weight * value[j]
                mass += abs(weight)
        numerator[q] = total
        support[q] = mass


def neighbor_sums(evidence: sparse.csr_matrix, neighbors: sparse.csr_matrix,
                  user_idx: np.ndarray, movie_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (user, movie) query: the sum of ``neighbors[movie, j] * evidence[user, j]`` over
    the movies ``j`` the user has evidence for, and the sum of those weights' absolute values.
    Fastest with the queries grouped by user."""
    evidence = sparse.csr_matrix(evidence).sorted_indices()  # a copy: the caller's stays
    numerator, support = np.zeros(len(user_idx)), np.zeros(len(user_idx))
    _neighbor_sums(*_csr_arrays(evidence), *_csr_arrays(neighbors),
                   np.asarray(user_idx, dtype=np.int64), np.asarray(movie_idx, dtype=np.int64),
                   evidence.shape[1], numerator, support)
    return numerator, support


@numba.njit(nogil=True, cache=True)
def _neighbor_rows(evidence_ptr, evidence_movies, evidence_values, of_ptr, of_movies, of_weights,
                   rows, column_of, numerator, support):
    for r in range(len(rows)):
        for b in range(evidence_ptr[rows[r]], evidence_ptr[rows[r] + 1]):
            j, value = evidence_movies[b], evidence_values[b]
            for c in range(of_ptr[j], of_ptr[j + 1]):  # the movies j is a neighbour of
                column = column_of[of_movies[c]]
                if column >= 0:
                    numerator[r, column] += of_weights[c] * value
                    support[r, column] += abs(of_weights[c])


def neighbor_rows(evidence: sparse.csr_matrix, neighbor_of: sparse.csr_matrix,
                  rows: np.ndarray, movies: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`neighbor_sums` of every movie (or of the movies ``movies``: columns) for the
    users ``rows`` (rows x movies), from the transposed neighbours (``neighbor_of[j, m]``: movie
    ``j``'s weight as a neighbour of ``m``): the work is the users' evidence times their movies'
    reach, not the whole neighbour matrix. Each sum adds its terms by ascending ``j``, as the
    scipy product ``S @ E.T`` does."""
    evidence = sparse.csr_matrix(evidence).sorted_indices()
    column_of = _column_of(movies, neighbor_of.shape[1])
    width = neighbor_of.shape[1] if movies is None else len(movies)
    numerator, support = np.zeros((len(rows), width)), np.zeros((len(rows), width))
    _neighbor_rows(*_csr_arrays(evidence), *_csr_arrays(neighbor_of),
                   np.asarray(rows, dtype=np.int64), column_of, numerator, support)
    return numerator, support


def _column_of(movies: np.ndarray | None, n_movies: int) -> np.ndarray:
    """Each movie's column among ``movies`` (all, if None), -1 for the others."""
    if movies is None:
        return np.arange(n_movies, dtype=np.int64)
    column_of = np.full(n_movies, -1, dtype=np.int64)
    column_of[movies] = np.arange(len(movies))
    return column_of


@numba.njit(nogil=True, cache=True)
def _pair_counts(user_ptr, user_columns, column_ptr, column_users, user_weights, counts):
    n_columns = len(column_ptr) - 1
    n_sums = len(user_weights)
    next_entry = user_ptr[:-1].copy()  # per user: its entry of the current column
    for i in range(n_columns):  # row i of the upper triangle, accumulated in place (in cache)
        rows = counts[:, i]
        for a in range(column_ptr[i], column_ptr[i + 1]):
            user = column_users[a]
            for b in range(next_entry[user], user_ptr[user + 1]):
                column = user_columns[b]
                for s in range(n_sums):
                    rows[s, column] += user_weights[s, user]
            next_entry[user] += 1


def pair_counts(by_user: sparse.csr_matrix, user_weights: np.ndarray | None = None) -> np.ndarray:
    """``X'X`` of the binary users x columns ``by_user`` as a dense matrix: how many users have
    each pair of columns (exact integers, as floats), without the sparse product's intermediate.
    With ``user_weights`` (sums x users), also ``X' diag(w) X`` for each row ``w``, in the same
    pass: a stack of 1 + sums matrices, the counts first. Each sum adds its users in a fixed order
    (by ascending user), so it is the same bits on every machine. Row ``i`` of the upper triangle
    is summed in place, from each of its users' columns from ``i`` on."""
    by_user = sparse.csr_matrix((np.ones(by_user.nnz), by_user.indices.copy(),
                                 by_user.indptr.copy()), shape=by_user.shape)
    by_user.sort_indices()  # in place: on copies, not the caller's arrays
    by_column = by_user.T.tocsr()
    n = by_user.shape[1]
    weights = np.ones((1, by_user.shape[0]))
    if user_weights is not None:
        weights = np.vstack([weights, np.asarray(user_weights, dtype=np.float64)])
    counts = np.zeros((len(weights), n, n))
    _pair_counts(*_csr_arrays(by_user)[:2], *_csr_arrays(by_column)[:2], weights, counts)
    for upper in counts:  # the lower triangle mirrors the upper one, in place
        diagonal = np.diag(upper).copy()
        upper += upper.T
        upper[np.diag_indices(n)] = diagonal
    return counts[0] if user_weights is None else counts


@numba.njit(nogil=True, cache=True)
def _gather_user(user, evidence_ptr, evidence_movies, evidence_values, token_ptr, token_columns,
                 token_values, sums, weights, touched, n_touched):
    """Add the user's evidence to ``sums`` (residual x token weight) and ``weights`` (token
    weight), token by token, in CSR order; each token touched for the first time (its weight
    still 0: token weights are positive) is listed in ``touched``. The new length of the
    list."""
    for b in range(evidence_ptr[user], evidence_ptr[user + 1]):
        movie, residual = evidence_movies[b], evidence_values[b]
        for c in range(token_ptr[movie], token_ptr[movie + 1]):
            t = token_columns[c]
            touched[n_touched] = t  # branch-free: kept only on the first touch of t
            n_touched += weights[t] == 0.0
            sums[t] += residual * token_values[c]
            weights[t] += token_values[c]
    return n_touched


@numba.njit(nogil=True, cache=True)
def _clear(touched, n_touched, sums, weights):
    """Zero the listed tokens' sums (not through the user's evidence again: its movies' token
    rows are the cache misses of a gather)."""
    for e in range(n_touched):
        sums[touched[e]] = 0.0
        weights[touched[e]] = 0.0


@numba.njit(nogil=True, cache=True)
def _affinity_of_movie(movie, token_ptr, token_columns, token_values, sums, weights, damping):
    total = 0.0
    for c in range(token_ptr[movie], token_ptr[movie + 1]):
        t = token_columns[c]
        denominator = weights[t] + damping
        if denominator > 0:
            total += token_values[c] * (sums[t] / denominator)
    return total


@numba.njit(nogil=True, cache=True)
def _affinities(evidence_ptr, evidence_movies, evidence_values, token_ptr, token_columns,
                token_values, n_tokens, damping, user_idx, movie_idx, out):
    sums, weights = np.zeros(n_tokens), np.zeros(n_tokens)
    touched, n_touched = np.empty(n_tokens + 1, dtype=np.int64), 0
    current = -1
    for q in range(len(user_idx)):
        if user_idx[q] != current:  # gather the user's evidence once per run of their rows
            _clear(touched, n_touched, sums, weights)
            current = user_idx[q]
            n_touched = _gather_user(current, evidence_ptr, evidence_movies, evidence_values,
                                     token_ptr, token_columns, token_values, sums, weights,
                                     touched, 0)
        out[q] = _affinity_of_movie(movie_idx[q], token_ptr, token_columns, token_values, sums,
                                    weights, damping)


@numba.njit(nogil=True, cache=True)
def _affinity_rows(evidence_ptr, evidence_movies, evidence_values, token_ptr, token_columns,
                   token_values, n_tokens, damping, rows, movies, out):
    sums, weights = np.zeros(n_tokens), np.zeros(n_tokens)
    touched = np.empty(n_tokens + 1, dtype=np.int64)
    for r in range(len(rows)):
        n_touched = _gather_user(rows[r], evidence_ptr, evidence_movies, evidence_values,
                                 token_ptr, token_columns, token_values, sums, weights, touched,
                                 0)
        for column in range(len(movies)):
            out[r, column] = _affinity_of_movie(movies[column], token_ptr, token_columns,
                                                token_values, sums, weights, damping)
        _clear(touched, n_touched, sums, weights)


def _positive(tokens: sparse.csr_matrix) -> sparse.csr_matrix:
    """``tokens`` without explicit zeros (a copy only if it has some); an error if a weight is
    negative (the affinity kernels list a user's tokens by their weight turning non-zero)."""
    tokens = sparse.csr_matrix(tokens)
    if tokens.nnz and tokens.data.min() <= 0:
        if tokens.data.min() < 0:
            raise ValueError(f"token weights must not be negative, got {tokens.data.min()}")
        tokens = tokens.copy()
        tokens.eliminate_zeros()
    return tokens


def affinities(evidence: sparse.csr_matrix, tokens: sparse.csr_matrix, damping: float,
               user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
    """Each (user, movie) query's affinity: the movie's token weights (movies x tokens
    ``tokens``) times the user's damped mean evidence on each token, ``sum_j e_uj w_jt /
    (sum_j w_jt + damping)`` over the movies ``j`` the user has evidence ``e_uj`` for (users x
    movies ``evidence``). No users x tokens matrix: one token row at a time, fastest with the
    queries grouped by user. Token weights must be positive (explicit zeros are dropped)."""
    out = np.zeros(len(user_idx))
    _affinities(*_csr_arrays(evidence), *_csr_arrays(_positive(tokens)), tokens.shape[1], float(damping),
                np.asarray(user_idx, dtype=np.int64), np.asarray(movie_idx, dtype=np.int64), out)
    return out


def affinity_rows(evidence: sparse.csr_matrix, tokens: sparse.csr_matrix, damping: float,
                  rows: np.ndarray, movies: np.ndarray | None = None) -> np.ndarray:
    """:func:`affinities` of every movie (or of the movies ``movies``: columns) for the users
    ``rows``: rows x movies."""
    movies = np.arange(tokens.shape[0]) if movies is None else movies
    out = np.zeros((len(rows), len(movies)))
    _affinity_rows(*_csr_arrays(evidence), *_csr_arrays(_positive(tokens)), tokens.shape[1], float(damping),
                   np.asarray(rows, dtype=np.int64), np.asarray(movies, dtype=np.int64), out)
    return out


@numba.njit(nogil=True, cache=True)
def _sample_rows(indptr, indices, n_columns, about, seed, kept):
    increment = np.uint64(0x9E3779B97F4A7C15)
    for row in range(len(indptr) - 1):
        n = indptr[row + 1] - indptr[row]
        if n <= about:
            kept[indptr[row]:indptr[row + 1]] = True
            continue
        share = about / n
        for e in range(indptr[row], indptr[row + 1]):
            # splitmix64 of the entry's key: exact integer arithmetic, the same on every machine
            z = np.uint64(row * n_columns + indices[e]) + np.uint64(seed) * increment
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            kept[e] = (z >> np.uint64(11)) * (1.0 / 9007199254740992.0) < share


def sample_rows(indptr: np.ndarray, indices: np.ndarray, n_columns: int, about: int,
                seed: int) -> np.ndarray:
    """Mask of the CSR entries kept when each row keeps about ``about`` of them: all of a row
    with at most that many, else each entry whose hash of (row, column, seed), uniform in
    [0, 1), is below ``about / entries``."""
    kept = np.zeros(len(indices), dtype=np.bool_)
    _sample_rows(np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64),
                 n_columns, about, seed, kept)
    return kept


@numba.njit(nogil=True, cache=True)
def _sparse_dense(indptr, indices, data, dense, out):
    for row in range(len(indptr) - 1):
        target = out[row]
        for e in range(indptr[row], indptr[row + 1]):
            source, weight = dense[indices[e]], data[e]
            for column in range(dense.shape[1]):
                target[column] += weight * np.float64(source[column])


def sparse_dense(matrix: sparse.csr_matrix, dense: np.ndarray) -> np.ndarray:
    """``matrix @ dense`` in float64 for a float32 ``dense``, without scipy's float64 copy of
    ``dense`` (40 MB for a 3,233-movie item model: most of a one-profile refresh). Rows add their
    entries' dense rows in CSR order, as scipy does: the same result."""
    out = np.zeros((matrix.shape[0], dense.shape[1]))
    _sparse_dense(*_csr_arrays(matrix), np.ascontiguousarray(dense), out)
    return out
