"""Atomic writes: whole files only, readable like any other file."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from movierec.io import atomic_path, save_arrays, write_json


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_get_the_mode_the_umask_gives_a_new_file(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        write_json(tmp_path / "metrics.json", {"rmse": 1.0})
        save_arrays(tmp_path / "arrays.npz", x=np.arange(3))
    finally:
        os.umask(previous)
    for name in ("metrics.json", "arrays.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_failed_write_keeps_the_previous_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("before")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash")
    assert target.read_text() == "before" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]
