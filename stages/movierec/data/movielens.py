"""The one loader of MovieLens CSV directories: explicit dtypes, one column schema, clear errors.

A MovieLens directory (ml-latest-small, ml-latest, ml-25m, ml-32m) holds ``movies.csv`` and
``ratings.csv``, and usually ``tags.csv`` and ``links.csv``: those two are optional metadata (a
missing or header-only one reads as no rows; the download stage writes its header). Every problem
a user can cause in these files stops with a :class:`UserInputError` naming the file, the line
and the value.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.errors import UserInputError

REQUIRED_FILES = ("movies.csv", "ratings.csv")
OPTIONAL_FILES = ("tags.csv", "links.csv")  # metadata: absent means no tag tokens, no links
FILES = REQUIRED_FILES + OPTIONAL_FILES
RATING_MIN, RATING_MAX = 0.5, 5.0
NO_GENRES = "(no genres listed)"

# Column kinds per file; extra columns in a file are accepted and ignored.
RATINGS_COLUMNS = {"userId": "id", "movieId": "id", "rating": "float", "timestamp": "int"}
MOVIES_COLUMNS = {"movieId": "id", "title": "str", "genres": "str"}
TAGS_COLUMNS = {"userId": "id", "movieId": "id", "tag": "str", "timestamp": "int"}
LINKS_COLUMNS = {"movieId": "id", "imdbId": "str", "tmdbId": "optional_int"}

# The interactions table every later stage reads: column -> dtype.
INTERACTIONS_SCHEMA = {
    "userId": "int32",
    "movieId": "int32",
    "rating": "float32",
    "timestamp": "int64",
}

# How interactions are stored: ids and timestamps delta-encoded (rows come sorted by user), the
# ten rating values dictionary-encoded: a third smaller and faster to write than the defaults.
_DELTA = "DELTA_BINARY_PACKED"
INTERACTIONS_PARQUET = {"use_dictionary": ["rating"],
                        "column_encoding": {"userId": _DELTA, "movieId": _DELTA, "timestamp": _DELTA}}

YEAR_SUFFIX = re.compile(r"\((\d{4})(?:[-\u2013]\d{0,4})?\)\s*$")  # "(1995)", "(2007-2013)"


def _line(index: int) -> int:
    """File line of a data row (line 1 is the header)."""
    return int(index) + 2


def _read_csv(path: Path, columns: dict[str, str], optional: bool = False) -> pd.DataFrame:
    """Read the ``columns`` of one CSV file with the dtypes their kinds imply; an ``optional``
    file may be missing or hold only its header (no rows, then)."""
    if optional and (not path.is_file() or _header_only(path)):
        return pd.DataFrame({name: pd.Series(dtype="float64" if kind != "str" else "string")
                             for name, kind in columns.items()})
    if not path.is_file():
        raise UserInputError(
            f"{path}: file not found; a MovieLens directory needs {', '.join(REQUIRED_FILES)}"
        )
    if path.stat().st_size == 0:
        raise UserInputError(f"{path}: file is empty; expected a header: {','.join(columns)}")
    numeric = {name for name, kind in columns.items() if kind != "str"}
    read_args = {
        "usecols": list(columns),
        "encoding": "utf-8-sig",  # accepts a UTF-8 byte-order mark; LF and CRLF both parse
        "dtype": {name: ("float64" if name in numeric else "string") for name in columns},
        "keep_default_na": False,
        "na_values": {name: [""] for name in numeric},
    }
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        missing = [name for name in columns if name not in header]
        if missing:
            raise UserInputError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header)}; "
                f"expected {', '.join(columns)}"
            )
        frame = _read_with_arrow(path, columns, numeric)
        if frame is None:  # the slower reader that can say which line is wrong
            try:
                frame = pd.read_csv(path, **read_args)
            except ValueError:
                frame = pd.read_csv(path, **{**read_args, "dtype": "string", "na_values": None})
                _raise_first_non_number(path, frame, numeric)
                raise
    except UnicodeDecodeError as error:
        raise UserInputError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); re-save the file as UTF-8"
        ) from None
    except pd.errors.EmptyDataError:
        raise UserInputError(f"{path}: file is empty; expected a header: {','.join(columns)}") from None
    except pd.errors.ParserError as error:
        raise UserInputError(f"{path}: not a valid CSV file: {error}") from None
    if frame.empty:
        raise UserInputError(f"{path}: has a header but no data rows")
    for name, kind in columns.items():
        if frame[name].dtype.kind != "f":  # parsed as integers: present and whole already
            continue
        if kind in {"id", "int", "float"}:
            _check_present(path, frame, name)
        if kind in {"id", "int", "optional_int"}:
            _check_integral(path, frame, name)
    return frame


def _header_only(path: Path) -> bool:
    """Whether the file holds at most one non-blank line."""
    with open(path, "rb") as handle:
        handle.readline()
        return not handle.read().strip()


def _read_with_arrow(path: Path, columns: dict[str, str], numeric: set[str]) -> pd.DataFrame | None:
    """The file read by Arrow's multi-threaded reader, or None if it cannot read it as it is.

    Whole-number columns are parsed as integers (so they need no further check), others as the
    pandas reader's dtypes; only an empty field is missing. Any problem (a value that does not
    parse, a missing required value) sends the file to the pandas reader, whose errors name the line.
    """
    types = {"id": pa.int64(), "int": pa.int64(), "float": pa.float64(),
             "optional_int": pa.float64(), "str": pa.string()}
    options = pacsv.ConvertOptions(
        include_columns=list(columns), column_types={name: types[columns[name]] for name in columns},
        null_values=[""], strings_can_be_null=False, quoted_strings_can_be_null=False)
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    required = [name for name, kind in columns.items() if kind in {"id", "int", "float"}]
    if any(table.column(name).null_count for name in required):
        return None
    frame = table.to_pandas()
    for name in columns:
        if name not in numeric:
            frame[name] = frame[name].astype("string")
    return frame


def _raise_first_non_number(path: Path, frame: pd.DataFrame, numeric: set[str]) -> None:
    for name in sorted(numeric):
        values = frame[name].str.strip()
        bad = pd.to_numeric(values, errors="coerce").isna() & values.ne("")
        if bad.any():
            index = bad.idxmax()
            raise UserInputError(
                f"{path}, line {_line(index)}: {name} = {frame.at[index, name]!r} is not a number"
            )


def _check_present(path: Path, frame: pd.DataFrame, name: str) -> None:
    missing = frame[name].isna()
    if missing.any():
        index = missing.idxmax()
        raise UserInputError(f"{path}, line {_line(index)}: {name} is empty; every row needs one")


def _check_integral(path: Path, frame: pd.DataFrame, name: str) -> None:
    values = frame[name]
    bad = values.notna() & (values != np.floor(values))
    if bad.any():
        index = bad.idxmax()
        raise UserInputError(
            f"{path}, line {_line(index)}: {name} = {values[index]:g} is not a whole number"
        )


def load_ratings(data_dir: str | Path) -> pd.DataFrame:
    """Ratings with validated values; duplicate (user, movie) rows keep the latest, and are reported."""
    path = Path(data_dir) / "ratings.csv"
    frame = _read_csv(path, RATINGS_COLUMNS)
    out_of_range = ~frame["rating"].between(RATING_MIN, RATING_MAX)
    if out_of_range.any():
        index = out_of_range.idxmax()
        raise UserInputError(
            f"{path}, line {_line(index)}: rating = {frame.at[index, 'rating']:g} is outside "
            f"the allowed range {RATING_MIN}-{RATING_MAX}"
        )
    ratings = pd.DataFrame({name: frame[name].to_numpy().astype(dtype, copy=False)
                            for name, dtype in INTERACTIONS_SCHEMA.items()}, copy=False)
    user = ratings["userId"].to_numpy(dtype=np.int64)
    movie = ratings["movieId"].to_numpy(dtype=np.int64)
    key = (user - user.min()) * (movie.max() - movie.min() + 1) + (movie - movie.min())
    if len(key) > 1 and not (np.diff(key) > 0).all():  # MovieLens files come sorted: skip this
        order = np.lexsort((ratings["timestamp"].to_numpy(), key))
        key = key[order]
        latest = np.r_[key[1:] != key[:-1], True]  # last row of each (user, movie): the latest
        ratings = ratings.iloc[order[latest]]
        dropped = len(order) - int(latest.sum())
        if dropped:
            print(f"{path}: {dropped} duplicate (userId, movieId) rows; kept the latest rating "
                  f"of each", file=sys.stderr)
    return ratings.reset_index(drop=True)


def parse_year(titles: pd.Series) -> pd.Series:
    """Release year from a MovieLens title such as ``Heat (1995)``; missing when the title has none."""
    return titles.str.extract(YEAR_SUFFIX, expand=False).astype("float64").rename("year")


def load_movies(data_dir: str | Path) -> pd.DataFrame:
    """Movies sorted by ``movieId``, with ``title``, ``genres`` (a list, empty for none) and ``year``."""
    path = Path(data_dir) / "movies.csv"
    frame = _read_csv(path, MOVIES_COLUMNS)
    duplicated = frame["movieId"].duplicated()
    if duplicated.any():
        index = duplicated.idxmax()
        raise UserInputError(
            f"{path}, line {_line(index)}: movieId = {int(frame.at[index, 'movieId'])} appears twice"
        )
    titles = frame["title"].fillna("").str.strip()
    genres = frame["genres"].fillna("").str.split("|").map(
        lambda parts: [g.strip() for g in parts if g.strip() and g.strip() != NO_GENRES]
    )
    movies = pd.DataFrame({
        "movieId": frame["movieId"].astype("int32"),
        "title": titles.astype("string"),
        "genres": genres,
        "year": parse_year(titles),
    })
    return movies.sort_values("movieId", kind="stable").reset_index(drop=True)


def load_tags(data_dir: str | Path) -> pd.DataFrame:
    """Tags (``userId``, ``movieId``, lower-cased ``tag``); rows with empty tag text are dropped;
    none if ``tags.csv`` is missing or holds only its header."""
    path = Path(data_dir) / "tags.csv"
    frame = _read_csv(path, TAGS_COLUMNS, optional=True)
    tags = pd.DataFrame({
        "userId": frame["userId"].astype("int32"),
        "movieId": frame["movieId"].astype("int32"),
        "tag": frame["tag"].fillna("").str.strip().str.lower().astype("string"),
    })
    return tags[tags["tag"] != ""].reset_index(drop=True)


def load_links(data_dir: str | Path) -> pd.DataFrame:
    """Links to IMDb and TMDB (``tmdbId`` may be missing); none if ``links.csv`` is missing or
    holds only its header."""
    path = Path(data_dir) / "links.csv"
    frame = _read_csv(path, LINKS_COLUMNS, optional=True)
    return pd.DataFrame({
        "movieId": frame["movieId"].astype("int32"),
        "imdbId": frame["imdbId"].fillna("").astype("string"),
        "tmdbId": frame["tmdbId"].astype("Int64"),
    }).drop_duplicates("movieId")
