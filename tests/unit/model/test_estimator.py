"""The rating model as an estimator: it learns, predicts anything, and its score matrix agrees."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.data.interactions import split_train_test
from movierec.data.movielens import load_movies, load_ratings, load_tags
from movierec.evaluation.metrics import rmse
from movierec.features.movie_features import build_movie_features
from movierec.model.estimator import RatingModel
from support import make_movielens


@pytest.fixture
def fitted(movielens_dir):
    ratings = load_ratings(movielens_dir)
    train, test = split_train_test(ratings, "random", 0.2, np.random.default_rng(0))
    features = build_movie_features(load_movies(movielens_dir), load_tags(movielens_dir), train,
                                    max_features=50, min_df=1)
    return RatingModel(alpha=1.0, damping=5.0, folds=3, seed=0).fit(train, features), train, test


def test_model_beats_the_global_mean_on_learnable_data(fitted):
    model, train, test = fitted
    predicted = model.predict(test["userId"].to_numpy(), test["movieId"].to_numpy())
    baseline = np.full(len(test), train["rating"].mean())
    assert rmse(test["rating"], predicted) < 0.8 * rmse(test["rating"], baseline)
    assert len(model.coefficients()) == len(model.feature_names_) == model.ridge_.coef_.size


def test_model_predicts_unknown_users_and_movies_within_the_scale(fitted):
    model, _, _ = fitted
    predicted = model.predict(np.array([1, 99_999, 99_999]), np.array([123_456, 10, 123_456]))
    assert np.isfinite(predicted).all() and ((predicted >= 0.5) & (predicted <= 5.0)).all()


def test_max_samples_limits_the_rows_ridge_sees(movielens_dir):
    ratings = load_ratings(movielens_dir)
    features = build_movie_features(load_movies(movielens_dir), load_tags(movielens_dir), ratings,
                                    max_features=50, min_df=1)
    model = RatingModel(max_samples=50, seed=0).fit(ratings, features)
    assert model.n_samples_ == 50


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_profile_changes_the_predictions_toward_what_it_likes(tmp_path, seed):
    data = make_movielens(tmp_path / "taste", n_users=60, seed=seed, genre_taste=1.0)
    train, _ = split_train_test(load_ratings(data), "random", 0.2, np.random.default_rng(0))
    features = build_movie_features(load_movies(data), load_tags(data), train, max_features=50,
                                    min_df=1)
    model = RatingModel(alpha=1.0, damping=5.0, folds=3, seed=0).fit(train, features)
    movies = np.sort(train["movieId"].unique())
    liked, disliked = movies[:5], movies[5:10]
    rated = np.r_[liked, disliked]

    def predictions(ratings):
        evidence = model.profiles_evidence(np.zeros(len(ratings), dtype=int), rated[:len(ratings)],
                                           ratings, 1)
        return model.score_matrix(evidence, np.zeros(1, dtype=int))[0]

    fan, critic = predictions(np.r_[[5.0] * 5, [1.0] * 5]), predictions(np.r_[[1.0] * 5, [5.0] * 5])
    columns = model.movie_index(liked)
    assert fan[columns].mean() > critic[columns].mean()
    assert np.isfinite(predictions(np.array([]))).all()


@pytest.mark.parametrize("content", [True, False])
def test_score_matrix_equals_pairwise_predictions(movielens_dir, content):
    ratings = load_ratings(movielens_dir)
    features = build_movie_features(load_movies(movielens_dir), load_tags(movielens_dir), ratings,
                                    max_features=50, min_df=1)
    model = RatingModel(folds=3, neighbors=5, content=content).fit(ratings, features)
    rows = np.arange(len(model.user_ids_))
    matrix = model.score_matrix(model.users_, rows)
    users, movies = np.meshgrid(model.user_ids_, model.movie_ids_, indexing="ij")
    pairwise = model.predict(users.ravel(), movies.ravel()).reshape(matrix.shape)
    np.testing.assert_allclose(matrix, pairwise, rtol=1e-10, atol=1e-10)
    some = np.array([len(model.movie_ids_) - 1, 0, 7])
    assert model.score_matrix(model.users_, rows, movies=some).tolist() == \
        matrix[:, some].tolist()  # a movie's column is the same whichever others are scored
