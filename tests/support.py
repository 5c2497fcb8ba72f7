"""Test helpers: small MovieLens-format directories written by the tests themselves, params files,
stage subprocesses, project copies in fresh git repositories, local servers."""

from __future__ import annotations

import contextlib
import os
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.model.evidence import EvidenceConfig
from movierec.params import TrainParams

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "bundled" / "ml-latest-small"
GENRES = ["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"]


def make_movielens(directory: Path, n_users: int = 40, n_movies: int = 30, seed: int = 0,
                   genre_taste: float = 0.0) -> Path:
    """Write a small, learnable MovieLens directory: ratings follow user and movie biases, plus
    (with ``genre_taste``, a standard deviation) each user's liking of the movie's genres."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    movie_ids = np.arange(1, n_movies + 1) * 10
    genres = ["|".join(rng.choice(GENRES, size=rng.integers(1, 3), replace=False))
              for _ in movie_ids]
    pd.DataFrame({
        "movieId": movie_ids,
        "title": [f"Movie {i}, The ({1980 + i % 30})" for i in range(n_movies)],
        "genres": genres,
    }).to_csv(directory / "movies.csv", index=False)
    user_bias = rng.normal(0, 0.5, n_users)
    movie_bias = rng.normal(0, 0.7, n_movies)
    taste = dict(zip(GENRES, rng.normal(0, genre_taste, (len(GENRES), n_users)) if genre_taste
                     else np.zeros((len(GENRES), n_users)), strict=True))
    rows = []
    for user in range(n_users):
        for movie in rng.choice(n_movies, size=rng.integers(8, n_movies), replace=False):
            liking = np.mean([taste[g][user] for g in genres[movie].split("|")])
            rating = 3.5 + user_bias[user] + movie_bias[movie] + liking + rng.normal(0, 0.3)
            rows.append((user + 1, movie_ids[movie], np.clip(np.round(rating * 2) / 2, 0.5, 5.0),
                         1_000_000 + len(rows)))
    pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]).to_csv(
        directory / "ratings.csv", index=False)
    pd.DataFrame({
        "userId": [1, 2, 3, 4],
        "movieId": movie_ids[[0, 0, 1, 2]],
        "tag": ["dark comedy", "Dark", "space", "funny"],
        "timestamp": [1, 2, 3, 4],
    }).to_csv(directory / "tags.csv", index=False)
    pd.DataFrame({
        "movieId": movie_ids,
        "imdbId": [f"{i:07d}" for i in movie_ids],
        "tmdbId": movie_ids + 1,
    }).to_csv(directory / "links.csv", index=False)
    return directory


def ratings_table(rows: list[tuple]) -> pd.DataFrame:
    """A ratings frame (userId, movieId, rating) of ``rows``."""
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating"])


def evidence_config(**changes: object) -> EvidenceConfig:
    """The evidence config of the default train params, with ``changes``."""
    defaults = TrainParams()
    return EvidenceConfig(**{field: getattr(defaults, field)
                             for field in EvidenceConfig.__dataclass_fields__} | changes)


def write_params(path: Path, **overrides: object) -> Path:
    """Copy the project's params.yaml, changing ``section.key`` values given as ``section__key``.

    The new-user simulation and the validation split are scaled down to the small test data sets
    unless overridden.
    """
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    small_data = {"newuser__users": 4, "newuser__min_ratings": 12, "newuser__profile_sizes": [2, 5],
                  "validation__users": 4, "validation__min_ratings": 12}
    for dotted, value in (small_data | overrides).items():
        section, key = dotted.split("__")
        params.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(params))
    return path


def run_stage(script: str, *args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``stages/<script>`` in a subprocess, as DVC does."""
    return subprocess.run([sys.executable, str(ROOT / "stages" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, check=False)


NUMBA_CACHE = Path("stages") / "movierec" / "__pycache__"  # numba's compiled kernels (ignored)
_copies: list[Path] = []  # the project copies made so far in this test session


def copy_project(destination: Path) -> Path:
    """Copy the project's tracked and untracked-but-not-ignored files into a fresh git repo.

    The numba kernels compiled in the project or an earlier copy come along: the sources keep
    their bytes and times (``copy2``), which is all numba's cache checks, so a copy does not
    compile them again (about 30 s per copy)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (destination / NUMBA_CACHE).mkdir(parents=True, exist_ok=True)
    for earlier in (ROOT, *_copies):
        for compiled in sorted((earlier / NUMBA_CACHE).glob("*.nb[ic]")):
            shutil.copy2(compiled, destination / NUMBA_CACHE / compiled.name)
    _copies.append(destination)
    env = git_env()
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "test copy"]):
        subprocess.run(command, cwd=destination, env=env, check=True)
    return destination


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[socketserver.BaseServer]:
    """Run a local test server in a background thread for the block, then close it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def git_env() -> dict[str, str]:
    """Environment with a git identity (CI machines have none) and no outer MLflow/DVC settings."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MLFLOW_", "DVC_"))}
    env |= {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "DVC_NO_ANALYTICS": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env
