"""Evidence features by hand: biases, affinities, item neighbours, simulated profiles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.model import evidence
from movierec.model.evidence import (
    ItemEvidence,
    UserEvidence,
    evidence_features,
    evidence_matrices,
    fit_item_evidence,
    fit_movie_biases,
    item_similarities,
    neighbor_scores,
    out_of_fold_features,
    small_profile_sizes,
    user_evidence,
)
from movierec.sparse import row_normalize
from support import evidence_config


def item_similarity(residuals: sparse.csr_matrix, neighbors: int,
                    shrinkage: float) -> sparse.csr_matrix:
    """:func:`item_similarities` of one fit: all of ``residuals``."""
    return item_similarities(residuals, residuals.data[:, None], np.full(residuals.nnz, -1),
                             neighbors, shrinkage)[0]


BIASES_ONLY = evidence_config(damping=1.0, genre_affinity=False, tag_affinity=False, item_neighbors=False)


def test_damped_biases_by_hand():
    # global mean 3; movie 0: (4-3 + 5-3) / (2 + 1) = 1; movie 1: (0 - 3... ) below
    user = np.array([0, 1, 0])
    movie = np.array([0, 0, 1])
    rating = np.array([4.0, 5.0, 0.0])
    [items] = fit_item_evidence(user, movie, rating, 2, 3, BIASES_ONLY)
    users = user_evidence(items, user, movie, rating, 2, BIASES_ONLY)
    assert items.global_mean == 3.0
    assert items.movie_bias.tolist() == [1.0, -1.5, 0.0]
    # user 0: residuals 4-3-1=0 and 0-3+1.5=-1.5 -> -1.5 / 3
    assert users.bias.tolist() == [-0.5, pytest.approx(1 / 2)]
    assert items.movie_count.tolist() == [2, 1, 0]
    assert users.residuals is None  # kept only for the affinity and item-neighbour features
    with_neighbors = evidence_config(damping=1.0, genre_affinity=False, tag_affinity=False)
    [items] = fit_item_evidence(user, movie, rating, 2, 3, with_neighbors)
    users = user_evidence(items, user, movie, rating, 2, with_neighbors)
    assert users.residuals.toarray()[0].tolist() == [0.5, -1.0, 0.0]


def test_item_similarity_keeps_the_strongest_shrunk_cosines():
    # movies 0 and 1 move together for both users; movie 2 moves against movie 0 for one user
    residuals = sparse.csr_matrix(np.array([[1.0, 1.0, -1.0], [1.0, 1.0, 0.0]]))
    similarity = item_similarity(residuals, neighbors=1, shrinkage=2.0).toarray()
    cosine_01 = 2 / (np.sqrt(2) * np.sqrt(2))
    assert similarity[0].tolist() == pytest.approx([0.0, cosine_01 * 2 / 4, 0.0])
    cosine_20 = cosine_21 = -1 / (1 * np.sqrt(2))  # a tie: the lower column wins
    assert cosine_20 == cosine_21
    assert similarity[2].tolist() == pytest.approx([cosine_20 * 1 / 3, 0.0, 0.0])
    assert (similarity.diagonal() == 0).all()


def test_neighbor_scores_average_the_users_residuals_on_similar_movies():
    similarity = sparse.csr_matrix(np.array([[0.0, 0.5, 0.25], [0.5, 0.0, 0.0], [0.25, 0.0, 0.0]]))
    items = ItemEvidence(3.0, np.zeros(3), np.ones(3), similarity)
    residuals = sparse.csr_matrix(np.array([[0.0, 2.0, -1.0]]))
    users = UserEvidence(np.zeros(1), np.ones(1), residuals)
    score, support = neighbor_scores(items, users, np.array([0, 0]), np.array([0, 1]), damping=1.0)
    assert score.tolist() == pytest.approx([(0.5 * 2 - 0.25) / (0.75 + 1), 0.0])
    assert support.tolist() == [0.75, 0.0]


def test_genre_affinity_is_the_damped_mean_residual_per_genre():
    genres = row_normalize(sparse.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])))
    config = evidence_config(damping=0.0, genre_affinity=True, tag_affinity=False,
                            item_neighbors=False, affinity_damping=1.0)
    [items] = fit_item_evidence(np.array([1]), np.array([2]), np.array([3.0]), 2, 3, config)
    users = user_evidence(items, np.array([0, 0]), np.array([0, 1]), np.array([5.0, 3.0]), 1,
                          config)
    # user bias (5-3 + 3-3)/2 = 1 -> residuals +1 (movie 0: genre 0), -1 (movie 1: half each):
    # genre 0 (1 - 0.5) / (1.5 + 1), genre 1 -0.5 / (0.5 + 1); a movie's is its genres' mean
    genre = [(1 - 0.5) / 2.5, -0.5 / 1.5]
    columns = evidence_matrices(items, users, np.array([0]), genres, None, config)
    affinity = list(columns)[4]
    assert affinity.tolist() == [pytest.approx([genre[0], sum(genre) / 2, genre[1]])]
    features = evidence_features(items, users, np.array([0, 0, 0]), np.arange(3), genres, None,
                                 config)
    assert features[:, 4].tolist() == affinity[0].tolist()


def test_small_profile_sizes_cut_the_chosen_share_of_users():
    sizes = small_profile_sizes(10_000, 0.5, 60, np.random.default_rng(0))
    simulated = np.isfinite(sizes)
    assert 0.47 < simulated.mean() < 0.53
    assert sizes[simulated].min() == 3 and sizes[simulated].max() == 60
    # log-uniform: as many profiles of 3-13 ratings as of 13-60
    assert abs((sizes[simulated] <= 13).mean() - 0.5) < 0.05
    assert np.isinf(small_profile_sizes(100, 0.0, 60, np.random.default_rng(0))).all()


def test_simulated_profiles_cut_the_user_evidence_of_training_rows():
    rng = np.random.default_rng(0)
    n_users, n_movies = 40, 300
    user, movie = np.nonzero(rng.random((n_users, n_movies)) < 0.5)  # ~150 movies per user
    n = len(user)
    rating = rng.choice(np.arange(0.5, 5.5, 0.5), n)
    tokens = row_normalize(sparse.random(n_movies, 6, density=0.5, random_state=1, format="csr"))
    config = evidence_config(neighbors=5)
    fold = rng.integers(0, 5, n)
    count = config.feature_names.index("user_log_count")
    fits = fit_item_evidence(user, movie, rating, n_users, n_movies, config, fold)[:-1]
    full = out_of_fold_features(user, movie, rating, n_users, n_movies, tokens, tokens, config, fold,
                                fits)
    size = np.where(np.arange(n_users) % 2 == 0, 5.0, np.inf)
    cut = out_of_fold_features(user, movie, rating, n_users, n_movies, tokens, tokens, config, fold,
                               fits, profile_size=size, priority=rng.random(n))
    small = np.isfinite(size[user])
    # about 5 of the ~120 other-fold ratings of the even users; all of the others'
    assert np.expm1(cut[small, count]).mean() == pytest.approx(5, abs=1)
    np.testing.assert_array_equal(cut[~small], full[~small])


def test_one_pass_gives_every_fold_the_similarity_of_its_own_ratings():
    rng = np.random.default_rng(3)
    n_users, n_movies = 50, 40
    user, movie = np.nonzero(rng.random((n_users, n_movies)) < 0.4)
    rating = rng.choice(np.arange(0.5, 5.5, 0.5), len(user))
    fold = rng.integers(0, 5, len(user))
    config = evidence_config(neighbors=6)
    fits = fit_item_evidence(user, movie, rating, n_users, n_movies, config, fold)
    assert len(fits) == 6  # one per fold, then all ratings
    for k, items in enumerate(fits):
        held = fold != k
        users = user_evidence(items, user[held], movie[held], rating[held], n_users, config)
        own = item_similarity(users.residuals, config.neighbors, config.neighbor_shrinkage)
        own_biases = fit_movie_biases(movie[held], rating[held], n_movies, config.damping)
        assert items.global_mean == own_biases.global_mean == rating[held].mean()
        np.testing.assert_array_equal(items.movie_bias, own_biases.movie_bias)
        np.testing.assert_array_equal(items.movie_count, own_biases.movie_count)
        assert items.similarity.nnz > 0
        assert (items.similarity != own).nnz == 0  # to the last bit


def test_many_rows_are_computed_in_parts_with_the_same_features(monkeypatch):
    rng = np.random.default_rng(4)
    n_users, n_movies = 30, 60
    user, movie = np.nonzero(rng.random((n_users, n_movies)) < 0.5)
    rating = rng.choice(np.arange(0.5, 5.5, 0.5), len(user))
    tokens = row_normalize(sparse.random(n_movies, 6, density=0.5, random_state=1, format="csr"))
    config = evidence_config(neighbors=5)
    [items] = fit_item_evidence(user, movie, rating, n_users, n_movies, config)
    users = user_evidence(items, user, movie, rating, n_users, config)
    whole = evidence_features(items, users, user, movie, tokens, tokens, config)
    monkeypatch.setattr(evidence, "PARALLEL_ROWS", 10)
    monkeypatch.setattr(evidence.os, "cpu_count", lambda: 3)  # parts split users' runs too
    assert evidence_features(items, users, user, movie, tokens, tokens, config).tolist() == \
        whole.tolist()
