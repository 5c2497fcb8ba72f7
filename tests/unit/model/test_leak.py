"""No leak: test ratings feed nothing, and a training row never sees its own rating."""

from __future__ import annotations

import hashlib

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from movierec.model.evidence import fit_item_evidence, out_of_fold_features, small_profile_sizes
from movierec.sparse import row_normalize
from support import evidence_config, run_stage, write_params


def run_features_and_train(tmp_path, data_dir, prepared, params, name):
    out = tmp_path / name
    for script, args in (
        ("features.py", ["--data-dir", data_dir, "--train", prepared / "train.parquet",
                         "--out", out / "features"]),
        ("train.py", ["--train", prepared / "train.parquet", "--features", out / "features",
                      "--model-out", out / "model.joblib"]),
    ):
        result = run_stage(script, *args, "--params", params)
        assert result.returncode == 0, result.stderr
    return out


def digest(directory):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.iterdir()) if path.is_file()}


def test_changing_test_ratings_changes_no_feature_and_no_prediction(tmp_path, movielens_dir):
    params = write_params(tmp_path / "params.yaml")
    prepared = tmp_path / "prepared"
    result = run_stage("interactions.py", "--data-dir", movielens_dir, "--params", params,
                       "--train-out", prepared / "train.parquet", "--test-out",
                       prepared / "test.parquet", "--summary-out", prepared / "summary.json")
    assert result.returncode == 0, result.stderr
    test = pd.read_parquet(prepared / "test.parquet")
    before = run_features_and_train(tmp_path, movielens_dir, prepared, params, "before")

    flipped = test.assign(rating=(5.5 - test["rating"]).astype("float32"))
    flipped.to_parquet(prepared / "test.parquet", index=False)
    after = run_features_and_train(tmp_path, movielens_dir, prepared, params, "after")

    assert digest(before / "features") == digest(after / "features")
    # the same inputs give byte-identical outputs (reruns keep dvc.lock unchanged)
    assert digest(before)["model.joblib"] == digest(after)["model.joblib"]
    users, movies = test["userId"].to_numpy(), test["movieId"].to_numpy()
    np.testing.assert_array_equal(joblib.load(before / "model.joblib").predict(users, movies),
                                  joblib.load(after / "model.joblib").predict(users, movies))


@pytest.mark.parametrize("simulated_profiles", [False, True])
def test_a_training_rows_own_rating_never_feeds_its_features(simulated_profiles):
    rng = np.random.default_rng(0)
    n = 400
    user, movie = rng.integers(0, 20, n), rng.integers(0, 15, n)
    rating = rng.choice(np.arange(0.5, 5.5, 0.5), n)
    tokens = row_normalize(sparse.random(15, 6, density=0.5, random_state=1, format="csr"))
    config = evidence_config(neighbors=5)
    fold = rng.integers(0, 5, n)
    profiles = {}
    if simulated_profiles:
        profiles = {"profile_size": small_profile_sizes(20, 0.5, 10, rng),
                    "priority": rng.random(n)}

    def features_of(ratings):
        fits = fit_item_evidence(user, movie, ratings, 20, 15, config, fold)[:-1]
        return out_of_fold_features(user, movie, ratings, 20, 15, tokens, tokens, config, fold,
                                    fits, **profiles)

    baseline = features_of(rating)
    for row in (0, 17, 311):
        changed = rating.copy()
        changed[row] = 5.5 - rating[row]
        features = features_of(changed)
        np.testing.assert_array_equal(features[row], baseline[row])
        # ...while the rating does reach rows of other folds that share its movie or user
        assert not np.array_equal(features, baseline)
    assert baseline.shape == (n, len(config.feature_names))
