"""Id lookups and sorted factorization, against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.data.ids import IdLookup, factorize_sorted


@pytest.mark.parametrize("ids", [[3, 3, 5, 9, 9, 9], [9, 3, 3, 5], [7], []])
def test_factorize_sorted_is_pandas_factorize(ids):
    codes, uniques = factorize_sorted(np.array(ids, dtype=np.int64))
    expected_codes, expected_uniques = pd.factorize(np.array(ids, dtype=np.int64), sort=True)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == expected_uniques.tolist()


@pytest.mark.parametrize("ids", [np.array([30, 10, 20]), np.array([30, 10, 2**40]),
                                 np.array(["b", "a"], dtype=object)])
def test_id_lookup_finds_positions_and_marks_unknown_ids(ids):
    lookup = IdLookup(ids)
    queries = np.concatenate([ids[::-1], ids[:1]])
    assert lookup.positions(queries).tolist() == [len(ids) - 1 - k for k in range(len(ids))] + [0]
    if ids.dtype.kind == "i":
        assert lookup.positions(np.array([-1, 0, 11, 31, 2**41])).tolist() == [-1] * 5
        assert lookup.positions(np.array([10.0, 10.5])).tolist() == [1, -1]
