"""TMDB enrichment: the fetch script against a local server, the cache's features, overviews."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest

from movierec.data.tmdb import TMDB_NUMERIC, connect, numeric_features, read_cache, trim
from movierec.data.tmdb_client import Client, fetch
from movierec.features.movie_features import MovieFeatures
from movierec.model.estimator import RatingModel
from support import ROOT, run_stage, serving, write_params

KEY = "k3y-that-must-never-be-stored"


def record(tmdb_id: int) -> dict:
    return {"id": tmdb_id, "title": f"Movie {tmdb_id}", "runtime": 90 + tmdb_id % 60,
            "vote_average": 5 + (tmdb_id % 40) / 10, "vote_count": tmdb_id * 3,
            "popularity": tmdb_id / 7, "release_date": f"{1980 + tmdb_id % 40}-06-01",
            "overview": f"The story of movie {tmdb_id}. " * 12, "poster_path": f"/p{tmdb_id}.jpg"}


class FakeTmdb(ThreadingHTTPServer):
    """Answers ``/3/movie/{id}`` like TMDB; ``script[id]`` lists special answers given first."""

    def __init__(self, script: dict[int, list[tuple[int, dict]]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = {key: list(answers) for key, answers in script.items()}
        self.requests: list[tuple[int, dict, dict]] = []  # (id, query, headers)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/3"


class Handler(BaseHTTPRequestHandler):
    server: FakeTmdb

    def do_GET(self) -> None:
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts[:2] != ["3", "movie"] or len(parts) != 3 or not parts[2].isdigit():
            self._answer(404, {"status_code": 34})
            return
        tmdb_id = int(parts[2])
        with self.server.lock:
            self.server.requests.append((tmdb_id, parse_qs(url.query), dict(self.headers)))
            scripted = self.server.script.get(tmdb_id, [])
            status, headers = scripted.pop(0) if scripted else (200, {})
        if status == 200:
            self._answer(200, record(tmdb_id))
        else:
            self._answer(status, {"status_code": status}, headers)

    def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    """A fake TMDB: id 21 is unknown (404), 31 first answers 429 with Retry-After, 41 first 500."""
    with serving(FakeTmdb({21: [(404, {})] * 10, 31: [(429, {"Retry-After": "1"})],
                           41: [(500, {})], 51: [(401, {})]})) as fake:
        yield fake


def fetch_cli(movielens_dir: Path, cache: Path, server: FakeTmdb, *args: object,
              key: str = KEY) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith("TMDB_")}
    env |= {"TMDB_API_KEY": key, "TMDB_BASE_URL": server.url}
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "fetch_tmdb.py"), "--data-dir", str(movielens_dir),
         "--cache", str(cache), "--rate", "500", *map(str, args)],
        capture_output=True, text=True, env=env, check=False)


def cache_rows(cache: Path) -> dict[int, str]:
    with sqlite3.connect(cache) as connection:
        return dict(connection.execute("SELECT tmdb_id, status FROM movies"))


def test_fetch_fills_the_cache_retrying_and_recording_unknown_ids(movielens_dir, tmp_path, server):
    server.script.pop(51)  # no 401 here
    cache = tmp_path / "tmdb.sqlite"
    result = fetch_cli(movielens_dir, cache, server)
    assert result.returncode == 0, result.stderr
    assert "29 fetched, 1 unknown to TMDB, 0 failed; 30 ids in links.csv" in result.stdout
    rows = cache_rows(cache)
    assert len(rows) == 30 and rows[21] == "not_found"
    assert sum(status == "ok" for status in rows.values()) == 29
    asked = Counter(tmdb_id for tmdb_id, _, _ in server.requests)
    assert asked[31] == 2 and asked[41] == 2 and asked[21] == 1 and asked[11] == 1
    cached = read_cache(cache)
    assert cached.loc[31, "overview"] == record(31)["overview"]
    assert cached.loc[31, "runtime"] == record(31)["runtime"]
    assert 21 not in cached.index
    # the key went to the server, and nowhere else
    assert server.requests[0][1]["api_key"] == [KEY]
    assert KEY.encode() not in cache.read_bytes()
    assert KEY not in result.stdout + result.stderr


def test_fetch_resumes_without_asking_again(movielens_dir, tmp_path, server):
    server.script.pop(51)
    cache = tmp_path / "tmdb.sqlite"
    first = fetch_cli(movielens_dir, cache, server, "--limit", "5")
    assert first.returncode == 0, first.stderr
    assert len(cache_rows(cache)) == 5
    done_first = {tmdb_id for tmdb_id, _, _ in server.requests}
    server.requests.clear()
    second = fetch_cli(movielens_dir, cache, server)
    assert second.returncode == 0, second.stderr
    assert "25 fetched" in second.stdout and len(cache_rows(cache)) == 30
    assert not done_first & {tmdb_id for tmdb_id, _, _ in server.requests}
    server.requests.clear()
    third = fetch_cli(movielens_dir, cache, server)
    assert "0 fetched, 0 unknown to TMDB, 0 failed" in third.stdout and not server.requests


def test_a_refused_key_stops_with_a_clear_error(movielens_dir, tmp_path, server):
    server.script = {11: [(401, {})]}
    result = fetch_cli(movielens_dir, tmp_path / "tmdb.sqlite", server)
    assert result.returncode == 2
    assert "TMDB refused the key (HTTP 401): check TMDB_API_KEY" in result.stderr
    assert KEY not in result.stderr


def test_missing_key_is_explained(movielens_dir, tmp_path, server):
    result = fetch_cli(movielens_dir, tmp_path / "tmdb.sqlite", server, key="")
    assert result.returncode == 2 and "TMDB_API_KEY is not set" in result.stderr
    assert not (tmp_path / "tmdb.sqlite").exists()


def test_persistent_server_errors_are_retried_later(movielens_dir, tmp_path, server):
    server.script = {41: [(500, {})] * 3}
    cache = tmp_path / "tmdb.sqlite"
    result = fetch_cli(movielens_dir, cache, server, "--retries", "1")
    assert result.returncode == 1
    assert "/movie/41: HTTP 500" in result.stderr and "1 failed" in result.stdout
    assert 41 not in cache_rows(cache) and len(cache_rows(cache)) == 29
    again = fetch_cli(movielens_dir, cache, server, "--retries", "1")
    assert again.returncode == 0 and "1 fetched" in again.stdout


def test_v4_token_goes_in_a_header_and_the_rate_limit_spaces_requests(tmp_path, server):
    server.script = {}
    token = "eyJhbGciOiJIUzI1NiJ9.secret"
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    client = Client(server.url, token, requests_per_second=4, sleep=sleep, clock=lambda: now[0])
    with connect(tmp_path / "tmdb.sqlite") as connection:
        counts = fetch(client, connection, [11, 12, 13])
    assert counts == {"fetched": 3, "not_found": 0, "failed": 0}
    assert waits == [0.25, 0.25]  # the first request goes at once, then one per 1/4 s
    _, query, headers = server.requests[0]
    assert "api_key" not in query and headers["Authorization"] == f"Bearer {token}"


def write_cache(path: Path, records: dict[int, dict | None]) -> Path:
    with connect(path) as connection:
        for tmdb_id, values in records.items():
            connection.execute(
                "INSERT INTO movies (tmdb_id, status, runtime, vote_average, vote_count, popularity,"
                " release_date, overview, poster_path, fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [tmdb_id, "ok" if values else "not_found",
                 *[(values or {}).get(name) for name in ["runtime", "vote_average", "vote_count",
                                                          "popularity", "release_date",
                                                          "overview", "poster_path"]],
                 "2026-01-01T00:00:00+00:00"])
    return path


def test_numeric_features_impute_and_mark_missing_records(tmp_path):
    cache = read_cache(write_cache(tmp_path / "c.sqlite", {
        1: {"runtime": 100, "vote_average": 8.0, "vote_count": 9, "popularity": np.e - 1,
            "release_date": "2000-01-01"},
        2: {"runtime": 0, "vote_average": 0.0, "vote_count": 0, "popularity": 0.0,
            "release_date": ""},
        3: {"runtime": 120, "vote_average": 6.0, "vote_count": 99, "popularity": 0.0,
            "release_date": "2010-01-01"},
        4: None,
    }))
    features = numeric_features(pd.Series([1, 2, 3, 4, None]), cache)
    assert list(features.columns) == TMDB_NUMERIC
    assert features["tmdb_missing"].tolist() == [0, 0, 0, 1, 1]
    assert features["tmdb_runtime"].tolist() == [100, 110, 120, 110, 110]  # 0 = unknown: median
    assert features["tmdb_vote_avg"].tolist() == [8, 7, 6, 7, 7]  # no votes: median
    assert features["tmdb_log1p_vote_count"].iloc[0] == pytest.approx(np.log(10))
    assert features["tmdb_log1p_popularity"].iloc[0] == pytest.approx(1.0)
    recency = features["tmdb_inv_recency"].tolist()
    assert recency[2] == 1.0 and recency[0] == pytest.approx(1 / (1 + 3653 / 365.25))


def test_unreadable_cache_is_explained(tmp_path):
    broken = tmp_path / "tmdb.sqlite"
    broken.write_text("not a database")
    with pytest.raises(Exception, match="not a readable TMDB cache"):
        read_cache(broken)


def test_features_stage_adds_tmdb_columns_only_when_on_and_cached(movielens_dir, tmp_path):
    links = pd.read_csv(movielens_dir / "links.csv")
    cache = write_cache(tmp_path / "tmdb.sqlite", {
        int(tmdb_id): {name: record(int(tmdb_id))[name] for name in
                       ["runtime", "vote_average", "vote_count", "popularity", "release_date",
                        "overview", "poster_path"]}
        for tmdb_id in links["tmdbId"].iloc[:20]})
    train = tmp_path / "train.parquet"
    pd.read_csv(movielens_dir / "ratings.csv").to_parquet(train)

    def features(name: str, tmdb: bool, *cache_args: object) -> MovieFeatures:
        result = run_stage("features.py", "--data-dir", movielens_dir, "--train", train,
                           "--params", write_params(tmp_path / f"{name}.yaml", features__tmdb=tmdb,
                                                    features__min_df=1),
                           "--out", tmp_path / name, *cache_args)
        assert result.returncode == 0, result.stderr
        return MovieFeatures.load(tmp_path / name)

    with_tmdb = features("on", True, "--tmdb-cache", cache)
    assert with_tmdb.numeric == ["year", "year_missing", *TMDB_NUMERIC]
    assert with_tmdb.movies["tmdb_missing"].tolist() == [0.0] * 20 + [1.0] * 10
    assert with_tmdb.movies.loc[0, "tmdb_runtime"] == record(11)["runtime"]
    off = features("off", False, "--tmdb-cache", cache)
    absent = features("absent", True, "--tmdb-cache", tmp_path / "none.sqlite")
    assert off.numeric == absent.numeric == ["year", "year_missing"]
    assert (tmp_path / "off" / "movies.parquet").read_bytes() == \
        (tmp_path / "absent" / "movies.parquet").read_bytes()
    # the model takes the extra columns as numeric features
    ratings = pd.read_csv(movielens_dir / "ratings.csv")
    model = RatingModel(folds=2).fit(ratings, with_tmdb)
    assert set(TMDB_NUMERIC) <= set(model.feature_names_)
    assert np.isfinite(model.predict(ratings["userId"].to_numpy()[:5],
                                     ratings["movieId"].to_numpy()[:5])).all()


def test_trim_cuts_at_a_word():
    assert trim("short  text\n") == "short text"
    assert trim("word " * 50, width=20) == "word word word word…"
