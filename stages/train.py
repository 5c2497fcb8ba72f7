"""Stage: fit the Ridge rating model on the training split and save it with joblib."""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import pandas as pd

from common import atomic_path, run_main
from model import RatingModel
from movie_features import MovieFeatures
from params import read_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--features", type=Path, required=True, help="movie features directory")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--model-out", type=Path, required=True)
    args = parser.parse_args()
    params = read_params(args.params)["train"]

    train = pd.read_parquet(args.train, columns=["userId", "movieId", "rating"])
    model = RatingModel(**params).fit(train, MovieFeatures.load(args.features))
    with atomic_path(args.model_out) as tmp:
        joblib.dump(model, tmp)
    print(f"trained Ridge(alpha={model.alpha}) on {model.n_samples_} ratings and "
          f"{len(model.feature_names_)} features")


if __name__ == "__main__":
    run_main(main)
