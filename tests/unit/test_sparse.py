"""Reproducible samples of sparse rows: a share of each row, or the heaviest rows within a
budget of pairs."""

from __future__ import annotations

import numpy as np

from movierec.sparse import about_per_row, by_user, within_pairs


def test_about_per_row_keeps_about_that_many_of_each_row_the_same_in_subsets():
    user_idx = np.repeat([0, 1, 2], [5, 400, 4000])
    movie_idx = np.concatenate([np.arange(5), np.arange(400), np.arange(4000)])
    matrix = by_user(user_idx, movie_idx, np.ones(len(user_idx)), 3, 4000)
    kept = np.diff(about_per_row(matrix, 50, seed=1).indptr)
    assert kept[0] == 5 and 30 < kept[1] < 70 and 30 < kept[2] < 70
    assert about_per_row(matrix, 0, seed=1) is matrix
    assert (about_per_row(matrix, 50, seed=2) != about_per_row(matrix, 50, seed=1)).nnz > 0
    # a subset of a row (a fold's evidence) keeps every entry the whole row kept
    half = by_user(user_idx[::2], movie_idx[::2], np.ones(len(user_idx[::2])), 3, 4000)
    whole_kept = about_per_row(matrix, 50, seed=1).multiply(half)
    assert (about_per_row(half, 50, seed=1).multiply(whole_kept) != whole_kept).nnz == 0


def test_within_pairs_samples_only_the_heaviest_rows_down_to_the_budget():
    user_idx = np.repeat([0, 1, 2], [10, 100, 1000])
    movie_idx = np.concatenate([np.arange(10), np.arange(100), np.arange(1000)])
    matrix = by_user(user_idx, movie_idx, np.ones(len(user_idx)), 3, 1000)
    assert within_pairs(matrix, 0, seed=1) is matrix
    assert within_pairs(matrix, 10**2 + 100**2 + 1000**2, seed=1) is matrix
    # 10^2 + 100^2 + 187^2 <= 45,100 < 10^2 + 100^2 + 188^2: the heaviest row keeps about 187
    kept = np.diff(within_pairs(matrix, 45_100, seed=1).indptr)
    assert kept[0] == 10 and kept[1] == 100 and 150 < kept[2] < 225
    assert np.diff(within_pairs(matrix, 3, seed=1).indptr).max() < 10  # at least 1 per row
