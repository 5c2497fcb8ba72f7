"""The item model of the ranking: three EASE-style item-item ridge regressions (Steck 2019).

For the users x movies matrix ``X`` of the training ratings, each movie's column is regressed on
every other movie's, with the ridge penalty ``lambda`` and no movie predicting itself. The closed
form is ``B = I - P diag(1 / diag(P))`` with ``P = (X'X + lambda I)^-1``: a profile ``x`` scores
movie ``i`` with ``(x B)_i``, the sum over the profile's movies of their weights for ``i``, so each
listed movie can say which of the profile's movies put it there.

- ``rated``: ``X`` says who rated what (``rank.rated_penalty``); a profile's movies enter with 1,
  those it rated below ``LIKED_CENTER`` with ``rank.disliked_weight`` (at ranking).
- ``liked``: ``X`` says who liked what (rated >= ``rank.relevant_rating``;
  ``rank.liked_penalty``); a profile's movies enter with ``rating - LIKED_CENTER``, so a low
  rating or a "not interested" pushes down what people who liked that movie also liked. Each
  movie's column is scaled by ``(its likes) ** -rank.liked_exponent``, in the fit and for a
  profile's inputs and scores: liking a popular movie says less about a person than liking a
  rarer one, and popular movies are not favoured for being liked by everyone.
- ``liked_plain``: the same regression without that scaling (``rank.liked_plain_penalty``), so
  the ranking can lean on each as a profile grows (``rank.liked_plain_weight``).

Beside them, ``walk`` is no regression but a three-step random walk over who rated what
(RP3beta, Paudel et al. 2017): from a movie to one of its raters, to one of that person's movies,
each step uniformly, each arrival divided by the arrival movie's ratings to the power
``rank.walk_exponent`` so that the walk does not end on what everyone rated. A profile's movies
rated ``LIKED_CENTER`` or more start the walk.

The model covers the ``rank.item_movies`` most rated movies with at least ``rank.min_ratings``
training ratings; no other movie is ever recommended, and profile ratings of other movies are
left out of its scores (the rating model still uses them).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from movierec import numerics
from movierec.kernels import pair_counts
from movierec.params import RankParams

LIKED_CENTER = 2.5  # a rating of the profile enters the liked model as rating - this


def covered_movies(rating_counts: np.ndarray, params: RankParams) -> np.ndarray:
    """Positions of the movies the item model covers, ascending: the ``rank.item_movies`` most
    rated with at least ``rank.min_ratings`` ratings (ties: the lower position)."""
    eligible = np.flatnonzero(rating_counts >= max(params.min_ratings, 1))
    if len(eligible) > params.item_movies:
        order = np.lexsort((eligible, -rating_counts[eligible]))  # exact integer keys
        eligible = np.sort(eligible[order[: params.item_movies]])
    return eligible


def covered_positions(covered: np.ndarray, n_movies: int) -> np.ndarray:
    """Each of the ``n_movies`` movies' (model order) position among ``covered``; -1 if not
    covered."""
    column = np.full(n_movies, -1)
    column[covered] = np.arange(len(covered))
    return column


def binary_matrix(user_idx: np.ndarray, column: np.ndarray, n_users: int,
                  n_columns: int) -> sparse.csr_matrix:
    """The users x columns matrix with a 1 at each (user, column) pair."""
    return sparse.csr_matrix((np.ones(len(user_idx)), (user_idx, column)),
                             shape=(n_users, n_columns))


def gram(user_idx: np.ndarray, column: np.ndarray, n_users: int, n_columns: int) -> np.ndarray:
    """``X'X`` of the :func:`binary_matrix`: how many users have each pair of columns (exact
    integers, stored as floats)."""
    return pair_counts(binary_matrix(user_idx, column, n_users, n_columns))


def gram_and_walks(user_idx: np.ndarray, column: np.ndarray, n_users: int,
                   n_columns: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gram` and, in the same pass over the pairs, ``X' diag(1 / user's columns) X``: how
    often a step from a column to one of its users and on, uniformly, to one of theirs joins
    each pair of columns, before choosing among the first column's users."""
    user_columns = np.maximum(np.bincount(user_idx, minlength=n_users), 1)
    counts, walks = pair_counts(binary_matrix(user_idx, column, n_users, n_columns),
                                (1.0 / user_columns)[None, :])
    return counts, walks


def walk_weights(walks: np.ndarray, column_users: np.ndarray, exponent: float) -> np.ndarray:
    """``W[j, i]``: the chance that a walk from column ``j`` to one of its ``column_users[j]``
    users and on to one of theirs ends at ``i`` (each step uniform; ``walks`` from
    :func:`gram_and_walks`, overwritten), times ``i``'s users to the ``-exponent``; zero diagonal,
    float32."""
    users = np.maximum(column_users, 1).astype(float)
    walks /= users[:, None]
    walks *= numerics.power(users, -exponent)[None, :]
    np.fill_diagonal(walks, 0.0)
    return walks.astype(np.float32)


