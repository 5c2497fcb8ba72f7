"""The model explained by its coefficients, as a table and a bar chart.

Numeric features (rating evidence, release year) are standardised, so their coefficients are stars
per standard deviation and all are shown; of the many genre and tag tokens (stars at full TF-IDF
weight) the ``explain.top_n`` most positive and most negative are shown.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from movierec.evaluation.plots import new_figure, save_png


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
