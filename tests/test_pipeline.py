"""End to end: the real ``dvc repro`` and ``dvc exp run`` in a temporary copy of the project."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import copy_project, git_env

METRIC_KEYS = {"rmse", "mae", "n_train", "n_test"} | {
    f"{baseline}_{metric}" for baseline in ("global_mean", "user_mean", "movie_mean", "bias")
    for metric in ("rmse", "mae")}


def dvc(repo, *args):
    result = subprocess.run(["dvc", *args], cwd=repo, env=git_env(), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    repo = copy_project(tmp_path_factory.mktemp("project"))
    output = dvc(repo, "repro")
    return repo, output


def mlflow_runs(repo):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("movie-recommender")
    return experiment, client.search_runs([experiment.experiment_id], order_by=["start_time ASC"])


def test_repro_writes_metrics_with_baselines_and_is_then_up_to_date(reproduced):
    repo, output = reproduced
    assert "wrote 100836 interactions for 610 users and 9724 movies" in output
    metrics = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    ranking = json.loads((repo / "metrics" / "ranking.json").read_text())
    assert ranking["ndcg@10"] > ranking["popular_ndcg@10"]
    newuser = json.loads((repo / "metrics" / "newuser.json").read_text())
    assert newuser["newuser.k20.rmse"] < newuser["newuser.k20.user_mean_rmse"]
    assert metrics["rmse"] < metrics["bias_rmse"] < metrics["user_mean_rmse"] < metrics[
        "global_mean_rmse"]
    assert (repo / "models" / "model.joblib").is_file()
    for png in ("evaluate/predicted_vs_actual.png", "evaluate/residuals.png",
                "evaluate/error_by_activity.png", "explain/coefficients.png",
                "ranking/ranking.png", "newuser/newuser.png"):
        assert (repo / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Data and pipelines are up to date" in dvc(repo, "status")
    assert "rmse" in dvc(repo, "metrics", "show")


def test_repro_logs_one_mlflow_run_mirroring_dvc(reproduced):
    repo, _ = reproduced
    experiment, runs = mlflow_runs(repo)
    assert experiment.artifact_location == (repo / "mlartifacts").as_uri()
    assert len(runs) == 1
    run = runs[0]
    metrics = {}
    for name in ("metrics", "ranking", "newuser"):
        metrics |= json.loads((repo / "metrics" / f"{name}.json").read_text())
    assert run.data.metrics == pytest.approx(
        {key.replace("@", "_at_"): value for key, value in metrics.items()})
    assert run.data.params["train.alpha"] == "10.0"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert run.data.tags["mlflow.source.git.commit"] == head
    assert len(run.data.tags["data.sha256"]) == 64
    record = json.loads((repo / "models" / "mlflow_run.json").read_text())
    assert run.data.tags["dvc.fingerprint"] == record["fingerprint"]
    artifacts = {path.name for path in (repo / "mlartifacts").glob(f"{run.info.run_id}/artifacts/*")}
    assert artifacts == {"metrics", "plots", "model.joblib"}


def test_exp_run_with_another_alpha_gives_new_metrics_and_a_tagged_run(reproduced):
    repo, _ = reproduced
    dvc(repo, "exp", "run", "-n", "alpha-1000", "-S", "train.alpha=1000")
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    experiments = {
        exp["name"]: exp["data"]["metrics"]["metrics/metrics.json"]["data"]
        for commit in shown for exp in [commit, *[e for ex in commit.get("experiments") or []
                                                  for e in ex["revs"]]]
        if exp.get("name") and exp.get("data", {}).get("metrics")}
    assert experiments["alpha-1000"]["rmse"] != experiments["main"]["rmse"]
    _, runs = mlflow_runs(repo)
    assert len(runs) == 2
    assert runs[1].data.tags["dvc.exp_name"] == "alpha-1000"
    assert runs[1].data.params["train.alpha"] == "1000"
    assert runs[1].data.metrics["rmse"] == pytest.approx(experiments["alpha-1000"]["rmse"])
