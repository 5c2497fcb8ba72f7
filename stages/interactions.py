"""Stage: MovieLens ratings of known movies, filtered, split into train and test."""

from __future__ import annotations

import sys
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.data.interactions import prepare_interactions, save_interactions
from movierec.io import write_json
from movierec.params import read_params

LARGE_FILE = 100 << 20  # ratings files larger than this get a line saying they are being read


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="MovieLens CSV directory")
    add_params_argument(parser)
    parser.add_argument("--train-out", type=Path, required=True, help="training split (parquet)")
    parser.add_argument("--test-out", type=Path, required=True, help="test split (parquet)")
    parser.add_argument("--summary-out", type=Path, required=True, help="data summary (JSON)")
    args = parser.parse_args()
    params = read_params(args.params)

    ratings_csv = args.data_dir / "ratings.csv"
    if ratings_csv.is_file() and ratings_csv.stat().st_size > LARGE_FILE:
        print(f"reading {ratings_csv} ({ratings_csv.stat().st_size >> 20} MB) ...",
              file=sys.stderr, flush=True)
    train, test, summary = prepare_interactions(args.data_dir, params.interactions, params.split)
    save_interactions(train, args.train_out)
    save_interactions(test, args.test_out)
    write_json(args.summary_out, summary)
    print(f"wrote {summary['interactions']} interactions for {summary['users']} users and "
          f"{summary['movies']} movies ({len(train)} train, {len(test)} test)")


if __name__ == "__main__":
    run_main(main)
