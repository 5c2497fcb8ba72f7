"""The interactive session's answers."""

from __future__ import annotations

import pytest

from movierec.recommend.session import parse_answer


@pytest.mark.parametrize(("text", "expected"), [
    ("4.5", ("rate", 4.5)), (" i ", ("i", 4.0)), ("n", ("n", 2.0)), ("S", ("s", None)),
    ("d", ("d", None)), ("q", ("q", None))])
def test_answers(text, expected):
    assert parse_answer(text) == expected


@pytest.mark.parametrize("text", ["7", "abc", "", "4.3", "0"])
def test_bad_answers_explain_the_allowed_ones(text):
    with pytest.raises(ValueError, match=r"0\.5-5 in half stars, i = interested"):
        parse_answer(text)
