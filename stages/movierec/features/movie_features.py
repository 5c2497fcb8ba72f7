"""Per-movie features as the features stage builds and writes them and the model reads them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from movierec.features.tokens import movie_tokens, tfidf
from movierec.io import atomic_path, save_sparse, write_text
from movierec.params import FeaturesParams

MATRIX_FILE, MOVIES_FILE, NAMES_FILE = "content.npz", "movies.parquet", "feature_names.json"
NUMERIC = ["year", "year_missing"]


@dataclass
class MovieFeatures:
    """Content features of every movie, row ``k`` describing ``movies.movieId[k]``.

    ``content`` holds the TF-IDF columns, named by ``names`` (``genre:...`` or ``tag:...``);
    ``movies`` holds movieId, title, genres ("|"-joined), the numeric features ``NUMERIC``
    (release year, the median where the title has none, and a missing-year indicator) and, if
    the features stage used the TMDB cache, the ``tmdb_*`` numeric features.
    """

    movies: pd.DataFrame
    content: sparse.csr_matrix
    names: list[str]

    @property
    def numeric(self) -> list[str]:
        """The numeric feature columns of ``movies``: ``NUMERIC`` and any ``tmdb_*``."""
        return NUMERIC + [name for name in self.movies.columns if name.startswith("tmdb_")]

    @property
    def movie_ids(self) -> np.ndarray:
        return self.movies["movieId"].to_numpy()

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        save_sparse(directory / MATRIX_FILE, self.content)
        with atomic_path(directory / MOVIES_FILE) as tmp:
            self.movies.to_parquet(tmp, index=False)
        write_text(directory / NAMES_FILE, json.dumps(self.names, indent=1) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> MovieFeatures:
        directory = Path(directory)
        names = json.loads((directory / NAMES_FILE).read_text(encoding="utf-8"))
        return cls(
            movies=pd.read_parquet(directory / MOVIES_FILE),
            content=sparse.load_npz(directory / MATRIX_FILE).tocsr(),
            names=names,
        )


def training_tags(tags: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """The tags whose (user, movie) is among ``ratings``: a tag is evidence of its user's rating,
    so a tag on a movie whose rating is held out (or never given) must not feed a feature."""
    def keys(frame: pd.DataFrame) -> np.ndarray:
        return (frame["userId"].to_numpy(dtype=np.int64) << 32) + frame["movieId"].to_numpy(
            dtype=np.int64)

    rated = keys(ratings)
    if len(rated) > 1 and (np.diff(rated) < 0).any():  # training splits come sorted already
        rated = np.sort(rated)
    wanted = keys(tags)
    place = np.minimum(np.searchsorted(rated, wanted), max(len(rated) - 1, 0))
    found = rated[place] == wanted if len(rated) else np.zeros(len(wanted), dtype=bool)
    return tags[found].reset_index(drop=True)


def build_movie_features(movies: pd.DataFrame, tags: pd.DataFrame, train: pd.DataFrame,
                         max_features: int, min_df: int,
                         tmdb: pd.DataFrame | None = None) -> MovieFeatures:
    """Features of every movie in ``movies``, with tag tokens from the tags of ``train``'s
    (user, movie) pairs only (:func:`training_tags`).

    ``tmdb`` (the ``tmdb.TMDB_NUMERIC`` columns, row-aligned with ``movies``) joins the numeric
    features when given.
    """
    matrix, names = tfidf(*movie_tokens(movies, training_tags(tags, train)), len(movies),
                          max_features, min_df)
    missing_year = movies["year"].isna()
    median_year = movies["year"].median() if not missing_year.all() else 0.0
    table = pd.DataFrame({
        "movieId": movies["movieId"].to_numpy(),
        "title": movies["title"].to_numpy(),
        "genres": movies["genres"].map("|".join).to_numpy(),
        "year": movies["year"].fillna(median_year).to_numpy(),
        "year_missing": missing_year.to_numpy(dtype="float64"),
    })
    if tmdb is not None:
        table = pd.concat([table, tmdb.reset_index(drop=True)], axis=1)
    return MovieFeatures(movies=table, content=matrix, names=names)


def refit_movie_features(features: MovieFeatures, movies: pd.DataFrame, tags: pd.DataFrame,
                         train: pd.DataFrame, params: FeaturesParams) -> MovieFeatures:
    """``features`` (the features stage's) rebuilt for another training set: its tag tokens from
    ``train``'s tags only; the TMDB columns, which no rating feeds, are kept."""
    tmdb = [name for name in features.movies.columns if name.startswith("tmdb_")]
    return build_movie_features(movies, tags, train, params.max_features, params.min_df,
                                features.movies[tmdb] if tmdb else None)
