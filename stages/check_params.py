"""Stage: validate the whole params file, so a mistyped key fails the run instead of being ignored.

DVC reruns a stage only when a param it lists changes; `dvc exp run -S +train.alhpa=3` adds a key no
stage lists. This stage depends on the whole file, so any change reruns it and any unknown key,
wrong type or out-of-range value stops `dvc repro` / `dvc exp run` with a clear message.
"""

from __future__ import annotations

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.params import as_dict, read_params


def main() -> None:
    parser = parser_for(__doc__)
    add_params_argument(parser)
    args = parser.parse_args()
    params = as_dict(read_params(args.params))
    print(f"{args.params}: {sum(len(section) for section in params.values())} params valid")


if __name__ == "__main__":
    run_main(main)
