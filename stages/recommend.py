"""Recommend movies for a saved profile, interactively or from the command line.

Interactive (python stages/recommend.py --profile NAME): phase 1 asks you to rate a diverse set of
popular movies, phase 2 shows personalised recommendations with their predicted rating, each
answer refining the next, and the session ends with your top N. The profile is saved after every
answer. Non-interactive (as the DVC recommend stage runs it): --rate, --import, --format, --out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.errors import UserInputError
from movierec.io import write_text
from movierec.params import read_params
from movierec.paths import DVC_LOCK, MODEL, PROFILES, RANK_MODEL, TMDB_CACHE, raw_data_dir
from movierec.recommend.catalog import report_unknown_movies
from movierec.recommend.imports import add_ratings, ratings_to_add
from movierec.recommend.profiles import check_name, load_profile, save_profile
from movierec.recommend.recommender import Filters, format_table, open_recommender
from movierec.recommend.session import run_session


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--profile", help="profile name (profiles/NAME.json)")
    parser.add_argument("--top", type=int, help="how many recommendations (default: params)")
    parser.add_argument("--format", choices=["table", "csv", "json"],
                        help="print recommendations without asking anything")
    parser.add_argument("--rate", action="append", default=[], metavar='"TITLE (YEAR)=RATING"',
                        help="add a rating (repeatable); titles are matched forgivingly")
    parser.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                        help="add ratings from a MovieLens ratings CSV or a Letterboxd export")
    parser.add_argument("--min-year", type=int, help="recommend only movies from this year on")
    parser.add_argument("--genre", help="recommend only movies of this genre (any case; sci-fi, "
                                        "scifi and Sci-Fi are the same)")
    parser.add_argument("--onboard", action="store_true",
                        help="ask phase 1's movies even if the profile is ready")
    parser.add_argument("--out", type=Path, help="write the recommendations to this file")
    parser.add_argument("--allow-untracked", action="store_true",
                        help="use a model (and ranking model) even if dvc.lock does not "
                             "record its hash")
    parser.add_argument("--model", type=Path, default=MODEL,
                        help="the rating model (default: %(default)s)")
    parser.add_argument("--rank-model", type=Path, default=RANK_MODEL,
                        help="the ranking model of the same pipeline run (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, help="MovieLens folder (default: data/raw/<data.variant>)")
    parser.add_argument("--profiles-dir", type=Path, default=PROFILES,
                        help="where profiles are saved (default: %(default)s)")
    add_params_argument(parser)
    parser.add_argument("--lock", type=Path, default=DVC_LOCK,
                        help="the dvc.lock whose hashes the models must match "
                             "(default: %(default)s)")
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
