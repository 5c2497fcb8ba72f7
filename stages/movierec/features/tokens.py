"""Stage: per-movie features: TF-IDF over genres and tags, release year, training popularity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from common import UserInputError, run_main
from movie_features import MovieFeatures
from movielens import IdLookup, load_links, load_movies, load_tags
from params import read_params
from tmdb import numeric_features, read_cache

STOP_WORDS_FILE = Path(__file__).with_name("stop_words.txt")


def stop_words() -> list[str]:
    """The English stop words of ``stop_words.txt`` (scikit-learn's list), sorted."""
    lines = STOP_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return sorted(line for line in lines if line and not line.startswith("#"))


def movie_tokens(movies: pd.DataFrame, tags: pd.DataFrame) -> tuple[np.ndarray, pa.Array]:
    """Token occurrences: ``genre:<Genre>`` per genre, ``tag:<word>`` per word of each tag.

    Words are runs of ``[a-z0-9']`` starting with a letter or digit, at least two characters, not
    an English stop word. Returns each occurrence's movie row (position in ``movies``) and token.
    """
    text = pa.chunked_array(pa.array(tags["tag"].astype("string").array)).combine_chunks()
    text = text.cast(pa.string())
    pieces = pc.split_pattern_regex(text, pattern="[^a-z0-9']+")
    words = pc.utf8_ltrim(pc.list_flatten(pieces), characters="'")
    tag_row = np.searchsorted(movies["movieId"].to_numpy(),
                              tags["movieId"].to_numpy())[pc.list_parent_indices(pieces)]
    keep = pc.and_(pc.greater_equal(pc.utf8_length(words), 2),
                   pc.invert(pc.is_in(words, value_set=pa.array(stop_words()))))
    known = np.isin(tags["movieId"].to_numpy(), movies["movieId"].to_numpy())
    keep = np.asarray(keep) & known[pc.list_parent_indices(pieces)]
    genres = movies["genres"]
    genre_row = np.repeat(np.arange(len(movies)), genres.map(len).to_numpy())
    genre_tokens = pa.array(["genre:" + g for parts in genres for g in parts], type=pa.string())
    tag_tokens = pc.binary_join_element_wise("tag:", pc.filter(words, pa.array(keep)), "")
    return (np.concatenate([genre_row, tag_row[keep]]),
            pa.concat_arrays([genre_tokens, tag_tokens]))


def tfidf(rows: np.ndarray, tokens: pa.Array, n_movies: int, max_features: int,
          min_df: int) -> tuple[sparse.csr_matrix, list[str]]:
    """TF-IDF of token occurrences as scikit-learn's ``TfidfVectorizer`` computes it.

    Tokens in at least ``min_df`` movies, the ``max_features`` most frequent of them, in
    alphabetical order; smoothed idf, rows scaled to unit length.
    """
    vocabulary = pc.unique(tokens)
    vocabulary = vocabulary.take(pc.sort_indices(vocabulary))
    codes = pc.index_in(tokens, value_set=vocabulary).to_numpy()
    counts = sparse.csr_matrix((np.ones(len(codes)), (rows, codes)),
                               shape=(n_movies, len(vocabulary)))
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    kept = np.flatnonzero(document_frequency >= min_df)
    if len(kept) == 0:
        raise UserInputError(
            f"features.min_df = {min_df} leaves no genre or tag token (the most common is in "
            f"{document_frequency.max(initial=0)} movies); lower features.min_df (it counts "
            f"movies a token must appear in)")
    if len(kept) > max_features:
        frequency = np.asarray(counts.sum(axis=0)).ravel()
        kept = np.sort(kept[(-frequency[kept]).argsort()[:max_features]])
    idf = np.log((1 + n_movies) / (1 + document_frequency[kept])) + 1  # smoothed idf
    weighted = sparse.csr_matrix(counts[:, kept] @ sparse.diags(idf))
    lengths = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = np.divide(1.0, lengths, out=np.zeros_like(lengths), where=lengths > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ weighted), vocabulary.take(kept).to_pylist()


def build_movie_features(movies: pd.DataFrame, tags: pd.DataFrame, train: pd.DataFrame,
                         max_features: int, min_df: int,
                         tmdb: pd.DataFrame | None = None) -> MovieFeatures:
    """Features of every movie in ``movies``; rating statistics come from ``train`` only.

    ``tmdb`` (the ``tmdb.TMDB_NUMERIC`` columns, row-aligned with ``movies``) joins the numeric
    features when given.
    """
    matrix, names = tfidf(*movie_tokens(movies, tags), len(movies), max_features, min_df)
    missing_year = movies["year"].isna()
    median_year = movies["year"].median() if not missing_year.all() else 0.0
    # per-movie sums (linear); ratings of movies not in ``movies`` are ignored
    position = IdLookup(movies["movieId"].to_numpy()).positions(train["movieId"].to_numpy())
    known = position >= 0
    count = np.bincount(position[known], minlength=len(movies))
    total = np.bincount(position[known], train["rating"].to_numpy(dtype=float)[known],
                        minlength=len(movies))
    table = pd.DataFrame({
        "movieId": movies["movieId"].to_numpy(),
        "title": movies["title"].to_numpy(),
        "genres": movies["genres"].map("|".join).to_numpy(),
        "year": movies["year"].fillna(median_year).to_numpy(),
        "year_missing": missing_year.to_numpy(dtype="float64"),
        "train_count": count.astype("int64"),
        "train_mean": np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0),
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
