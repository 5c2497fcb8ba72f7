"""Saved user profiles: ``profiles/NAME.json``, validated on load, saved atomically and merged.

A profile is ``{"name": NAME, "ratings": [{"movieId", "rating", "when", "how"}, ...],
"skipped": [movieId, ...]}`` where ``how`` says how the rating was given (``rated``,
``interested``, ``not_interested``, ``cli``, ``import``) and ``skipped`` lists the movies the
person skipped (not asked again; optional). Saving takes a lock and merges with what is on disk
(per movie, the latest answer wins; skips add up), so two sessions on one profile lose nothing;
a crash mid-save leaves the previous file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from movierec.data.movielens import RATING_MAX, RATING_MIN
from movierec.errors import UserInputError
from movierec.io import locked, write_text

NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
HOW = ("rated", "interested", "not_interested", "cli", "import")


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe profile name, else explain what is allowed."""
    if not NAME.fullmatch(name):
        raise UserInputError(
            f"profile name {name!r} is not allowed; use 1-64 letters, digits, '-' or '_' "
            f"(no spaces, '/' or '..')"
        )
    return name


def check_rating(value: float, source: str) -> float:
    """A rating on the MovieLens scale: 0.5 to 5 in half stars."""
    if not (RATING_MIN <= value <= RATING_MAX) or (value * 2) != int(value * 2):
        raise UserInputError(f"{source}: rating {value:g} is not allowed; use 0.5 to 5 in half stars")
    return float(value)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Profile:
    """A person's ratings, keyed by movieId."""

    name: str
    ratings: dict[int, dict] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)

    def rate(self, movie_id: int, rating: float, how: str, when: str | None = None) -> None:
        """Record a rating given ``how``, ``when`` (ISO date or time; default: now)."""
        self.ratings[int(movie_id)] = {"movieId": int(movie_id), "rating": float(rating),
                                       "when": when or now(), "how": how}

    def to_json(self) -> str:
        entries = [self.ratings[movie] for movie in sorted(self.ratings)]
        skipped = sorted(self.skipped - set(self.ratings))
        return json.dumps({"name": self.name, "ratings": entries, "skipped": skipped},
                          indent=1) + "\n"


def profile_path(directory: Path, name: str) -> Path:
    return Path(directory) / f"{check_name(name)}.json"


def parse_profile(path: Path, text: str) -> Profile:
    """Validate a profile file's text; any problem names the file and leaves it untouched."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserInputError(
            f"{path}: not valid JSON ({error}); the file was left untouched, fix or move it"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("ratings"), list):
        raise UserInputError(f"{path}: expected {{\"name\": ..., \"ratings\": [...]}}; "
                             f"the file was left untouched")
    profile = Profile(path.stem)
    for number, entry in enumerate(data["ratings"], start=1):
        where = f"{path}: rating #{number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("movieId"), int):
            raise UserInputError(f"{where} needs an integer movieId; the file was left untouched")
        rating = entry.get("rating")
        if isinstance(rating, bool) or not isinstance(rating, int | float):
            raise UserInputError(f"{where}: rating {rating!r} is not a number")
        check_rating(float(rating), where)
        profile.ratings[entry["movieId"]] = {
            "movieId": entry["movieId"], "rating": float(rating),
            "when": str(entry.get("when", "")), "how": str(entry.get("how", "rated"))}
    skipped = data.get("skipped", [])
    if not isinstance(skipped, list) or not all(isinstance(m, int) for m in skipped):
        raise UserInputError(f"{path}: \"skipped\" must be a list of movieIds; the file was left "
                             f"untouched")
    profile.skipped = set(skipped)
    return profile


def load_profile(directory: Path, name: str) -> Profile:
    """The saved profile, or an empty one if there is none yet."""
    path = profile_path(directory, name)
    if not path.exists():
        return Profile(name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserInputError(f"{path}: cannot be read ({error})") from None
    return parse_profile(path, text)


def save_profile(directory: Path, profile: Profile) -> Profile:
    """Merge ``profile`` with the saved one (latest answer per movie wins) and save atomically.

    Returns the merged profile, which includes ratings another session saved meanwhile.
    """
    path = profile_path(directory, profile.name)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        merged = load_profile(directory, profile.name)
        for movie, entry in profile.ratings.items():
            saved = merged.ratings.get(movie)
            if saved is None or entry["when"] >= saved["when"]:
                merged.ratings[movie] = entry
        merged.skipped |= profile.skipped
        write_text(path, merged.to_json())
    profile.ratings, profile.skipped = dict(merged.ratings), set(merged.skipped)
    return merged


def list_profiles(directory: Path) -> list[str]:
    return sorted(path.stem for path in Path(directory).glob("*.json") if NAME.fullmatch(path.stem))
