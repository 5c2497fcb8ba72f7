"""The rating evaluation's tables: error by activity, residual histogram."""

from __future__ import annotations

import numpy as np

from movierec.evaluation.rating import error_by_activity, residual_histogram
from support import ratings_table


def test_error_by_activity_groups_users_by_training_ratings():
    train = ratings_table([(1, m, 3.0) for m in range(25)] + [(2, 1, 3.0)])
    test = ratings_table([(1, 100, 4.0), (2, 100, 2.0)])
    frame = error_by_activity(test, train, {"model": np.array([3.0, 3.0])})
    assert frame.to_dict("list") == {"user_train_ratings": ["0-19", "20-49"], "test_ratings": [1, 1],
                                     "model_rmse": [1.0, 1.0]}


def test_residual_histogram_counts_every_residual():
    frame = residual_histogram(np.array([-0.1, 0.1, 0.1, 3.0]))
    assert frame["count"].sum() == 4
    assert frame.loc[frame["residual"] == 0.125, "count"].item() == 2
