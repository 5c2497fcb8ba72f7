"""Per-movie feature matrix as the features stage writes it and the model reads it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from common import atomic_path, save_sparse, write_text

MATRIX_FILE, MOVIES_FILE, NAMES_FILE = "content.npz", "movies.parquet", "feature_names.json"
NUMERIC = ["year", "year_missing"]


@dataclass
class MovieFeatures:
    """Content features of every movie, row ``k`` describing ``movies.movieId[k]``.

    ``content`` holds the TF-IDF columns, named by ``names`` (``genre:...`` or ``tag:...``);
    ``movies`` holds movieId, title, genres ("|"-joined), the numeric features ``NUMERIC``
    (release year, the median where the title has none, and a missing-year indicator), the
    training-split popularity (``train_count``, ``train_mean``) and, if the features stage used
    the TMDB cache, the ``tmdb_*`` numeric features.
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
