"""Ids: positions of MovieLens ids in arrays of unique ids, and dense codes of sorted ids."""

from __future__ import annotations

import numpy as np
import pandas as pd

TABLE_IDS = 10_000_000  # ids below this are looked up in a table (IdLookup; 80 MB at most)


class IdLookup:
    """Positions of ids in an array of unique ids: a table for small non-negative integer ids
    (MovieLens' are below 300,000), a hash index otherwise."""

    def __init__(self, ids: np.ndarray) -> None:
        ids = np.asarray(ids)
        self.index = pd.Index(ids)
        self.table = None
        if ids.dtype.kind == "i" and len(ids) and ids.min() >= 0 and ids.max() < TABLE_IDS:
            self.table = np.full(int(ids.max()) + 2, -1, dtype=np.intp)  # last entry: unknown
            self.table[ids] = np.arange(len(ids))

    def positions(self, queries: np.ndarray) -> np.ndarray:
        """Position of each query id, -1 if unknown."""
        queries = np.asarray(queries)
        if self.table is None or queries.dtype.kind != "i":
            return self.index.get_indexer(queries)
        return self.table.take(np.clip(queries, -1, len(self.table) - 1))


def factorize_sorted(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(ids, sort=True)``; one linear pass when ``ids`` come sorted, as training
    ratings do (interactions are sorted by user and movie)."""
    steps = np.diff(ids)
    if (steps < 0).any():
        return pd.factorize(ids, sort=True)
    starts = np.flatnonzero(steps) + 1
    codes = np.zeros(len(ids), dtype=np.int64)
    codes[starts] = 1
    return np.cumsum(codes, out=codes), ids[np.concatenate([[0], starts])] if len(ids) else ids
