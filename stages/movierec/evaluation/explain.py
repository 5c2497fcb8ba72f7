"""Stage: explain the model by its coefficients, as CSV, PNG and text.

Numeric features (rating evidence, release year) are standardised, so their coefficients are stars
per standard deviation and all are shown; of the many genre and tag tokens (stars at full TF-IDF
weight) the ``explain.top_n`` most positive and most negative are shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import pandas as pd

from common import atomic_path, run_main
from params import read_params
from plotting import new_figure, save_png


def top_coefficients(coefficients: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Every numeric feature by size, then the ``top_n`` most positive and most negative tokens."""
    is_token = coefficients["feature"].str.contains(":", regex=False)
    numeric = coefficients[~is_token].assign(size=lambda frame: frame["coefficient"].abs())
    numeric = numeric.sort_values(["size", "feature"], ascending=[False, True], kind="stable")
    tokens = coefficients[is_token].sort_values(["coefficient", "feature"],
                                                ascending=[False, True], kind="stable")
    positive = tokens[tokens["coefficient"] > 0].head(top_n)
    negative = tokens[tokens["coefficient"] < 0].iloc[::-1].head(top_n)
    return pd.concat([
        numeric.drop(columns="size").assign(kind="numeric"),
        positive.assign(kind="token+"),
        negative.assign(kind="token-"),
    ], ignore_index=True).round(6)


def plot_coefficients(top: pd.DataFrame, path: Path) -> None:
    """Horizontal bars, numeric features above tokens, positive blue and negative red."""
    figure, axes = new_figure(7.5, 0.26 * len(top) + 1.4)
    ordered = top.iloc[::-1]
    colors = ["tab:blue" if c > 0 else "tab:red" for c in ordered["coefficient"]]
    axes.barh(range(len(ordered)), ordered["coefficient"], color=colors)
    axes.set_yticks(range(len(ordered)), ordered["feature"], fontsize=8)
    axes.axvline(0, color="black", linewidth=0.8)
    n_tokens = int((top["kind"] != "numeric").sum())
    axes.axhline(n_tokens - 0.5, color="grey", linestyle=":")
    axes.set(xlabel="coefficient: stars per std (numeric, top) or at full TF-IDF weight (tokens)",
             title="Ridge coefficients")
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
    headings = {"numeric": "numeric features (stars per standard deviation):",
                "token+": f"top {params['top_n']} genre/tag tokens raising the rating:",
                "token-": f"top {params['top_n']} genre/tag tokens lowering the rating:"}
    for kind, heading in headings.items():
        print(heading)
        for row in top[top["kind"] == kind].itertuples():
            print(f"  {row.coefficient:+.4f}  {row.feature}")


if __name__ == "__main__":
    run_main(main)
