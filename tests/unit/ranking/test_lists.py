"""The one top-N path: the rank score's terms and weights, selection, masking, explanations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.params import RankParams
from movierec.ranking.item_model import LIKED_CENTER, ItemModel
from movierec.ranking.lists import Ranker, mask_and_select, top_n
from movierec.ranking.model import RankModel

NO_WEIGHTS = {"liked_weight": (0.0, 0.0), "rating_weight": (0.0, 0.0),
              "popularity_weight": (0.0, 0.0), "co_rating_weight": (0.0, 0.0),
              "rerank_weight": (0.0, 0.0), "calibration_weight": 0.0}


def ranker(rated, liked=None, similar=None, counts=None, walk=None, **params) -> Ranker:
    """A ranker over ``len(rated)`` movies, all covered, with these item weights."""
    n = len(rated)
    items = ItemModel(np.arange(n), np.asarray(rated, np.float32),
                      np.asarray(liked if liked is not None else np.zeros((n, n)), np.float32),
                      np.zeros((n, n), np.float32), np.ones(n),
                      np.asarray(walk if walk is not None else np.zeros((n, n)), np.float32), n)
    model = RankModel(np.arange(n), sparse.csr_matrix(similar if similar is not None
                                                      else np.zeros((n, n))), items)
    rank = RankParams(**(NO_WEIGHTS | params))
    genres = sparse.csr_matrix(np.eye(n))
    return Ranker(model, np.asarray(counts if counts is not None else np.ones(n), float), genres,
                  rank)


def test_top_n_breaks_ties_by_position_and_marks_empty_places():
    assert top_n(np.array([[1.0, 3.0, 3.0, 2.0]]), 3).tolist() == [[1, 2, 3]]
    assert top_n(np.array([[-np.inf, 1.0]]), 2).tolist() == [[1, -1]]
    scores = np.array([[5.0, 4.0, 3.0], [1.0, 2.0, 3.0]])
    assert mask_and_select(scores, np.array([0]), np.array([0]), 2,
                           exclude=np.array([False, False, True])).tolist() == [[1, -1], [1, 0]]


def test_weights_move_from_the_first_value_to_the_second_as_profiles_grow():
    rank = ranker(np.zeros((2, 2)), large_profile=10.0, liked_weight=(0.0, 1.0),
                  popularity_weight=(2.0, -2.0))
    weights = rank.weights(np.array([0.0, 10.0, 1e9]))
    assert weights["liked"].ravel().tolist() == pytest.approx([0.0, 0.5, 1.0])
    assert weights["popularity"].ravel().tolist() == pytest.approx([2.0, 0.0, -2.0])


def test_the_score_adds_each_weighted_term():
    rated = np.array([[0, 2.0, 1.0], [0, 0, 0], [0, 0, 0]])
    liked = np.array([[0, 0, 1.0], [0, 0, 0], [0, 0, 0]])
    counts = np.array([10.0, 20.0, 30.0])
    similar = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0, 0]])
    rank = ranker(rated, liked, similar, counts, large_profile=1e9, liked_weight=(0.5, 0.5),
                  rating_weight=(0.1, 0.1), popularity_weight=(0.01, 0.01),
                  co_rating_weight=(2.0, 2.0))
    predicted = np.array([[3.0, 4.0, 2.0]])
    scores = rank.scores(predicted, np.array([0]), np.array([0]), np.array([5.0]))
    expected = (np.array([0, 2.0, 1.0]) + 0.5 * (5 - LIKED_CENTER) * np.array([0, 0, 1.0])
                + 0.1 * predicted[0] + 0.01 * np.log1p(counts) + 2.0 * np.array([0, 0.5, 0]))
    np.testing.assert_allclose(scores[0], expected)  # a profile of one rating: sqrt(1) = 1
    assert rank.top_n(predicted, np.array([0]), np.array([0]), np.array([5.0]), 3).tolist() == [
        [1, 2, -1]]  # the profile's own movie is never listed


def test_movies_the_item_model_does_not_cover_are_never_listed():
    rank = ranker(np.zeros((3, 3)), rating_weight=(1.0, 1.0))
    rank.model.items.movies = np.array([0, 2])
    items = rank.model.items
    items.rated = items.liked = items.liked_plain = items.walk = np.zeros((2, 2), np.float32)
    # predicted ratings of the covered movies 0 and 2 only
    assert rank.top_n(np.array([[1.0, 2.0]]), np.array([], int), np.array([], int),
                      np.array([]), 3).tolist() == [[2, 0, -1]]
    with pytest.raises(ValueError, match="not of the 2 the item model covers"):
        rank.top_n(np.array([[1.0, 9.0, 2.0]]), np.array([], int), np.array([], int),
                   np.array([]), 3)


def test_the_best_candidates_are_reordered_by_place_and_predicted_rating():
    rated = np.zeros((5, 5))
    rated[0] = [0, 0.4, 0.3, 0.2, 0.1]  # rank score order: 1, 2, 3, 4
    rank = ranker(rated, candidates=3, rerank_weight=(1.0, 1.0))
    predicted = np.array([[0.0, 3.0, 3.0, 4.0, 5.0]])
    # candidates 1, 2, 3 (movie 4 is out); place -0, -1/3, -2/3 plus the predicted rating
    assert rank.top_n(predicted, np.array([0]), np.array([0]), np.array([4.0]), 2).tolist() == [
        [3, 1]]
    assert ranker(rated, candidates=3).top_n(predicted, np.array([0]), np.array([0]),
                                              np.array([4.0]), 4).tolist() == [[1, 2, 3, 4]]


def test_a_disliked_movie_lowers_the_movies_its_fans_liked():
    liked = np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]])
    rank = ranker(np.zeros((3, 3)), liked, liked_weight=(1.0, 1.0))
    fan, critic = (rank.scores(np.zeros((1, 3)), np.array([0]), np.array([0]), np.array([r]))[0]
                   for r in (5.0, 1.0))
    assert critic[1] < 0 < fan[1]


def test_each_listed_movie_is_explained_by_the_profile_movies_that_raise_it_most():
    rated = np.array([[0, 0.1, 0.9, 0], [0, 0, 0.2, 0.3], [0, 0, 0, 0], [0, 0, 0, 0]])
    rank = ranker(rated)
    reasons = rank.because(np.array([0, 1]), np.array([4.0, 3.0]), np.array([2, 3, 1]))
    assert reasons == [[0, 1], [1], [0]]  # movie 3 owes nothing to movie 0: it is left out
    assert rank.because(np.array([], int), np.array([]), np.array([2])) == [[]]


def test_the_walk_adds_its_arrivals_at_the_rated_models_spread_and_explains_them():
    rated = np.array([[0, 0, 0.9, 0.1], [0, 0, 0.1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    walk = np.array([[0, 0, 0, 0], [0, 0, 0, 1.0], [0, 0, 0, 0], [0, 0, 0, 0]])
    profile = np.array([0, 0]), np.array([0, 1]), np.array([4.0, 4.0])
    plain, walking = (ranker(rated, walk=walk, large_profile=1.0, walk_weight=(w, w))
                      for w in (0.0, 1.0))
    added = (walking.scores(np.zeros((1, 4)), *profile) - plain.scores(np.zeros((1, 4)), *profile))
    rated_row = (rated[0] + rated[1]) / np.sqrt(2)  # a profile of two: divided by sqrt(2)
    np.testing.assert_allclose(added[0], walk[1] * rated_row.std() / walk[1].std(), rtol=1e-6)
    assert plain.because(profile[1], profile[2], np.array([3])) == [[0]]
    assert walking.because(profile[1], profile[2], np.array([3])) == [[1, 0]]  # movie 1's walk
