"""The co-rating similarity of movies that ranking uses (the ``similar_movies`` stage): each movie's
most co-rated movies, from who rated what in the training split."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from movierec.data.ids import IdLookup, factorize_sorted
from movierec.errors import UserInputError
from movierec.io import save_sparse
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
    scale_row, scale_column = ratings ** exponent, ratings ** (1 - exponent)
    similarity = counts.data / (scale_row[row] * scale_column[counts.indices])
    return strongest_per_row(row, counts.indices, similarity, counts.shape, neighbors)


def sample_per_user(user_idx: np.ndarray, about: int, rng: np.random.Generator) -> np.ndarray:
    """Mask keeping each rating with probability ``min(1, about / user's ratings)``: about
    ``about`` ratings of each user (all of a user with fewer); 0 keeps everything."""
    if about == 0:
        return np.ones(len(user_idx), dtype=bool)
    share = (about / np.bincount(user_idx)).astype(np.float32)
    return rng.random(len(user_idx), dtype=np.float32) < share.take(user_idx)


@dataclass
class SimilarMovies:
    """Each movie's most co-rated movies: row ``k`` of ``matrix`` is ``movie_ids[k]``'s."""

    movie_ids: np.ndarray
    matrix: sparse.csr_matrix

    def save(self, path: str | Path) -> None:
        save_sparse(path, self.matrix, movie_ids=self.movie_ids)

    @classmethod
    def load(cls, path: str | Path) -> SimilarMovies:
        try:
            with np.load(path) as arrays:
                movie_ids = arrays["movie_ids"]
            return cls(movie_ids, sparse.load_npz(path).tocsr())
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise UserInputError(f"{path}: not a similar-movies file ({error}); "
                                 f"run `dvc repro` to rebuild it") from None

    def for_movies(self, movie_ids: np.ndarray, path: str | Path) -> sparse.csr_matrix:
        """The matrix, if its movies are ``movie_ids`` (the model's) in the same order."""
        if not np.array_equal(self.movie_ids, movie_ids):
            raise UserInputError(
                f"{path} holds {len(self.movie_ids)} movies, the model {len(movie_ids)} (or in "
                f"another order): they come from different runs; run `dvc repro`"
            )
        return self.matrix


def fit_similar_movies(ratings: pd.DataFrame, movie_ids: np.ndarray,
                       params: SimilarParams) -> SimilarMovies:
    """:func:`co_rating_similarity` over ``movie_ids`` from ``ratings`` (userId, movieId), using
    about ``similar.max_per_user`` random ratings of each user (0: all)."""
    user_idx, user_ids = factorize_sorted(ratings["userId"].to_numpy())
    movie_idx = IdLookup(movie_ids).positions(ratings["movieId"].to_numpy())
    if (movie_idx < 0).any():
        missing = ratings["movieId"].to_numpy()[movie_idx < 0][0]
        raise ValueError(f"ratings include movies outside movie_ids, e.g. {missing}")
    sample = sample_per_user(user_idx, params.max_per_user, np.random.default_rng(params.seed))
    matrix = co_rating_similarity(user_idx[sample], movie_idx[sample], len(user_ids),
                                  len(movie_ids), params.neighbors, params.exponent)
    return SimilarMovies(np.asarray(movie_ids), matrix)
