"""Rating accuracy: RMSE and MAE of the model and of baselines fitted in the same run, and plots."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.evaluation.metrics import mae, rmse
from movierec.evaluation.plots import new_figure, save_png
from movierec.io import atomic_path

ACTIVITY_BINS = [0, 20, 50, 100, 200, 500, np.inf]


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
