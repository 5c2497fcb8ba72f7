"""The one schema of ``params.yaml``: each section a frozen dataclass whose fields carry the default
and the rule of every key.

:func:`read_params` validates the whole file and returns a :class:`Params`; stages hand its typed
sections to the package (``RatingModel(**asdict(params.train))``). ``check_params.py`` validates
the file as a stage of its own, so that a typo such as ``dvc exp run -S +train.alhpa=3`` stops the
experiment instead of silently running with the default ``train.alpha``. The defaults here are
the committed ``params.yaml`` (a test checks that they agree).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from movierec.errors import UserInputError


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


def pair() -> Rule:
    return Rule(lambda v: isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v),
                "a list of two numbers: [for a profile of one rating, for a large profile]")


def boolean() -> Rule:
    return Rule(lambda v: isinstance(v, bool), "true or false")


def name() -> Rule:
    return Rule(lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", v)
                is not None, "a name of letters, digits, '.', '_' and '-'")


def text() -> Rule:
    return Rule(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")


def param(default: Any, rule: Rule) -> Any:
    """A dataclass field: its default and the rule its values must follow."""
    return field(default=default, metadata={"rule": rule})


@dataclass(frozen=True)
class DataParams:
    variant: str = param("ml-latest-small", name())
    url: str = param("https://files.grouplens.org/datasets/movielens", text())


@dataclass(frozen=True)
class InteractionsParams:
    min_user_ratings: int = param(1, integer(1))
    min_movie_ratings: int = param(1, integer(1))


@dataclass(frozen=True)
class SplitParams:
    strategy: str = param("random", choice("random", "temporal"))
    test_size: float = param(0.2, number(0, 1, open_low=True, open_high=True))
    seed: int = param(42, integer(0))


@dataclass(frozen=True)
class FeaturesParams:
    max_features: int = param(300, integer(1))
    min_df: int = param(2, integer(1))
    tmdb: bool = param(False, boolean())


@dataclass(frozen=True)
class TrainParams:
    alpha: float = param(10.0, number(0, open_low=True))
    max_samples: int = param(-1, integer(1, also=(-1,)))
    folds: int = param(5, integer(2, 20))
    seed: int = param(42, integer(0))
    damping: float = param(10.0, number(0))
    content: bool = param(True, boolean())
    genre_affinity: bool = param(True, boolean())
    tag_affinity: bool = param(True, boolean())
    item_neighbors: bool = param(True, boolean())
    affinity_damping: float = param(5.0, number(0, open_low=True))
    neighbors: int = param(100, integer(1))
    neighbor_shrinkage: float = param(100.0, number(0))
    neighbor_damping: float = param(1.0, number(0, open_low=True))
    neighbor_max_pairs: int = param(2_000_000_000, integer(0))
    small_profile_share: float = param(0.5, number(0, 1))
    small_profile_max: int = param(60, integer(3))


@dataclass(frozen=True)
class SimilarParams:
    neighbors: int = param(100, integer(1))
    exponent: float = param(0.7, number(0, 1))
    max_pairs: int = param(2_000_000_000, integer(0))
    seed: int = param(42, integer(0))


@dataclass(frozen=True)
class EvaluateParams:
    baseline_damping: float = param(10.0, number(0))


@dataclass(frozen=True)
class ExplainParams:
    top_n: int = param(15, integer(1))


@dataclass(frozen=True)
class RankParams:
    k: int = param(10, integer(1))
    relevant_rating: float = param(4.0, number(0.5, 5.0))
    min_ratings: int = param(5, integer(1))
    max_users: int = param(2000, integer(1, also=(-1,)))
    item_movies: int = param(5000, integer(1))
    rated_penalty: float = param(250.0, number(0, open_low=True))
    liked_penalty: float = param(25.0, number(0, open_low=True))
    liked_exponent: float = param(0.25, number(0, 1))
    liked_plain_penalty: float = param(3000.0, number(0, open_low=True))
    walk_exponent: float = param(0.7, number(0, 2))
    large_profile: float = param(39.23204, number(0, open_low=True))
    disliked_weight: tuple[float, float] = param((0.91249, 0.95993), pair())
    liked_weight: tuple[float, float] = param((1.56624, 2.44385), pair())
    liked_plain_weight: tuple[float, float] = param((2.93328, -0.85466), pair())
    rating_weight: tuple[float, float] = param((0.00853, 0.00164), pair())
    popularity_weight: tuple[float, float] = param((0.00932, -0.00678), pair())
    co_rating_weight: tuple[float, float] = param((-0.05568, 0.31029), pair())
    walk_weight: tuple[float, float] = param((-0.00261, 0.54102), pair())
    candidates: int = param(200, integer(1))
    rerank_weight: tuple[float, float] = param((0.17206, 0.04248), pair())
    calibration_weight: float = param(0.52, number(0, 1))


@dataclass(frozen=True)
class ValidationParams:
    users: int = param(200, integer(1))
    min_ratings: int = param(30, integer(2))
    share: float = param(0.2, number(0, 1, open_low=True, open_high=True))
    seed: int = param(7, integer(0))


@dataclass(frozen=True)
class RecommendParams:
    demo_profile: str = param("demo", text())
    top_n: int = param(10, integer(1))
    onboarding_genres: int = param(8, integer(1))
    per_genre: int = param(3, integer(1))
    random_extras: int = param(6, integer(0))
    min_year: int = param(1980, integer(0))
    ready_after: int = param(20, integer(1))
    refine_rounds: int = param(20, integer(0))
    seed: int = param(42, integer(0))


@dataclass(frozen=True)
class NewuserParams:
    users: int = param(200, integer(1))
    min_ratings: int = param(30, integer(2))
    profile_sizes: tuple[int, ...] = param((5, 10, 20), integers(1))
    profile_shares: tuple[float, ...] = param((0.8,), shares())
    seed: int = param(42, integer(0))


@dataclass(frozen=True)
class Params:
    """Every section of ``params.yaml``."""

    data: DataParams = field(default_factory=DataParams)
    interactions: InteractionsParams = field(default_factory=InteractionsParams)
    split: SplitParams = field(default_factory=SplitParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    train: TrainParams = field(default_factory=TrainParams)
    similar: SimilarParams = field(default_factory=SimilarParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    explain: ExplainParams = field(default_factory=ExplainParams)
    rank: RankParams = field(default_factory=RankParams)
    validation: ValidationParams = field(default_factory=ValidationParams)
    recommend: RecommendParams = field(default_factory=RecommendParams)
    newuser: NewuserParams = field(default_factory=NewuserParams)


SECTIONS: dict[str, type] = {f.name: f.default_factory for f in dataclasses.fields(Params)}

MOVED = {  # keys of earlier params files, and where they went
    "train.co_rating_exponent": "similar.exponent",
    "train.co_rating_max_per_user": "similar.max_pairs",
    "similar.max_per_user": "similar.max_pairs",
}


def rules(section: type) -> dict[str, Rule]:
    """Each key of a section class and its rule."""
    return {f.name: f.metadata["rule"] for f in dataclasses.fields(section)}


def _section(path: Path, name: str, values: Any) -> Any:
    """One validated section of the file, as its dataclass."""
    if not isinstance(values, dict):
        raise UserInputError(f"{path}: section {name!r} must be a mapping of keys")
    known = rules(SECTIONS[name])
    for key, value in values.items():
        if key not in known:
            moved = MOVED.get(f"{name}.{key}")
            raise UserInputError(
                f"{path}: unknown param {name}.{key} = {value!r}; "
                + (f"it is now {moved}" if moved else f"known keys in {name!r}: {', '.join(known)}")
            )
        if not known[key].accepts(value):
            raise UserInputError(
                f"{path}: param {name}.{key} = {value!r} is invalid; allowed: {known[key].allowed}"
            )
    missing = [key for key in known if key not in values]
    if missing:
        raise UserInputError(f"{path}: section {name!r} lacks "
                             + ", ".join(f"{name}.{key}" for key in missing))
    return SECTIONS[name](**{key: tuple(value) if isinstance(value, list) else value
                             for key, value in values.items()})


def read_params(path: str | Path) -> Params:
    """Read and fully validate a params file: unknown sections or keys, wrong types, bad values,
    missing keys (DVC needs every key a stage lists to be in the file)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserInputError(f"{path}: params file not found") from None
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    unknown = [section for section in raw if section not in SECTIONS]
    if unknown:
        raise UserInputError(
            f"{path}: unknown section {unknown[0]!r}; known sections: {', '.join(SECTIONS)}")
    missing = [section for section in SECTIONS if section not in raw]
    if missing:
        raise UserInputError(f"{path}: lacks the section(s) {', '.join(missing)}")
    params = Params(**{section: _section(path, section, values) for section, values in raw.items()})
    _check_across_keys(path, params)
    return params


def _check_across_keys(path: Path, params: Params) -> None:
    """Rules that tie two keys together."""
    simulation = params.newuser
    if max(simulation.profile_sizes) >= simulation.min_ratings:
        raise UserInputError(
            f"{path}: newuser.profile_sizes = {list(simulation.profile_sizes)} would reveal every "
            f"rating of a held-out user with newuser.min_ratings = {simulation.min_ratings}; keep "
            f"every size below it")


def as_dict(params: Any) -> dict[str, Any]:
    """A params object (or section) as plain data: nested dicts, lists for tuples."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return list(value) if isinstance(value, tuple) else value

    return plain(dataclasses.asdict(params))
