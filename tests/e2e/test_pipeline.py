"""End to end: the real ``dvc repro`` and ``dvc exp run`` in a temporary copy of the project."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from movierec.evaluation.headline import HEADLINE
from support import ROOT, copy_project, git_env

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
    yield repo, output
    shutil.rmtree(repo, ignore_errors=True)  # 1.4 GB; the retention policy keeps module dirs


def mlflow_runs(repo, exp_name=None):
    """The MLflow experiment of the repo's default store, and its runs (of one DVC experiment)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("movie-recommender")
    query = "" if exp_name is None else f"tags.`dvc.exp_name` = '{exp_name}'"
    return experiment, client.search_runs([experiment.experiment_id], query,
                                          order_by=["start_time ASC"])


def exp_metrics(repo) -> dict[str, dict]:
    """``dvc exp show --json`` as {experiment name: {"params": ..., "metrics": ...}}."""
    shown = json.loads(dvc(repo, "exp", "show", "--json"))
    found = {}
    for commit in shown:
        for exp in [commit, *[rev for ex in commit.get("experiments") or [] for rev in ex["revs"]]]:
            data = exp.get("data") or {}
            if exp.get("name") and data.get("metrics"):
                metrics = {}
                for source in data["metrics"].values():
                    metrics |= source.get("data") or {}
                found[exp["name"]] = {"params": data["params"]["params.yaml"]["data"],
                                      "metrics": metrics}
    return found


def test_repro_writes_metrics_with_baselines_and_is_then_up_to_date(reproduced):
    repo, output = reproduced
    assert "wrote 100836 interactions for 610 users and 9724 movies" in output
    metrics = json.loads((repo / "metrics" / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    ranking = json.loads((repo / "metrics" / "ranking.json").read_text())
    assert ranking["ndcg_at_10"] > ranking["popular_ndcg_at_10"]
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
    shown = dvc(repo, "metrics", "show")
    assert all(name in shown for name in HEADLINE) and "bias_rmse" not in shown
    headline = json.loads((repo / "metrics" / "headline.json").read_text())
    assert list(headline) == list(HEADLINE)
    # the same params on this machine give the metrics committed from another run, to 1e-9
    for name in ("metrics", "ranking", "newuser", "validation", "headline"):
        committed = json.loads((ROOT / "metrics" / f"{name}.json").read_text())
        fresh = json.loads((repo / "metrics" / f"{name}.json").read_text())
        assert fresh == pytest.approx(committed, rel=0, abs=1e-9), name


def test_repro_logs_one_mlflow_run_mirroring_dvc(reproduced):
    repo, _ = reproduced
    experiment, runs = mlflow_runs(repo)
    assert experiment.artifact_location == (repo / "mlartifacts").as_uri()
    assert len(runs) == 1
    run = runs[0]
    metrics = {}
    for name in ("metrics", "ranking", "newuser", "validation", "headline"):
        metrics |= json.loads((repo / "metrics" / f"{name}.json").read_text())
    assert run.data.metrics == pytest.approx(metrics)
    assert run.data.params["train.alpha"] == "10.0"
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert run.data.tags["mlflow.source.git.commit"] == head
    assert len(run.data.tags["data.sha256"]) == 64
    record = json.loads((repo / "models" / "mlflow_run.json").read_text())
    assert run.data.tags["dvc.fingerprint"] == record["fingerprint"]
    artifacts = {path.name for path in (repo / "mlartifacts").glob(f"{run.info.run_id}/artifacts/*")}
    assert artifacts == {"metrics", "plots", "model.joblib", "rank_model.npz"}
    assert run.data.tags["mlflow.note.content"] == f"The committed params of {head[:7]}."
    # the splits as the run's datasets, their digest the md5 dvc.lock records
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    outs = {out["path"]: out["md5"] for out in lock["stages"]["interactions"]["outs"]}
    inputs = {item.dataset.name: item for item in run.inputs.dataset_inputs}
    assert set(inputs) == {"ml-latest-small-train", "ml-latest-small-test"}
    for split in ("train", "test"):
        dataset = inputs[f"ml-latest-small-{split}"].dataset
        assert dataset.digest == outs[f"data/prepared/{split}.parquet"]
        assert json.loads(dataset.profile)["num_rows"] == (80669 if split == "train" else 20167)
    # the model registry: one version of movie-recommender per run, tagged
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    versions = client.search_model_versions("name = 'movie-recommender'")
    assert [v.run_id for v in versions] == [run.info.run_id]
    assert versions[0].tags == {"dvc.exp_name": "workspace", "git.commit": head}


def test_a_mistyped_param_stops_the_experiment(reproduced):
    repo, _ = reproduced
    for setting, message in (("train.alhpa=3", "Could not override 'train.alhpa'"),
                             ("+train.alhpa=3", "unknown param train.alhpa = 3")):
        result = subprocess.run(["dvc", "exp", "run", "-S", setting], cwd=repo, env=git_env(),
                                capture_output=True, text=True, check=False)
        assert result.returncode != 0
        assert message in result.stdout + result.stderr
        subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=repo, check=True)
    assert "Data and pipelines are up to date" in dvc(repo, "status")


def test_the_logged_pyfunc_model_predicts_like_the_joblib_model(reproduced):
    import joblib
    import mlflow
    import pandas as pd

    repo, _ = reproduced
    experiment, runs = mlflow_runs(repo)
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    logged = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id], output_format="list",
        filter_string=f"source_run_id = '{runs[0].info.run_id}'")
    assert len(logged) == 1
    pyfunc = mlflow.pyfunc.load_model(logged[0].model_uri)
    assert [c.name for c in pyfunc.metadata.signature.inputs] == ["userId", "movieId"]
    test = pd.read_parquet(repo / "data" / "prepared" / "test.parquet").head(200)
    expected = joblib.load(repo / "models" / "model.joblib").predict(test["userId"].to_numpy(),
                                                                    test["movieId"].to_numpy())
    assert pyfunc.predict(test[["userId", "movieId"]]).to_numpy() == pytest.approx(expected)


