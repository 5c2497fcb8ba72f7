"""The README's results tables, generated from ``metrics/`` (and the peer tables copied from
``benchmarks/peers.md``) so that they cannot drift.

    python benchmarks/results_tables.py            # print the tables
    python benchmarks/results_tables.py --write    # after `dvc repro` (and peers.py): README.md

The tables sit in README.md between ``<!-- results:begin -->`` and ``<!-- results:end -->``, the
peers' between ``<!-- peers:begin -->`` and ``<!-- peers:end -->``; ``tests/test_readme.py``
fails when either block differs from its source.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATING_ROWS = (("**model** (Ridge over out-of-fold evidence)", ""),
               ("bias baseline (global mean + damped movie and user biases)", "bias_"),
               ("user mean", "user_mean_"), ("movie mean", "movie_mean_"),
               ("global mean", "global_mean_"))
RANKING_ROWS = (("**model** (the lists recommend shows)", ""), ("most popular", "popular_"),
                ("predicted rating alone", "predicted_rating_only_"))


def load(metrics_dir: Path) -> dict[str, float]:
    """Every metric of ``metrics_dir``'s files, merged."""
    merged: dict[str, float] = {}
    for name in ("metrics", "ranking", "newuser", "validation"):
        merged |= json.loads((metrics_dir / f"{name}.json").read_text(encoding="utf-8"))
    return merged


def tables(m: dict[str, float], k: int = 10, sizes: tuple[int, ...] = (5, 10, 20)) -> str:
    """The results tables (Markdown) of the merged metrics ``m``."""
    val = "validation."
    lines = [f"Rating prediction on the {int(m['n_test']):,} test ratings (`metrics/metrics.json`) "
             f"and on the validation split's held-out ratings (`metrics/validation.json`):", "",
             "| predictor | RMSE | MAE | validation RMSE | validation MAE |", "|---|---|---|---|---|"]
    for label, prefix in RATING_ROWS:
        known = f"{val}{prefix}rmse" in m
        lines.append(f"| {label} | {m[prefix + 'rmse']:.4f} | {m[prefix + 'mae']:.4f} | "
                     + (f"{m[val + prefix + 'rmse']:.4f} | {m[val + prefix + 'mae']:.4f} |"
                        if known else "- | - |"))
    lines += ["", f"Top-{k} lists of the {int(m['ranking_users'])} test users with a relevant test "
              f"movie (rating >= 4), among every listable movie they did not rate in training "
              f"(`metrics/ranking.json`); coverage is the share of listable movies in some "
              f"user's top {k}:", "",
              f"| ranking | precision@{k} | recall@{k} | NDCG@{k} | coverage | validation "
              f"NDCG@{k} |", "|---|---|---|---|---|---|"]
    for label, prefix in RANKING_ROWS:
        validation = m.get(f"{val}{prefix}ndcg_at_{k}")
        lines.append(f"| {label} | " + " | ".join(
            f"{m[f'{prefix}{name}_at_{k}']:.3f}" for name in ("precision", "recall", "ndcg",
                                                              "coverage"))
            + f" | {'-' if validation is None else f'{validation:.3f}'} |")
    lines += ["", f"New users (`metrics/newuser.json`): {int(m['newuser.users'])} users held out "
              f"of a refitted model; k of their ratings are the profile, the rest are predicted "
              f"and ranked, in random order and earliest-first:", "",
              "| k | RMSE | bias fold-in RMSE | profile mean RMSE | RMSE, earliest-first "
              f"| NDCG@{k} | bias fold-in NDCG@{k} | NDCG@{k}, earliest-first | validation "
              f"NDCG@{k} | validation NDCG@{k}, earliest-first |", "|---" * 10 + "|"]
    for size in sizes:
        random, earliest = f"newuser.k{size}.", f"newuser.earliest.k{size}."
        lines.append(
            f"| {size} | {m[random + 'rmse']:.3f} | {m[random + 'bias_rmse']:.3f} | "
            f"{m[random + 'user_mean_rmse']:.3f} | {m[earliest + 'rmse']:.3f} | "
            f"{m[f'{random}ndcg_at_{k}']:.3f} | {m[f'{random}bias_ndcg_at_{k}']:.3f} | "
            f"{m[f'{earliest}ndcg_at_{k}']:.3f} | {m[f'{val}{random}ndcg_at_{k}']:.3f} | "
            f"{m[f'{val}{earliest}ndcg_at_{k}']:.3f} |")
    return "\n".join(lines) + "\n"


def with_block(readme: str, name: str, generated: str) -> str:
    """``readme`` with its ``name`` block replaced by ``generated``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), flags=re.S)
    if not pattern.search(readme):
        raise ValueError(f"README.md has no {begin} ... {end} block")
    return pattern.sub(lambda _: f"{begin}\n{generated}{end}", readme)


def with_tables(readme: str, metrics_dir: Path, peers: Path) -> str:
    """``readme`` with the results tables of ``metrics_dir`` and the peer tables of ``peers``."""
    readme = with_block(readme, "results", tables(load(metrics_dir)))
    return with_block(readme, "peers", peers.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics-dir", type=Path, default=ROOT / "metrics")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--peers", type=Path, default=ROOT / "benchmarks" / "peers.md")
    parser.add_argument("--write", action="store_true", help="update the README's block")
    args = parser.parse_args()
    if not args.write:
        sys.stdout.write(tables(load(args.metrics_dir)))
        return
    readme = args.readme.read_text(encoding="utf-8")
    args.readme.write_text(with_tables(readme, args.metrics_dir, args.peers), encoding="utf-8")
    print(f"updated the results tables of {args.readme}")


if __name__ == "__main__":
    main()
