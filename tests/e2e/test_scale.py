"""Scale: the generator is deterministic and loadable; the scale benchmark runs end to end small."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from movierec.data.movielens import load_links, load_movies, load_ratings, load_tags
from support import ROOT, git_env


def generate(out, scale: float = 0.001):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--out", out,
                           "--scale", str(scale)], capture_output=True, text=True, check=True)


def test_generator_is_deterministic_and_shaped_like_ml_latest(tmp_path):
    generate(tmp_path / "a")
    generate(tmp_path / "b")
    for name in ("movies.csv", "ratings.csv", "tags.csv", "links.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    ratings = load_ratings(tmp_path / "a")  # the project's own validating loader accepts them
    movies, tags, links = (load(tmp_path / "a") for load in (load_movies, load_tags, load_links))
    assert len(ratings) == 33_832 and ratings["rating"].isin([x / 2 for x in range(1, 11)]).all()
    assert len(tags) == 2_328 and links["tmdbId"].isna().any()
    activity = ratings["userId"].value_counts()
    assert activity.max() > 5 * activity.median()  # long-tailed activity
    popularity = ratings["movieId"].value_counts()
    assert popularity.iloc[:len(popularity) // 10].sum() > 0.4 * len(ratings)  # popular head
    assert set(movies["genres"].explode().dropna()) <= {
        "Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
        "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance", "Sci-Fi",
        "Thriller", "War", "Western"}
    # hidden user and movie effects: movie means spread more than noise around one mean would
    means = ratings.groupby("movieId")["rating"].agg(["mean", "size"])
    assert means.loc[means["size"] >= 50, "mean"].std() > 0.25


@pytest.mark.slow
def test_scale_benchmark_runs_the_pipeline_small(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--scale",
                             "0.003", "--work", str(tmp_path / "work")], capture_output=True,
                            text=True, env=git_env(), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "work" / "scale.json").read_text())
    assert [row["stage"] for row in report["stages"]][-1] == "track"
    assert all(row["seconds"] > 0 and row["peak_gb"] > 0 for row in report["stages"])
    assert len(report["fits"]) == 5 and "ratios:" in result.stdout and "s / 1M" in result.stdout
    project = tmp_path / "work" / "project"
    # the committed params, unchanged but for the data variant: no large-data switches
    used = yaml.safe_load((project / "params.yaml").read_text())
    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert used["data"].pop("variant") == "generated-0.003"
    committed["data"].pop("variant")
    assert used == committed
    status = subprocess.run(["dvc", "status"], cwd=project, capture_output=True, text=True,
                            env=git_env(), check=True)
    assert "up to date" in status.stdout
    metrics = json.loads((project / "metrics" / "metrics.json").read_text())
    assert metrics["rmse"] < metrics["bias_rmse"]  # the hidden factors are learnable
    assert pd.read_parquet(project / "data" / "prepared" / "train.parquet").shape[0] > 50_000
