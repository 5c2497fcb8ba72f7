"""Interactions: MovieLens ratings of known movies, filtered, split into train and test."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.data.movielens import (
    FILES,
    INTERACTIONS_PARQUET,
    INTERACTIONS_SCHEMA,
    load_movies,
    load_ratings,
)
from movierec.errors import UserInputError
from movierec.io import atomic_path
from movierec.params import InteractionsParams, SplitParams


def build_interactions(ratings: pd.DataFrame, movies: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Ratings (sorted by user, movie) of movies in ``movies``, and how many had no movie."""
    known = np.isin(ratings["movieId"].to_numpy(), movies["movieId"].to_numpy())
    table = ratings[list(INTERACTIONS_SCHEMA)]
    if not known.all():
        table = table[known]
    return table.astype(INTERACTIONS_SCHEMA).reset_index(drop=True), int((~known).sum())


def _counts_per_row(ids: np.ndarray) -> np.ndarray:
    codes, uniques = pd.factorize(ids)
    return np.bincount(codes, minlength=len(uniques))[codes]


def filter_min_counts(table: pd.DataFrame, min_user_ratings: int,
                      min_movie_ratings: int) -> pd.DataFrame:
    """Repeatedly drop users and movies with fewer ratings than asked, until both filters hold."""
    while min_user_ratings > 1 or min_movie_ratings > 1:
        keep = ((_counts_per_row(table["movieId"].to_numpy()) >= min_movie_ratings)
                & (_counts_per_row(table["userId"].to_numpy()) >= min_user_ratings))
        if keep.all():
            break
        table = table[keep]
    return table.reset_index(drop=True)


def split_train_test(table: pd.DataFrame, strategy: str, test_size: float,
                     rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into train and test.

    ``random``: a uniformly random ``test_size`` share of all rows. ``temporal``: each user's latest
    ``test_size`` share of their ratings (ties broken by movieId), so the model is tested on the future.
    """
    n = len(table)
    if strategy == "random":
        is_test = np.zeros(n, dtype=bool)
        is_test[rng.permutation(n)[: round(test_size * n)]] = True
    else:
        user = table["userId"].to_numpy()
        order = np.lexsort((table["movieId"].to_numpy(), table["timestamp"].to_numpy(), user))
        codes, uniques = pd.factorize(user[order], sort=False)  # users in order of appearance
        size = np.bincount(codes, minlength=len(uniques))
        first = np.r_[0, np.cumsum(size)[:-1]]
        position = np.arange(n) - first[codes]
        is_test = np.empty(n, dtype=bool)
        is_test[order] = position >= np.ceil(size[codes] * (1 - test_size))
    columns = {name: table[name].to_numpy() for name in table.columns}
    train_rows, test_rows = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    train = pd.DataFrame({name: values.take(train_rows) for name, values in columns.items()},
                         copy=False)
    test = pd.DataFrame({name: values.take(test_rows) for name, values in columns.items()},
                        copy=False)
    if train.empty or test.empty:
        raise UserInputError(
            f"split.test_size = {test_size} leaves an empty {'train' if train.empty else 'test'} "
            f"split of {n} interactions; choose a test_size that keeps rows on both sides"
        )
    return train, test


def data_fingerprint(data_dir: Path) -> str:
    """SHA-256 over the MovieLens files of ``data_dir``, a stable id for the data a run used."""
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(name.encode())
        with open(data_dir / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def prepare_interactions(data_dir: Path, filters: InteractionsParams, split: SplitParams
                         ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The training and test splits of ``data_dir``'s ratings, and a summary of what was read."""
    ratings = load_ratings(data_dir)
    table, unknown_movies = build_interactions(ratings, load_movies(data_dir))
    if unknown_movies:
        print(f"dropped {unknown_movies} ratings of movies missing from movies.csv", file=sys.stderr)
    table = filter_min_counts(table, filters.min_user_ratings, filters.min_movie_ratings)
    if table.empty:
        raise UserInputError(
            f"interactions.min_user_ratings = {filters.min_user_ratings} and "
            f"interactions.min_movie_ratings = {filters.min_movie_ratings} remove every rating "
            f"of {data_dir}; lower them"
        )
    train, test = split_train_test(table, split.strategy, split.test_size,
                                   np.random.default_rng(split.seed))
    summary = {
        "data_sha256": data_fingerprint(data_dir),
        "ratings_read": len(ratings),
        "interactions": len(table),
        "users": int(table["userId"].nunique()),
        "movies": int(table["movieId"].nunique()),
        "train": len(train),
        "test": len(test),
    }
    return train, test, summary


def save_interactions(frame: pd.DataFrame, path: Path) -> None:
    """Write an interactions table as the later stages read it (parquet, atomically)."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, **INTERACTIONS_PARQUET)
