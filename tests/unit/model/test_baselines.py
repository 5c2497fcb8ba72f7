"""The baselines by hand."""

from __future__ import annotations

import pytest

from movierec.evaluation.rating import error_metrics
from movierec.model.baselines import baseline_predictions
from support import ratings_table


def test_baselines_by_hand():
    train = ratings_table([(1, 1, 4.0), (1, 2, 2.0), (2, 1, 5.0)])
    test = ratings_table([(1, 1, 4.0), (3, 1, 3.0), (2, 3, 1.0)])
    predictions = baseline_predictions(train, test, damping=0.0)
    assert predictions["global_mean"].tolist() == pytest.approx([11 / 3] * 3)
    assert predictions["user_mean"].tolist() == pytest.approx([3.0, 11 / 3, 5.0])
    assert predictions["movie_mean"].tolist() == pytest.approx([4.5, 4.5, 11 / 3])
    # undamped: movie 1 bias 4.5 - 11/3; user 1 bias mean of its residuals
    movie_bias = 4.5 - 11 / 3
    user1 = ((4 - 11 / 3 - movie_bias) + (2 - 11 / 3 - (2 - 11 / 3))) / 2
    assert predictions["bias"][0] == pytest.approx(11 / 3 + movie_bias + user1)
    metrics = error_metrics(test["rating"].to_numpy(), {"model": predictions["bias"],
                                                        "bias": predictions["bias"]})
    assert metrics["rmse"] == metrics["bias_rmse"] and set(metrics) == {
        "rmse", "mae", "bias_rmse", "bias_mae"}
