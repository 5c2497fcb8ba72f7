"""Stage: MAE and RMSE of the model and of baselines fitted in the same run, plus plots."""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_evaluation_arguments, parser_for, run_main
from movierec.evaluation.rating import error_by_activity, error_metrics, write_plots
from movierec.io import write_json
from movierec.model.baselines import baseline_predictions
from movierec.model.estimator import load_model
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the fitted model (joblib)")
    add_evaluation_arguments(parser)
    args = parser.parse_args()
    params = read_params(args.params).evaluate

    columns = ["userId", "movieId", "rating"]
    train = pd.read_parquet(args.train, columns=columns)
    test = pd.read_parquet(args.test, columns=columns)
    model = load_model(args.model)
    actual = test["rating"].to_numpy(dtype=float)
    predictions = {"model": model.predict(test["userId"].to_numpy(), test["movieId"].to_numpy())}
    predictions |= baseline_predictions(train, test, params.baseline_damping)
    metrics = error_metrics(actual, predictions) | {"n_train": len(train), "n_test": len(test)}
    write_plots(args.plots_dir, actual, predictions, error_by_activity(test, train, predictions))
    write_json(args.metrics_out, metrics)
    width = max(len(name) for name in predictions)
    for name in predictions:
        prefix = "" if name == "model" else f"{name}_"
        print(f"{name:<{width}}  RMSE {metrics[prefix + 'rmse']:.4f}  MAE {metrics[prefix + 'mae']:.4f}")


if __name__ == "__main__":
    run_main(main)
