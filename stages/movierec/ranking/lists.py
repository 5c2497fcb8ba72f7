"""Turning predicted ratings into top-N lists: the one scoring that evaluation and recommend share,
and the co-rating similarity between movies that it uses (the ``similar_movies`` stage)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from common import UserInputError, save_sparse
from model import by_user, factorize_sorted, strongest_per_row
from movielens import IdLookup


def liked_matrix(rows: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray, n_rows: int,
                 n_movies: int, threshold: float) -> sparse.csr_matrix:
    """Binary rows x movies matrix of the ratings >= ``threshold`` (unknown movies, -1, ignored)."""
    keep = (np.asarray(ratings) >= threshold) & (movie_idx >= 0)
    return sparse.csr_matrix((np.ones(keep.sum()), (rows[keep], movie_idx[keep])),
                             shape=(n_rows, n_movies))


def row_sets(matrix: sparse.csr_matrix) -> list[set[int]]:
    """The column indices stored in each row, e.g. each person's liked movies."""
    matrix = sparse.csr_matrix(matrix)
    return [set(matrix.indices[start:end].tolist())
            for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)]


def co_rating_scores(co_rated: sparse.csr_matrix, liked: sparse.csr_matrix) -> np.ndarray:
    """Mean co-rating similarity of every movie to each row's liked movies (0 with none liked)."""
    n_liked = np.asarray(liked.sum(axis=1)).ravel()
    totals = (co_rated @ liked.T).T.toarray()  # transposing the few rows of liked is cheap
    return totals / np.maximum(n_liked, 1)[:, None]


def ranking_scores(predicted: np.ndarray, rating_counts: np.ndarray, co_rating: np.ndarray,
                   rank: dict) -> np.ndarray:
    """Rank score of each movie (last axis), from the ``rank`` params.

    predicted rating (unclipped) + ``popularity_weight`` * log(1 + training ratings)
    + ``co_rating_weight`` * mean co-rating similarity to the movies the person liked.
    Ranking by predicted rating alone favours obscure movies whose few ratings happen to be high;
    the popularity term and the ``min_ratings`` floor (movies with fewer training ratings score
    ``-inf``) trade that against how much evidence backs a movie, and the co-rating term brings
    movies that people who liked the same movies also watched.
    """
    scores = predicted + rank["popularity_weight"] * np.log1p(rating_counts)
    scores += rank["co_rating_weight"] * co_rating
    scores[..., rating_counts < rank["min_ratings"]] = -np.inf
    return scores


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Column indices of the ``n`` highest scores of each row, best first (ties: lower index).

    ``-inf`` scores (excluded movies) are never returned, so a row may hold fewer than ``n``;
    missing places are -1.
    """
    scores = np.atleast_2d(scores)
    n_rows, n_columns = scores.shape
    n = min(n, n_columns)
    # the n-th best score of each row; every row has at least n scores at or above it, and these
    # few candidates are sorted: best first, then the lower column
    kth = np.partition(scores, n_columns - n, axis=1)[:, n_columns - n]
    row, column = np.nonzero(scores >= kth[:, None])
    value = scores[row, column]
    order = np.lexsort((column, -value, row))
    row, column, value = row[order], column[order], value[order]
    place = np.arange(len(row)) - np.searchsorted(row, np.arange(n_rows))[row]
    keep = place < n
    best, best_value = column[keep].reshape(n_rows, n), value[keep].reshape(n_rows, n)
    return np.where(np.isneginf(best_value), -1, best)


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


def fit_similar_movies(ratings: pd.DataFrame, movie_ids: np.ndarray, neighbors: int,
                       exponent: float, max_per_user: int,
                       rng: np.random.Generator) -> SimilarMovies:
    """:func:`co_rating_similarity` over ``movie_ids`` from ``ratings`` (userId, movieId), using
    about ``max_per_user`` random ratings of each user (0: all)."""
    user_idx, user_ids = factorize_sorted(ratings["userId"].to_numpy())
    movie_idx = IdLookup(movie_ids).positions(ratings["movieId"].to_numpy())
    if (movie_idx < 0).any():
        missing = ratings["movieId"].to_numpy()[movie_idx < 0][0]
        raise ValueError(f"ratings include movies outside movie_ids, e.g. {missing}")
    sample = sample_per_user(user_idx, max_per_user, rng)
    matrix = co_rating_similarity(user_idx[sample], movie_idx[sample], len(user_ids),
                                  len(movie_ids), neighbors, exponent)
    return SimilarMovies(np.asarray(movie_ids), matrix)
