"""Stage: MovieLens ratings of known movies, filtered, split into train and test."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from common import UserInputError, atomic_path, run_main, write_json
from movielens import FILES, INTERACTIONS_PARQUET, INTERACTIONS_SCHEMA, load_movies, load_ratings
from params import read_params

LARGE_FILE = 100 << 20  # ratings files larger than this get a line saying they are being read


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="MovieLens CSV directory")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--train-out", type=Path, required=True)
    parser.add_argument("--test-out", type=Path, required=True)
    parser.add_argument("--summary-out", type=Path, required=True)
    args = parser.parse_args()
    params = read_params(args.params)
    filters, split = params["interactions"], params["split"]

    ratings_csv = args.data_dir / "ratings.csv"
    if ratings_csv.is_file() and ratings_csv.stat().st_size > LARGE_FILE:
        print(f"reading {ratings_csv} ({ratings_csv.stat().st_size >> 20} MB) ...",
              file=sys.stderr, flush=True)
    ratings = load_ratings(args.data_dir)
    movies = load_movies(args.data_dir)
    table, unknown_movies = build_interactions(ratings, movies)
    if unknown_movies:
        print(f"dropped {unknown_movies} ratings of movies missing from movies.csv", file=sys.stderr)
    table = filter_min_counts(table, filters["min_user_ratings"], filters["min_movie_ratings"])
    if table.empty:
        raise UserInputError(
            f"interactions.min_user_ratings = {filters['min_user_ratings']} and "
            f"interactions.min_movie_ratings = {filters['min_movie_ratings']} remove every rating "
            f"of {args.data_dir}; lower them"
        )
    train, test = split_train_test(
        table, split["strategy"], split["test_size"], np.random.default_rng(split["seed"])
    )
    summary = {
        "data_sha256": data_fingerprint(args.data_dir),
        "ratings_read": len(ratings),
        "interactions": len(table),
        "users": int(table["userId"].nunique()),
        "movies": int(table["movieId"].nunique()),
        "train": len(train),
        "test": len(test),
    }
    for frame, out in ((train, args.train_out), (test, args.test_out)):
        with atomic_path(out) as tmp:
            frame.to_parquet(tmp, index=False, **INTERACTIONS_PARQUET)
    write_json(args.summary_out, summary)
    print(f"wrote {summary['interactions']} interactions for {summary['users']} users and "
          f"{summary['movies']} movies ({len(train)} train, {len(test)} test)")


if __name__ == "__main__":
    run_main(main)
