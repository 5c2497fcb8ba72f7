"""The rating model: a Ridge regression over movie content and out-of-fold rating evidence.

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

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import linalg, sparse
from tqdm import tqdm

from movie_features import MovieFeatures
from movielens import RATING_MAX, RATING_MIN, IdLookup

PROGRESS_ROWS = 2_000_000  # fits on more training ratings than this show progress
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


@dataclass
class EvidenceConfig:
    """Hyperparameters of the evidence features (the ``train`` params of the same names)."""

    damping: float = 10.0
    genre_affinity: bool = True
    tag_affinity: bool = True
    item_neighbors: bool = True
    affinity_damping: float = 5.0
    neighbors: int = 100
    neighbor_shrinkage: float = 100.0
    neighbor_damping: float = 1.0

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


@dataclass
class UserEvidence:
    """What a user's evidence ratings say about them; rows are users ``0 .. n_users-1``."""

    bias: np.ndarray
    count: np.ndarray
    residuals: sparse.csr_matrix | None  # users x movies: rating - global mean - movie bias
    #                                       - user bias (kept for the item-neighbour features)
    genre_affinity: np.ndarray | None
    tag_affinity: np.ndarray | None


def by_user(user_idx: np.ndarray, movie_idx: np.ndarray, values: np.ndarray, n_users: int,
            n_movies: int) -> sparse.csr_matrix:
    """Users x movies CSR of ``values``; linear time when rows come grouped by user, as training
    ratings do (interactions are sorted by user and movie)."""
    if len(user_idx) and (np.diff(user_idx) < 0).any():
        order = np.argsort(user_idx, kind="stable")
        user_idx, movie_idx, values = user_idx[order], movie_idx[order], values[order]
    index_dtype = np.int32 if len(values) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_users + 1, dtype=index_dtype)
    np.cumsum(np.bincount(user_idx, minlength=n_users), out=indptr[1:])
    return sparse.csr_matrix((values, movie_idx.astype(index_dtype, copy=False), indptr),
                             shape=(n_users, n_movies))


def user_evidence(items: ItemEvidence, user_idx: np.ndarray, movie_idx: np.ndarray,
                  ratings: np.ndarray, n_users: int, genres: sparse.csr_matrix,
                  tokens: sparse.csr_matrix, config: EvidenceConfig) -> UserEvidence:
    """Damped user biases, residuals and affinities from the users' evidence ratings.

    ``genres`` is the movies x genres matrix (rows sum to 1), ``tokens`` the TF-IDF one, both
    sparse (a product with a dense one costs every column); residuals are kept only if the
    item-neighbour features need them.
    """
    n_movies = len(items.movie_bias)
    after_movie = ratings - items.global_mean - items.movie_bias[movie_idx]
    count = np.bincount(user_idx, minlength=n_users).astype(float)
    bias = _damped_mean(np.bincount(user_idx, after_movie, minlength=n_users), count,
                        config.damping)
    residuals = by_user(user_idx, movie_idx, after_movie - bias[user_idx], n_users, n_movies)
    rated = sparse.csr_matrix((np.ones(residuals.nnz), residuals.indices, residuals.indptr),
                              shape=residuals.shape)

    def affinity(items_by_token: sparse.csr_matrix) -> np.ndarray:
        return _damped_mean((residuals @ items_by_token).toarray(),
                            (rated @ items_by_token).toarray(), config.affinity_damping)

    return UserEvidence(
        bias=bias, count=count, residuals=residuals if config.item_neighbors else None,
        genre_affinity=affinity(genres) if config.genre_affinity else None,
        tag_affinity=affinity(tokens) if config.tag_affinity else None,
    )


def _co_rating_counts(residuals: sparse.csr_matrix,
                      products: sparse.csr_matrix) -> np.ndarray:
    """How many users rated both movies, for each stored entry of ``products``."""
    rated = residuals.copy()
    rated.data = np.ones_like(rated.data)
    counts = rated.T.tocsr() @ rated  # CSR x CSR: no CSC product converted afterwards
    counts.sort_indices()
    if np.array_equal(counts.indptr, products.indptr) and np.array_equal(counts.indices,
                                                                          products.indices):
        return counts.data
    # a residual product summed to exactly 0 and was not stored: align on (row, col) keys
    n = np.int64(products.shape[1])
    count_keys = np.repeat(np.arange(n), np.diff(counts.indptr)) * n + counts.indices
    product_keys = np.repeat(np.arange(n), np.diff(products.indptr)) * n + products.indices
    return counts.data[np.searchsorted(count_keys, product_keys)]


