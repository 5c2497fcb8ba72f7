"""The co-rating similarity of movies that ranking uses: each movie's most co-rated movies, from
who rated what in the training split."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from movierec import numerics
from movierec.kernels import top_k_co_ratings
from movierec.params import SimilarParams
from movierec.sparse import by_user, within_pairs


def co_rating_similarity(rated: sparse.csr_matrix, neighbors: int,
                         exponent: float) -> sparse.csr_matrix:
    """Each movie's ``neighbors`` most co-rated movies in the binary users x movies ``rated``
    (who rated what, not how).

    Entry (i, j) is ``co-ratings / (ratings_i ** exponent * ratings_j ** (1 - exponent))``:
    0.5 is the cosine; more than 0.5 discounts popular movies ``i``, which everybody co-rates
    with everything, so that the movies a person liked pull in what is specific to them.
    """
    ratings = np.bincount(rated.indices, minlength=rated.shape[1]).astype(float)
    return top_k_co_ratings(rated, numerics.power(ratings, exponent),
                            numerics.power(ratings, 1 - exponent), neighbors)


def fit_similar_movies(user_idx: np.ndarray, movie_idx: np.ndarray, n_users: int, n_movies: int,
                       params: SimilarParams) -> sparse.csr_matrix:
    """:func:`co_rating_similarity` of training ratings, from at most ``similar.max_pairs``
    co-rated pairs (0: all; :func:`movierec.sparse.within_pairs`)."""
    rated = within_pairs(by_user(user_idx, movie_idx, np.ones(len(user_idx)), n_users, n_movies),
                         params.max_pairs, params.seed)
    return co_rating_similarity(rated, params.neighbors, params.exponent)
