"""The item model: EASE's closed form, the movies it covers, its inputs, the file it lives in."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.errors import UserInputError
from movierec.params import RankParams
from movierec.ranking.item_model import (
    LIKED_CENTER,
    ItemModel,
    covered_movies,
    ease_weights,
    fit_item_model,
    gram,
    gram_and_walks,
    walk_weights,
)
from movierec.ranking.model import RankModel


def test_ease_closed_form_is_the_ridge_regression_of_each_movie_on_the_others():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 6)) < 0.4).astype(float)
    penalty = 3.0
    weights = ease_weights(x.T @ x, penalty)
    for movie in range(6):
        others = [j for j in range(6) if j != movie]
        design = x[:, others]  # brute force: ridge without intercept, the movie not in its inputs
        expected = np.linalg.solve(design.T @ design + penalty * np.eye(5), design.T @ x[:, movie])
        np.testing.assert_allclose(weights[others, movie], expected, rtol=1e-5, atol=1e-6)
        assert weights[movie, movie] == 0
    assert weights.dtype == np.float32 and weights.flags.c_contiguous  # rows for products


def test_gram_counts_the_users_of_each_pair_of_columns():
    users, columns = np.array([0, 0, 1, 1, 1, 2]), np.array([0, 1, 0, 1, 2, 2])
    assert gram(users, columns, 3, 3).tolist() == [[2, 2, 1], [2, 2, 1], [1, 1, 2]]


def test_walk_weights_are_the_three_step_random_walk_divided_by_arrival_popularity():
    rng = np.random.default_rng(1)
    x = (rng.random((25, 5)) < 0.4).astype(float)
    x[0, :] = 1.0  # every movie has ratings; some users have none
    users, columns = np.nonzero(x)
    counts, walks = gram_and_walks(users, columns, 25, 5)
    np.testing.assert_array_equal(counts, gram(users, columns, 25, 5))
    weights = walk_weights(walks, np.diag(counts), exponent=0.6)
    to_users = x.T / x.sum(axis=0)[:, None]  # brute force: movie -> one of its raters, uniformly
    to_movies = x / np.maximum(x.sum(axis=1), 1)[:, None]  # user -> one of their movies
    expected = (to_users @ to_movies) * x.sum(axis=0)[None, :] ** -0.6
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(weights, expected, rtol=1e-6)
    assert weights.dtype == np.float32


def test_the_model_covers_the_most_rated_movies_above_the_floor():
    counts = np.array([9, 1, 7, 7, 3, 7])
    params = RankParams(min_ratings=3, item_movies=3)
    assert covered_movies(counts, params).tolist() == [0, 2, 3]  # a tie at 7: lower positions
    assert covered_movies(counts, RankParams(min_ratings=3, item_movies=99)).tolist() == [0, 2, 3,
                                                                                           4, 5]


def test_profiles_enter_as_one_per_rated_movie_and_as_centred_ratings():
    model = ItemModel(np.array([1, 3]), np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32),
                      np.zeros((2, 2), np.float32), np.array([1.0, 0.5]),
                      np.zeros((2, 2), np.float32), 5)
    rated, disliked, liked, plain = model.profile_matrices(np.array([0, 0, 1, 1]),
                                                    np.array([3, 4, 1, 3]),
                                                    np.array([5.0, 2.0, 1.0, 2.5]), 2)
    # movie 4 is not covered: left out; below 2.5 stars a movie enters the disliked input
    assert rated.toarray().tolist() == [[0, 1], [0, 1]]
    assert disliked.toarray().tolist() == [[0, 0], [1, 0]]
    assert liked.toarray().tolist() == [[0, (5 - LIKED_CENTER) * 0.5], [1 - LIKED_CENTER, 0]]
    assert plain.toarray().tolist() == [[0, 5 - LIKED_CENTER], [1 - LIKED_CENTER, 0]]


def test_fit_uses_who_rated_and_who_liked_what():
    # movies 0 and 1 are always rated together; only movie 1's raters like movie 2
    users = np.repeat(np.arange(6), 3)
    movies = np.tile([0, 1, 2], 6)
    ratings = np.array([4.0, 4.0, 2.0] * 3 + [4.0, 4.0, 5.0] * 3)
    model = fit_item_model(users, movies, ratings, 3, RankParams(min_ratings=1, rated_penalty=1.0,
                                                                liked_penalty=1.0,
                                                                liked_exponent=0.0))
    assert model.movies.tolist() == [0, 1, 2]
    assert model.rated[0, 1] > 0 and model.rated[1, 0] > 0
    assert model.liked[2, 0] > 0  # who liked movie 2 liked movie 0 too


def test_rank_model_round_trip_and_bad_files(tmp_path):
    items = ItemModel(np.array([0, 2]), np.eye(2, dtype=np.float32),
                      np.full((2, 2), 0.5, np.float32), np.full((2, 2), 0.125, np.float32),
                      np.array([1.0, 0.25]), np.full((2, 2), 0.75, np.float32), 3)
    model = RankModel(np.array([10, 20, 30]), sparse.csr_matrix(np.eye(3) * 0.25), items)
    model.save(tmp_path / "rank.npz")
    first = (tmp_path / "rank.npz").read_bytes()
    model.save(tmp_path / "rank.npz")
    assert (tmp_path / "rank.npz").read_bytes() == first  # no timestamps: reruns keep the hash
    loaded = RankModel.load(tmp_path / "rank.npz")
    assert loaded.movie_ids.tolist() == [10, 20, 30]
    assert loaded.similar.toarray().tolist() == (np.eye(3) * 0.25).tolist()
    assert loaded.items.movies.tolist() == [0, 2] and loaded.items.n_movies == 3
    np.testing.assert_array_equal(loaded.items.liked, items.liked)
    np.testing.assert_array_equal(loaded.items.liked_scale, items.liked_scale)
    np.testing.assert_array_equal(loaded.items.liked_plain, items.liked_plain)
    np.testing.assert_array_equal(loaded.items.walk, items.walk)
    assert loaded.for_movies(np.array([10, 20, 30]), "rank.npz") is loaded
    with pytest.raises(UserInputError, match=r"rank\.npz holds 3 movies, the rating model 2"):
        loaded.for_movies(np.array([10, 20]), "rank.npz")
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(UserInputError, match=r"bad\.npz: not a ranking model"):
        RankModel.load(tmp_path / "bad.npz")