def item_similarity(residuals: sparse.csr_matrix, neighbors: int,
                    shrinkage: float) -> sparse.csr_matrix:
    """Each movie's ``neighbors`` most similar movies: residual cosine, shrunk by co-rating count."""
    products = residuals.T.tocsr() @ residuals
    products.sort_indices()
    co_counts = _co_rating_counts(residuals, products)
    row = np.repeat(np.arange(products.shape[0]), np.diff(products.indptr))
    col = products.indices
    norms = np.sqrt(np.asarray(residuals.multiply(residuals).sum(axis=0)).ravel())
    denominator = norms[row] * norms[col]
    similarity = np.divide(products.data, denominator, out=np.zeros_like(products.data),
                           where=denominator > 0) * co_counts / (co_counts + shrinkage)
    return strongest_per_row(row, col, similarity, products.shape, neighbors)


def strongest_per_row(row: np.ndarray, col: np.ndarray, values: np.ndarray,
                      shape: tuple[int, int], k: int) -> sparse.csr_matrix:
    """Keep the ``k`` largest ``|values|`` of each row, off the diagonal; ties keep lower columns.

    Entries must be grouped by row with ascending columns (canonical CSR order).
    """
    keep = (row != col) & (values != 0)
    row, col, values = row[keep], col[keep], values[keep]
    per_row = np.bincount(row, minlength=shape[0])
    chosen = np.repeat(per_row <= k, per_row)  # short rows keep everything
    ends = np.cumsum(per_row)
    strength = np.abs(values)
    for r in np.flatnonzero(per_row > k):  # a loop over movies, not ratings
        start = ends[r] - per_row[r]
        segment = strength[start:ends[r]]
        kth = np.partition(segment, len(segment) - k)[len(segment) - k]
        above = segment > kth
        ties = np.flatnonzero(segment == kth)[: k - int(above.sum())]
        above[ties] = True
        chosen[start:ends[r]] = above
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row[chosen], minlength=shape[0]))])
    return sparse.csr_matrix((values[chosen], col[chosen], indptr), shape=shape)


def fit_movie_biases(movie_idx: np.ndarray, ratings: np.ndarray, n_movies: int,
                     damping: float) -> ItemEvidence:
    """Global mean and damped movie biases of evidence ratings (no similarities)."""
    global_mean = float(ratings.mean())
    movie_count = np.bincount(movie_idx, minlength=n_movies).astype(float)
    movie_bias = _damped_mean(np.bincount(movie_idx, ratings - global_mean, minlength=n_movies),
                              movie_count, damping)
    return ItemEvidence(global_mean, movie_bias, movie_count, None)


def fit_item_evidence(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                      n_users: int, n_movies: int, genres: sparse.csr_matrix,
                      tokens: sparse.csr_matrix, config: EvidenceConfig,
                      profiles: np.ndarray | None = None) -> tuple[ItemEvidence, UserEvidence]:
    """Movie biases and similarities from evidence ratings, and the evidence of their users:
    from every rating, or only from the ``profiles`` rows (a mask) if given."""
    items = fit_movie_biases(movie_idx, ratings, n_movies, config.damping)
    users = None
    if profiles is None or config.item_neighbors:
        users = user_evidence(items, user_idx, movie_idx, ratings, n_users, genres, tokens,
                              config if profiles is None else replace(
                                  config, genre_affinity=False, tag_affinity=False))
    if config.item_neighbors:
        items.similarity = item_similarity(users.residuals, config.neighbors,
                                           config.neighbor_shrinkage)
    if profiles is not None:
        users = user_evidence(items, user_idx[profiles], movie_idx[profiles], ratings[profiles],
                              n_users, genres, tokens, config)
    return items, users


