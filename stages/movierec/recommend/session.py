"""The interactive session: phase 1 asks about diverse popular movies, phase 2 about the best
recommendation, each answer saved at once; then the top N."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from movierec.errors import UserInputError
from movierec.params import RecommendParams
from movierec.recommend.profiles import (
    Profile,
    check_name,
    check_rating,
    list_profiles,
    load_profile,
    save_profile,
)
from movierec.recommend.recommender import (
    NO_FILTERS,
    Filters,
    Recommender,
    format_table,
    onboarding_movies,
)

ANSWERS = "0.5-5 in half stars, i = interested, n = not interested, s = skip, d = done, q = quit"
MEANING = {"i": (4.0, "interested"), "n": (2.0, "not_interested")}


class Quit(Exception):
    """The user asked to stop, or input ended."""


def parse_answer(text: str) -> tuple[str, float | None]:
    """``"4.5"`` -> ("rate", 4.5); ``"i"``/``"n"`` -> rates; ``"s"``/``"d"``/``"q"`` -> actions.

    Raises ``ValueError`` with the allowed answers for anything else.
    """
    answer = text.strip().lower()
    if answer in MEANING:
        return answer, MEANING[answer][0]
    if answer in {"s", "d", "q"}:
        return answer, None
    try:
        value = float(answer)
        check_rating(value, "answer")
    except (ValueError, UserInputError):
        raise ValueError(f"{text.strip()!r} is not an answer; use {ANSWERS}") from None
    return "rate", value


class Session:
    """One interactive session: asks, records and saves after every answer."""

    def __init__(self, recommender: Recommender, profile: Profile, profiles_dir: Path,
                 settings: RecommendParams, ask: Callable[[str], str], say: Callable[[str], None],
                 filters: Filters = NO_FILTERS) -> None:
        self.recommender = recommender
        self.filters = filters
        self.profile = profile
        self.profiles_dir = profiles_dir
        self.settings = settings
        self.ask = ask
        self.say = say

    def _describe(self, movie_id: int, recommended: pd.Series | None = None) -> str:
        """The movie as asked about; a ``recommended`` one (a row of a recommendation table)
        also shows its predicted rating and why it is recommended."""
        row = self.recommender.catalog.movies.loc[movie_id]
        prefix = reason = ""
        if recommended is not None:
            prefix = f"predicted {recommended['predicted_rating']:.1f}★  "
            reason = f"    {recommended['because']}\n"
        overview = f"    {row['overview']}\n" if row["overview"] else ""
        return (f"{prefix}{row['title']}  [{row['genres'] or 'no genres'}]\n{reason}{overview}"
                f"    {self.recommender.catalog.links(movie_id)}")

    def _answer(self, movie_id: int) -> str:
        """Ask about one movie until the answer is valid; record and save it. Returns the action."""
        while True:
            try:
                text = self.ask(f"  your answer ({ANSWERS}): ")
            except EOFError:
                raise Quit from None
            try:
                action, value = parse_answer(text)
            except ValueError as error:
                self.say(f"  {error}")
                continue
            if action == "q":
                raise Quit
            if value is not None:
                how = MEANING[action][1] if action in MEANING else "rated"
                self.profile.rate(movie_id, value, how)
                save_profile(self.profiles_dir, self.profile)
            elif action == "s":
                self.profile.skipped.add(movie_id)
                save_profile(self.profiles_dir, self.profile)
            return action

    def onboarding(self) -> None:
        ready = self.settings.ready_after
        candidates = [m for m in onboarding_movies(self.recommender, self.settings)
                      if m not in self.profile.ratings and m not in self.profile.skipped]
        self.say(f"Phase 1: rate some popular movies ({len(self.profile.ratings)} rated so far).")
        for number, movie in enumerate(candidates, start=1):
            self.say(f"\n[{number}/{len(candidates)}] {self._describe(movie)}")
            if self._answer(movie) == "d":
                break
            if len(self.profile.ratings) == ready:
                self.say(f"\nYour profile has {ready} ratings: ready for recommendations "
                         f"(keep going, or answer d to move on).")
        if len(self.profile.ratings) < ready:
            self.say(f"\nOnly {len(self.profile.ratings)} ratings (fewer than {ready}): "
                     f"recommendations will be less personal. Going on.")

    def refine(self) -> None:
        self.say("\nPhase 2: recommendations for you; every answer refines the next one.")
        for _ in range(self.settings.refine_rounds):
            best = self.recommender.recommend(self.profile, 1, exclude=self.profile.skipped,
                                              filters=self.filters)
            if best.empty:
                return
            movie = int(best["movieId"].iloc[0])
            self.say(f"\n{self._describe(movie, best.iloc[0])}")
            if self._answer(movie) == "d":
                return

    def run(self, top: int, onboard: bool = False) -> None:
        """Phase 1 (unless the profile is ready and ``onboard`` is not asked for), phase 2, the
        top ``top``."""
        try:
            if onboard or len(self.profile.ratings) < self.settings.ready_after:
                self.onboarding()
            else:
                self.say(f"Profile {self.profile.name!r} has {len(self.profile.ratings)} ratings: "
                         f"straight to recommendations (--onboard asks phase 1 again).")
            self.refine()
        except Quit:
            self.say("\nStopped; every answer so far is saved.")
        self.say(f"\nYour top {top} ({len(self.profile.ratings)} ratings in profile "
                 f"{self.profile.name!r}):\n")
        self.say(format_table(self.recommender.recommend(self.profile, top, filters=self.filters),
                              "table"))


def choose_profile(profiles_dir: Path, ask: Callable[[str], str],
                   say: Callable[[str], None]) -> str:
    """Without --profile: list the saved profiles and ask which to open or create."""
    names = list_profiles(profiles_dir)
    say("Saved profiles: " + (", ".join(names) if names else "none yet"))
    while True:
        try:
            name = ask("Profile to open or create (letters, digits, - and _): ").strip()
        except EOFError:
            raise UserInputError("no profile chosen (input ended)") from None
        try:
            return check_name(name)
        except UserInputError as error:
            say(str(error))


def run_session(recommender: Recommender, profile: Profile | None, profiles_dir: Path,
                settings: RecommendParams, top: int, filters: Filters = NO_FILTERS,
                onboard: bool = False) -> None:
    """The interactive session on the terminal; without a profile, ask which to open first."""

    def say(text: str) -> None:
        print(text, flush=True)

    if profile is None:
        profile = load_profile(profiles_dir, choose_profile(profiles_dir, input, say))
    session = Session(recommender, profile, profiles_dir, settings, input, say, filters)
    try:
        session.run(top, onboard)
    except KeyboardInterrupt:
        say("\nInterrupted; every answer so far is saved.")
        sys.exit(130)
