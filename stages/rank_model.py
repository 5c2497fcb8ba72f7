"""Stage: what the ranking learns from the training split: the item model (EASE-style item-item
ridge regressions over who rated and who liked what) and the co-rating similarity.

Both depend on who rated what, not on the rating model, so sweeping train params does not
recompute them; sweeping the rank weights does not either (they are applied when ranking).
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.features.movie_features import MOVIES_FILE
from movierec.params import read_params
from movierec.ranking.model import fit_rank_model


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--features", type=Path, required=True,
                        help="movie features directory (its movies, in the model's order)")
    add_params_argument(parser)
    parser.add_argument("--out", type=Path, required=True, help="the ranking model (npz)")
    args = parser.parse_args()
    params = read_params(args.params)

    train = pd.read_parquet(args.train, columns=["userId", "movieId", "rating"])
    movie_ids = pd.read_parquet(args.features / MOVIES_FILE, columns=["movieId"])["movieId"]
    print(f"ranking model of {len(movie_ids)} movies from {len(train)} training ratings ...",
          flush=True)
    model = fit_rank_model(train, movie_ids.to_numpy(), params.rank, params.similar)
    model.save(args.out)
    print(f"item model over the {len(model.items.movies)} most rated movies with at least "
          f"{params.rank.min_ratings} ratings; {model.similar.nnz} co-rated movie pairs")


if __name__ == "__main__":
    run_main(main)
