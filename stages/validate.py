"""Stage: every rating and ranking metric on a validation split carved from the training split.

validation.users training users are held out entirely (validation new users) and a
validation.share of the other users' training ratings are held out as their targets; everything
is refitted on the rest. Choose hyperparameters and ranking weights by these metrics, never by
the test split's.
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.data.movielens import load_movies, load_tags
from movierec.evaluation.validation import run_validation
from movierec.features.movie_features import MovieFeatures
from movierec.io import write_json
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--features", type=Path, required=True, help="movie features directory")
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="MovieLens CSV directory (movies and tags, for refitted features)")
    add_params_argument(parser)
    parser.add_argument("--metrics-out", type=Path, required=True, help="metrics file (JSON)")
    args = parser.parse_args()
    params = read_params(args.params)

    metrics = run_validation(params, args.train, MovieFeatures.load(args.features),
                             load_movies(args.data_dir), load_tags(args.data_dir))
    write_json(args.metrics_out, metrics)
    k = params.rank.k
    print(f"validation: RMSE {metrics['validation.rmse']:.4f}, known users NDCG@{k} "
          f"{metrics[f'validation.ndcg_at_{k}']:.3f} "
          f"(coverage {metrics[f'validation.coverage_at_{k}']:.3f}), "
          f"new users NDCG@{k} at k = " + ", ".join(
              f"{size}: {metrics[f'validation.newuser.k{size}.ndcg_at_{k}']:.3f}"
              for size in params.newuser.profile_sizes))


if __name__ == "__main__":
    run_main(main)
