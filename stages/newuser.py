"""Stage: new-user simulation: how well a small profile predicts a person the model never saw.

newuser.users users are held out of a model refitted with the train params; k of their ratings
(newuser.profile_sizes, in random order and earliest-first) are the profile, the rest are
predicted and ranked the way recommend does it, beside a bias fold-in and the profile's mean.
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_evaluation_arguments, parser_for, run_main
from movierec.data.movielens import load_movies, load_tags
from movierec.evaluation.newuser import plot_profile_sizes, run_simulation
from movierec.features.movie_features import MovieFeatures
from movierec.io import atomic_path, write_json
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    add_evaluation_arguments(parser)
    parser.add_argument("--features", type=Path, required=True, help="movie features directory")
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="MovieLens CSV directory (movies and tags, for refitted features)")
    args = parser.parse_args()
    params = read_params(args.params)

    table, shares, metrics = run_simulation(
        params, args.train, args.test, MovieFeatures.load(args.features),
        load_movies(args.data_dir), load_tags(args.data_dir))
    with atomic_path(args.plots_dir / "newuser.csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    plot_profile_sizes(table, shares, params.rank.k, args.plots_dir / "newuser.png")
    write_json(args.metrics_out, metrics)
    print(table.to_string(index=False))
    if len(shares):
        print(shares.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
