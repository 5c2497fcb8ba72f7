"""The co-rating similarity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.ranking.lists import co_rating_scores, liked_matrix
from movierec.ranking.similarity import co_rating_similarity
from movierec.sparse import by_user


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
