"""Every stage's --help is plain text: its docstring without reStructuredText markup, and a
sentence for every option."""

from __future__ import annotations

import re

import pytest

from support import run_stage


@pytest.mark.parametrize("script", ["download.py", "track.py", "headline.py", "recommend.py"])
def test_help_has_no_markup_and_every_option_is_explained(script):
    result = run_stage(script, "--help")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"``|:(meth|func|class|mod):", result.stdout)
    lines = result.stdout.split("options:")[1].splitlines()[1:]
    for number, line in enumerate(lines):
        if re.match(r"  -", line) and not re.search(r"\S  +\S", line.strip()):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert re.match(r" {10,}\S", following), f"{script}: {line.strip()} has no help"
