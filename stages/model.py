"""The rating model: a Ridge regression over movie content and out-of-fold rating statistics.

Every rating statistic a row sees (damped movie and user biases, rating counts) is computed from
training ratings only, and for a training row from the *other* folds, so no row's own rating ever
feeds its own features and the test split never feeds anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import Ridge

from movie_features import NUMERIC, MovieFeatures
from movielens import RATING_MAX, RATING_MIN

RATING_FEATURES = ["movie_bias", "movie_log_count", "user_bias", "user_log_count"]


def _damped_mean(sums: np.ndarray, counts: np.ndarray, damping: float) -> np.ndarray:
    """``sums / (counts + damping)``, 0 where there is no evidence at all."""
    denominator = counts + damping
    return np.divide(sums, denominator, out=np.zeros_like(sums, dtype=float),
                     where=denominator > 0)


@dataclass
class BiasStats:
    """Damped biases from a set of ratings: ``r ≈ global_mean + movie_bias[m] + user_bias[u]``."""

    global_mean: float
    movie_bias: np.ndarray
    movie_count: np.ndarray
    user_bias: np.ndarray
    user_count: np.ndarray


def fit_biases(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray, n_users: int,
               n_movies: int, damping: float) -> BiasStats:
    """Damped movie biases, then damped user biases on what the movie biases leave."""
    global_mean = float(ratings.mean())
    movie_count = np.bincount(movie_idx, minlength=n_movies).astype(float)
    movie_bias = _damped_mean(
        np.bincount(movie_idx, ratings - global_mean, minlength=n_movies), movie_count, damping
    )
    user_count = np.bincount(user_idx, minlength=n_users).astype(float)
    residual = ratings - global_mean - movie_bias[movie_idx]
    user_bias = _damped_mean(np.bincount(user_idx, residual, minlength=n_users), user_count,
                             damping)
    return BiasStats(global_mean, movie_bias, movie_count, user_bias, user_count)


def rating_features(stats: BiasStats, user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
    """The :data:`RATING_FEATURES` columns for (user, movie) rows; index -1 means unseen."""
    known_user, known_movie = user_idx >= 0, movie_idx >= 0

    def lookup(values: np.ndarray, idx: np.ndarray, known: np.ndarray) -> np.ndarray:
        return np.where(known, values[np.where(known, idx, 0)], 0.0)

    return np.column_stack([
        lookup(stats.movie_bias, movie_idx, known_movie),
        np.log1p(lookup(stats.movie_count, movie_idx, known_movie)),
        lookup(stats.user_bias, user_idx, known_user),
        np.log1p(lookup(stats.user_count, user_idx, known_user)),
    ])


def out_of_fold_features(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                         n_users: int, n_movies: int, damping: float, folds: int,
                         rng: np.random.Generator) -> np.ndarray:
    """Rating features of each training row, computed from the folds the row is not in."""
    fold = rng.integers(0, folds, size=len(ratings))
    features = np.empty((len(ratings), len(RATING_FEATURES)))
    for k in range(folds):
        held = fold == k
        stats = fit_biases(user_idx[~held], movie_idx[~held], ratings[~held], n_users, n_movies,
                           damping)
        features[held] = rating_features(stats, user_idx[held], movie_idx[held])
    return features


class RatingModel:
    """Predicts a user's rating of a movie; see the module docstring for the features.

    Parameters are the ``train`` section of params.yaml: ``alpha`` (Ridge penalty), ``damping``
    (pseudo-count shrinking biases toward 0), ``folds`` (out-of-fold encoding), ``max_samples``
    (-1: every training rating) and ``seed``.
    """

    def __init__(self, alpha: float = 1.0, damping: float = 10.0, folds: int = 5,
                 max_samples: int = -1, seed: int = 0) -> None:
        self.alpha = alpha
        self.damping = damping
        self.folds = folds
        self.max_samples = max_samples
        self.seed = seed

    def fit(self, ratings: pd.DataFrame, movie_features: MovieFeatures) -> RatingModel:
        """Fit on training ``ratings`` (userId, movieId, rating) and the movies' content features."""
        rng = np.random.default_rng(self.seed)
        self.movie_ids_ = movie_features.movie_ids
        self.content_ = movie_features.content
        self.movie_numeric_ = movie_features.movies[NUMERIC].to_numpy(dtype=float)
        self.feature_names_ = list(movie_features.names) + NUMERIC + RATING_FEATURES
        movie_idx = self._movie_index(ratings["movieId"].to_numpy())
        unknown = movie_idx < 0
        if unknown.any():
            raise ValueError(f"{int(unknown.sum())} training ratings are of movies without "
                             f"features, e.g. movieId {ratings['movieId'].to_numpy()[unknown][0]}")
        self.user_ids_ = np.unique(ratings["userId"].to_numpy())
        user_idx = np.searchsorted(self.user_ids_, ratings["userId"].to_numpy())
        y = ratings["rating"].to_numpy(dtype=float)
        n_users, n_movies = len(self.user_ids_), len(self.movie_ids_)

        dense = out_of_fold_features(user_idx, movie_idx, y, n_users, n_movies, self.damping,
                                     self.folds, rng)
        rows = np.arange(len(y))
        if 0 < self.max_samples < len(y):
            rows = np.sort(rng.choice(len(y), size=self.max_samples, replace=False))
        dense = np.hstack([self.movie_numeric_[movie_idx[rows]], dense[rows]])
        self.dense_mean_ = dense.mean(axis=0)
        self.dense_scale_ = dense.std(axis=0)
        self.dense_scale_[self.dense_scale_ == 0] = 1.0
        self.ridge_ = Ridge(alpha=self.alpha).fit(self._design(dense, movie_idx[rows]), y[rows])
        self.stats_ = fit_biases(user_idx, movie_idx, y, n_users, n_movies, self.damping)
        self.n_samples_ = len(rows)
        return self

    def _movie_index(self, movie_ids: np.ndarray) -> np.ndarray:
        position = np.searchsorted(self.movie_ids_, movie_ids)
        position = np.clip(position, 0, len(self.movie_ids_) - 1)
        return np.where(self.movie_ids_[position] == movie_ids, position, -1)

    def _user_index(self, user_ids: np.ndarray) -> np.ndarray:
        position = np.clip(np.searchsorted(self.user_ids_, user_ids), 0, len(self.user_ids_) - 1)
        return np.where(self.user_ids_[position] == user_ids, position, -1)

    def _design(self, dense: np.ndarray, movie_idx: np.ndarray) -> sparse.csr_matrix:
        known = movie_idx >= 0
        content = self.content_[np.where(known, movie_idx, 0)]
        content = sparse.diags(known.astype(float)) @ content  # unseen movies: no content
        scaled = (dense - self.dense_mean_) / self.dense_scale_
        return sparse.hstack([content, sparse.csr_matrix(scaled)]).tocsr()

    def predict(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """Predicted ratings for (user, movie) pairs, clipped to the rating scale."""
        user_idx = self._user_index(np.asarray(user_ids))
        movie_idx = self._movie_index(np.asarray(movie_ids))
        numeric = np.where((movie_idx >= 0)[:, None], self.movie_numeric_[np.maximum(movie_idx, 0)],
                           self.dense_mean_[: len(NUMERIC)])
        dense = np.hstack([numeric, rating_features(self.stats_, user_idx, movie_idx)])
        return np.clip(self.ridge_.predict(self._design(dense, movie_idx)), RATING_MIN, RATING_MAX)

    def coefficients(self) -> pd.DataFrame:
        """Ridge coefficients by feature name (numeric features per standard deviation)."""
        return pd.DataFrame({"feature": self.feature_names_, "coefficient": self.ridge_.coef_})
