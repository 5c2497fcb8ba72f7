"""Ratings a person gives on the command line (``--rate``) or in a file (``--import``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from movierec.errors import UserInputError
from movierec.recommend.catalog import Catalog
from movierec.recommend.profiles import Profile, check_rating


def parse_rate(argument: str, catalog: Catalog) -> tuple[int, float]:
    """``"Heat (1995)=4.5"`` -> (movieId, rating)."""
    title, separator, value = argument.rpartition("=")
    if not separator or not title.strip():
        raise UserInputError(f"--rate {argument!r}: expected \"Title (Year)=rating\"")
    try:
        rating = float(value)
    except ValueError:
        raise UserInputError(f"--rate {argument!r}: rating {value!r} is not a number") from None
    return catalog.find(title), check_rating(rating, f"--rate {argument!r}")


def read_import(path: Path, catalog: Catalog
                ) -> tuple[list[tuple[int, float, str | None]], list[str]]:
    """Ratings from a MovieLens-style CSV (movieId, rating) or a Letterboxd export (Name, Year,
    Rating, and Date: when it was rated); returns them as (movieId, rating, when or None) and the
    rows that were skipped, with the reason."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserInputError(f"{path}: file not found") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise UserInputError(f"{path}: not a readable CSV file ({error})") from None
    if {"movieId", "rating"} <= set(frame.columns):
        kind = "movielens"
    elif {"Name", "Year", "Rating"} <= set(frame.columns):
        kind = "letterboxd"
    else:
        raise UserInputError(f"{path}: expected columns movieId,rating (MovieLens) or "
                             f"Name,Year,Rating (Letterboxd); found {', '.join(frame.columns)}")
    ratings, skipped = [], []
    known = set(catalog.movies.index)
    for number, row in enumerate(frame.to_dict("records"), start=2):
        where = f"{path}, line {number}"
        try:
            value = check_rating(float(row["rating" if kind == "movielens" else "Rating"]), where)
            if kind == "movielens":
                movie = int(row["movieId"])
                if movie not in known:
                    raise UserInputError(f"{where}: movieId {movie} is not in the catalogue")
            else:
                movie = catalog.find(f"{row['Name']} ({row['Year']})" if row["Year"] else row["Name"])
        except (UserInputError, ValueError) as error:
            skipped.append(f"{where}: {error}")
            continue
        when = row.get("Date") if kind == "letterboxd" else None
        ratings.append((movie, value, when or None))
    return ratings, skipped


def ratings_to_add(rate: list[str], import_file: Path | None,
                   catalog: Catalog) -> list[tuple[int, float, str, str | None]]:
    """(movieId, rating, how, when) of every ``--rate`` argument and every importable row of
    ``import_file``; an unknown or ambiguous ``--rate`` title stops everything, a bad import row
    is skipped and reported on stderr."""
    additions = [(*parse_rate(argument, catalog), "cli", None) for argument in rate]
    if import_file is not None:
        imported, skipped = read_import(import_file, catalog)
        for line in skipped:
            print(f"skipped {line}", file=sys.stderr)
        additions += [(movie, rating, "import", when) for movie, rating, when in imported]
    return additions


def add_ratings(profile: Profile, additions: list[tuple[int, float, str, str | None]],
                catalog: Catalog) -> list[str]:
    """Rate each addition in ``profile``; a line per ``--rate`` saying which movie its title
    matched and which rating it replaces, if any."""
    lines = []
    for movie, rating, how, when in additions:
        before = profile.ratings.get(movie)
        profile.rate(movie, rating, how, when)
        if how == "cli":
            replaced = "" if before is None else f" (replaces {before['rating']:g})"
            lines.append(f"{catalog.movies.at[movie, 'title']}: {rating:g}{replaced}")
    return lines
