"""The local TMDB metadata cache (filled by ``fetch_tmdb.py``) and what the pipeline reads from it.

One SQLite table, ``movies``, keyed by TMDB id. A row with ``status = 'ok'`` holds the fields
below; ``status = 'not_found'`` records an id TMDB does not know, so that a resumed fetch skips it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.errors import UserInputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS movies (
    tmdb_id INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('ok', 'not_found')),
    runtime REAL,
    vote_average REAL,
    vote_count INTEGER,
    popularity REAL,
    release_date TEXT,
    overview TEXT,
    poster_path TEXT,
    fetched_at TEXT NOT NULL
)
"""
FIELDS = ["runtime", "vote_average", "vote_count", "popularity", "release_date", "overview",
          "poster_path"]
# numeric movie features from the cache; a movie without a cached record has tmdb_missing = 1
TMDB_NUMERIC = ["tmdb_runtime", "tmdb_vote_avg", "tmdb_log1p_vote_count",
                "tmdb_log1p_popularity", "tmdb_inv_recency", "tmdb_missing"]
POSTER_BASE = "https://image.tmdb.org/t/p/w342"


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the cache at ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute(SCHEMA)
    return connection


def read_cache(path: str | Path) -> pd.DataFrame:
    """The cached records (``status = 'ok'``), indexed by ``tmdb_id``; a clear error if unreadable."""
    try:
        with sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True) as connection:
            frame = pd.read_sql_query(
                f"SELECT tmdb_id, {', '.join(FIELDS)} FROM movies WHERE status = 'ok'", connection)
    except (sqlite3.Error, pd.errors.DatabaseError) as error:
        raise UserInputError(f"{path}: not a readable TMDB cache ({error}); delete it and run "
                             f"stages/fetch_tmdb.py again") from None
    return frame.set_index("tmdb_id")


def numeric_features(tmdb_ids: pd.Series, cache: pd.DataFrame) -> pd.DataFrame:
    """The ``TMDB_NUMERIC`` columns for movies with these TMDB ids (NA where links.csv has none).

    Recency is counted back from the newest release date in the cache, so the features depend on
    the cache alone, not on the day they are built. Missing values (no record, runtime 0, no votes,
    no release date) take the median over the movies that have one; ``tmdb_missing`` marks movies
    without a record.
    """
    records = cache.reindex(pd.array(tmdb_ids, dtype="Int64"))
    released = pd.to_datetime(records["release_date"], errors="coerce", format="%Y-%m-%d")
    newest = pd.to_datetime(cache["release_date"], errors="coerce", format="%Y-%m-%d").max()
    years_ago = (newest - released).dt.days / 365.25
    vote_count = records["vote_count"].astype("float64")
    raw = pd.DataFrame({
        "tmdb_runtime": records["runtime"].astype("float64").where(lambda r: r > 0),
        "tmdb_vote_avg": records["vote_average"].astype("float64").where(vote_count > 0),
        "tmdb_log1p_vote_count": np.log1p(vote_count),
        "tmdb_log1p_popularity": np.log1p(records["popularity"].astype("float64")),
        "tmdb_inv_recency": 1.0 / (1.0 + years_ago.clip(lower=0)),
    })
    features = raw.fillna(raw.median().fillna(0.0))
    features["tmdb_missing"] = (~records.index.isin(cache.index)).astype("float64")
    return features.reset_index(drop=True)


def overviews(tmdb_ids: pd.Series, cache: pd.DataFrame) -> pd.Series:
    """The cached overview of each movie ('' where there is none), aligned with ``tmdb_ids``."""
    text = cache["overview"].reindex(pd.array(tmdb_ids, dtype="Int64")).fillna("")
    return pd.Series(text.to_numpy(), index=tmdb_ids.index)


def trim(text: str, width: int = 160) -> str:
    """``text`` cut at a word boundary to at most ``width`` characters, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    head = text[:width]
    return (head.rsplit(" ", 1)[0] if " " in head else head[: width - 1]) + "…"


def cached_features(movie_ids: pd.Series, links: pd.DataFrame, path: Path | None
                    ) -> tuple[pd.DataFrame | None, str]:
    """The ``TMDB_NUMERIC`` columns of ``movie_ids`` (in that order) from the cache at ``path``,
    or None when there is no cache; and a line saying which."""
    if path is None or not path.is_file():
        return None, (f"features.tmdb is on but {path} does not exist (see README, TMDB); "
                      f"building without TMDB features")
    tmdb_ids = pd.DataFrame({"movieId": movie_ids}).merge(links, on="movieId", how="left")["tmdbId"]
    features = numeric_features(tmdb_ids, read_cache(path))
    found = int((features["tmdb_missing"] == 0).sum())
    return features, f"TMDB cache {path}: records for {found} of {len(movie_ids)} movies"
