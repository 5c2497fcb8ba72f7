"""Metrics by hand: RMSE, MAE, precision, recall and NDCG at k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movierec.evaluation.metrics import mae, ranking_metrics, rmse


def test_rmse_and_mae_by_hand():
    assert rmse(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(math.sqrt(2.5))
    assert mae(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(1.5)


def test_ranking_metrics_by_hand():
    recommended = np.array([[3, 1, 7, -1], [5, 6, 8, 9]])
    relevant = [{1, 7, 2}, {9}]
    k = 4
    # user 0: hits at places 2 and 3; user 1: a hit at place 4
    dcg0 = 1 / np.log2(3) + 1 / np.log2(4)
    idcg0 = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    metrics = ranking_metrics(recommended, [*relevant, set()], k)  # a user with nothing relevant
    assert metrics["precision_at_4"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert metrics["recall_at_4"] == pytest.approx((2 / 3 + 1) / 2)
    assert metrics["ndcg_at_4"] == pytest.approx((dcg0 / idcg0 + (1 / np.log2(5)) / 1) / 2)
