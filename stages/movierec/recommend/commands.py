"""recommend's command line: explicit subcommands, and the flags form they stand for.

    recommend.py session --profile NAME     rate movies and get recommendations (interactive)
    recommend.py rate --profile NAME "Heat (1995)=4.5" ...
    recommend.py import --profile NAME FILE
    recommend.py show --profile NAME [--format csv --out FILE]
    recommend.py list

Without a subcommand the flags decide, as before: ``--profile NAME`` alone is a session;
``--rate``, ``--import``, ``--format`` or ``--out`` make it non-interactive.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from movierec.cli import parser_for
from movierec.paths import DVC_LOCK, MODEL, PARAMS, PROFILES, RANK_MODEL, TMDB_CACHE

COMMANDS = ("session", "rate", "import", "show", "list")


def _defaults(given: bool) -> Callable[[object], object]:
    """A default for the main parser's options; none (SUPPRESS) for a subcommand's, so that a
    subcommand does not overwrite what was given before it."""
    return (lambda value: value) if given else (lambda value: argparse.SUPPRESS)


def _shared(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Where the models, data and profiles are (``defaults``: see :func:`_defaults`)."""
    default = _defaults(defaults)
    parser.add_argument("--model", type=Path, default=default(MODEL),
                        help=f"the rating model (default: {MODEL})")
    parser.add_argument("--rank-model", type=Path, default=default(RANK_MODEL),
                        help=f"the ranking model of the same pipeline run (default: {RANK_MODEL})")
    parser.add_argument("--data-dir", type=Path, default=default(None),
                        help="MovieLens folder (default: data/raw/<data.variant>)")
    parser.add_argument("--profiles-dir", type=Path, default=default(PROFILES),
                        help=f"where profiles are saved (default: {PROFILES})")
    parser.add_argument("--params", type=Path, default=default(PARAMS),
                        help=f"params file (default: {PARAMS})")
    parser.add_argument("--lock", type=Path, default=default(DVC_LOCK),
                        help=f"the dvc.lock whose hashes the models must match (default: {DVC_LOCK})")
    parser.add_argument("--tmdb-cache", type=Path, default=default(TMDB_CACHE),
                        help="show overviews from this TMDB cache, if it exists (README, TMDB)")
    parser.add_argument("--allow-untracked", action="store_true", default=default(False),
                        help="use a model (and ranking model) even if dvc.lock does not record "
                             "its hash")


def _listing(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """What a list holds."""
    default = _defaults(defaults)
    parser.add_argument("--top", type=int, default=default(None),
                        help="how many recommendations (default: recommend.top_n)")
    parser.add_argument("--min-year", type=int, default=default(None),
                        help="recommend only movies from this year on")
    parser.add_argument("--genre", default=default(None),
                        help="recommend only movies of this genre (any case; sci-fi, scifi and "
                             "Sci-Fi are the same)")


def _output(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """Where the list goes."""
    default = _defaults(defaults)
    parser.add_argument("--format", choices=["table", "csv", "json"], default=default(None),
                        help="print recommendations in this form, without asking anything")
    parser.add_argument("--out", type=Path, default=default(None),
                        help="write the recommendations to this file")


def build_parser(doc: str | None) -> argparse.ArgumentParser:
    """The parser of every subcommand and of the flags form."""
    parser = parser_for(doc)
    parser.add_argument("--profile", help="profile name (profiles/NAME.json)")
    parser.add_argument("--rate", action="append", default=[], metavar='"TITLE (YEAR)=RATING"',
                        help="add a rating (repeatable); titles are matched forgivingly")
    parser.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                        help="add ratings from a MovieLens ratings CSV or a Letterboxd export")
    parser.add_argument("--onboard", action="store_true",
                        help="ask phase 1's movies even if the profile is ready")
    _output(parser, True)
    _listing(parser, True)
    _shared(parser, True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     help="what to do (default: decided by the flags)")
    helps = {"session": "rate movies and get recommendations, interactively",
             "rate": "add ratings by title, then show recommendations",
             "import": "add ratings from a MovieLens CSV or a Letterboxd export, then show "
                       "recommendations",
             "show": "show recommendations without asking anything",
             "list": "list the saved profiles"}
    for name in COMMANDS:
        command = commands.add_parser(name, help=helps[name], description=helps[name])
        _shared(command, False)
        if name == "list":
            continue
        command.add_argument("--profile", required=name != "session", default=argparse.SUPPRESS,
                             help="profile name (profiles/NAME.json)")
        _listing(command, False)
        if name == "session":
            command.add_argument("--onboard", action="store_true", default=argparse.SUPPRESS,
                                 help="ask phase 1's movies even if the profile is ready")
            continue
        _output(command, False)
        if name == "rate":
            command.add_argument("ratings", nargs="+", metavar='"TITLE (YEAR)=RATING"',
                                 help="ratings to add; titles are matched forgivingly")
        if name == "import":
            command.add_argument("file", type=Path, help="the ratings file")
    return parser


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """The flags form of a subcommand: ``rate`` gives ``--rate``, ``import`` gives ``--import``,
    ``show`` (and both of them) print without asking."""
    if args.command == "rate":
        args.rate = list(args.ratings)
    if args.command == "import":
        args.import_file = args.file
    if args.command in {"rate", "import", "show"} and args.format is None and args.out is None:
        args.format = "table"
    return args