def test_exp_run_with_another_alpha_gives_new_metrics_and_a_tagged_run(reproduced):
    repo, _ = reproduced
    dvc(repo, "exp", "run", "-n", "alpha-1000", "-S", "train.alpha=1000")
    experiments = exp_metrics(repo)
    assert experiments["alpha-1000"]["metrics"]["rmse"] != experiments["main"]["metrics"]["rmse"]
    _, runs = mlflow_runs(repo, "alpha-1000")
    assert len(runs) == 1
    assert runs[0].data.params["train.alpha"] == "1000"
    shown = experiments["alpha-1000"]["metrics"]
    assert list(shown) == list(HEADLINE)  # dvc exp show: the headline metrics, in this order
    assert {name: runs[0].data.metrics[name] for name in shown} == pytest.approx(shown)
    assert "Params changed from" in runs[0].data.tags["mlflow.note.content"]
    assert "train.alpha 10.0 -> 1000" in runs[0].data.tags["mlflow.note.content"]
    # a champion alias picks a version that models:/movie-recommender@champion loads
    import mlflow
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    version = next(v for v in client.search_model_versions("name = 'movie-recommender'")
                   if v.run_id == runs[0].info.run_id)
    assert version.tags["dvc.exp_name"] == "alpha-1000"
    client.set_registered_model_alias("movie-recommender", "champion", version.version)
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlflow.db'}")
    champion = mlflow.pyfunc.load_model("models:/movie-recommender@champion")
    assert champion.metadata.run_id == runs[0].info.run_id


@pytest.mark.slow
def test_temp_and_queued_experiments_log_into_the_main_repository(reproduced):
    """--temp and queued runs happen in .dvc/tmp/exps; their MLflow runs must land here."""
    repo, _ = reproduced
    dvc(repo, "exp", "run", "--temp", "-n", "temp-top5", "-S", "explain.top_n=5")
    for top_n in (3, 4):
        dvc(repo, "exp", "run", "--queue", "-n", f"queued-top{top_n}", "-S", f"explain.top_n={top_n}")
    dvc(repo, "queue", "start", "-j", "2")
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = dvc(repo, "queue", "status")
        if not any(word in status for word in ("Queued", "Running")):
            break
        time.sleep(5)
    assert "Failed" not in status, status
    experiments = exp_metrics(repo)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    for name, top_n in (("temp-top5", 5), ("queued-top3", 3), ("queued-top4", 4)):
        assert experiments[name]["params"]["explain"]["top_n"] == top_n
        _, runs = mlflow_runs(repo, name)
        assert len(runs) == 1, name
        run = runs[0]
        assert run.data.params["explain.top_n"] == str(top_n)
        assert run.data.tags["mlflow.source.git.commit"] == head
        shown = experiments[name]["metrics"]
        assert {key: run.data.metrics[key] for key in shown} == pytest.approx(shown)
        artifacts = repo / "mlartifacts" / run.info.run_id / "artifacts"
        coefficients = (artifacts / "plots" / "explain" / "coefficients.csv").read_text()
        assert coefficients.count("token+") == top_n  # the experiment's own plot, kept here
    assert not any((repo / ".dvc" / "tmp" / "exps").glob("*/mlflow.db"))


@pytest.mark.slow
def test_runs_go_to_a_tracking_server_when_asked(reproduced, tmp_path):
    repo, _ = reproduced
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        ["mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--default-artifact-root", (tmp_path / "artifacts").as_uri()],
        env=git_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        env = git_env() | {"MLFLOW_TRACKING_URI": url}
        result = subprocess.run(["dvc", "repro", "-f", "track"], cwd=repo, env=env,
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        request = urllib.request.Request(
            f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=movie-recommender")
        experiment = json.load(urllib.request.urlopen(request, timeout=10))["experiment"]
        body = json.dumps({"experiment_ids": [experiment["experiment_id"]]}).encode()
        search = urllib.request.Request(f"{url}/api/2.0/mlflow/runs/search", data=body,
                                        headers={"Content-Type": "application/json"})
        runs = json.load(urllib.request.urlopen(search, timeout=10))["runs"]
        assert len(runs) == 1
        logged = {metric["key"]: metric["value"] for metric in runs[0]["data"]["metrics"]}
        expected = json.loads((repo / "metrics" / "metrics.json").read_text())
        assert logged["rmse"] == pytest.approx(expected["rmse"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_push_then_pull_in_a_fresh_clone_restores_everything(reproduced, tmp_path):
    repo, _ = reproduced
    dvc(repo, "remote", "add", "-d", "storage", str(tmp_path / "remote"))
    dvc(repo, "push")
    env = git_env()
    subprocess.run(["git", "commit", "-qam", "add remote"], cwd=repo, env=env, check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], env=env, check=True)
    dvc(clone, "pull")
    assert "Data and pipelines are up to date" in dvc(clone, "status")
    result = subprocess.run(
        [sys.executable, "stages/recommend.py", "--profile", "demo", "--format", "json"],
        cwd=clone, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 10
