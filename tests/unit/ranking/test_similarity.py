"""The co-rating similarity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.ranking.lists import co_rating_scores, liked_matrix
from movierec.ranking.similarity import co_rating_similarity
from movierec.sparse import about_per_row, by_user


def test_co_rating_similarity_and_scores():
    # users 0 and 1 rated movies 0 and 1; user 2 rated movies 1 and 2
    users, movies = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 1, 2])
    rated = by_user(users, movies, np.ones(len(users)), 3, 3)
    similarity = co_rating_similarity(rated, neighbors=5, exponent=0.5).toarray()
    assert similarity[0].tolist() == pytest.approx([0, 2 / np.sqrt(2 * 3), 0])
    assert similarity[2].tolist() == pytest.approx([0, 1 / np.sqrt(3), 0])
    liked = liked_matrix(np.array([0, 0]), np.array([0, 2]), np.array([5.0, 4.0]), 1, 3, 4.0)
    scores = co_rating_scores(sparse.csr_matrix(similarity), liked)
    assert scores[0].tolist() == pytest.approx([0, (2 / np.sqrt(6) + 1 / np.sqrt(3)) / 2, 0])


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
