"""Baselines fitted in the same run as the model: the bias baseline and group means."""

from __future__ import annotations

import numpy as np
import pandas as pd

from movierec.data.movielens import RATING_MAX, RATING_MIN
from movierec.model.evidence import fit_movie_biases, user_biases
from movierec.params import EvaluateParams


class BiasBaseline:
    """Global mean + damped movie bias + damped user bias (``damping`` pseudo-ratings each).

    Movie biases come from the ratings it is fitted on; a user's bias from whatever ratings of
    theirs are given (:meth:`user_biases`): their training ratings, or a new user's profile.
    """

    def __init__(self, *, damping: float = EvaluateParams().baseline_damping) -> None:
        self.damping = damping

    def fit(self, movie_idx: np.ndarray, ratings: np.ndarray, n_movies: int) -> BiasBaseline:
        self.items_ = fit_movie_biases(movie_idx, ratings, n_movies, self.damping)
        return self

    def user_biases(self, user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                    n_users: int) -> np.ndarray:
        """Damped bias of users ``0 .. n_users-1`` from their ratings (0 without any)."""
        return user_biases(self.items_, user_idx, movie_idx, ratings, n_users, self.damping)[0]

    def predict(self, user_bias: np.ndarray, user_idx: np.ndarray,
                movie_idx: np.ndarray) -> np.ndarray:
        """Predicted ratings of (user, movie) pairs; a movie index of -1 (unknown) has no bias."""
        movie_bias = np.where(movie_idx >= 0, self.items_.movie_bias[np.maximum(movie_idx, 0)], 0.0)
        return np.clip(self.items_.global_mean + movie_bias + user_bias[user_idx], RATING_MIN,
                       RATING_MAX)

    def score_matrix(self, user_bias: np.ndarray) -> np.ndarray:
        """Predicted ratings of every movie (columns) for each user bias (rows)."""
        return np.clip(self.items_.global_mean + self.items_.movie_bias[None, :]
                       + user_bias[:, None], RATING_MIN, RATING_MAX)


def baseline_predictions(train: pd.DataFrame, test: pd.DataFrame,
                         damping: float) -> dict[str, np.ndarray]:
    """Predictions of the classic baselines, fitted on ``train``, for the rows of ``test``.

    ``global_mean``: the mean training rating; ``user_mean`` / ``movie_mean``: the user's or movie's
    mean training rating (the global mean when unseen); ``bias``: :class:`BiasBaseline`.
    """
    global_mean = float(train["rating"].mean())
    ratings = train["rating"].to_numpy(dtype=float)
    n_train = len(train)

    def codes(key: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Codes of ``key`` in the training rows and the test rows, and how many there are."""
        coded, uniques = pd.factorize(np.concatenate([train[key], test[key]]))
        return coded[:n_train], coded[n_train:], len(uniques)

    def group_mean(train_code: np.ndarray, test_code: np.ndarray, n: int) -> np.ndarray:
        count = np.bincount(train_code, minlength=n)
        means = np.divide(np.bincount(train_code, ratings, minlength=n), count,
                          out=np.full(n, global_mean), where=count > 0)
        return means[test_code]

    user_train, user_test, n_users = codes("userId")
    movie_train, movie_test, n_movies = codes("movieId")
    bias = BiasBaseline(damping=damping).fit(movie_train, ratings, n_movies)
    user_bias = bias.user_biases(user_train, movie_train, ratings, n_users)
    return {
        "global_mean": np.full(len(test), global_mean),
        "user_mean": group_mean(user_train, user_test, n_users),
        "movie_mean": group_mean(movie_train, movie_test, n_movies),
        "bias": bias.predict(user_bias, user_test, movie_test),
    }
