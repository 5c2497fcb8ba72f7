"""Evidence features of the rating model: what training ratings (or a profile) say about a
(user, movie) pair.

A rating ``r(u, m)`` is explained by features that a strong recommender uses, each computed from
*evidence* ratings only:

- ``biases`` (always on): damped movie and user biases and the log rating counts of both;
- ``genre_affinity``: how much the user over- or under-rates the movie's genres, as their damped mean
  residual (rating minus the bias prediction) over movies of each genre;
- ``tag_affinity``: the same over the movie's TF-IDF genre and tag tokens;
- ``item_neighbors``: how the user rated the movies most similar to this one (a damped, similarity
  weighted mean of their residuals), with the evidence behind it;
- ``content``: the movie's TF-IDF tokens and release year, directly.

For a training row the evidence is the training ratings of the *other* folds, so no row sees its
own rating; for any other prediction it is the whole training split (or a new user's profile), so
the test split never feeds a feature. A new user's profile holds a handful of ratings, while a
training user's other folds hold hundreds: so that the Ridge also learns from rows like a new
user's, the user evidence of a random share of training users is cut to a small simulated profile
(``small_profile_share``, sizes log-uniform from 3 to ``small_profile_max``).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import sparse
from tqdm import tqdm

from movierec import numerics
from movierec.kernels import (
    affinities,
    affinity_rows,
    fits_top_k_pairs,
    fold_residuals,
    fold_square_sums,
    fold_sums,
    kernel_csr,
    neighbor_rows,
    neighbor_sums,
)
from movierec.sparse import by_user, within_pairs

PROGRESS_ROWS = 2_000_000  # fits on more training ratings than this show progress
PARALLEL_ROWS = 200_000  # predictions of more rows than this run on every core
SMALLEST_PROFILE = 3  # simulated profiles hold from this many ratings to small_profile_max
GROUP_FEATURES = {
    "biases": ["movie_bias", "movie_log_count", "user_bias", "user_log_count"],
    "genre_affinity": ["user_genre_affinity"],
    "tag_affinity": ["user_tag_affinity"],
    "item_neighbors": ["neighbor_residual", "neighbor_log_support",
                       "neighbor_residual_x_log_support"],
}


def _damped_mean(sums: np.ndarray, counts: np.ndarray, damping: float) -> np.ndarray:
    """``sums / (counts + damping)``, 0 where there is no evidence at all."""
    denominator = counts + damping
    return np.divide(sums, denominator, out=np.zeros(np.shape(sums)), where=denominator > 0)


@dataclass(frozen=True)
class EvidenceConfig:
    """Hyperparameters of the evidence features: the ``train`` params of the same names."""

    damping: float
    genre_affinity: bool
    tag_affinity: bool
    item_neighbors: bool
    affinity_damping: float
    neighbors: int
    neighbor_shrinkage: float
    neighbor_damping: float
    neighbor_max_pairs: int
    seed: int

    @classmethod
    def biases_only(cls, damping: float) -> EvidenceConfig:
        """Damped biases and counts, no other feature group (the bias baseline's evidence)."""
        return cls(damping=damping, genre_affinity=False, tag_affinity=False,
                   item_neighbors=False, affinity_damping=1.0, neighbors=1,
                   neighbor_shrinkage=0.0, neighbor_damping=1.0, neighbor_max_pairs=0,
                   seed=0)

    @property
    def feature_names(self) -> list[str]:
        return [name for group, names in GROUP_FEATURES.items()
                if group == "biases" or getattr(self, group) for name in names]


@dataclass
class ItemEvidence:
    """What a set of evidence ratings says about movies: biases, counts, similar movies."""

    global_mean: float
    movie_bias: np.ndarray
    movie_count: np.ndarray
    similarity: sparse.csr_matrix | None

    def neighbor_of(self) -> sparse.csr_matrix:
        """``similarity`` transposed: row ``j`` holds the movies ``j`` is a neighbour of (built
        once, not pickled; in the kernels' types, so a refresh copies none of its 8.7M entries
        at ml-latest scale)."""
        if "_neighbor_of" not in self.__dict__:
            self.__dict__["_neighbor_of"] = kernel_csr(self.similarity.T)
        return self.__dict__["_neighbor_of"]

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if key != "_neighbor_of"}


