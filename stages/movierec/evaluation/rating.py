"""Stage: MAE and RMSE of the model and of baselines fitted in the same run, plus plots."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from common import add_evaluation_arguments, atomic_path, run_main, write_json
from metrics import mae, rmse
from model import EvidenceConfig, fit_item_evidence
from params import read_params
from plotting import new_figure, save_png

ACTIVITY_BINS = [0, 20, 50, 100, 200, 500, np.inf]


def baseline_predictions(train: pd.DataFrame, test: pd.DataFrame,
                         damping: float) -> dict[str, np.ndarray]:
    """Predictions of the classic baselines, fitted on ``train``, for the rows of ``test``.

    ``global_mean``: the mean training rating; ``user_mean`` / ``movie_mean``: the user's or movie's
    mean training rating (the global mean when unseen); ``bias``: global mean + damped movie bias +
    damped user bias.
    """
    global_mean = float(train["rating"].mean())
    ratings = train["rating"].to_numpy(dtype=float)
    n_train = len(train)

    def codes(key: str) -> tuple[np.ndarray, np.ndarray, int]:
        """Codes of ``key`` in the training rows and the test rows, and how many there are."""
        coded, uniques = pd.factorize(np.concatenate([train[key], test[key]]))
        return coded[:n_train], coded[n_train:], len(uniques)

    def group_mean(train_code: np.ndarray, test_code: np.ndarray, n: int) -> np.ndarray:
        count = np.bincount(train_code, minlength=n)
        means = np.divide(np.bincount(train_code, ratings, minlength=n), count,
                          out=np.full(n, global_mean), where=count > 0)
        return means[test_code]

    user_train, user_test, n_users = codes("userId")
    movie_train, movie_test, n_movies = codes("movieId")
    biases_only = EvidenceConfig(damping=damping, genre_affinity=False, tag_affinity=False,
                                 item_neighbors=False)
    items, user_evidence = fit_item_evidence(user_train, movie_train, ratings, n_users, n_movies,
                                             None, None, biases_only)
    bias = items.global_mean + items.movie_bias[movie_test] + user_evidence.bias[user_test]
    return {
        "global_mean": np.full(len(test), global_mean),
        "user_mean": group_mean(user_train, user_test, n_users),
        "movie_mean": group_mean(movie_train, movie_test, n_movies),
        "bias": np.clip(bias, 0.5, 5.0),
    }


def error_metrics(actual: np.ndarray, predictions: dict[str, np.ndarray]) -> dict[str, float]:
    """Flat metrics: ``rmse``/``mae`` for the model, ``<baseline>_rmse``/``_mae`` for the others."""
    metrics = {}
    for name, predicted in predictions.items():
        prefix = "" if name == "model" else f"{name}_"
        metrics[f"{prefix}rmse"] = round(rmse(actual, predicted), 6)
        metrics[f"{prefix}mae"] = round(mae(actual, predicted), 6)
    return metrics


def prediction_by_rating(actual: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean and quartiles of the predicted rating for each true rating value."""
    grouped = pd.Series(predicted).groupby(actual)
    return pd.DataFrame({
        "actual": grouped.mean().index.to_numpy(dtype=float),
        "predicted_mean": grouped.mean().to_numpy(),
        "predicted_p25": grouped.quantile(0.25).to_numpy(),
        "predicted_p75": grouped.quantile(0.75).to_numpy(),
        "count": grouped.size().to_numpy(),
    }).round(6)


def residual_histogram(residuals: np.ndarray, width: float = 0.25) -> pd.DataFrame:
    """Counts of ``actual - predicted`` in bins of ``width`` stars."""
    edges = np.arange(-4.5, 4.5 + width, width)
    counts, _ = np.histogram(residuals, bins=edges)
    return pd.DataFrame({"residual": np.round(edges[:-1] + width / 2, 6), "count": counts})


