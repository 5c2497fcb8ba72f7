"""Top-N lists: the one path from predicted ratings and a profile to a list, which evaluation, the
new-user simulation and recommend share (:class:`Ranker`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from movierec.params import RankParams


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
                   rank: RankParams) -> np.ndarray:
    """Rank score of each movie (last axis), from the ``rank`` params.

    predicted rating (unclipped) + ``popularity_weight`` * log(1 + training ratings)
    + ``co_rating_weight`` * mean co-rating similarity to the movies the person liked.
    Ranking by predicted rating alone favours obscure movies whose few ratings happen to be high;
    the popularity term and the ``min_ratings`` floor (movies with fewer training ratings score
    ``-inf``) trade that against how much evidence backs a movie, and the co-rating term brings
    movies that people who liked the same movies also watched.
    """
    scores = predicted + rank.popularity_weight * np.log1p(rating_counts)
    scores += rank.co_rating_weight * co_rating
    scores[..., rating_counts < rank.min_ratings] = -np.inf
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


def mask_and_select(scores: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray, n: int,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """:func:`top_n` of ``scores`` (changed in place) without the movies each row's profile holds
    (``rows``, ``movie_idx``; -1: unknown movie) and without ``exclude`` (a boolean mask
    broadcastable to ``scores``)."""
    known = movie_idx >= 0
    scores[rows[known], movie_idx[known]] = -np.inf
    if exclude is not None:
        scores[np.broadcast_to(exclude, scores.shape)] = -np.inf
    return top_n(scores, n)


@dataclass(frozen=True)
class Ranker:
    """The one way to turn predicted ratings and profiles into top-N lists.

    ``similar`` is the co-rating similarity and ``rating_counts`` the training ratings of each
    movie, both in the model's movie order; ``params`` the ``rank`` section.
    """

    similar: sparse.csr_matrix
    rating_counts: np.ndarray
    params: RankParams

    def top_n(self, predicted: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray,
              ratings: np.ndarray, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """The best ``n`` movies of each row of ``predicted`` (rows x movies, unclipped) for the
        profiles given as ratings (``rows``, ``movie_idx``, ``ratings``): the profile's liked
        movies feed the co-rating term, its movies and ``exclude`` are never listed."""
        liked = liked_matrix(rows, movie_idx, ratings, len(predicted), len(self.rating_counts),
                             self.params.relevant_rating)
        scores = ranking_scores(predicted, self.rating_counts,
                                co_rating_scores(self.similar, liked), self.params)
        return mask_and_select(scores, rows, movie_idx, n, exclude)
