"""Evaluation metrics as small functions with stable names."""

from __future__ import annotations

import numpy as np


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def precision_at_k(recommended: np.ndarray, relevant: set[int], k: int) -> float:
    """Share of the first ``k`` recommendations that are relevant (missing places count as misses)."""
    return sum(int(item) in relevant for item in recommended[:k]) / k


def recall_at_k(recommended: np.ndarray, relevant: set[int], k: int) -> float:
    """Share of the relevant items found in the first ``k`` recommendations."""
    if not relevant:
        return 0.0
    return sum(int(item) in relevant for item in recommended[:k]) / len(relevant)


def ndcg_at_k(recommended: np.ndarray, relevant: set[int], k: int) -> float:
    """Binary-relevance NDCG: DCG of the first ``k`` places over the DCG of an ideal list."""
    gains = [1.0 / np.log2(place + 2) for place, item in enumerate(recommended[:k])
             if int(item) in relevant]
    ideal = sum(1.0 / np.log2(place + 2) for place in range(min(len(relevant), k)))
    return float(sum(gains) / ideal) if ideal else 0.0


def ranking_metrics(recommended: np.ndarray, relevant: list[set[int]], k: int) -> dict[str, float]:
    """Mean ``precision_at_k``, ``recall_at_k`` and ``ndcg_at_k`` over the rows that have relevant items.

    ``recommended[r]`` is row ``r``'s ranked list (-1 for empty places), ``relevant[r]`` its set.
    """
    rows = [r for r, items in enumerate(relevant) if items]
    if not rows:
        return {f"precision_at_{k}": 0.0, f"recall_at_{k}": 0.0, f"ndcg_at_{k}": 0.0}
    return {
        f"precision_at_{k}": float(np.mean([precision_at_k(recommended[r], relevant[r], k) for r in rows])),
        f"recall_at_{k}": float(np.mean([recall_at_k(recommended[r], relevant[r], k) for r in rows])),
        f"ndcg_at_{k}": float(np.mean([ndcg_at_k(recommended[r], relevant[r], k) for r in rows])),
    }


def coverage(recommended: np.ndarray, n_candidates: int) -> float:
    """Catalogue coverage: the share of the ``n_candidates`` listable movies that appear in at
    least one list (-1: an empty place)."""
    return len(np.unique(recommended[recommended >= 0])) / max(n_candidates, 1)
