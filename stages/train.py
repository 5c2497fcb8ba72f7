"""Stage: fit the Ridge rating model on the training split and save it with joblib."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.features.movie_features import MovieFeatures
from movierec.model.estimator import RatingModel, save_model
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--features", type=Path, required=True, help="movie features directory")
    add_params_argument(parser)
    parser.add_argument("--model-out", type=Path, required=True, help="the fitted model (joblib)")
    args = parser.parse_args()
    params = read_params(args.params).train

    train = pd.read_parquet(args.train, columns=["userId", "movieId", "rating"])
    model = RatingModel(**asdict(params)).fit(train, MovieFeatures.load(args.features))
    save_model(model, args.model_out)
    print(f"trained Ridge(alpha={model.alpha}) on {model.n_samples_} ratings and "
          f"{len(model.feature_names_)} features")


if __name__ == "__main__":
    run_main(main)
