"""The README's results tables are the committed metrics and peer tables, to the digit."""

from __future__ import annotations

import importlib.util

from support import ROOT


def test_readme_results_tables_are_the_committed_metrics():
    spec = importlib.util.spec_from_file_location("results_tables",
                                                  ROOT / "benchmarks" / "results_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    expected = module.with_tables(readme, ROOT / "metrics", ROOT / "benchmarks" / "peers.md")
    assert readme == expected, "run `python benchmarks/results_tables.py --write` after dvc repro"
