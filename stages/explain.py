"""Stage 5: the model's largest positive and negative coefficients, as CSV, PNG and text."""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import pandas as pd

from common import atomic_path, run_main
from params import read_params
from plotting import new_figure, save_png


def top_coefficients(coefficients: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The ``top_n`` most positive and ``top_n`` most negative coefficients, largest first."""
    ordered = coefficients.sort_values(["coefficient", "feature"], ascending=[False, True],
                                       kind="stable")
    positive = ordered[ordered["coefficient"] > 0].head(top_n)
    negative = ordered[ordered["coefficient"] < 0].iloc[::-1].head(top_n)
    return pd.concat([positive.assign(direction="positive"),
                      negative.assign(direction="negative")], ignore_index=True).round(6)


def plot_coefficients(top: pd.DataFrame, path: Path) -> None:
    figure, axes = new_figure(7.5, 0.28 * len(top) + 1.2)
    ordered = top.sort_values("coefficient")
    colors = ["tab:blue" if c > 0 else "tab:red" for c in ordered["coefficient"]]
    axes.barh(ordered["feature"], ordered["coefficient"], color=colors)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set(xlabel="coefficient (stars; numeric features per standard deviation)",
             title="Ridge coefficients: largest positive and negative")
    axes.tick_params(axis="y", labelsize=8)
    save_png(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--csv-out", type=Path, required=True)
    parser.add_argument("--png-out", type=Path, required=True)
    args = parser.parse_args()
    params = read_params(args.params)["explain"]

    top = top_coefficients(joblib.load(args.model).coefficients(), params["top_n"])
    with atomic_path(args.csv_out) as tmp:
        top.to_csv(tmp, index=False, lineterminator="\n")
    plot_coefficients(top, args.png_out)
    for direction in ("positive", "negative"):
        print(f"top {direction} coefficients:")
        for row in top[top["direction"] == direction].itertuples():
            print(f"  {row.coefficient:+.4f}  {row.feature}")


if __name__ == "__main__":
    run_main(main)
