"""Stage: per-movie features: TF-IDF over genres and the tags of training ratings, release year."""

from __future__ import annotations

import sys
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.data.movielens import load_links, load_movies, load_tags
from movierec.data.tmdb import cached_features
from movierec.features.movie_features import build_movie_features
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="MovieLens CSV directory")
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    add_params_argument(parser)
    parser.add_argument("--tmdb-cache", type=Path,
                        help="TMDB cache (stages/fetch_tmdb.py), used if features.tmdb is on")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args()
    params = read_params(args.params).features

    movies, tags = load_movies(args.data_dir), load_tags(args.data_dir)
    train = pd.read_parquet(args.train, columns=["userId", "movieId"])
    tmdb = None
    if params.tmdb:
        tmdb, message = cached_features(movies["movieId"], load_links(args.data_dir),
                                        args.tmdb_cache)
        print(message, file=sys.stderr if tmdb is None else sys.stdout)
    features = build_movie_features(movies, tags, train, params.max_features, params.min_df, tmdb)
    features.save(args.out)
    n_genre = sum(name.startswith("genre:") for name in features.names)
    n_tag = sum(name.startswith("tag:") for name in features.names)
    print(f"wrote {n_genre} genre and {n_tag} tag TF-IDF features and the numeric features "
          f"{', '.join(features.numeric)} for {len(features.movies)} movies")


if __name__ == "__main__":
    run_main(main)