def _row_dot(dense_by_user: np.ndarray, weights: np.ndarray | sparse.csr_matrix,
             user_idx: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
    """``dense_by_user[u] . weights[m]`` for each (u, m) query row.

    Each movie has few non-zero weights (its genres, its tokens): pass ``t`` adds the ``t``-th of
    them for the rows whose movie has more than ``t``, so the work is the query rows' non-zeros,
    not rows x columns.
    """
    weights = sparse.csr_matrix(weights)
    per_row = np.diff(weights.indptr)
    width = int(per_row.max(initial=0))
    # slot t of every movie, contiguous: each pass gathers from two short 1-d arrays
    columns = np.zeros((width, weights.shape[0]), dtype=np.int64)
    values = np.zeros((width, weights.shape[0]))
    movie = np.repeat(np.arange(weights.shape[0]), per_row)
    slot = np.arange(weights.nnz) - np.repeat(weights.indptr[:-1], per_row)
    columns[slot, movie], values[slot, movie] = weights.indices, weights.data
    flat, n_columns = dense_by_user.ravel(), dense_by_user.shape[1]
    out = np.zeros(len(user_idx))
    rows, base = slice(None), user_idx.astype(np.int64) * n_columns
    for t in range(width):
        if t:  # keep the rows whose movie has a slot t
            longer = np.flatnonzero(per_row.take(movie_idx) > t)
            rows = longer if t == 1 else rows[longer]
            movie_idx, base = movie_idx[longer], base[longer]
        out[rows] += values[t].take(movie_idx) * flat.take(base + columns[t].take(movie_idx))
    return out


def neighbor_scores(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                    movie_idx: np.ndarray, damping: float) -> tuple[np.ndarray, np.ndarray]:
    """Similarity-weighted mean residual of the user on the query movie's neighbours, and support."""
    selected = items.similarity[movie_idx]
    query = np.repeat(np.arange(len(movie_idx)), np.diff(selected.indptr))
    n_movies = users.residuals.shape[1]
    evidence = users.residuals.tocoo()
    keys = evidence.row.astype(np.int64) * n_movies + evidence.col
    order = np.argsort(keys)
    keys, values = keys[order], evidence.data[order]
    wanted = user_idx[query].astype(np.int64) * n_movies + selected.indices
    position = np.clip(np.searchsorted(keys, wanted), 0, max(len(keys) - 1, 0))
    found = keys[position] == wanted if len(keys) else np.zeros(len(wanted), dtype=bool)
    weight = selected.data[found]
    numerator = np.bincount(query[found], weight * values[position[found]],
                            minlength=len(movie_idx))
    support = np.bincount(query[found], np.abs(weight), minlength=len(movie_idx))
    return numerator / (support + damping), support


def evidence_columns(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                     movie_idx: np.ndarray, genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                     config: EvidenceConfig) -> Iterator[np.ndarray]:
    """The ``config.feature_names`` columns for (user, movie) rows of known users and movies,
    one at a time."""
    yield items.movie_bias.take(movie_idx)
    yield np.log1p(items.movie_count).take(movie_idx)
    yield users.bias.take(user_idx)
    yield np.log1p(users.count).take(user_idx)
    if config.genre_affinity:
        yield _row_dot(users.genre_affinity, genres, user_idx, movie_idx)
    if config.tag_affinity:
        yield _row_dot(users.tag_affinity, tokens, user_idx, movie_idx)
    if config.item_neighbors:
        score, support = neighbor_scores(items, users, user_idx, movie_idx,
                                         config.neighbor_damping)
        yield score
        yield np.log1p(support)
        yield score * np.log1p(support)


def evidence_features(items: ItemEvidence, users: UserEvidence, user_idx: np.ndarray,
                      movie_idx: np.ndarray, genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                      config: EvidenceConfig) -> np.ndarray:
    """:func:`evidence_columns` as a rows x ``config.feature_names`` matrix."""
    return np.column_stack(list(evidence_columns(items, users, user_idx, movie_idx, genres, tokens,
                                                 config)))


def evidence_matrices(items: ItemEvidence, users: UserEvidence, user_rows: np.ndarray,
                      genres: sparse.csr_matrix, tokens: sparse.csr_matrix,
                      config: EvidenceConfig) -> Iterator[np.ndarray]:
    """The ``config.feature_names`` columns for every (user row, movie) pair, one feature at a time.

    Each is broadcastable to ``len(user_rows) x n_movies``; values equal :func:`evidence_features`.
    """
    yield items.movie_bias[None, :]
    yield np.log1p(items.movie_count)[None, :]
    yield users.bias[user_rows, None]
    yield np.log1p(users.count[user_rows, None])
    if config.genre_affinity:
        yield np.asarray(genres @ users.genre_affinity[user_rows].T).T
    if config.tag_affinity:
        yield np.asarray(tokens @ users.tag_affinity[user_rows].T).T
    if config.item_neighbors:
        residuals = users.residuals[user_rows]
        rated = residuals.copy()
        rated.data = np.ones_like(rated.data)
        # (S @ R^T)^T, not R @ S^T: transposing the few user rows is cheap, the movie matrix not
        support = (abs(items.similarity) @ rated.T).T.toarray()
        score = (items.similarity @ residuals.T).T.toarray() / (support + config.neighbor_damping)
        log_support = np.log1p(support)
        yield score
        yield log_support
        yield score * log_support


def small_profile_sizes(n_users: int, share: float, largest: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Simulated profile size of each user: for a random ``share`` of the users, log-uniform from
    ``SMALLEST_PROFILE`` to ``largest`` ratings; ``inf`` (all their evidence) for the others."""
    simulated = rng.random(n_users) < share
    sizes = np.exp(rng.uniform(np.log(SMALLEST_PROFILE), np.log(max(largest, SMALLEST_PROFILE)),
                               n_users))
    return np.where(simulated, np.round(sizes), np.inf)


def out_of_fold_features(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                         n_users: int, n_movies: int, genres: sparse.csr_matrix,
                         tokens: sparse.csr_matrix, config: EvidenceConfig,
                         fold: np.ndarray, out: np.ndarray | None = None,
                         profile_size: np.ndarray | None = None,
                         priority: np.ndarray | None = None) -> np.ndarray:
    """Evidence features of each training row, computed from the folds the row is not in.

    With ``profile_size`` (per user, see :func:`small_profile_sizes`) a user's evidence is about
    that many of their other-fold ratings: each is kept if its ``priority`` (uniform in [0, 1), one
    per row) is below ``size / other-fold ratings``; movie evidence still uses every other-fold
    rating. Written into ``out`` (rows x ``config.feature_names``) if given, else a new array.
    """
    features = np.empty((len(ratings), len(config.feature_names))) if out is None else out

    def encode(k: int) -> None:
        held = fold == k
        other = np.flatnonzero(~held)
        other_users = user_idx[other]
        profiles = None
        if profile_size is not None:
            available = np.bincount(other_users, minlength=n_users)
            share = np.divide(profile_size, available, out=np.ones(n_users), where=available > 0)
            profiles = priority[other] < share[other_users]
        items, users = fit_item_evidence(other_users, movie_idx[other], ratings[other],
                                         n_users, n_movies, genres, tokens, config, profiles)
        rows = np.flatnonzero(held)
        columns = evidence_columns(items, users, user_idx[rows], movie_idx[rows], genres, tokens,
                                   config)
        for j, column in enumerate(columns):  # column by column: no rows x features temporary
            features[rows, j] = column

    folds = np.unique(fold)
    # folds are independent and write disjoint rows; numpy and scipy release the GIL in the heavy
    # parts, so threads use the machine's cores with the same result as one after another
    with ThreadPoolExecutor(max_workers=min(len(folds), os.cpu_count() or 1)) as pool:
        list(tqdm(pool.map(encode, folds), total=len(folds), desc="out-of-fold evidence",
                  unit="fold", file=sys.stderr, disable=len(ratings) < PROGRESS_ROWS, leave=False))
    return features


@dataclass
class LinearFit:
    """A fitted linear model: ``predict(X) = X @ coef_ + intercept_``.

    With ``dense_mean_`` and ``dense_scale_``, X's columns after the content ones are standardized:
    ``(column - dense_mean_) / dense_scale_``.
    """

    coef_: np.ndarray
    intercept_: float
    dense_mean_: np.ndarray | None = None
    dense_scale_: np.ndarray | None = None

    def predict(self, design: np.ndarray | sparse.spmatrix) -> np.ndarray:
        return np.asarray(design @ self.coef_).ravel() + self.intercept_


def ridge_by_movie(content: sparse.csr_matrix | None, movie_idx: np.ndarray, dense: np.ndarray,
                   y: np.ndarray, alpha: float, standardize: bool = False,
                   movie_dense: np.ndarray | None = None) -> LinearFit:
    """Ridge with intercept on ``X = [content[movie_idx], movie_dense[movie_idx], dense]``,
    without building ``X``.

    The same estimator as ``sklearn.linear_model.Ridge(alpha).fit(X, y)`` (exact solve): the
    movie-level columns repeat per movie, so their centred Gram matrix and ``X^T y`` come from
    per-movie counts and sums; the dense columns' moments are one BLAS product, centred afterwards.
    Memory is that of ``dense``; time is linear in the rows.
    ``standardize`` fits on the ``movie_dense`` and ``dense`` columns scaled to unit standard
    deviation (applied to the Gram matrix, so nothing is copied); ``dense_mean_`` and
    ``dense_scale_`` then hold their means and scales, ``movie_dense`` first.
    """
    n, n_dense = dense.shape
    y_mean, dense_mean = float(y.mean()), dense.mean(axis=0)
    gram = dense.T @ dense - n * np.outer(dense_mean, dense_mean)
    xty = dense.T @ y - n * y_mean * dense_mean
    means = dense_mean
    parts = [part for part in (content, movie_dense) if part is not None]
    n_content = 0 if content is None else content.shape[1]
    if parts:
        movies = sparse.hstack([sparse.csr_matrix(part) for part in parts]).tocsr()
        n_movies = movies.shape[0]
        counts = np.bincount(movie_idx, minlength=n_movies).astype(float)
        movies_mean = np.asarray(movies.T @ counts).ravel() / n
        gram_movies = (movies.T @ sparse.diags(counts) @ movies).toarray()
        gram_movies -= n * np.outer(movies_mean, movies_mean)
        dense_by_movie = np.column_stack([  # per-movie sums of the centred columns
            np.bincount(movie_idx, dense[:, j], minlength=n_movies) - counts * dense_mean[j]
            for j in range(n_dense)]).reshape(n_movies, n_dense)
        cross = np.asarray(movies.T @ dense_by_movie)
        gram = np.block([[gram_movies, cross], [cross.T, gram]])
        y_by_movie = np.bincount(movie_idx, y, minlength=n_movies) - counts * y_mean
        xty = np.concatenate([movies.T @ y_by_movie, xty])
        means = np.concatenate([movies_mean, dense_mean])
    scale = np.ones(len(gram))
    if standardize:  # every column but content's; the centred Gram's diagonal is n x variance
        scale[n_content:] = np.sqrt(np.diag(gram)[n_content:] / n)
        scale[scale == 0] = 1.0
        gram /= np.outer(scale, scale)
        xty /= scale
    coef = linalg.solve(gram + alpha * np.eye(len(gram)), xty, assume_a="pos")
    fitted_means = np.where(np.arange(len(means)) < n_content, means, 0.0) if standardize else means
    return LinearFit(coef_=coef, intercept_=y_mean - float(fitted_means @ coef),
                     dense_mean_=means[n_content:] if standardize else None,
                     dense_scale_=scale[n_content:] if standardize else None)


def factorize_sorted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(ids, sort=True)``; one linear pass when ``ids`` come sorted, as training
    ratings do (interactions are sorted by user and movie)."""
    steps = np.diff(ids)
    if (steps < 0).any():
        return pd.factorize(ids, sort=True)
    starts = np.flatnonzero(steps) + 1
    codes = np.zeros(len(ids), dtype=np.int64)
    codes[starts] = 1
    return np.cumsum(codes, out=codes), ids[np.concatenate([[0], starts])] if len(ids) else ids


def row_normalize(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    """Scale each row to sum 1 (rows of zeros stay zero)."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ matrix


class RatingModel:
    """Predicts a user's rating of a movie; see the module docstring for the features.

    Parameters are the ``train`` section of params.yaml: ``alpha`` (Ridge penalty), ``folds``
    (out-of-fold encoding), ``max_samples`` (-1: every training rating), ``seed``, ``content``
    (TF-IDF and year columns in the Ridge), the :class:`EvidenceConfig` fields,
    ``small_profile_share`` and ``small_profile_max`` (simulated new-user profiles, see
    :func:`out_of_fold_features`).
    """

    def __init__(self, alpha: float = 1.0, folds: int = 5, max_samples: int = -1, seed: int = 0,
                 content: bool = True, damping: float = 10.0, genre_affinity: bool = True,
                 tag_affinity: bool = True, item_neighbors: bool = True,
                 affinity_damping: float = 5.0, neighbors: int = 100,
                 neighbor_shrinkage: float = 100.0, neighbor_damping: float = 1.0,
                 small_profile_share: float = 0.0, small_profile_max: int = 60) -> None:
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
        self.small_profile_share = small_profile_share
        self.small_profile_max = small_profile_max

    def _config(self) -> EvidenceConfig:
        return EvidenceConfig(
            damping=self.damping, genre_affinity=self.genre_affinity,
            tag_affinity=self.tag_affinity, item_neighbors=self.item_neighbors,
            affinity_damping=self.affinity_damping, neighbors=self.neighbors,
            neighbor_shrinkage=self.neighbor_shrinkage, neighbor_damping=self.neighbor_damping)

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

        with ThreadPoolExecutor(max_workers=1) as background:  # what predictions use, meanwhile
            evidence = background.submit(fit_item_evidence, user_idx, movie_idx, y, n_users,
                                         n_movies, self.genres_, self.tokens_, config)
            fold = rng.integers(0, self.folds, size=len(y), dtype=np.int8)
            rows = None
            if 0 < self.max_samples < len(y):
                rows = np.sort(rng.choice(len(y), size=self.max_samples, replace=False))
            profile_size = priority = None
            if self.small_profile_share > 0:
                profile_size = small_profile_sizes(n_users, self.small_profile_share,
                                                   self.small_profile_max, rng)
                priority = rng.random(len(y), dtype=np.float32)
            # the Ridge's per-rating columns: the evidence (content and numeric are per movie)
            dense = np.empty((len(y), len(config.feature_names)), order="F")
            out_of_fold_features(user_idx, movie_idx, y, n_users, n_movies, self.genres_,
                                 self.tokens_, config, fold, out=dense,
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
            self.items_, self.users_ = evidence.result()
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
        users = self.users_

        def add_zero_row(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else np.vstack([values, np.zeros(values.shape[1])])

        residuals = users.residuals
        return UserEvidence(
            bias=np.append(users.bias, 0.0), count=np.append(users.count, 0.0),
            residuals=None if residuals is None else sparse.vstack(
                [residuals, sparse.csr_matrix((1, residuals.shape[1]))]).tocsr(),
            genre_affinity=add_zero_row(users.genre_affinity),
            tag_affinity=add_zero_row(users.tag_affinity))

    def score_matrix(self, users: UserEvidence, user_rows: np.ndarray,
                     clip: bool = True) -> np.ndarray:
        """Predicted ratings of every movie (columns, as ``movie_ids_``) for rows of ``users``.

        The Ridge is linear, so this adds each feature's contribution as a whole matrix: the same
        predictions as :meth:`predict`, for all movies at once. ``clip=False`` keeps values past
        the rating scale, which still order movies (ranking needs that; many would tie at 5).
        """
        coef, mean, scale = self.ridge_.coef_, self.ridge_.dense_mean_, self.ridge_.dense_scale_
        n_dense = len(mean)
        n_users, n_movies = len(user_rows), len(self.movie_ids_)
        weight = coef[len(coef) - n_dense:] / scale  # per unstandardized dense column
        by_movie = np.full(n_movies, self.ridge_.intercept_)
        if self.content:
            n_tokens = self.content_.shape[1]
            n_numeric = len(self.numeric_names_)
            by_movie += self.content_ @ coef[:n_tokens]
            by_movie += (self.movie_numeric_ - mean[:n_numeric]) @ weight[:n_numeric]
        by_user = np.zeros(n_users)
        scores = term = None
        first = n_dense - len(self._config().feature_names)
        columns = evidence_matrices(self.items_, users, user_rows, self.genres_, self.tokens_,
                                    self._config())
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
                             np.asarray(ratings, dtype=float)[known], n_profiles, self.genres_,
                             self.tokens_, self._config())

    def coefficients(self) -> pd.DataFrame:
        """Ridge coefficients by feature name (numeric features per standard deviation)."""
        return pd.DataFrame({"feature": self.feature_names_, "coefficient": self.ridge_.coef_})
