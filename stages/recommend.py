"""Recommend movies for a saved profile, interactively or from the command line.

Interactive (python stages/recommend.py --profile NAME): phase 1 asks you to rate a diverse set of
popular movies, phase 2 shows personalised recommendations with their predicted rating, each
answer refining the next, and the session ends with your top N. The profile is saved after every
answer. Non-interactive: --rate "Heat (1995)=4.5", --import FILE, --format, --out. The DVC
recommend stage uses the latter for the demo profile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from movierec.cli import add_params_argument, run_main
from movierec.errors import UserInputError
from movierec.io import write_text
from movierec.params import read_params
from movierec.paths import DVC_LOCK, MODEL, PROFILES, SIMILAR_MOVIES, TMDB_CACHE, raw_data_dir
from movierec.recommend.catalog import report_unknown_movies
from movierec.recommend.imports import ratings_to_add
from movierec.recommend.profiles import check_name, load_profile, save_profile
from movierec.recommend.recommender import format_table, open_recommender
from movierec.recommend.session import run_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", help="profile name (profiles/NAME.json)")
    parser.add_argument("--top", type=int, help="how many recommendations (default: params)")
    parser.add_argument("--format", choices=["table", "csv", "json"],
                        help="print recommendations without asking anything")
    parser.add_argument("--rate", action="append", default=[], metavar='"TITLE (YEAR)=RATING"',
                        help="add a rating (repeatable); titles are matched forgivingly")
    parser.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                        help="add ratings from a MovieLens ratings CSV or a Letterboxd export")
    parser.add_argument("--min-year", type=int, help="recommend only movies from this year on")
    parser.add_argument("--genre", help="recommend only movies of this genre")
    parser.add_argument("--out", type=Path, help="write the recommendations to this file")
    parser.add_argument("--allow-untracked", action="store_true",
                        help="use a model (and similar movies) even if dvc.lock does not "
                             "record its hash")
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--similar", type=Path, default=SIMILAR_MOVIES,
                        help="similar movies (npz) of the same pipeline run")
    parser.add_argument("--data-dir", type=Path,
                        help="MovieLens directory (default: data/raw/<data.variant>)")
    parser.add_argument("--profiles-dir", type=Path, default=PROFILES)
    add_params_argument(parser)
    parser.add_argument("--lock", type=Path, default=DVC_LOCK)
    parser.add_argument("--tmdb-cache", type=Path, default=TMDB_CACHE,
                        help="show overviews from this TMDB cache, if it exists (README, TMDB)")
    args = parser.parse_args()
    params = read_params(args.params)
    top = params.recommend.top_n if args.top is None else args.top
    if top < 1:
        raise UserInputError(f"--top {top}: use a whole number of at least 1")
    batch = bool(args.rate or args.import_file or args.format or args.out)
    if batch and not args.profile:
        raise UserInputError("--rate, --import, --format and --out need --profile NAME")
    name = None if args.profile is None else check_name(args.profile)
    profile = None if name is None else load_profile(args.profiles_dir, name)  # corrupt: stops
    recommender = open_recommender(args.model, args.similar, args.lock, args.allow_untracked,
                                   args.data_dir or raw_data_dir(params.data.variant),
                                   args.tmdb_cache, params.rank)
    if profile is not None:
        report_unknown_movies(profile, recommender.catalog)
    if not batch:
        run_session(recommender, profile, args.profiles_dir, params.recommend, top)
        return

    additions = ratings_to_add(args.rate, args.import_file, recommender.catalog)
    for movie, rating, how in additions:
        profile.rate(movie, rating, how)
    if additions:
        profile = save_profile(args.profiles_dir, profile)
        print(f"saved {len(additions)} ratings to profile {name!r} "
              f"({len(profile.ratings)} in all)", file=sys.stderr)
    table = format_table(recommender.recommend(profile, top, min_year=args.min_year,
                                               genre=args.genre), args.format or "table")
    if args.out:
        write_text(args.out, table)
    else:
        sys.stdout.write(table)


if __name__ == "__main__":
    run_main(main)
