"""Stage: each movie's most co-rated movies, from who rated what in the training split.

Ranking adds rank.co_rating_weight x the mean similarity of a movie to the movies a person liked.
The similarity depends on who rated which movies, not on the rating model, so it is a stage of its
own: sweeping train params does not recompute it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from movierec.cli import add_params_argument, run_main
from movierec.features.movie_features import MOVIES_FILE
from movierec.params import read_params
from movierec.ranking.similarity import fit_similar_movies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--features", type=Path, required=True,
                        help="movie features directory (its movies, in the model's order)")
    add_params_argument(parser)
    parser.add_argument("--out", type=Path, required=True, help="similar movies (npz)")
    args = parser.parse_args()
    params = read_params(args.params).similar

    train = pd.read_parquet(args.train, columns=["userId", "movieId"])
    movie_ids = pd.read_parquet(args.features / MOVIES_FILE, columns=["movieId"])["movieId"]
    print(f"co-rating similarity of {len(movie_ids)} movies from {len(train)} training ratings "
          f"(about {params.max_per_user or 'all'} per user) ...", flush=True)
    similar = fit_similar_movies(train, movie_ids.to_numpy(), params)
    similar.save(args.out)
    print(f"kept {similar.matrix.nnz} similar-movie pairs for {len(movie_ids)} movies "
          f"(at most {params.neighbors} each)")


if __name__ == "__main__":
    run_main(main)
