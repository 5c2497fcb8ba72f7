"""The new-user simulation's draws: held-out users, reveal orders, profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.errors import UserInputError
from movierec.evaluation.newuser import hold_out_users, reveal_order, revealed


def test_new_user_profiles_are_the_first_ratings_of_each_user_in_reveal_order():
    ratings = pd.DataFrame({"userId": [7, 7, 7, 3, 3, 3, 3, 3],
                            "movieId": [1, 2, 3, 4, 5, 6, 7, 8],
                            "timestamp": [30, 10, 20, 5, 4, 3, 2, 1]})
    earliest = reveal_order(ratings, "earliest", np.random.default_rng(0))
    assert earliest["movieId"].tolist() == [8, 7, 6, 5, 4, 2, 3, 1]
    assert earliest["position"].tolist() == [0, 1, 2, 3, 4, 0, 1, 2]
    row = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    position = earliest["position"].to_numpy()
    assert revealed(position, row, 2).tolist() == [True, True, False, False, False,
                                                   True, True, False]
    # a share: 0.5 of 5 ratings is 2, of 3 ratings 1 (rounded down)
    assert revealed(position, row, 0.5).tolist() == [True, True, False, False, False,
                                                     True, False, False]
    shuffled = reveal_order(ratings, "random", np.random.default_rng(0))
    assert sorted(shuffled["movieId"]) == list(range(1, 9))
    assert shuffled.groupby("userId")["position"].apply(sorted).tolist() == [[0, 1, 2, 3, 4],
                                                                             [0, 1, 2]]


def test_held_out_users_are_seeded_and_have_enough_ratings():
    user_ids = pd.Series(np.repeat(np.arange(10), np.arange(1, 11)))  # user u has u + 1 ratings
    held = hold_out_users(user_ids, 2, 6, np.random.default_rng(3))
    assert len(held) == 2 and (held >= 5).all()
    assert held.tolist() == hold_out_users(user_ids, 2, 6, np.random.default_rng(3)).tolist()
    with pytest.raises(UserInputError, match=r"newuser\.users = 3 is more than half of the 5 users"):
        hold_out_users(user_ids, 3, 6, np.random.default_rng(3))
    with pytest.raises(UserInputError, match=r"validation\.users = 3 .* validation\.min_ratings"):
        hold_out_users(user_ids, 3, 6, np.random.default_rng(3), "validation")
