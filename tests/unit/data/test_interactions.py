"""Interactions: filtering, the random and temporal splits, unknown movies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.interactions import build_interactions, filter_min_counts, split_train_test
from movierec.data.movielens import load_movies, load_ratings
from movierec.errors import UserInputError
from support import ratings_table


def test_filter_min_counts_repeats_until_both_hold():
    # movie 3 has one rating; dropping it leaves user 2 with one rating, who then goes too.
    data = ratings_table([(1, 1, 4), (1, 2, 4), (2, 1, 3), (2, 3, 3), (3, 1, 5), (3, 2, 2)])
    kept = filter_min_counts(data, min_user_ratings=2, min_movie_ratings=2)
    assert sorted(zip(kept["userId"], kept["movieId"], strict=True)) == [(1, 1), (1, 2), (3, 1), (3, 2)]


def test_random_split_is_seeded_and_sized():
    data = ratings_table([(u, m, 3.0) for u in range(10) for m in range(10)])
    train, test = split_train_test(data, "random", 0.2, np.random.default_rng(1))
    again, _ = split_train_test(data, "random", 0.2, np.random.default_rng(1))
    assert (len(train), len(test)) == (80, 20)
    pd.testing.assert_frame_equal(train, again)


def test_temporal_split_holds_out_each_users_latest_ratings():
    data = ratings_table([(u, m, 3.0) for u in (1, 2) for m in range(5)]).assign(
        timestamp=[5, 4, 3, 2, 1, 10, 20, 30, 40, 50])
    train, test = split_train_test(data, "temporal", 0.4, np.random.default_rng(0))
    assert sorted(zip(test["userId"], test["movieId"], strict=True)) == [(1, 0), (1, 1), (2, 3), (2, 4)]
    assert len(train) == 6


def test_split_that_leaves_a_side_empty_is_explained():
    with pytest.raises(UserInputError, match="leaves an empty test split"):
        split_train_test(ratings_table([(1, 1, 3.0)]), "random", 0.2, np.random.default_rng(0))


def test_build_interactions_drops_and_counts_unknown_movies(movielens_dir):
    ratings = pd.concat([load_ratings(movielens_dir),
                         pd.DataFrame({"userId": [1], "movieId": [999_999], "rating": [4.0],
                                       "timestamp": [1]}).astype(load_ratings(movielens_dir).dtypes)])
    interactions, dropped = build_interactions(ratings, load_movies(movielens_dir))
    assert dropped == 1
    assert list(interactions.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert len(interactions) == len(ratings) - 1 and 999_999 not in interactions["movieId"].values
