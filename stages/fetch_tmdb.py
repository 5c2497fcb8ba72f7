"""Fill the local TMDB cache for the movies in links.csv (optional; not part of `dvc repro`).

The API key comes from the environment variable TMDB_API_KEY (a v3 API key or a v4 read access
token) and is never written to disk or printed. Ids already in the cache are skipped, so a stopped
run resumes where it was.

    TMDB_API_KEY=... python stages/fetch_tmdb.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.data.movielens import load_links
from movierec.data.tmdb import connect
from movierec.data.tmdb_client import DEFAULT_BASE_URL, Client, cached_ids, fetch
from movierec.errors import UserInputError
from movierec.params import read_params
from movierec.paths import TMDB_CACHE, raw_data_dir


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--data-dir", type=Path, help="MovieLens directory with links.csv "
                                                      "(default: data/raw/<data.variant>)")
    add_params_argument(parser)
    parser.add_argument("--cache", type=Path, default=TMDB_CACHE,
                        help="the cache to fill (default: %(default)s)")
    parser.add_argument("--base-url", default=os.environ.get("TMDB_BASE_URL", DEFAULT_BASE_URL),
                        help="TMDB API root (env TMDB_BASE_URL; default %(default)s)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second at most")
    parser.add_argument("--retries", type=int, default=5, help="retries of a transient error")
    parser.add_argument("--limit", type=int, help="ask about at most this many ids in this run")
    args = parser.parse_args()
    api_key = os.environ.get("TMDB_API_KEY", "").strip()
    if not api_key:
        raise UserInputError("TMDB_API_KEY is not set: create a key at "
                             "https://www.themoviedb.org/settings/api and export it")
    if not args.rate > 0:
        raise UserInputError(f"--rate {args.rate}: use a number of requests per second > 0")
    if args.retries < 0 or (args.limit is not None and args.limit < 0):
        raise UserInputError("--retries and --limit take whole numbers >= 0")
    movielens = args.data_dir or raw_data_dir(read_params(args.params).data.variant)

    tmdb_ids = load_links(movielens)["tmdbId"].dropna().astype(int).tolist()
    client = Client(args.base_url, api_key, args.rate, args.retries)
    connection = connect(args.cache)
    try:
        counts = fetch(client, connection, tmdb_ids, args.limit)
    except KeyboardInterrupt:
        print(f"\nstopped; {len(cached_ids(connection))} ids are cached in {args.cache}, "
              f"the next run goes on from there", file=sys.stderr)
        sys.exit(130)
    finally:
        connection.close()
    print(f"{args.cache}: {counts['fetched']} fetched, {counts['not_found']} unknown to TMDB, "
          f"{counts['failed']} failed; {len(set(tmdb_ids))} ids in links.csv")
    if counts["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    run_main(main)
