"""The one schema of ``params.yaml``: every known key, its type and allowed values.

Stages call :func:`load_section` for the sections they read; ``check_params.py`` validates the whole
file so that a typo such as ``dvc exp run -S train.alhpa=3`` stops the experiment instead of silently
running with the default ``train.alpha``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common import UserInputError


@dataclass(frozen=True)
class Rule:
    """How one param is checked: ``accepts(value)`` and the sentence that says what is allowed."""

    accepts: Callable[[Any], bool]
    allowed: str


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def integer(low: int, high: int | None = None, *, also: tuple[int, ...] = ()) -> Rule:
    upper = "" if high is None else f" and <= {high}"
    extra = "".join(f" (or {v})" for v in also)
    return Rule(
        lambda v: _is_int(v) and (v in also or (v >= low and (high is None or v <= high))),
        f"an integer >= {low}{upper}{extra}",
    )


def number(low: float, high: float | None = None, *, open_low: bool = False,
           open_high: bool = False) -> Rule:
    def accepts(v: Any) -> bool:
        if not _is_number(v):
            return False
        above = v > low if open_low else v >= low
        below = high is None or (v < high if open_high else v <= high)
        return above and below

    left = "(" if open_low else "["
    right = "inf)" if high is None else (f"{high})" if open_high else f"{high}]")
    return Rule(accepts, f"a number in {left}{low}, {right}")


def choice(*options: str) -> Rule:
    return Rule(lambda v: v in options, "one of " + ", ".join(repr(o) for o in options))


def integers(low: int) -> Rule:
    return Rule(lambda v: isinstance(v, list) and len(v) > 0 and all(_is_int(x) and x >= low
                                                                     for x in v),
                f"a non-empty list of integers >= {low}")


def shares() -> Rule:
    return Rule(lambda v: isinstance(v, list) and all(_is_number(x) and 0 < x < 1 for x in v),
                "a list of numbers in (0, 1), possibly empty")


def boolean() -> Rule:
    return Rule(lambda v: isinstance(v, bool), "true or false")


def name() -> Rule:
    return Rule(lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v)
                is not None, "a name of letters, digits, '.', '_' and '-'")


def text() -> Rule:
    return Rule(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")


RAW_DATA = Path("data/raw")  # data/raw/<data.variant>, written by the download stage
SCHEMA: dict[str, dict[str, Rule]] = {
    "data": {"variant": name(), "url": text()},
    "interactions": {
        "min_user_ratings": integer(1),
        "min_movie_ratings": integer(1),
    },
    "split": {
        "strategy": choice("random", "temporal"),
        "test_size": number(0, 1, open_low=True, open_high=True),
        "seed": integer(0),
    },
    "features": {
        "max_features": integer(1),
        "min_df": integer(1),
        "tmdb": boolean(),
    },
    "train": {
        "alpha": number(0, open_low=True),
        "max_samples": integer(1, also=(-1,)),
        "folds": integer(2, 20),
        "seed": integer(0),
        "damping": number(0),
        "content": boolean(),
        "genre_affinity": boolean(),
        "tag_affinity": boolean(),
        "item_neighbors": boolean(),
        "affinity_damping": number(0, open_low=True),
        "neighbors": integer(1),
        "neighbor_shrinkage": number(0),
        "neighbor_damping": number(0, open_low=True),
        "small_profile_share": number(0, 1),
        "small_profile_max": integer(3),
    },
    "similar": {
        "neighbors": integer(1),
        "exponent": number(0, 1),
        "max_per_user": integer(0),
        "seed": integer(0),
    },
    "evaluate": {
        "baseline_damping": number(0),
    },
    "explain": {
        "top_n": integer(1),
    },
    "rank": {
        "k": integer(1),
        "relevant_rating": number(0.5, 5.0),
        "popularity_weight": number(0),
        "co_rating_weight": number(0),
        "min_ratings": integer(0),
        "max_users": integer(1, also=(-1,)),
    },
    "recommend": {
        "demo_profile": text(),
        "top_n": integer(1),
        "onboarding_genres": integer(1),
        "per_genre": integer(1),
        "random_extras": integer(0),
        "min_year": integer(0),
        "ready_after": integer(1),
        "refine_rounds": integer(0),
        "seed": integer(0),
    },
    "newuser": {
        "users": integer(1),
        "min_ratings": integer(2),
        "profile_sizes": integers(1),
        "profile_shares": shares(),
        "seed": integer(0),
    },
}

MOVED = {  # keys of earlier params files, and where they went
    "train.co_rating_exponent": "similar.exponent",
    "train.co_rating_max_per_user": "similar.max_per_user",
}


def read_params(path: str | Path) -> dict[str, Any]:
    """Read and fully validate a params file: unknown sections or keys, wrong types, bad values."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: params file not found") from None
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    for section, values in raw.items():
        if section not in SCHEMA:
            raise UserInputError(
                f"{path}: unknown section {section!r}; known sections: {', '.join(SCHEMA)}"
            )
        if not isinstance(values, dict):
            raise UserInputError(f"{path}: section {section!r} must be a mapping of keys")
        rules = SCHEMA[section]
        for key, value in values.items():
            if key not in rules:
                moved = MOVED.get(f"{section}.{key}")
                raise UserInputError(
                    f"{path}: unknown param {section}.{key} = {value!r}; "
                    + (f"it is now {moved}" if moved else
                       f"known keys in {section!r}: {', '.join(rules)}")
                )
            rule = rules[key]
            if not rule.accepts(value):
                raise UserInputError(
                    f"{path}: param {section}.{key} = {value!r} is invalid; allowed: {rule.allowed}"
                )
        missing = [key for key in rules if key not in values]
        if missing:
            raise UserInputError(
                f"{path}: section {section!r} lacks "
                + ", ".join(f"{section}.{key}" for key in missing)
            )
    return raw


def data_dir(params: dict[str, Any]) -> Path:
    """Where the ``download`` stage puts the MovieLens variant the params select."""
    return RAW_DATA / params["data"]["variant"]


def load_section(path: str | Path, section: str) -> dict[str, Any]:
    """Return one validated section of the params file."""
    params = read_params(path)
    if section not in params:
        raise UserInputError(f"{path}: section {section!r} is missing")
    return params[section]