def ease_weights(gram_matrix: np.ndarray, penalty: float) -> np.ndarray:
    """``B = I - P diag(1 / diag(P))`` with ``P = (G + penalty I)^-1``, zero diagonal, float32.

    ``G + penalty I`` is symmetric positive definite: its inverse comes from its Cholesky factor
    (half the work of a general inverse), in place. LAPACK runs on one thread: its blocking
    depends on the thread count, and the same inputs must give the same bytes on every machine.
    """
    regularized = gram_matrix + penalty * np.eye(len(gram_matrix))
    with threadpool_limits(limits=1):
        factor, info = lapack.dpotrf(regularized, lower=True, overwrite_a=True, clean=True)
        if info == 0:
            inverse, info = lapack.dpotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise ValueError(f"the item model's regularized Gram matrix is not positive definite "
                         f"(LAPACK info {info}); raise its penalty")
    inverse += np.tril(inverse, -1).T  # dpotri fills the lower triangle; the upper is zeros
    weights = inverse / -np.diag(inverse)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights.astype(np.float32, order="C")  # LAPACK's is column-major: rows for products


@dataclass
class ItemModel:
    """Item-item weights over the movies at positions ``movies`` (ascending) of the model's
    order: ``rated[j, i]``, ``liked[j, i]``, ``liked_plain[j, i]`` and ``walk[j, i]`` are what
    rating movie ``movies[j]`` says about ``movies[i]`` (module docstring), ``liked`` between the
    column scales ``liked_scale``; ``n_movies`` is the length of the model's order."""

    movies: np.ndarray
    rated: np.ndarray
    liked: np.ndarray
    liked_plain: np.ndarray
    liked_scale: np.ndarray
    walk: np.ndarray
    n_movies: int

    def positions(self, movie_idx: np.ndarray) -> np.ndarray:
        """Each movie's (model order; -1: unknown) column in the item model, -1 if not covered."""
        movie_idx = np.asarray(movie_idx)
        column = covered_positions(self.movies, self.n_movies)
        return np.where(movie_idx >= 0, column[np.maximum(movie_idx, 0)], -1)

    def profile_matrices(self, rows: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                         n_rows: int
                         ) -> tuple[sparse.csr_matrix, ...]:
        """The profiles as the models' inputs (rows x covered movies): the rated model's 1 per
        movie rated ``LIKED_CENTER`` or more, and apart, 1 per movie rated below it (weighted
        by ``rank.disliked_weight`` when ranking); the liked model's ``rating - LIKED_CENTER``
        times the movie's liked scale; the plain liked model's ``rating - LIKED_CENTER``.
        Movies the model does not cover are left out."""
        position = self.positions(movie_idx)
        keep = position >= 0
        ratings = np.asarray(ratings, dtype=float)[keep]
        rows, position = rows[keep], position[keep]
        shape = (n_rows, len(self.movies))
        low = ratings < LIKED_CENTER
        rated = sparse.csr_matrix((np.ones((~low).sum()), (rows[~low], position[~low])),
                                  shape=shape)
        disliked = sparse.csr_matrix((np.ones(low.sum()), (rows[low], position[low])), shape=shape)
        liked = sparse.csr_matrix(((ratings - LIKED_CENTER) * self.liked_scale[position],
                                   (rows, position)), shape=shape)
        plain = sparse.csr_matrix((ratings - LIKED_CENTER, (rows, position)), shape=shape)
        return rated, disliked, liked, plain


def fit_item_model(user_idx: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray,
                   n_movies: int, params: RankParams) -> ItemModel:
    """The item model of training ratings (users ``user_idx``, movies at positions ``movie_idx``
    of the model's order)."""
    counts = np.bincount(movie_idx, minlength=n_movies)
    movies = covered_movies(counts, params)
    position = covered_positions(movies, n_movies)[movie_idx]
    kept = position >= 0
    users = np.unique(user_idx[kept], return_inverse=True)[1]
    n_users = users.max(initial=-1) + 1
    liked = np.asarray(ratings)[kept] >= params.relevant_rating
    # two cores: the larger Gram in a thread (its kernel releases the GIL) while this one sums
    # the liked Gram and inverts it twice (only this thread calls LAPACK, which holds the GIL)
    with ThreadPoolExecutor(max_workers=1) as pool:
        rated_gram = pool.submit(gram_and_walks, users, position[kept], n_users, len(movies))
        liked_gram = gram(users[liked], position[kept][liked], n_users, len(movies))
        plain_weights = ease_weights(liked_gram, params.liked_plain_penalty)
        scale = numerics.power(np.maximum(np.diag(liked_gram), 1.0), -params.liked_exponent)
        liked_gram *= scale[:, None]
        liked_gram *= scale[None, :]
        liked_weights = (ease_weights(liked_gram, params.liked_penalty)
                         * scale[None, :].astype(np.float32))
        counts, walks = rated_gram.result()
        walk = walk_weights(walks, np.diag(counts), params.walk_exponent)
        rated_weights = ease_weights(counts, params.rated_penalty)
    return ItemModel(movies, rated_weights, liked_weights, plain_weights, scale, walk, n_movies)
