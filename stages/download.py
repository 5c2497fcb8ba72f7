"""Stage: put the MovieLens variant ``data.variant`` in ``data/raw/<variant>``, verified.

A variant bundled with the project (data/bundled/<variant>) is copied after its SHA256SUMS are
checked; any other is downloaded from data.url, resumably, and checked against GroupLens' MD5.
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.data.download import put_variant
from movierec.params import read_params


def main() -> None:
    parser = parser_for(__doc__)
    add_params_argument(parser)
    parser.add_argument("--bundled", type=Path, required=True,
                        help="directory of the variants shipped with the project")
    parser.add_argument("--partial-dir", type=Path, required=True,
                        help="where an interrupted download waits to be resumed")
    parser.add_argument("--out", type=Path, required=True, help="data/raw/<variant>")
    args = parser.parse_args()
    data = read_params(args.params).data
    print(put_variant(data.variant, data.url, args.bundled, args.partial_dir, args.out))


if __name__ == "__main__":
    run_main(main)
