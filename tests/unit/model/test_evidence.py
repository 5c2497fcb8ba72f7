"""Unit tests of the stages' pure functions on small, hand-checked inputs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import sparse

from common import UserInputError
from conftest import make_movielens
from evaluate import baseline_predictions, error_by_activity, error_metrics, residual_histogram
from explain import top_coefficients
from features import build_movie_features, movie_tokens, stop_words, tfidf
from interactions import build_interactions, filter_min_counts, split_train_test
from metrics import mae, rmse
from model import (
    EvidenceConfig,
    RatingModel,
    fit_item_evidence,
    item_similarity,
    neighbor_scores,
    out_of_fold_features,
    ridge_by_movie,
    row_normalize,
    small_profile_sizes,
    user_evidence,
)
from movielens import load_movies, load_ratings, load_tags
from newuser import hold_out_users, reveal_order, revealed
from ranking import sample_per_user


def test_rmse_and_mae_by_hand():
    assert rmse(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(math.sqrt(2.5))
    assert mae(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(1.5)


def table(rows):
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating"])


def test_filter_min_counts_repeats_until_both_hold():
    # movie 3 has one rating; dropping it leaves user 2 with one rating, who then goes too.
    data = table([(1, 1, 4), (1, 2, 4), (2, 1, 3), (2, 3, 3), (3, 1, 5), (3, 2, 2)])
    kept = filter_min_counts(data, min_user_ratings=2, min_movie_ratings=2)
    assert sorted(zip(kept["userId"], kept["movieId"], strict=True)) == [(1, 1), (1, 2), (3, 1), (3, 2)]


def test_random_split_is_seeded_and_sized():
    data = table([(u, m, 3.0) for u in range(10) for m in range(10)])
    train, test = split_train_test(data, "random", 0.2, np.random.default_rng(1))
    again, _ = split_train_test(data, "random", 0.2, np.random.default_rng(1))
    assert (len(train), len(test)) == (80, 20)
    pd.testing.assert_frame_equal(train, again)


def test_temporal_split_holds_out_each_users_latest_ratings():
    data = table([(u, m, 3.0) for u in (1, 2) for m in range(5)]).assign(
        timestamp=[5, 4, 3, 2, 1, 10, 20, 30, 40, 50])
    train, test = split_train_test(data, "temporal", 0.4, np.random.default_rng(0))
    assert sorted(zip(test["userId"], test["movieId"], strict=True)) == [(1, 0), (1, 1), (2, 3), (2, 4)]
    assert len(train) == 6


def test_split_that_leaves_a_side_empty_is_explained():
    with pytest.raises(UserInputError, match="leaves an empty test split"):
        split_train_test(table([(1, 1, 3.0)]), "random", 0.2, np.random.default_rng(0))


def test_build_interactions_drops_and_counts_unknown_movies(movielens_dir):
    ratings = pd.concat([load_ratings(movielens_dir),
                         pd.DataFrame({"userId": [1], "movieId": [999_999], "rating": [4.0],
                                       "timestamp": [1]}).astype(load_ratings(movielens_dir).dtypes)])
    interactions, dropped = build_interactions(ratings, load_movies(movielens_dir))
    assert dropped == 1
    assert list(interactions.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert len(interactions) == len(ratings) - 1 and 999_999 not in interactions["movieId"].values


def test_feature_names_say_where_tokens_came_from(movielens_dir):
    movies, tags = load_movies(movielens_dir), load_tags(movielens_dir)
    rows, tokens = movie_tokens(movies, tags)
    first_movie = [token for row, token in zip(rows, tokens.to_pylist(), strict=True) if row == 0]
    assert first_movie[-3:] == ["tag:dark", "tag:comedy", "tag:dark"]
    assert all(token.startswith(("genre:", "tag:")) for token in tokens.to_pylist())
    train = load_ratings(movielens_dir)[["movieId", "rating"]]
    features = build_movie_features(movies, tags, train, max_features=100, min_df=1)
    assert "tag:dark" in features.names and "genre:Drama" in features.names
    assert features.content.shape == (len(movies), len(features.names))


def test_tag_words_follow_the_documented_rule():
    movies = pd.DataFrame({"movieId": [1], "genres": [[]]})
    tags = pd.DataFrame({"movieId": [1, 1, 1, 2],
                         "tag": ["it's 'quoted' a", "sci-fi/noir the", "''", "unknown movie"]})
    rows, tokens = movie_tokens(movies, tags)
    assert sorted(tokens.to_pylist()) == ["tag:fi", "tag:it's", "tag:noir", "tag:quoted'",
                                          "tag:sci"]
    assert rows.tolist() == [0] * 5


def test_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert stop_words() == sorted(ENGLISH_STOP_WORDS)


def test_tfidf_is_scikit_learns():
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(0)
    rows = rng.integers(0, 30, 400)
    tokens = pa.array([f"t{k:02d}" for k in rng.zipf(1.5, 400) % 40])
    matrix, names = tfidf(rows, tokens, 31, max_features=12, min_df=2)  # movie 30: no token
    counts = pd.crosstab(rows, tokens.to_numpy(zero_copy_only=False)).reindex(range(31),
                                                                             fill_value=0)
    expected = TfidfTransformer().fit_transform(counts[names].to_numpy())
    assert len(names) == 12 and names == sorted(names)
    np.testing.assert_allclose(matrix.toarray(), expected.toarray(), rtol=1e-12, atol=1e-15)


def test_movie_rating_statistics_come_from_the_given_training_ratings_only(movielens_dir):
    movies, tags = load_movies(movielens_dir), load_tags(movielens_dir)
    train = table([(1, 10, 4.0), (2, 10, 2.0), (1, 20, 5.0)])
    features = build_movie_features(movies, tags, train, max_features=100, min_df=1)
    stats = features.movies.set_index("movieId")
    assert stats.loc[10, ["train_count", "train_mean"]].tolist() == [2, 3.0]
    assert stats.loc[30, "train_count"] == 0 and np.isnan(stats.loc[30, "train_mean"])


BIASES_ONLY = EvidenceConfig(damping=1.0, genre_affinity=False, tag_affinity=False,
                             item_neighbors=False)


def test_damped_biases_by_hand():
    # global mean 3; movie 0: (4-3 + 5-3) / (2 + 1) = 1; movie 1: (0 - 3... ) below
    user = np.array([0, 1, 0])
    movie = np.array([0, 0, 1])
    rating = np.array([4.0, 5.0, 0.0])
    items, users = fit_item_evidence(user, movie, rating, 2, 3, None, None, BIASES_ONLY)
    assert items.global_mean == 3.0
    assert items.movie_bias.tolist() == [1.0, -1.5, 0.0]
    # user 0: residuals 4-3-1=0 and 0-3+1.5=-1.5 -> -1.5 / 3
    assert users.bias.tolist() == [-0.5, pytest.approx(1 / 2)]
    assert items.movie_count.tolist() == [2, 1, 0]
    assert users.residuals is None  # kept only for the item-neighbour features
    with_neighbors = EvidenceConfig(damping=1.0, genre_affinity=False, tag_affinity=False)
    _, users = fit_item_evidence(user, movie, rating, 2, 3, None, None, with_neighbors)
    assert users.residuals.toarray()[0].tolist() == [0.5, -1.0, 0.0]


def test_baselines_by_hand():
    train = table([(1, 1, 4.0), (1, 2, 2.0), (2, 1, 5.0)])
    test = table([(1, 1, 4.0), (3, 1, 3.0), (2, 3, 1.0)])
    predictions = baseline_predictions(train, test, damping=0.0)
    assert predictions["global_mean"].tolist() == pytest.approx([11 / 3] * 3)
    assert predictions["user_mean"].tolist() == pytest.approx([3.0, 11 / 3, 5.0])
    assert predictions["movie_mean"].tolist() == pytest.approx([4.5, 4.5, 11 / 3])
    # undamped: movie 1 bias 4.5 - 11/3; user 1 bias mean of its residuals
    movie_bias = 4.5 - 11 / 3
    user1 = ((4 - 11 / 3 - movie_bias) + (2 - 11 / 3 - (2 - 11 / 3))) / 2
    assert predictions["bias"][0] == pytest.approx(11 / 3 + movie_bias + user1)
    metrics = error_metrics(test["rating"].to_numpy(), {"model": predictions["bias"],
                                                        "bias": predictions["bias"]})
    assert metrics["rmse"] == metrics["bias_rmse"] and set(metrics) == {
        "rmse", "mae", "bias_rmse", "bias_mae"}


def test_error_by_activity_groups_users_by_training_ratings():
    train = table([(1, m, 3.0) for m in range(25)] + [(2, 1, 3.0)])
    test = table([(1, 100, 4.0), (2, 100, 2.0)])
    frame = error_by_activity(test, train, {"model": np.array([3.0, 3.0])})
    assert frame.to_dict("list") == {"user_train_ratings": ["0-19", "20-49"], "test_ratings": [1, 1],
                                     "model_rmse": [1.0, 1.0]}


def test_residual_histogram_counts_every_residual():
    frame = residual_histogram(np.array([-0.1, 0.1, 0.1, 3.0]))
    assert frame["count"].sum() == 4
    assert frame.loc[frame["residual"] == 0.125, "count"].item() == 2


def test_top_coefficients_lists_numeric_features_then_strongest_tokens():
    coefficients = pd.DataFrame({
        "feature": ["tag:a", "tag:b", "genre:c", "tag:d", "tag:e", "user_bias", "year"],
        "coefficient": [0.5, -2.0, 1.0, -0.1, 0.0, 0.2, -0.3]})
    top = top_coefficients(coefficients, 2)
    assert top["feature"].tolist() == ["year", "user_bias", "genre:c", "tag:a", "tag:b", "tag:d"]
    assert top["kind"].tolist() == ["numeric", "numeric", "token+", "token+", "token-", "token-"]


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
    from model import ItemEvidence, UserEvidence

    similarity = sparse.csr_matrix(np.array([[0.0, 0.5, 0.25], [0.5, 0.0, 0.0], [0.25, 0.0, 0.0]]))
    items = ItemEvidence(3.0, np.zeros(3), np.ones(3), similarity)
    residuals = sparse.csr_matrix(np.array([[0.0, 2.0, -1.0]]))
    users = UserEvidence(np.zeros(1), np.ones(1), residuals, None, None)
    score, support = neighbor_scores(items, users, np.array([0, 0]), np.array([0, 1]), damping=1.0)
    assert score.tolist() == pytest.approx([(0.5 * 2 - 0.25) / (0.75 + 1), 0.0])
    assert support.tolist() == [0.75, 0.0]


def test_genre_affinity_is_the_damped_mean_residual_per_genre():
    genres = row_normalize(sparse.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])))
    config = EvidenceConfig(damping=0.0, genre_affinity=True, tag_affinity=False,
                            item_neighbors=False, affinity_damping=1.0)
    items, _ = fit_item_evidence(np.array([1]), np.array([2]), np.array([3.0]), 2, 3, genres, None,
                                 config)
    users = user_evidence(items, np.array([0, 0]), np.array([0, 1]), np.array([5.0, 3.0]), 1,
                          genres, None, config)
    # user bias (5-3 + 3-3)/2 = 1 -> residuals +1 (movie 0: genre 0), -1 (movie 1: half each)
    assert users.genre_affinity.tolist() == [[pytest.approx((1 - 0.5) / 2.5), (-0.5) / 1.5]]


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


def test_ranking_metrics_by_hand():
    from metrics import ranking_metrics

    recommended = np.array([[3, 1, 7, -1], [5, 6, 8, 9]])
    relevant = [{1, 7, 2}, {9}]
    k = 4
    # user 0: hits at places 2 and 3; user 1: a hit at place 4
    dcg0 = 1 / np.log2(3) + 1 / np.log2(4)
    idcg0 = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    metrics = ranking_metrics(recommended, [*relevant, set()], k)  # a user with nothing relevant
    assert metrics["precision@4"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert metrics["recall@4"] == pytest.approx((2 / 3 + 1) / 2)
    assert metrics["ndcg@4"] == pytest.approx((dcg0 / idcg0 + (1 / np.log2(5)) / 1) / 2)


def rank_params(popularity=0.0, co_rating=0.0, min_ratings=0):
    return {"popularity_weight": popularity, "co_rating_weight": co_rating,
            "min_ratings": min_ratings}


def test_ranking_scores_and_top_n():
    from ranking import ranking_scores, top_n

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


def test_co_rating_similarity_and_scores():
    from ranking import co_rating_scores, co_rating_similarity, liked_matrix

    # users 0 and 1 rated movies 0 and 1; user 2 rated movies 1 and 2
    users, movies = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 0, 1, 1, 2])
    similarity = co_rating_similarity(users, movies, 3, 3, neighbors=5, exponent=0.5).toarray()
    assert similarity[0].tolist() == pytest.approx([0, 2 / np.sqrt(2 * 3), 0])
    assert similarity[2].tolist() == pytest.approx([0, 1 / np.sqrt(3), 0])
    liked = liked_matrix(np.array([0, 0]), np.array([0, 2]), np.array([5.0, 4.0]), 1, 3, 4.0)
    scores = co_rating_scores(sparse.csr_matrix(similarity), liked)
    assert scores[0].tolist() == pytest.approx([0, (2 / np.sqrt(6) + 1 / np.sqrt(3)) / 2, 0])


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize(("with_content", "with_movie_dense"), [(True, True), (True, False),
                                                                (False, True), (False, False)])
def test_ridge_by_movie_is_scikit_learns_ridge(with_content, with_movie_dense, standardize):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    n_movies, n_rows = 40, 3000
    content = sparse.random(n_movies, 12, density=0.3, random_state=4, format="csr")
    movie_dense = rng.normal([1990.0, 0.1], [15.0, 0.3], size=(n_movies, 2))  # e.g. year
    movie_idx = rng.integers(0, n_movies, n_rows)
    dense = rng.normal([2000.0, 5.0, 0.0], [20.0, 1.0, 3.0], size=(n_rows, 3))  # uncentred
    y = (content[movie_idx] @ rng.normal(size=12) + movie_dense[movie_idx] @ [0.02, 1.0]
         + dense @ [0.01, -0.3, 0.2] + rng.normal(0, 0.5, n_rows))
    scaled = np.hstack([movie_dense[movie_idx], dense]) if with_movie_dense else dense
    if standardize:
        scaled = (scaled - scaled.mean(axis=0)) / scaled.std(axis=0)
    design = np.hstack([content[movie_idx].toarray(), scaled]) if with_content else scaled
    for alpha in (0.1, 10.0, 1000.0):
        expected = Ridge(alpha=alpha, solver="cholesky").fit(design, y)
        fitted = ridge_by_movie(content if with_content else None, movie_idx, dense, y, alpha,
                                standardize=standardize,
                                movie_dense=movie_dense if with_movie_dense else None)
        np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-6, atol=1e-9)
        assert fitted.intercept_ == pytest.approx(expected.intercept_, rel=1e-6)
        np.testing.assert_allclose(fitted.predict(design), expected.predict(design), rtol=1e-9)
        if standardize:
            unscaled = np.hstack([movie_dense[movie_idx], dense]) if with_movie_dense else dense
            np.testing.assert_allclose(fitted.dense_mean_, unscaled.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(fitted.dense_scale_, unscaled.std(axis=0), rtol=1e-9)


@pytest.mark.parametrize("ids", [[3, 3, 5, 9, 9, 9], [9, 3, 3, 5], [7], []])
def test_factorize_sorted_is_pandas_factorize(ids):
    from model import factorize_sorted

    codes, uniques = factorize_sorted(np.array(ids, dtype=np.int64))
    expected_codes, expected_uniques = pd.factorize(np.array(ids, dtype=np.int64), sort=True)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == expected_uniques.tolist()


@pytest.mark.parametrize("ids", [np.array([30, 10, 20]), np.array([30, 10, 2**40]),
                                 np.array(["b", "a"], dtype=object)])
def test_id_lookup_finds_positions_and_marks_unknown_ids(ids):
    from movielens import IdLookup

    lookup = IdLookup(ids)
    queries = np.concatenate([ids[::-1], ids[:1]])
    assert lookup.positions(queries).tolist() == [len(ids) - 1 - k for k in range(len(ids))] + [0]
    if ids.dtype.kind == "i":
        assert lookup.positions(np.array([-1, 0, 11, 31, 2**41])).tolist() == [-1] * 5
        assert lookup.positions(np.array([10.0, 10.5])).tolist() == [1, -1]


def test_similar_movies_round_trip_and_a_bad_file(tmp_path):
    from ranking import SimilarMovies

    similar = SimilarMovies(np.array([3, 5]), sparse.csr_matrix(np.array([[0.0, 0.5], [0.25, 0.0]])))
    similar.save(tmp_path / "similar.npz")
    loaded = SimilarMovies.load(tmp_path / "similar.npz")
    assert loaded.movie_ids.tolist() == [3, 5]
    assert loaded.matrix.toarray().tolist() == [[0.0, 0.5], [0.25, 0.0]]
    assert loaded.for_movies(np.array([3, 5]), "similar.npz") is loaded.matrix
    with pytest.raises(UserInputError, match=r"similar\.npz holds 2 movies, the model 3"):
        loaded.for_movies(np.array([3, 5, 7]), "similar.npz")
    (tmp_path / "bad.npz").write_text("not numpy")
    with pytest.raises(UserInputError, match=r"bad\.npz: not a similar-movies file"):
        SimilarMovies.load(tmp_path / "bad.npz")


def test_sample_per_user_keeps_about_that_many_of_each_user():
    user_idx = np.repeat([0, 1, 2], [5, 400, 4000])
    kept = np.bincount(user_idx[sample_per_user(user_idx, 50, np.random.default_rng(0))])
    assert kept[0] == 5 and 30 < kept[1] < 70 and 30 < kept[2] < 70
    assert sample_per_user(user_idx, 0, np.random.default_rng(0)).all()


def test_new_user_profiles_are_the_first_ratings_of_each_user_in_reveal_order():
    ratings = pd.DataFrame({"userId": [7, 7, 7, 3, 3, 3, 3, 3],
                            "movieId": [1, 2, 3, 4, 5, 6, 7, 8],
                            "timestamp": [30, 10, 20, 5, 4, 3, 2, 1]})
    earliest = reveal_order(ratings, "earliest", np.random.default_rng(0))
    assert earliest["movieId"].tolist() == [8, 7, 6, 5, 4, 2, 3, 1]
    assert earliest["position"].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    row = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    position = earliest["position"].to_numpy()
    assert revealed(position, row, 2).tolist() == [True, True, False, False, False,
                                                   True, True, False]
    # a share: 0.5 of 5 ratings is 2, of 3 ratings 1 (rounded down)
    assert revealed(position, row, 0.5).tolist() == [True, True, False, False, False,
                                                     True, False, False]
    shuffled = reveal_order(ratings, "random", np.random.default_rng(0))
    assert sorted(shuffled["movieId"]) == list(range(1, 9))
    assert shuffled.groupby("userId")["position"].apply(sorted).tolist() == [[0, 1, 2, 3, 4],
                                                                             [0, 1, 2]]


def test_held_out_users_are_seeded_and_have_enough_ratings():
    user_ids = pd.Series(np.repeat(np.arange(10), np.arange(1, 11)))  # user u has u + 1 ratings
    held = hold_out_users(user_ids, 2, 6, np.random.default_rng(3))
    assert len(held) == 2 and (held >= 5).all()
    assert held.tolist() == hold_out_users(user_ids, 2, 6, np.random.default_rng(3)).tolist()
    with pytest.raises(UserInputError, match=r"newuser\.users = 3 is more than half of the 5 users"):
        hold_out_users(user_ids, 3, 6, np.random.default_rng(3))


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
    config = EvidenceConfig(neighbors=5)
    fold = rng.integers(0, 5, n)
    count = config.feature_names.index("user_log_count")
    full = out_of_fold_features(user, movie, rating, n_users, n_movies, tokens, tokens, config, fold)
    size = np.where(np.arange(n_users) % 2 == 0, 5.0, np.inf)
    cut = out_of_fold_features(user, movie, rating, n_users, n_movies, tokens, tokens, config, fold,
                               profile_size=size, priority=rng.random(n))
    small = np.isfinite(size[user])
    # about 5 of the ~120 other-fold ratings of the even users; all of the others'
    assert np.expm1(cut[small, count]).mean() == pytest.approx(5, abs=1)
    np.testing.assert_array_equal(cut[~small], full[~small])
