"""Shared fixtures (the helpers they use are in ``support.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import make_movielens


@pytest.fixture
def movielens_dir(tmp_path: Path) -> Path:
    return make_movielens(tmp_path / "movielens")
