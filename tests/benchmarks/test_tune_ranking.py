"""The ranking tuner's moves (benchmarks/tune_ranking.py): each keeps the rank weights where it
promises to."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from movierec.params import RankParams
from movierec.ranking.lists import Ranker
from support import ROOT

spec = importlib.util.spec_from_file_location("tune_ranking",
                                              ROOT / "benchmarks" / "tune_ranking.py")
tune = importlib.util.module_from_spec(spec)
sys.modules["tune_ranking"] = tune  # its dataclasses look their module up
spec.loader.exec_module(tune)


def weight_at(pair: tuple[float, float], g: float) -> float:
    small, large = pair
    return small * (1 - g) + large * g


@pytest.mark.parametrize("pivot", [0.0, 0.1, 0.4, 0.5, 0.8, 1.0])
def test_a_pivoted_move_keeps_the_weight_at_its_pivot(pivot):
    pair = (1.5, -0.5)
    moved = tune.pivoted(pair, 0.3, pivot)
    assert weight_at(moved, pivot) == pytest.approx(weight_at(pair, pivot), abs=1e-12)
    farther = 1.0 if pivot < 0.5 else 0.0
    assert weight_at(moved, farther) - weight_at(pair, farther) == pytest.approx(0.3)


def test_an_unpivoted_move_shifts_both_ends():
    assert tune.pivoted((1.5, -0.5), 0.3, None) == pytest.approx((1.8, -0.2))


def test_a_new_large_profile_keeps_every_weight_at_the_smallest_and_largest_size():
    rank = RankParams()
    sizes = [5.0, 10.0, 33.0]
    changed = RankParams(**(vars(rank) | tune.rescaled(rank, 120.0, sizes)))
    ranker = Ranker(model=None, rating_counts=np.zeros(0), genres=None, params=rank)
    before = ranker.weights(np.array([5.0, 33.0]))
    after = ranker.weights(np.array([5.0, 33.0]), changed)
    assert changed.large_profile == 120.0
    for name, values in before.items():
        np.testing.assert_allclose(after[name], values, atol=1e-12)
