"""Profiles: safe names, validation on load, no rating lost to concurrent saves."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from movierec.errors import UserInputError
from movierec.recommend.profiles import check_name, load_profile, save_profile
from support import ROOT


@pytest.mark.parametrize("name", ["../etc", "a/b", "has space", "", "x" * 65, "dot.name"])
def test_unsafe_profile_names_are_refused(name):
    with pytest.raises(UserInputError, match="is not allowed"):
        check_name(name)


def test_profile_with_out_of_range_rating_is_refused(tmp_path):
    (tmp_path / "carol.json").write_text(json.dumps(
        {"name": "carol", "ratings": [{"movieId": 1, "rating": 7}]}))
    with pytest.raises(UserInputError, match="rating #1: rating 7 is not allowed"):
        load_profile(tmp_path, "carol")


def test_two_sessions_on_one_profile_lose_no_rating(tmp_path):
    first, second = load_profile(tmp_path, "dana"), load_profile(tmp_path, "dana")
    first.rate(1, 4.0, "rated")
    save_profile(tmp_path, first)
    second.rate(2, 3.0, "rated")
    save_profile(tmp_path, second)
    assert set(load_profile(tmp_path, "dana").ratings) == {1, 2}


def test_concurrent_processes_lose_no_rating(tmp_path):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path;"
            "from movierec.recommend.profiles import load_profile, save_profile;"
            "start = int(sys.argv[3])\n"
            "for movie in range(start, start + 40):\n"
            "    p = load_profile(Path(sys.argv[2]), 'eve'); p.rate(movie, 3.0, 'rated');"
            " save_profile(Path(sys.argv[2]), p)")
    workers = [subprocess.Popen([sys.executable, "-c", code, str(ROOT / "stages"), str(tmp_path),
                                 str(start)]) for start in (0, 1000)]
    assert [worker.wait() for worker in workers] == [0, 0]
    assert len(load_profile(tmp_path, "eve").ratings) == 80
    assert [path.name for path in tmp_path.iterdir()] == ["eve.json"]  # no lock file beside it


def test_skips_are_saved_merged_and_validated(tmp_path):
    first, second = load_profile(tmp_path, "fay"), load_profile(tmp_path, "fay")
    first.skipped.add(10)
    save_profile(tmp_path, first)
    second.skipped.add(20)
    second.rate(30, 4.0, "rated")
    save_profile(tmp_path, second)
    saved = load_profile(tmp_path, "fay")
    assert saved.skipped == {10, 20} and set(saved.ratings) == {30}
    assert json.loads((tmp_path / "fay.json").read_text())["skipped"] == [10, 20]
    (tmp_path / "bad.json").write_text('{"name": "bad", "ratings": [], "skipped": ["x"]}')
    with pytest.raises(UserInputError, match='"skipped" must be a list of movieIds'):
        load_profile(tmp_path, "bad")
