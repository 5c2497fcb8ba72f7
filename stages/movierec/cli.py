"""What every stage script shares: one clear error line and exit status 2, common arguments."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from movierec.errors import UserInputError
from movierec.paths import PARAMS


def run_main(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; turn a :class:`UserInputError` into one clear line and exit status 2."""
    try:
        main()
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def parser_for(doc: str | None, **kwargs: object) -> argparse.ArgumentParser:
    """An argument parser whose help is a stage's docstring as plain text (no ``literal`` or
    :role:`target` markup), its layout kept."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc or "")
    return argparse.ArgumentParser(description=text.replace("``", ""),
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def add_params_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=PARAMS,
                        help="params file (default: %(default)s)")


def add_evaluation_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments every evaluation stage takes: both splits, params, metrics file, plots folder."""
    parser.add_argument("--train", type=Path, required=True, help="training interactions (parquet)")
    parser.add_argument("--test", type=Path, required=True, help="test interactions (parquet)")
    add_params_argument(parser)
    parser.add_argument("--metrics-out", type=Path, required=True, help="metrics file (JSON)")
    parser.add_argument("--plots-dir", type=Path, required=True,
                        help="folder of the plot data (CSV) and PNGs")
