"""Recommend movies for a saved profile, interactively or from the command line.

Interactive (python stages/recommend.py --profile NAME, or the session command): phase 1 asks you
to rate well-known movies, phase 2 shows personalised recommendations with their predicted rating,
each answer refining the next, and the session ends with your top N. The profile is saved after
every answer. Commands: session, rate, import, show (as the DVC recommend stage runs it), list;
the flags --rate, --import, --format and --out do the same without a command.
"""

from __future__ import annotations

import sys

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import run_main
from movierec.errors import UserInputError
from movierec.io import write_text
from movierec.params import read_params
from movierec.paths import raw_data_dir
from movierec.recommend.catalog import report_unknown_movies
from movierec.recommend.commands import build_parser, resolve
from movierec.recommend.imports import add_ratings, ratings_to_add
from movierec.recommend.profiles import check_name, list_profiles, load_profile, save_profile
from movierec.recommend.recommender import Filters, format_table, open_recommender
from movierec.recommend.session import run_session


def main() -> None:
    args = resolve(build_parser(__doc__).parse_args())
    params = read_params(args.params)
    if args.command == "list":
        for name in list_profiles(args.profiles_dir):
            count = len(load_profile(args.profiles_dir, name).ratings)
            demo = ", the pipeline's demo profile" if name == params.recommend.demo_profile else ""
            print(f"{name}  ({count} rating{'s' * (count != 1)}{demo})")
        return
    top = params.recommend.top_n if args.top is None else args.top
    if top < 1:
        raise UserInputError(f"--top {top}: use a whole number of at least 1")
    batch = args.command != "session" and bool(args.rate or args.import_file or args.format
                                                or args.out)
    if batch and not args.profile:
        raise UserInputError("--rate, --import, --format and --out need --profile NAME")
    name = None if args.profile is None else check_name(args.profile)
    profile = None if name is None else load_profile(args.profiles_dir, name)  # corrupt: stops
    recommender = open_recommender(args.model, args.rank_model, args.lock, args.allow_untracked,
                                   args.data_dir or raw_data_dir(params.data.variant),
                                   args.tmdb_cache, params.rank)
    genre = None if args.genre is None else recommender.catalog.genre(args.genre)
    filters = Filters(min_year=args.min_year, genre=genre)
    if profile is not None:
        report_unknown_movies(profile, recommender.catalog)
    if not batch:
        run_session(recommender, profile, args.profiles_dir, params.recommend, top, filters,
                    args.onboard)
        return

    additions = ratings_to_add(args.rate, args.import_file, recommender.catalog)
    for line in add_ratings(profile, additions, recommender.catalog):
        print(line, file=sys.stderr)
    if additions:
        profile = save_profile(args.profiles_dir, profile)
        print(f"saved {len(additions)} rating{'s' * (len(additions) != 1)} to profile {name!r} "
              f"({len(profile.ratings)} in all)", file=sys.stderr)
    listed = recommender.recommend(profile, top, filters=filters)
    table = format_table(listed, args.format or "table")
    if args.out:
        write_text(args.out, table)
        print(f"wrote {len(listed)} recommendations to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(table)


if __name__ == "__main__":
    run_main(main)
