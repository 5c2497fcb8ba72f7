"""Stage: per-movie features: TF-IDF over genres and tags, release year, training popularity."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from common import UserInputError, run_main
from movie_features import MovieFeatures
from movielens import load_links, load_movies, load_tags
from params import read_params
from tmdb import numeric_features, read_cache

_WORD = re.compile(r"[a-z0-9][a-z0-9']+")


def movie_tokens(movies: pd.DataFrame, tags: pd.DataFrame) -> list[list[str]]:
    """One token list per movie: ``genre:<Genre>`` for each genre, ``tag:<word>`` per tag word."""
    words = tags.assign(word=tags["tag"].str.findall(_WORD)).explode("word").dropna(subset="word")
    words = words[~words["word"].isin(ENGLISH_STOP_WORDS)]
    tag_tokens = ("tag:" + words["word"]).groupby(words["movieId"]).agg(list)
    tokens_by_movie = tag_tokens.reindex(movies["movieId"]).to_numpy()
    return [
        [f"genre:{g}" for g in genres] + (list(tag_list) if isinstance(tag_list, list) else [])
        for genres, tag_list in zip(movies["genres"], tokens_by_movie, strict=True)
    ]


def tfidf(documents: list[list[str]], max_features: int,
          min_df: int) -> tuple[sparse.csr_matrix, list[str]]:
    """TF-IDF of pre-tokenised documents, keeping the ``max_features`` most frequent tokens."""
    vectorizer = TfidfVectorizer(analyzer=list, max_features=max_features, min_df=min_df,
                                 dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError as error:  # every token pruned, or no token at all
        raise UserInputError(
            f"features.min_df = {min_df} leaves no genre or tag token ({error}); "
            f"lower features.min_df (it counts movies a token must appear in)"
        ) from None
    return matrix.tocsr(), vectorizer.get_feature_names_out().tolist()


def build_movie_features(movies: pd.DataFrame, tags: pd.DataFrame, train: pd.DataFrame,
                         max_features: int, min_df: int,
                         tmdb: pd.DataFrame | None = None) -> MovieFeatures:
    """Features of every movie in ``movies``; rating statistics come from ``train`` only.

    ``tmdb`` (the ``tmdb.TMDB_NUMERIC`` columns, row-aligned with ``movies``) joins the numeric
    features when given.
    """
    matrix, names = tfidf(movie_tokens(movies, tags), max_features, min_df)
    missing_year = movies["year"].isna()
    median_year = movies["year"].median() if not missing_year.all() else 0.0
    stats = train.groupby("movieId")["rating"].agg(["size", "mean"])
    table = pd.DataFrame({
        "movieId": movies["movieId"].to_numpy(),
        "title": movies["title"].to_numpy(),
        "genres": movies["genres"].map("|".join).to_numpy(),
        "year": movies["year"].fillna(median_year).to_numpy(),
        "year_missing": missing_year.to_numpy(dtype="float64"),
        "train_count": stats["size"].reindex(movies["movieId"]).fillna(0).astype("int64").to_numpy(),
        "train_mean": stats["mean"].reindex(movies["movieId"]).astype("float64").to_numpy(),
    })
    if tmdb is not None:
        table = pd.concat([table, tmdb.reset_index(drop=True)], axis=1)
    return MovieFeatures(movies=table, content=matrix, names=names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="MovieLens CSV directory")
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--tmdb-cache", type=Path,
                        help="TMDB cache (stages/fetch_tmdb.py), used if features.tmdb is on")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args()
    params = read_params(args.params)["features"]

    movies, tags = load_movies(args.data_dir), load_tags(args.data_dir)
    train = pd.read_parquet(args.train, columns=["movieId", "rating"])
    tmdb = None
    if params["tmdb"] and (args.tmdb_cache is None or not args.tmdb_cache.is_file()):
        print(f"features.tmdb is on but {args.tmdb_cache} does not exist (see README, TMDB); "
              f"building without TMDB features", file=sys.stderr)
    elif params["tmdb"]:
        links = movies[["movieId"]].merge(load_links(args.data_dir), on="movieId", how="left")
        tmdb = numeric_features(links["tmdbId"], read_cache(args.tmdb_cache))
        found = int((tmdb["tmdb_missing"] == 0).sum())
        print(f"TMDB cache {args.tmdb_cache}: records for {found} of {len(movies)} movies")
    features = build_movie_features(movies, tags, train, params["max_features"], params["min_df"],
                                    tmdb)
    features.save(args.out)
    n_genre = sum(name.startswith("genre:") for name in features.names)
    n_tag = sum(name.startswith("tag:") for name in features.names)
    print(f"wrote {n_genre} genre and {n_tag} tag TF-IDF features and the numeric features "
          f"{', '.join(features.numeric)} for {len(features.movies)} movies")


if __name__ == "__main__":
    run_main(main)
