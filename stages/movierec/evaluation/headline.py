"""The headline metrics: the few that compare experiments at a glance (``dvc exp show``); every
other metric stays in its stage's file and in MLflow."""

from __future__ import annotations

HEADLINE = (
    "rmse",                               # known users' test ratings
    "mae",
    "ndcg_at_10",                         # known users' top 10
    "coverage_at_10",                     #   ...and how much of the catalogue they reach
    "newuser.k10.ndcg_at_10",             # new users from 10 ratings, random order
    "newuser.earliest.k10.ndcg_at_10",    #   ...and their first 10
    "validation.rmse",                    # what sweeps are judged on
    "validation.ndcg_at_10",
)


def headline(metrics: dict[str, float]) -> dict[str, float]:
    """The :data:`HEADLINE` entries of ``metrics`` (all metric files merged), in that order."""
    missing = [name for name in HEADLINE if name not in metrics]
    if missing:
        raise ValueError(f"headline metrics missing from the metric files: {', '.join(missing)}")
    return {name: metrics[name] for name in HEADLINE}
