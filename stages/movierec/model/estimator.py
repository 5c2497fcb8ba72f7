"""The rating model: a Ridge regression over movie content and out-of-fold rating evidence
(:mod:`movierec.model.evidence`), fitted and used like a scikit-learn estimator."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import sparse

from movierec.data.ids import IdLookup, factorize_sorted
from movierec.data.movielens import RATING_MAX, RATING_MIN
from movierec.errors import UserInputError
from movierec.features.movie_features import MovieFeatures
from movierec.io import atomic_path
from movierec.model.evidence import (
    EvidenceConfig,
    UserEvidence,
    evidence_features,
    evidence_matrices,
    fit_item_evidence,
    out_of_fold_features,
    small_profile_sizes,
    user_evidence,
)
from movierec.model.ridge import ridge_by_movie
from movierec.params import TrainParams
from movierec.sparse import row_normalize

_DEFAULT = TrainParams()  # the one source of the defaults: the params schema


class RatingModel:
    """Predicts a user's rating of a movie from evidence features (:mod:`movierec.model.evidence`).

    The hyperparameters are the ``train`` section of params.yaml (:class:`TrainParams`, whose
    defaults they share): ``alpha`` (Ridge penalty), ``folds`` (out-of-fold encoding),
    ``max_samples`` (-1: every training rating), ``seed`` (also of the similarities' sample),
    ``content`` (TF-IDF and year columns in the Ridge), the :class:`EvidenceConfig` fields,
    ``small_profile_share`` and ``small_profile_max`` (simulated new-user profiles, see
    :func:`out_of_fold_features`).
    """

    def __init__(self, *, alpha: float = _DEFAULT.alpha, folds: int = _DEFAULT.folds,
                 max_samples: int = _DEFAULT.max_samples, seed: int = _DEFAULT.seed,
                 content: bool = _DEFAULT.content, damping: float = _DEFAULT.damping,
                 genre_affinity: bool = _DEFAULT.genre_affinity,
                 tag_affinity: bool = _DEFAULT.tag_affinity,
                 item_neighbors: bool = _DEFAULT.item_neighbors,
                 affinity_damping: float = _DEFAULT.affinity_damping,
                 neighbors: int = _DEFAULT.neighbors,
                 neighbor_shrinkage: float = _DEFAULT.neighbor_shrinkage,
                 neighbor_damping: float = _DEFAULT.neighbor_damping,
                 neighbor_max_pairs: int = _DEFAULT.neighbor_max_pairs,
                 small_profile_share: float = _DEFAULT.small_profile_share,
                 small_profile_max: int = _DEFAULT.small_profile_max) -> None:
        self.alpha = alpha
        self.folds = folds
        self.max_samples = max_samples
        self.seed = seed
        self.content = content
        self.damping = damping
        self.genre_affinity = genre_affinity
        self.tag_affinity = tag_affinity
        self.item_neighbors = item_neighbors
        self.affinity_damping = affinity_damping
        self.neighbors = neighbors
        self.neighbor_shrinkage = neighbor_shrinkage
        self.neighbor_damping = neighbor_damping
        self.neighbor_max_pairs = neighbor_max_pairs
        self.small_profile_share = small_profile_share
        self.small_profile_max = small_profile_max

    def _config(self) -> EvidenceConfig:
        return EvidenceConfig(**{name: getattr(self, name)
                                 for name in EvidenceConfig.__dataclass_fields__})

    def fit(self, ratings: pd.DataFrame, movie_features: MovieFeatures) -> RatingModel:
        """Fit on training ``ratings`` (userId, movieId, rating) and the movies' features."""
        rng = np.random.default_rng(self.seed)
        config = self._config()
        self.__dict__.pop("_lookups", None)  # indexes of an earlier fit
        self.movie_ids_ = movie_features.movie_ids
        self.content_ = movie_features.content
        self.numeric_names_ = movie_features.numeric
        self.movie_numeric_ = movie_features.movies[self.numeric_names_].to_numpy(dtype=float)
        self.genres_ = row_normalize(self._genre_matrix(movie_features.movies["genres"]))
        self.tokens_ = row_normalize(movie_features.content)
        content_names = list(movie_features.names) + self.numeric_names_ if self.content else []
        self.feature_names_ = content_names + config.feature_names

        movie_idx = self.movie_index(ratings["movieId"].to_numpy())
        if (movie_idx < 0).any():
            missing = ratings["movieId"].to_numpy()[movie_idx < 0][0]
            raise ValueError(f"training ratings include movies without features, e.g. {missing}")
        user_idx, self.user_ids_ = factorize_sorted(ratings["userId"].to_numpy())
        user_idx, movie_idx = user_idx.astype(np.int32), movie_idx.astype(np.int32)
        y = ratings["rating"].to_numpy(dtype=float)
        n_users, n_movies = len(self.user_ids_), len(self.movie_ids_)

        fold = rng.integers(0, self.folds, size=len(y), dtype=np.int8)
        rows = None
        if 0 < self.max_samples < len(y):
            rows = np.sort(rng.choice(len(y), size=self.max_samples, replace=False))
        profile_size = priority = None
        if self.small_profile_share > 0:
            profile_size = small_profile_sizes(n_users, self.small_profile_share,
                                               self.small_profile_max, rng)
            priority = rng.random(len(y), dtype=np.float32)
        fits = fit_item_evidence(user_idx, movie_idx, y, n_users, n_movies, config, fold)
        # the Ridge's per-rating columns: the evidence (content and numeric are per movie)
        dense = np.empty((len(y), len(config.feature_names)), order="F")
        out_of_fold_features(user_idx, movie_idx, y, n_users, n_movies, self.genres_,
                             self.tokens_, config, fold, fits[:-1], out=dense,
                             profile_size=profile_size, priority=priority)
        movie_idx_rows, y_rows = movie_idx, y
        if rows is not None:
            dense, movie_idx_rows, y_rows = dense[rows], movie_idx[rows], y[rows]
        self.ridge_ = ridge_by_movie(
            self.content_ if self.content else None, movie_idx_rows, dense, y_rows,
            self.alpha, standardize=True,
            movie_dense=self.movie_numeric_ if self.content else None)
        self.n_samples_ = len(y_rows)
        del dense
        self.items_ = fits[-1]
        self.users_ = user_evidence(self.items_, user_idx, movie_idx, y, n_users, config)
        return self

    @staticmethod
    def _genre_matrix(genres: pd.Series) -> sparse.csr_matrix:
        lists = genres.fillna("").str.split("|").map(lambda parts: [g for g in parts if g])
        vocabulary = sorted({g for parts in lists for g in parts})
        column = {g: k for k, g in enumerate(vocabulary)}
        row = np.repeat(np.arange(len(lists)), lists.map(len).to_numpy())
        col = np.array([column[g] for parts in lists for g in parts], dtype=int)
        return sparse.csr_matrix((np.ones(len(row)), (row, col)),
                                 shape=(len(lists), max(len(vocabulary), 1)))

    def movie_index(self, movie_ids: np.ndarray) -> np.ndarray:
        """Column of each movie in the model's matrices (``movie_ids_``), -1 if unknown."""
        return self._lookup("movie_ids_").positions(movie_ids)

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        """Row of each training user in ``users_``, -1 if unknown."""
        return self._lookup("user_ids_").positions(user_ids)

    def _lookup(self, ids: str) -> IdLookup:
        """A lookup of ``getattr(self, ids)``, built once (and again after unpickling)."""
        cache = self.__dict__.setdefault("_lookups", {})
        if ids not in cache:
            cache[ids] = IdLookup(getattr(self, ids))
        return cache[ids]

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "_lookups"}

    def _dense(self, evidence: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        if not self.content:
            return evidence
        return np.hstack([self.movie_numeric_[movie_idx], evidence])

    def _predict_known_movies(self, users: UserEvidence, user_idx: np.ndarray,
                              movie_idx: np.ndarray) -> np.ndarray:
        evidence = evidence_features(self.items_, users, user_idx, movie_idx, self.genres_,
                                     self.tokens_, self._config())
        ridge = self.ridge_
        scaled = (self._dense(evidence, movie_idx) - ridge.dense_mean_) / ridge.dense_scale_
        coef = ridge.coef_
        predicted = ridge.intercept_ + scaled @ coef[len(coef) - scaled.shape[1]:]
        if self.content:  # the same for every rating of a movie: computed once per movie
            predicted += (self.content_ @ coef[: self.content_.shape[1]])[movie_idx]
        return np.clip(predicted, RATING_MIN, RATING_MAX)

    def _fallback(self, user_bias: np.ndarray) -> np.ndarray:
        """Rating of a movie the model has never seen: global mean plus the user's bias."""
        return np.clip(self.items_.global_mean + user_bias, RATING_MIN, RATING_MAX)

    def predict(self, user_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
        """Predicted ratings for (user, movie) pairs of training users, clipped to the scale.

        A user without training ratings is predicted as a user with no evidence; a movie without
        features gets the global mean plus the user's bias.
        """
        user_idx = self.user_index(np.asarray(user_ids))
        movie_idx = self.movie_index(np.asarray(movie_ids))
        known_user = user_idx >= 0
        user_bias = np.where(known_user, self.users_.bias[np.maximum(user_idx, 0)], 0.0)
        predicted = self._fallback(user_bias)
        known = movie_idx >= 0
        if known.any():
            # unknown users are scored as an extra row with no evidence at all
            users = self._with_empty_user()
            rows = np.where(known_user, user_idx, len(self.user_ids_))[known]
            predicted[known] = self._predict_known_movies(users, rows, movie_idx[known])
        return predicted

    def _with_empty_user(self) -> UserEvidence:
        users, residuals = self.users_, self.users_.residuals
        if residuals is not None:  # one more row without entries: no copy of the entries
            residuals = sparse.csr_matrix(
                (residuals.data, residuals.indices, np.append(residuals.indptr,
                                                              residuals.indptr[-1])),
                shape=(residuals.shape[0] + 1, residuals.shape[1]))
        return UserEvidence(bias=np.append(users.bias, 0.0), count=np.append(users.count, 0.0),
                            residuals=residuals)

    def score_matrix(self, users: UserEvidence, user_rows: np.ndarray, clip: bool = True,
                     movies: np.ndarray | None = None) -> np.ndarray:
        """Predicted ratings of every movie (columns, as ``movie_ids_``; or of the movies at
        positions ``movies`` only) for rows of ``users``.

        The Ridge is linear, so this adds each feature's contribution as a whole matrix: the same
        predictions as :meth:`predict`, for all movies at once; a movie's column is the same
        whichever others are scored. ``clip=False`` keeps values past the rating scale, which
        still order movies (ranking needs that; many would tie at 5).
        """
        coef, mean, scale = self.ridge_.coef_, self.ridge_.dense_mean_, self.ridge_.dense_scale_
        n_dense = len(mean)
        content, numeric = self.content_, self.movie_numeric_
        if movies is not None:
            content, numeric = content[movies], numeric[movies]
        n_users, n_movies = len(user_rows), content.shape[0]
        weight = coef[len(coef) - n_dense:] / scale  # per unstandardized dense column
        by_movie = np.full(n_movies, self.ridge_.intercept_)
        if self.content:
            by_movie += content @ coef[:content.shape[1]]
            for c in range(numeric.shape[1]):  # column by column: the same whatever the movies
                by_movie += (numeric[:, c] - mean[c]) * weight[c]
        by_user = np.zeros(n_users)
        scores = term = None
        first = n_dense - len(self._config().feature_names)
        columns = evidence_matrices(self.items_, users, user_rows, self.genres_, self.tokens_,
                                    self._config(), movies)
        for k, column in enumerate(columns, start=first):
            if scores is None and 1 in column.shape:  # the biases come first: vector terms
                if column.shape[0] == 1:
                    by_movie += weight[k] * (column[0] - mean[k])
                else:
                    by_user += weight[k] * (column[:, 0] - mean[k])
                continue
            if scores is None:  # then users x movies terms, added through one buffer
                scores, term = by_user[:, None] + by_movie[None, :], np.empty((n_users, n_movies))
            np.subtract(column, mean[k], out=term)
            term *= weight[k]
            scores += term
        if scores is None:
            scores = by_user[:, None] + by_movie[None, :]
        return np.clip(scores, RATING_MIN, RATING_MAX, out=scores) if clip else scores

    def profiles_evidence(self, profile: np.ndarray, movie_ids: np.ndarray, ratings: np.ndarray,
                          n_profiles: int) -> UserEvidence:
        """Evidence of new users known only by their profiles: rating ``k`` is of profile
        ``profile[k]`` (0 .. n_profiles-1); ratings of movies the model does not know are ignored.
        """
        profile_idx = self.movie_index(np.asarray(movie_ids))
        known = profile_idx >= 0
        return user_evidence(self.items_, np.asarray(profile)[known], profile_idx[known],
                             np.asarray(ratings, dtype=float)[known], n_profiles, self._config())

    def coefficients(self) -> pd.DataFrame:
        """Ridge coefficients by feature name (numeric features per standard deviation)."""
        return pd.DataFrame({"feature": self.feature_names_, "coefficient": self.ridge_.coef_})


def save_model(model: RatingModel, path: Path) -> None:
    """Write the fitted model with joblib, atomically (the one pickle the pipeline writes)."""
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp)


def load_model(path: Path) -> RatingModel:
    """The fitted model at ``path``, or a clear error if it is missing or not a model."""
    try:
        model = joblib.load(path)
    except FileNotFoundError:
        raise UserInputError(f"{path}: no model; run `dvc repro` (or `dvc pull`) first") from None
    except (OSError, EOFError, ValueError, pickle.UnpicklingError, AttributeError,
            ModuleNotFoundError) as error:
        raise UserInputError(f"{path}: not a model of this project ({error}); run `dvc repro` "
                             f"to rebuild it") from None
    if not isinstance(model, RatingModel):
        raise UserInputError(f"{path}: holds a {type(model).__name__}, not a RatingModel; run "
                             f"`dvc repro` to rebuild it")
    return model
