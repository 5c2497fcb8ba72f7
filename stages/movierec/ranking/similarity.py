"""The co-rating similarity of movies that ranking uses: each movie's most co-rated movies, from
who rated what in the training split."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from movierec import numerics
from movierec.params import SimilarParams
from movierec.sparse import by_user, strongest_per_row


def co_rating_similarity(user_idx: np.ndarray, movie_idx: np.ndarray, n_users: int,
                         n_movies: int, neighbors: int, exponent: float) -> sparse.csr_matrix:
    """Each movie's ``neighbors`` most co-rated movies, from who rated them (not how).

    Entry (i, j) is ``co-ratings / (ratings_i ** exponent * ratings_j ** (1 - exponent))``:
    0.5 is the cosine; more than 0.5 discounts popular movies ``i``, which everybody co-rates
    with everything, so that the movies a person liked pull in what is specific to them.
    """
    rated = by_user(user_idx, movie_idx, np.ones(len(user_idx)), n_users, n_movies)
    counts = rated.T.tocsr() @ rated
    counts.sort_indices()
    row = np.repeat(np.arange(n_movies), np.diff(counts.indptr))
    ratings = counts.diagonal()
    scale_row = numerics.power(ratings, exponent)
    scale_column = numerics.power(ratings, 1 - exponent)
    similarity = counts.data / (scale_row[row] * scale_column[counts.indices])
    return strongest_per_row(row, counts.indices, similarity, counts.shape, neighbors)


def sample_per_user(user_idx: np.ndarray, about: int, rng: np.random.Generator) -> np.ndarray:
    """Mask keeping each rating with probability ``min(1, about / user's ratings)``: about
    ``about`` ratings of each user (all of a user with fewer); 0 keeps everything."""
    if about == 0:
        return np.ones(len(user_idx), dtype=bool)
    share = (about / np.bincount(user_idx)).astype(np.float32)
    return rng.random(len(user_idx), dtype=np.float32) < share.take(user_idx)


def fit_similar_movies(user_idx: np.ndarray, movie_idx: np.ndarray, n_users: int, n_movies: int,
                       params: SimilarParams) -> sparse.csr_matrix:
    """:func:`co_rating_similarity` of training ratings, from about ``similar.max_per_user``
    random ratings of each user (0: all)."""
    sample = sample_per_user(user_idx, params.max_per_user, np.random.default_rng(params.seed))
    return co_rating_similarity(user_idx[sample], movie_idx[sample], n_users, n_movies,
                                params.neighbors, params.exponent)
