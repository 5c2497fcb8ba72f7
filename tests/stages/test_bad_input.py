"""Stage scripts run as DVC runs them: bad input exits non-zero with one line and no output file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support import run_stage, write_params


def run_interactions(tmp_path, data_dir, params):
    out = tmp_path / "out"
    result = run_stage("interactions.py", "--data-dir", data_dir, "--params", params,
                       "--train-out", out / "train.parquet", "--test-out", out / "test.parquet",
                       "--summary-out", out / "summary.json")
    return result, out


def assert_clean_failure(result, out, message):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: ") and message in result.stderr
    assert not out.exists() or not any(out.iterdir()), "partial output left behind"


def test_interactions_writes_split_and_summary(tmp_path, movielens_dir):
    result, out = run_interactions(tmp_path, movielens_dir, write_params(tmp_path / "p.yaml"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert result.stdout.startswith(f"wrote {summary['interactions']} interactions for "
                                    f"{summary['users']} users and {summary['movies']} movies")
    assert summary["train"] + summary["test"] == summary["interactions"]
    assert sorted(path.name for path in out.iterdir()) == ["summary.json", "test.parquet",
                                                           "train.parquet"]


@pytest.mark.parametrize(("override", "message"), [
    ({"interactions__min_user_ratings": 10_000}, "remove every rating"),
    ({"split__test_size": 1.5}, "split.test_size = 1.5 is invalid"),
    ({"train__alhpa": 3}, "unknown param train.alhpa"),
])
def test_interactions_bad_params(tmp_path, movielens_dir, override, message):
    params = write_params(tmp_path / "p.yaml", **override)
    result, out = run_interactions(tmp_path, movielens_dir, params)
    assert_clean_failure(result, out, message)


@pytest.mark.parametrize("broken", ["missing_ratings", "bad_rating"])
def test_interactions_bad_data(tmp_path, movielens_dir, broken):
    ratings = movielens_dir / "ratings.csv"
    if broken == "missing_ratings":
        ratings.unlink()
        message = "ratings.csv: file not found"
    else:
        ratings.write_text(ratings.read_text() + "1,10,9.5,1\n")
        message = "rating = 9.5 is outside the allowed range"
    result, out = run_interactions(tmp_path, movielens_dir, write_params(tmp_path / "p.yaml"))
    assert_clean_failure(result, out, message)


def test_features_min_df_that_removes_every_token(tmp_path, movielens_dir):
    result, prepared = run_interactions(tmp_path, movielens_dir, write_params(tmp_path / "p.yaml"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "features"
    result = run_stage("features.py", "--data-dir", movielens_dir, "--train",
                       prepared / "train.parquet", "--out", out, "--params",
                       write_params(tmp_path / "bad.yaml", features__min_df=10_000))
    assert_clean_failure(result, out, "features.min_df = 10000 leaves no genre or tag token")


def test_check_params_stage_rejects_a_typo(tmp_path):
    result = run_stage("check_params.py", "--params",
                       write_params(tmp_path / "p.yaml", train__alhpa=3))
    assert result.returncode == 2
    assert "unknown param train.alhpa = 3" in result.stderr


def test_evaluation_stages_on_small_data(tmp_path, movielens_dir):
    params = write_params(tmp_path / "p.yaml", train__neighbors=5)
    result, prepared = run_interactions(tmp_path, movielens_dir, params)
    assert result.returncode == 0, result.stderr
    features, model = tmp_path / "features", tmp_path / "model.joblib"
    splits = ["--train", prepared / "train.parquet", "--test", prepared / "test.parquet"]
    for script, args in (
        ("features.py", ["--data-dir", movielens_dir, "--train", prepared / "train.parquet",
                         "--out", features]),
        ("rank_model.py", ["--train", prepared / "train.parquet", "--features", features,
                           "--out", tmp_path / "rank_model.npz"]),
        ("train.py", ["--train", prepared / "train.parquet", "--features", features,
                      "--model-out", model]),
        ("evaluate_ranking.py", ["--model", model, "--rank-model", tmp_path / "rank_model.npz",
                                 *splits, "--metrics-out", tmp_path / "ranking.json",
                                 "--plots-dir", tmp_path / "ranking"]),
        ("newuser.py", [*splits, "--features", features, "--data-dir", movielens_dir,
                        "--metrics-out", tmp_path / "newuser.json",
                        "--plots-dir", tmp_path / "newuser"]),
        ("validate.py", ["--train", prepared / "train.parquet", "--features", features,
                         "--data-dir", movielens_dir, "--metrics-out", tmp_path / "validation.json"]),
    ):
        result = run_stage(script, *args, "--params", params)
        assert result.returncode == 0, result.stderr
    ranking = json.loads((tmp_path / "ranking.json").read_text())
    assert {"precision_at_10", "recall_at_10", "ndcg_at_10", "coverage_at_10", "popular_ndcg_at_10",
            "predicted_rating_only_ndcg_at_10"} <= set(ranking)
    newuser = json.loads((tmp_path / "newuser.json").read_text())
    for prefix in ("newuser.k2", "newuser.k5", "newuser.earliest.k5", "newuser.share80",
                   "newuser.earliest.share80"):
        assert {f"{prefix}.{key}" for key in ("rmse", "user_mean_rmse", "bias_rmse", "ndcg_at_10",
                                              "bias_ndcg_at_10")} <= set(newuser)
    assert newuser["newuser.users"] == 4
    assert (tmp_path / "newuser" / "newuser.png").is_file()
    validation = json.loads((tmp_path / "validation.json").read_text())
    assert {"validation.rmse", "validation.bias_rmse", "validation.ndcg_at_10",
            "validation.coverage_at_10", "validation.newuser.k2.ndcg_at_10",
            "validation.newuser.earliest.k5.rmse"} <= set(validation)
    assert validation["validation.newuser.users"] == 4


def test_newuser_profile_sizes_must_leave_ratings_to_predict(tmp_path):
    params = write_params(tmp_path / "p.yaml", newuser__profile_sizes=[5, 12])
    result = run_stage("newuser.py", "--train", tmp_path / "t.parquet", "--test",
                       tmp_path / "t.parquet", "--features", tmp_path, "--data-dir", tmp_path,
                       "--metrics-out",
                       tmp_path / "m.json", "--plots-dir", tmp_path / "plots", "--params", params)
    assert result.returncode == 2
    assert "newuser.profile_sizes = [5, 12] would reveal every rating" in result.stderr
    assert not (tmp_path / "m.json").exists()


@pytest.mark.slow
def test_a_stage_killed_midway_leaves_the_previous_output_and_reruns(tmp_path):
    """SIGKILL during train: the old model stays (outputs are renamed into place at the end)."""
    import signal
    import subprocess
    import sys
    import time

    from support import BUNDLED, ROOT

    params = write_params(tmp_path / "p.yaml", train__folds=20)  # a longer fit to kill in
    result, prepared = run_interactions(tmp_path, BUNDLED, params)
    assert result.returncode == 0, result.stderr
    features = tmp_path / "features"
    result = run_stage("features.py", "--data-dir", BUNDLED, "--train", prepared / "train.parquet",
                       "--out", features, "--params", params)
    assert result.returncode == 0, result.stderr
    model = tmp_path / "models" / "model.joblib"
    model.parent.mkdir()
    model.write_bytes(b"previous model")
    command = [sys.executable, str(ROOT / "stages" / "train.py"), "--train",
               str(prepared / "train.parquet"), "--features", str(features), "--params",
               str(params), "--model-out", str(model)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu_seconds() -> float:  # the process's CPU time (user + system): load-independent
        fields = Path(f"/proc/{process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    # past the imports (about 1.3 CPU seconds) and well before the save (after about 6)
    while process.poll() is None and cpu_seconds() < 2.5:
        time.sleep(0.01)
    assert process.poll() is None, "train finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert model.read_bytes() == b"previous model"
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    assert model.read_bytes() != b"previous model"
