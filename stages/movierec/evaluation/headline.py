"""The headline metrics: the few that compare experiments at a glance (``dvc exp show``), under
short names so that all of them and the changed params fit a 160-column terminal; every metric
stays in its stage's file under its full name, and MLflow logs both."""

from __future__ import annotations

HEADLINE = {  # headline name: the metric it shows (at rank.k = 10)
    "rmse": "rmse",                                  # known users' test ratings
    "mae": "mae",
    "ndcg": "ndcg_at_10",                            # known users' top 10
    "coverage": "coverage_at_10",                    #   ...and how much of the catalogue it reaches
    "ndcg_new": "newuser.k10.ndcg_at_10",            # new users from 10 ratings, random order
    "ndcg_1st": "newuser.earliest.k10.ndcg_at_10",   #   ...and from their first 10
    "val_rmse": "validation.rmse",                   # what sweeps are judged on
    "val_ndcg": "validation.ndcg_at_10",
}


def headline(metrics: dict[str, float]) -> dict[str, float]:
    """The :data:`HEADLINE` metrics of ``metrics`` (all metric files merged), in that order."""
    missing = [name for name in HEADLINE.values() if name not in metrics]
    if missing:
        raise ValueError(f"headline metrics missing from the metric files: {', '.join(missing)}")
    return {short: metrics[name] for short, name in HEADLINE.items()}
