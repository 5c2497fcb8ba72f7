"""Stage: the headline metrics of this run in one small file, the one ``dvc exp show`` and
``dvc metrics show`` display (the full breakdown stays in each stage's metrics file)."""

from __future__ import annotations

import json
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import parser_for, run_main
from movierec.evaluation.headline import headline
from movierec.io import write_text


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--metrics", type=Path, nargs="+", required=True,
                        help="the stages' metrics files (JSON)")
    parser.add_argument("--out", type=Path, required=True, help="the headline metrics (JSON)")
    args = parser.parse_args()
    merged: dict[str, float] = {}
    for path in args.metrics:
        merged |= json.loads(path.read_text(encoding="utf-8"))
    chosen = headline(merged)
    write_text(args.out, json.dumps(chosen, indent=2) + "\n")  # in HEADLINE's order
    print("\n".join(f"{name:<10} {value:.4f}" for name, value in chosen.items()))


if __name__ == "__main__":
    run_main(main)
