"""Turning predicted ratings into top-N lists: the one scoring that evaluation and recommend share."""

from __future__ import annotations

import numpy as np


def ranking_scores(predicted: np.ndarray, rating_counts: np.ndarray, popularity_weight: float,
                   min_ratings: int) -> np.ndarray:
    """Rank score of each movie (last axis): predicted rating + weight * log(1 + training ratings).

    Ranking by predicted rating alone favours obscure movies whose few ratings happen to be high;
    the popularity term and the ``min_ratings`` floor (movies with fewer training ratings score
    ``-inf``) trade that against how much evidence backs a movie.
    """
    scores = predicted + popularity_weight * np.log1p(rating_counts)
    return np.where(rating_counts >= min_ratings, scores, -np.inf)


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Column indices of the ``n`` highest scores of each row, best first (ties: lower index).

    ``-inf`` scores (excluded movies) are never returned, so a row may hold fewer than ``n``;
    missing places are -1.
    """
    scores = np.atleast_2d(scores)
    best = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    return np.where(np.isneginf(np.take_along_axis(scores, best, axis=1)), -1, best)
