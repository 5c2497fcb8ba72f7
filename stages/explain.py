"""Stage: explain the model by its coefficients, as CSV, PNG and text.

Numeric features are standardised (stars per standard deviation) and all shown; of the genre and
tag tokens (stars at full TF-IDF weight) the explain.top_n most positive and negative are shown.
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.evaluation.explain import plot_coefficients, top_coefficients
from movierec.io import atomic_path
from movierec.model.estimator import load_model
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the fitted model (joblib)")
    add_params_argument(parser)
    parser.add_argument("--csv-out", type=Path, required=True, help="coefficients table (CSV)")
    parser.add_argument("--png-out", type=Path, required=True, help="coefficients chart (PNG)")
    args = parser.parse_args()
    top_n = read_params(args.params).explain.top_n

    top = top_coefficients(load_model(args.model).coefficients(), top_n)
    with atomic_path(args.csv_out) as tmp:
        top.to_csv(tmp, index=False, lineterminator="\n")
    plot_coefficients(top, args.png_out)
    headings = {"numeric": "numeric features (stars per standard deviation):",
                "token+": f"top {top_n} genre/tag tokens raising the rating:",
                "token-": f"top {top_n} genre/tag tokens lowering the rating:"}
    for kind, heading in headings.items():
        print(heading)
        for row in top[top["kind"] == kind].itertuples():
            print(f"  {row.coefficient:+.4f}  {row.feature}")


if __name__ == "__main__":
    run_main(main)