@dataclass
class UserEvidence:
    """What a user's evidence ratings say about them; rows are users ``0 .. n_users-1``."""

    bias: np.ndarray
    count: np.ndarray
    residuals: sparse.csr_matrix | None  # users x movies: rating - global mean - movie bias
    #                                       - user bias (for the affinity and neighbour features)


def after_movies(items: ItemEvidence, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """Each rating's residual after the global mean and its movie's bias."""
    return ratings - items.global_mean - items.movie_bias[movie_idx]


def user_biases(items: ItemEvidence, user_idx: np.ndarray, movie_idx: np.ndarray,
                ratings: np.ndarray, n_users: int,
                damping: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Damped user biases of evidence ratings after the movie biases: each user's bias and rating
    count, and each rating's residual after the global mean and movie bias."""
    after_movie = after_movies(items, movie_idx, ratings)
    count = np.bincount(user_idx, minlength=n_users).astype(float)
    bias = _damped_mean(np.bincount(user_idx, after_movie, minlength=n_users), count, damping)
    return bias, count, after_movie


def user_evidence(items: ItemEvidence, user_idx: np.ndarray, movie_idx: np.ndarray,
                  ratings: np.ndarray, n_users: int, config: EvidenceConfig) -> UserEvidence:
    """Damped user biases and residuals from the users' evidence ratings; the residuals are kept
    only if a feature group needs them (affinities, item neighbours)."""
    n_movies = len(items.movie_bias)
    bias, count, after_movie = user_biases(items, user_idx, movie_idx, ratings, n_users,
                                           config.damping)
    keep = config.genre_affinity or config.tag_affinity or config.item_neighbors
    residuals = by_user(user_idx, movie_idx, after_movie - bias[user_idx], n_users,
                        n_movies) if keep else None
    return UserEvidence(bias=bias, count=count, residuals=residuals)


def item_similarities(pattern: sparse.csr_matrix, values: np.ndarray, skip: np.ndarray,
                      neighbors: int, shrinkage: float) -> list[sparse.csr_matrix]:
    """Each fit's ``neighbors`` most similar movies, all fits in one pass: residual cosine shrunk
    by co-rating count, fit ``f`` over the residuals ``values[e, f]`` of the entries ``e`` of
    the users x movies ``pattern`` with ``skip[e] != f``
    (:func:`movierec.kernels.fits_top_k_pairs`; ``values`` is overwritten)."""
    norms = np.sqrt(fold_square_sums(pattern.indices, pattern.shape[1], values, skip))
    return fits_top_k_pairs(pattern, values, skip, norms, norms, shrinkage, neighbors,
                            overwrite_values=True)


def fit_movie_biases(movie_idx: np.ndarray, ratings: np.ndarray, n_movies: int,
                     damping: float) -> ItemEvidence:
    """Global mean and damped movie biases of evidence ratings (no similarities)."""
    global_mean = float(ratings.mean())
    movie_count = np.bincount(movie_idx, minlength=n_movies).astype(float)
    movie_bias = _damped_mean(np.bincount(movie_idx, ratings - global_mean, minlength=n_movies),
                              movie_count, damping)
    return ItemEvidence(global_mean, movie_bias, movie_count, None)


def fit_item_evidence(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                      n_users: int, n_movies: int, config: EvidenceConfig,
                      fold: np.ndarray | None = None) -> list[ItemEvidence]:
    """Movie biases and similarities of evidence ratings: with ``fold`` (per rating, 0 .. K-1)
    one fit per fold ``k`` from the ratings not in it, then one from every rating; else that one.

    Each fit's similarity is :func:`item_similarities` of its users' residuals
    (:func:`user_evidence`), all fits in one pass over at most ``neighbor_max_pairs`` co-rated
    pairs of all ratings (a fold's fit uses those of its ratings): the pairwise work is done
    once, not once per fold.
    """
    n_folds = 0 if fold is None else int(fold.max()) + 1
    fold = np.full(len(ratings), -1, dtype=np.int8) if fold is None else fold
    # per fit (fold k's is the ratings not in it, the last all ratings) in one pass each: the
    # sums fit_movie_biases and user_biases take of each fit's ratings, to the last bit
    global_mean = np.array([ratings[fold != k].mean() for k in range(n_folds)] + [ratings.mean()])
    sums, movie_count = fold_sums(movie_idx, n_movies, ratings, fold, global_mean)
    movie_bias = _damped_mean(sums, movie_count, config.damping)
    fits = [ItemEvidence(float(global_mean[k]), movie_bias[:, k].copy(), movie_count[:, k].copy(),
                         None) for k in range(n_folds + 1)]
    if config.item_neighbors:  # the sampled pattern, and each fit's residuals of its entries
        pattern = within_pairs(by_user(user_idx, movie_idx, np.arange(len(ratings)), n_users,
                                       n_movies), config.neighbor_max_pairs, config.seed)
        sums, user_count = fold_sums(user_idx, n_users, ratings, fold, global_mean, movie_idx,
                                     movie_bias)
        values = fold_residuals(pattern.data, user_idx, movie_idx, ratings, fold, global_mean,
                                movie_bias, _damped_mean(sums, user_count, config.damping))
        del sums, user_count
        similarities = item_similarities(pattern, values, fold[pattern.data], config.neighbors,
                                         config.neighbor_shrinkage)
        for items, similarity in zip(fits, similarities, strict=True):
            items.similarity = similarity
    return fits


def neighbor_scores(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                    movie_idx: np.ndarray, damping: float) -> tuple[np.ndarray, np.ndarray]:
    """Similarity-weighted mean residual of the user on the query movie's neighbours, and support."""
    numerator, support = neighbor_sums(users.residuals, items.similarity, user_idx, movie_idx)
    return numerator / (support + damping), support


def evidence_columns(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                     movie_idx: np.ndarray, genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                     config: EvidenceConfig) -> Iterator[np.ndarray]:
    """The ``config.feature_names`` columns for (user, movie) rows of known users and movies,
    one at a time."""
    yield items.movie_bias.take(movie_idx)
    yield numerics.log1p(items.movie_count).take(movie_idx)
    yield users.bias.take(user_idx)
    yield numerics.log1p(users.count).take(user_idx)
    if config.genre_affinity:
        yield affinities(users.residuals, genres, config.affinity_damping, user_idx, movie_idx)
    if config.tag_affinity:
        yield affinities(users.residuals, tokens, config.affinity_damping, user_idx, movie_idx)
    if config.item_neighbors:
        score, support = neighbor_scores(items, users, user_idx, movie_idx,
                                         config.neighbor_damping)
        yield score
        log_support = numerics.log1p_float32(support)
        yield log_support
        yield score * log_support


def evidence_features(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                      movie_idx: np.ndarray, genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                      config: EvidenceConfig) -> np.ndarray:
    """:func:`evidence_columns` as a rows x ``config.feature_names`` matrix; many rows are split
    into a contiguous part per core, computed in threads (each row's features are its own)."""
    out = np.empty((len(user_idx), len(config.feature_names)))

    def fill(part: slice) -> None:
        columns = evidence_columns(items, users, user_idx[part], movie_idx[part], genres, tokens,
                                   config)
        for j, column in enumerate(columns):
            out[part, j] = column

    n_parts = (os.cpu_count() or 1) if len(user_idx) >= PARALLEL_ROWS else 1
    edges = np.linspace(0, len(user_idx), n_parts + 1).astype(int)
    with ThreadPoolExecutor(max_workers=n_parts) as pool:
        list(pool.map(fill, [slice(a, b) for a, b in pairwise(edges)]))
    return out


def evidence_matrices(items: ItemEvidence, users: UserEvidence, user_rows: np.ndarray,
                      genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                      config: EvidenceConfig, movies: np.ndarray | None = None
                      ) -> Iterator[np.ndarray]:
    """The ``config.feature_names`` columns for every (user row, movie) pair, one feature at a time
    (or for the movies ``movies`` only: columns).

    Each is broadcastable to ``len(user_rows) x`` movies; values equal :func:`evidence_features`.
    """
    every = slice(None) if movies is None else movies
    yield items.movie_bias[None, every]
    yield numerics.log1p(items.movie_count[every])[None, :]
    yield users.bias[user_rows, None]
    yield numerics.log1p(users.count[user_rows, None])
    if users.residuals is None:
        return
    # the rows' residuals only (the kernels take their arrays whole)
    residuals, rows = users.residuals[user_rows], np.arange(len(user_rows))
    if config.genre_affinity:
        yield affinity_rows(residuals, genres, config.affinity_damping, rows, movies)
    if config.tag_affinity:
        yield affinity_rows(residuals, tokens, config.affinity_damping, rows, movies)
    if config.item_neighbors:
        numerator, support = neighbor_rows(residuals, items.neighbor_of(), rows, movies)
        score = numerator / (support + config.neighbor_damping)
        log_support = numerics.log1p_float32(support)
        yield score
        yield log_support
        yield score * log_support


def small_profile_sizes(n_users: int, share: float, largest: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Simulated profile size of each user: for a random ``share`` of the users, log-uniform from
    ``SMALLEST_PROFILE`` to ``largest`` ratings; ``inf`` (all their evidence) for the others."""
    simulated = rng.random(n_users) < share
    sizes = numerics.exp(rng.uniform(math.log(SMALLEST_PROFILE),
                                     math.log(max(largest, SMALLEST_PROFILE)), n_users))
    return np.where(simulated, np.round(sizes), np.inf)


def out_of_fold_features(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                         n_users: int, n_movies: int, genres: sparse.csr_matrix,
                         tokens: sparse.csr_matrix, config: EvidenceConfig,
                         fold: np.ndarray, fits: list[ItemEvidence], out: np.ndarray | None = None,
                         profile_size: np.ndarray | None = None,
                         priority: np.ndarray | None = None) -> np.ndarray:
    """Evidence features of each training row, computed from the folds the row is not in: fold
    ``k``'s rows from the movie evidence ``fits[k]`` (:func:`fit_item_evidence` with ``fold``).

    With ``profile_size`` (per user, see :func:`small_profile_sizes`) a user's evidence is about
    that many of their other-fold ratings: each is kept if its ``priority`` (uniform in [0, 1), one
    per row) is below ``size / other-fold ratings``; movie evidence still uses every other-fold
    rating. Written into ``out`` (rows x ``config.feature_names``) if given, else a new array.
    """
    features = np.empty((len(ratings), len(config.feature_names))) if out is None else out
    # a user's features need only their own ratings: each fold's users are split into as many
    # parts of about equal ratings as there are cores, so the (fold, part) tasks balance them
    n_parts = max(min(os.cpu_count() or 1, n_users), 1)
    per_user = np.cumsum(np.bincount(user_idx, minlength=n_users))
    first_users = np.searchsorted(per_user, np.arange(1, n_parts) * (len(ratings) / n_parts))
    part = np.searchsorted(first_users, user_idx, side="right").astype(np.int16)

    def encode(task: tuple[int, int]) -> None:
        k, p = task
        mine = part == p
        held = fold == k
        other = np.flatnonzero(~held & mine)
        other_users = user_idx[other]
        if profile_size is not None:
            available = np.bincount(other_users, minlength=n_users)
            share = np.divide(profile_size, available, out=np.ones(n_users), where=available > 0)
            other = other[priority[other] < share[other_users]]
        items = fits[k]
        users = user_evidence(items, user_idx[other], movie_idx[other], ratings[other], n_users,
                              config)
        rows = np.flatnonzero(held & mine)
        columns = evidence_columns(items, users, user_idx[rows], movie_idx[rows], genres, tokens,
                                   config)
        for j, column in enumerate(columns):  # column by column: no rows x features temporary
            features[rows, j] = column

    tasks = [(k, p) for k in np.unique(fold) for p in range(n_parts)]
    # tasks are independent and write disjoint rows; numpy and scipy release the GIL in the heavy
    # parts, so threads use the machine's cores with the same result as one after another
    with ThreadPoolExecutor(max_workers=n_parts) as pool:
        list(tqdm(pool.map(encode, tasks), total=len(tasks), desc="out-of-fold evidence",
                  unit="part", file=sys.stderr, disable=len(ratings) < PROGRESS_ROWS,
                  leave=False))
    return features
