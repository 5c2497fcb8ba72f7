"""The co-rating similarity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.ranking.lists import co_rating_scores, liked_matrix
from movierec.ranking.similarity import co_rating_similarity, sample_per_user


def test_co_rating_similarity_and_scores():
    # users 0 and 1 rated movies 0 and 1; user 2 rated movies 1 and 2
    users, movies = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 1, 2])
    similarity = co_rating_similarity(users, movies, 3, 3, neighbors=5, exponent=0.5).toarray()
    assert similarity[0].tolist() == pytest.approx([0, 2 / np.sqrt(2 * 3), 0])
    assert similarity[2].tolist() == pytest.approx([0, 1 / np.sqrt(3), 0])
    liked = liked_matrix(np.array([0, 0]), np.array([0, 2]), np.array([5.0, 4.0]), 1, 3, 4.0)
    scores = co_rating_scores(sparse.csr_matrix(similarity), liked)
    assert scores[0].tolist() == pytest.approx([0, (2 / np.sqrt(6) + 1 / np.sqrt(3)) / 2, 0])


def test_sample_per_user_keeps_about_that_many_of_each_user():
    user_idx = np.repeat([0, 1, 2], [5, 400, 4000])
    kept = np.bincount(user_idx[sample_per_user(user_idx, 50, np.random.default_rng(0))])
    assert kept[0] == 5 and 30 < kept[1] < 70 and 30 < kept[2] < 70
    assert sample_per_user(user_idx, 0, np.random.default_rng(0)).all()
