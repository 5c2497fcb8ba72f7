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
    scores = co_rating_scores(sparse.csr_matrix(similarity).T.tocsr(), liked)
    assert scores[0].tolist() == pytest.approx([0, (2 / np.sqrt(6) + 1 / np.sqrt(3)) / 2, 0])


def test_co_rating_scores_from_the_transpose_equal_the_product_exactly():
    rng = np.random.default_rng(3)
    similarity = sparse.random(300, 300, density=0.05, format="csr", random_state=4)  # asymmetric
    rows, movies = rng.integers(0, 7, 400), rng.integers(0, 300, 400)
    liked = liked_matrix(rows, movies, rng.choice([3.0, 4.5], 400), 8, 300, 4.0)  # row 7: none
    n_liked = np.asarray(liked.sum(axis=1))
    expected = (similarity @ liked.T).T.toarray() / np.maximum(n_liked, 1)
    assert np.array_equal(co_rating_scores(similarity.T.tocsr(), liked), expected)