def error_by_activity(test: pd.DataFrame, train: pd.DataFrame,
                      predictions: dict[str, np.ndarray]) -> pd.DataFrame:
    """RMSE of each predictor for test users grouped by how many training ratings they have."""
    activity = test["userId"].map(train["userId"].value_counts()).fillna(0).to_numpy()
    labels = [f"{int(lo)}-{int(hi) - 1}" if np.isfinite(hi) else f"{int(lo)}+"
              for lo, hi in itertools.pairwise(ACTIVITY_BINS)]
    bins = pd.cut(activity, ACTIVITY_BINS, right=False, labels=labels)
    actual = test["rating"].to_numpy(dtype=float)
    rows = []
    for label in labels:
        mask = np.asarray(bins == label)
        if not mask.any():
            continue
        row = {"user_train_ratings": label, "test_ratings": int(mask.sum())}
        for name, predicted in predictions.items():
            row[f"{name}_rmse"] = round(rmse(actual[mask], predicted[mask]), 6)
        rows.append(row)
    return pd.DataFrame(rows)


def write_plots(plots_dir: Path, actual: np.ndarray, predictions: dict[str, np.ndarray],
                by_activity: pd.DataFrame) -> None:
    """Plot data as CSV (for ``dvc plots``) and the same plots as offline PNGs."""
    model = predictions["model"]
    by_rating = prediction_by_rating(actual, model)
    histogram = residual_histogram(actual - model)
    for frame, name in ((by_rating, "predicted_vs_actual"), (histogram, "residuals"),
                        (by_activity, "error_by_activity")):
        with atomic_path(plots_dir / f"{name}.csv") as tmp:
            frame.to_csv(tmp, index=False, lineterminator="\n")

    figure, axes = new_figure()
    groups = [model[actual == value] for value in by_rating["actual"]]
    axes.boxplot(groups, positions=by_rating["actual"], widths=0.3, showfliers=False)
    axes.plot([0.5, 5], [0.5, 5], "--", color="grey", label="perfect")
    axes.set(xlabel="actual rating", ylabel="predicted rating", xlim=(0.2, 5.3),
             title="Predicted vs actual rating (test split)")
    axes.set_xticks(by_rating["actual"], [f"{v:g}" for v in by_rating["actual"]])
    axes.legend()
    save_png(figure, plots_dir / "predicted_vs_actual.png")

    figure, axes = new_figure()
    axes.bar(histogram["residual"], histogram["count"], width=0.24)
    axes.set(xlabel="actual - predicted", ylabel="test ratings", title="Residuals (test split)")
    save_png(figure, plots_dir / "residuals.png")

    figure, axes = new_figure()
    positions = np.arange(len(by_activity))
    names = [name for name in predictions if f"{name}_rmse" in by_activity]
    for offset, name in enumerate(names):
        axes.bar(positions + (offset - len(names) / 2 + 0.5) * 0.8 / len(names),
                 by_activity[f"{name}_rmse"], width=0.8 / len(names), label=name)
    axes.set_xticks(positions, by_activity["user_train_ratings"])
    axes.set(xlabel="user's training ratings", ylabel="RMSE", title="Error by user activity")
    axes.legend(fontsize="small")
    save_png(figure, plots_dir / "error_by_activity.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    add_evaluation_arguments(parser)
    args = parser.parse_args()
    params = read_params(args.params)["evaluate"]

    columns = ["userId", "movieId", "rating"]
    train = pd.read_parquet(args.train, columns=columns)
    test = pd.read_parquet(args.test, columns=columns)
    model = joblib.load(args.model)
    actual = test["rating"].to_numpy(dtype=float)
    predictions = {"model": model.predict(test["userId"].to_numpy(), test["movieId"].to_numpy())}
    predictions |= baseline_predictions(train, test, params["baseline_damping"])
    metrics = error_metrics(actual, predictions) | {"n_train": len(train), "n_test": len(test)}
    write_plots(args.plots_dir, actual, predictions, error_by_activity(test, train, predictions))
    write_json(args.metrics_out, metrics)
    width = max(len(name) for name in predictions)
    for name in predictions:
        prefix = "" if name == "model" else f"{name}_"
        print(f"{name:<{width}}  RMSE {metrics[prefix + 'rmse']:.4f}  MAE {metrics[prefix + 'mae']:.4f}")


if __name__ == "__main__":
    run_main(main)
