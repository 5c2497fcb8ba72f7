"""The one top-N path: scores, selection, masking."""

from __future__ import annotations

import numpy as np

from movierec.params import RankParams
from movierec.ranking.lists import ranking_scores, top_n


def rank_params(popularity=0.0, co_rating=0.0, min_ratings=0):
    return RankParams(popularity_weight=popularity, co_rating_weight=co_rating,
                      min_ratings=min_ratings)


def test_ranking_scores_and_top_n():
    predicted = np.array([[4.0, 4.5, 3.0, 4.5]])
    counts = np.array([100.0, 1.0, 50.0, 3.0])
    no_co_rating = np.zeros((1, 4))
    scores = ranking_scores(predicted, counts, no_co_rating, rank_params(min_ratings=2))
    assert np.isneginf(scores[0, 1]) and scores[0, 3] == 4.5
    assert top_n(scores, 3).tolist() == [[3, 0, 2]]
    popular = ranking_scores(predicted, counts, no_co_rating, rank_params(popularity=1.0))
    assert top_n(popular, 2).tolist() == [[0, 2]]
    co_rated = ranking_scores(predicted, counts, np.array([[0.0, 0.0, 1.0, 0.0]]),
                              rank_params(co_rating=2.0))
    assert top_n(co_rated, 1).tolist() == [[2]]
    assert top_n(np.array([[-np.inf, 1.0]]), 2).tolist() == [[1, -1]]
