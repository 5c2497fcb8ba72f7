"""Per-movie features: rating statistics from the training ratings only."""

from __future__ import annotations

import numpy as np

from movierec.data.movielens import load_movies, load_tags
from movierec.features.movie_features import build_movie_features
from support import ratings_table


def test_movie_rating_statistics_come_from_the_given_training_ratings_only(movielens_dir):
    movies, tags = load_movies(movielens_dir), load_tags(movielens_dir)
    train = ratings_table([(1, 10, 4.0), (2, 10, 2.0), (1, 20, 5.0)])
    features = build_movie_features(movies, tags, train, max_features=100, min_df=1)
    stats = features.movies.set_index("movieId")
    assert stats.loc[10, ["train_count", "train_mean"]].tolist() == [2, 3.0]
    assert stats.loc[30, "train_count"] == 0 and np.isnan(stats.loc[30, "train_mean"])
