"""Recommend movies for a saved profile, interactively or from the command line.

Interactive (``python stages/recommend.py --profile NAME``): phase 1 asks you to rate a diverse set
of popular movies, phase 2 shows personalised recommendations with their predicted rating, each
answer refining the next, and the session ends with your top N. The profile is saved after every
answer. Non-interactive: ``--rate "Heat (1995)=4.5"``, ``--import FILE``, ``--format``, ``--out``.
The DVC ``recommend`` stage uses the latter for the demo profile.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import yaml
from scipy import sparse

from common import UserInputError, atomic_path, file_digest, run_main
from model import RatingModel
from movielens import RATING_MAX, RATING_MIN, YEAR_SUFFIX, load_links, load_movies, parse_year
from params import data_dir, read_params
from profiles import Profile, check_name, check_rating, list_profiles, load_profile, save_profile
from ranking import SimilarMovies, co_rating_scores, liked_matrix, ranking_scores, top_n
from tmdb import overviews, read_cache, trim
from tracking import project_root

ANSWERS = "0.5-5 in half stars, i = interested, n = not interested, s = skip, d = done, q = quit"
MEANING = {"i": (4.0, "interested"), "n": (2.0, "not_interested")}


# --- provenance ------------------------------------------------------------------------------

def locked_md5(lock_path: Path, out_path: Path) -> str | None:
    """The md5 that ``dvc.lock`` records for the output ``out_path``, if it records one."""
    try:
        lock = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return None
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if Path(out.get("path", "")) == out_path:
                return out.get("md5")
    return None


def check_provenance(path: Path, lock_path: Path, allow_untracked: bool,
                     kind: str = "model") -> str:
    """Refuse a pipeline output (the ``kind``) whose bytes differ from what dvc.lock records;
    return its md5."""
    if not path.is_file():
        raise UserInputError(f"{path}: no {kind}; run `dvc repro` (or `dvc pull`) first")
    actual = file_digest(path, "md5")
    recorded = locked_md5(lock_path, path)
    if recorded != actual and not allow_untracked:
        what = "records no hash for it" if recorded is None else f"records md5 {recorded}"
        raise UserInputError(
            f"{path} (md5 {actual}) is not the {kind} {lock_path} tracks ({what}); "
            f"run `dvc repro` (or `dvc pull`) first, or pass --allow-untracked to use it anyway"
        )
    return actual


def describe_model(model_path: Path, md5: str, record_path: Path, tracking_db: Path) -> str:
    """One line naming the model: file, hash, git commit and MLflow run (when known)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    run_id = "unknown"
    try:
        fingerprint = json.loads(record_path.read_text(encoding="utf-8"))["fingerprint"]
        with sqlite3.connect(f"file:{tracking_db}?mode=ro", uri=True) as connection:
            row = connection.execute(
                "SELECT run_uuid FROM tags WHERE key = 'dvc.fingerprint' AND value = ? "
                "ORDER BY run_uuid LIMIT 1", (fingerprint,)).fetchone()
        run_id = row[0] if row else run_id
    except (OSError, KeyError, ValueError, sqlite3.Error):
        pass
    return f"model {model_path} (md5 {md5[:10]}, git commit {commit}, MLflow run {run_id})"


# --- the catalogue and matching titles -------------------------------------------------------

def _normalise(title: str) -> str:
    """Lower-case title with a trailing article moved to the front: 'Matrix, The' -> 'the matrix'."""
    title = YEAR_SUFFIX.sub("", title).strip()
    moved = re.sub(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$", r"\2 \1", title,
                   flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]+", " ", moved.lower()).strip()


@dataclass
class Catalog:
    """Movies as the user sees them: title, year, genres and links, in the model's order."""

    movies: pd.DataFrame  # index: movieId

    @classmethod
    def load(cls, data_dir: Path, model: RatingModel, tmdb_cache: Path | None = None) -> Catalog:
        """The model's movies from ``data_dir``, with overviews from ``tmdb_cache`` if it exists."""
        movies = load_movies(data_dir).merge(load_links(data_dir), on="movieId", how="left")
        movies = movies.set_index("movieId").reindex(model.movie_ids_)
        movies["genres"] = movies["genres"].map(lambda g: "|".join(g) if isinstance(g, list) else "")
        movies["key"] = movies["title"].fillna("").map(_normalise)
        movies["overview"] = ""
        if tmdb_cache is not None and tmdb_cache.is_file():
            movies["overview"] = overviews(movies["tmdbId"], read_cache(tmdb_cache)).map(trim)
        return cls(movies)

    def tmdb_url(self, movie_id: int) -> str:
        tmdb = self.movies.at[movie_id, "tmdbId"]
        return f"https://www.themoviedb.org/movie/{int(tmdb)}" if pd.notna(tmdb) else ""

    def imdb_url(self, movie_id: int) -> str:
        imdb = self.movies.at[movie_id, "imdbId"]
        return f"https://www.imdb.com/title/tt{imdb}/" if isinstance(imdb, str) and imdb else ""

    def links(self, movie_id: int) -> str:
        return "  ".join(filter(None, (self.tmdb_url(movie_id), self.imdb_url(movie_id))))

    def overview(self, movie_id: int) -> str:
        """The trimmed TMDB overview from the cache, '' if there is none."""
        return self.movies.at[movie_id, "overview"]

    def find(self, query: str) -> int:
        """The movieId a title such as ``Heat (1995)`` or ``matrix`` means, or a helpful error."""
        key, year = _normalise(query), parse_year(pd.Series([query.strip()])).iloc[0]
        matches = self.movies[self.movies["key"] == key]
        if pd.notna(year):
            matches = matches[matches["year"] == year]
        if len(matches) == 1:
            return int(matches.index[0])
        if len(matches) > 1:
            options = "; ".join(matches["title"].astype(str).head(8))
            raise UserInputError(f"title {query!r} is ambiguous: {options}; add the year in "
                                 f"parentheses")
        close = difflib.get_close_matches(key, self.movies["key"].unique().tolist(), n=5,
                                          cutoff=0.6)
        suggestions = self.movies[self.movies["key"].isin(close)]["title"].astype(str).head(5)
        hint = f"; did you mean: {'; '.join(suggestions)}?" if len(suggestions) else ""
        raise UserInputError(f"no movie titled {query!r}{hint}")


def report_unknown_movies(profile: Profile, catalog: Catalog) -> None:
    """Say which saved ratings are of movies the model does not know (they are kept, not used)."""
    unknown = sorted(set(profile.ratings) - set(catalog.movies.index))
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        print(f"profile {profile.name!r}: {len(unknown)} ratings of movies not in this model's "
              f"catalogue are skipped (movieId {shown})", file=sys.stderr)


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


def read_import(path: Path, catalog: Catalog) -> tuple[list[tuple[int, float]], list[str]]:
    """Ratings from a MovieLens-style CSV (movieId, rating) or a Letterboxd export (Name, Year,
    Rating); returns them and the rows that were skipped, with the reason."""
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
        ratings.append((movie, value))
    return ratings, skipped


# --- recommending -----------------------------------------------------------------------------

@dataclass
class Recommender:
    """The model, the co-rating similarity (in the model's movie order), the catalogue and the
    ranking params: what every recommendation needs."""

    model: RatingModel
    similar: sparse.csr_matrix
    catalog: Catalog
    rank: dict

    def recommend(self, profile: Profile, n: int, exclude: set[int] = frozenset(),
                  min_year: int | None = None, genre: str | None = None) -> pd.DataFrame:
        """The top ``n`` movies for ``profile``: never one it rated or one in ``exclude``."""
        movie_ids = np.array(list(profile.ratings), dtype=np.int64)
        ratings = np.array([entry["rating"] for entry in profile.ratings.values()], dtype=float)
        evidence = self.model.profiles_evidence(np.zeros(len(movie_ids), dtype=int), movie_ids,
                                                ratings, 1)
        unclipped = self.model.score_matrix(evidence, np.zeros(1, dtype=int), clip=False)[0]
        predicted = np.clip(unclipped, RATING_MIN, RATING_MAX)
        liked = liked_matrix(np.zeros(len(movie_ids), dtype=int), self.model.movie_index(movie_ids),
                             ratings, 1, len(self.model.movie_ids_), self.rank["relevant_rating"])
        co_rating = co_rating_scores(self.similar, liked)[0]
        scores = ranking_scores(unclipped, self.model.items_.movie_count, co_rating, self.rank)
        movies = self.catalog.movies
        blocked = movies.index.isin(list(set(profile.ratings) | set(exclude)))
        if min_year is not None:
            blocked |= ~(movies["year"] >= min_year).to_numpy()
        if genre is not None:
            blocked |= ~movies["genres"].str.lower().str.split("|").map(
                lambda parts: genre.lower() in parts).to_numpy()
        scores[blocked] = -np.inf
        best = top_n(scores, n)[0]
        best = best[best >= 0]
        chosen = movies.iloc[best]
        return pd.DataFrame({
            "rank": np.arange(1, len(best) + 1),
            "movieId": chosen.index.to_numpy(),
            "title": chosen["title"].astype(str).to_numpy(),
            "year": chosen["year"].astype("Int64").to_numpy(),
            "genres": chosen["genres"].to_numpy(),
            "predicted_rating": np.round(predicted[best], 2),
            "tmdb_url": [self.catalog.tmdb_url(movie) for movie in chosen.index],
            "imdb_url": [self.catalog.imdb_url(movie) for movie in chosen.index],
            "overview": chosen["overview"].to_numpy(),
        })


def format_table(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(json.loads(frame.to_json(orient="records")), indent=1) + "\n"
    if frame.empty:
        return "(no movie matches)\n"
    lines = [f"{row.rank:>3}. {row.predicted_rating:.1f}★  {row.title}  [{row.genres}]\n"
             + (f"       {row.overview}\n" if row.overview else "")
             + f"       {row.tmdb_url}  {row.imdb_url}".rstrip() for row in frame.itertuples()]
    return "\n".join(lines) + "\n"


def onboarding_movies(recommender: Recommender, settings: dict, seed: int) -> list[int]:
    """Phase 1's list: the most rated movies of the most common genres, plus random popular ones."""
    movies = recommender.catalog.movies.assign(count=recommender.model.items_.movie_count)
    recent = movies[(movies["year"] >= settings["min_year"]) & (movies["count"] > 0)]
    genres = recent["genres"].str.split("|").explode()
    top_genres = genres[genres != ""].value_counts().head(settings["onboarding_genres"]).index
    chosen: list[int] = []
    for genre in top_genres:
        in_genre = recent[recent["genres"].str.split("|").map(lambda parts, g=genre: g in parts)]
        fresh = in_genre[~in_genre.index.isin(chosen)]
        chosen += fresh.sort_values("count", ascending=False, kind="stable").index[
            : settings["per_genre"]].tolist()
    popular = recent[~recent.index.isin(chosen)].sort_values("count", ascending=False,
                                                             kind="stable").head(300)
    rng = np.random.default_rng(seed)
    extras = rng.choice(popular.index.to_numpy(), size=min(settings["random_extras"], len(popular)),
                        replace=False)
    return chosen + [int(movie) for movie in extras]


# --- the interactive session -----------------------------------------------------------------

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
                 settings: dict, ask: Callable[[str], str], say: Callable[[str], None]) -> None:
        self.recommender = recommender
        self.profile = profile
        self.profiles_dir = profiles_dir
        self.settings = settings
        self.ask = ask
        self.say = say
        self.skipped: set[int] = set()

    def _describe(self, movie_id: int, predicted: float | None = None) -> str:
        row = self.recommender.catalog.movies.loc[movie_id]
        prefix = "" if predicted is None else f"predicted {predicted:.1f}★  "
        overview = f"    {row['overview']}\n" if row["overview"] else ""
        return (f"{prefix}{row['title']}  [{row['genres'] or 'no genres'}]\n{overview}"
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
                self.skipped.add(movie_id)
            return action

    def onboarding(self) -> None:
        ready = self.settings["ready_after"]
        candidates = [m for m in onboarding_movies(self.recommender, self.settings,
                                                   self.settings["seed"])
                      if m not in self.profile.ratings]
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
        for _ in range(self.settings["refine_rounds"]):
            best = self.recommender.recommend(self.profile, 1, exclude=self.skipped)
            if best.empty:
                return
            movie = int(best["movieId"].iloc[0])
            self.say(f"\n{self._describe(movie, float(best['predicted_rating'].iloc[0]))}")
            if self._answer(movie) == "d":
                return

    def run(self, top: int) -> None:
        try:
            self.onboarding()
            self.refine()
        except Quit:
            self.say("\nStopped; every answer so far is saved.")
        self.say(f"\nYour top {top} ({len(self.profile.ratings)} ratings in profile "
                 f"{self.profile.name!r}):\n")
        self.say(format_table(self.recommender.recommend(self.profile, top), "table"))


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


# --- main -------------------------------------------------------------------------------------

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
    parser.add_argument("--model", type=Path, default=Path("models/model.joblib"))
    parser.add_argument("--similar", type=Path, default=Path("data/similar_movies.npz"),
                        help="similar movies (npz) of the same pipeline run")
    parser.add_argument("--data-dir", type=Path,
                        help="MovieLens directory (default: data/raw/<data.variant>)")
    parser.add_argument("--profiles-dir", type=Path, default=Path("profiles"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--lock", type=Path, default=Path("dvc.lock"))
    parser.add_argument("--tmdb-cache", type=Path, default=Path("data/tmdb/tmdb.sqlite"),
                        help="show overviews from this TMDB cache, if it exists (README, TMDB)")
    args = parser.parse_args()
    params = read_params(args.params)
    settings = params["recommend"]
    top = settings["top_n"] if args.top is None else args.top
    if top < 1:
        raise UserInputError(f"--top {top}: use a whole number of at least 1")
    batch = bool(args.rate or args.import_file or args.format or args.out)
    if batch and not args.profile:
        raise UserInputError("--rate, --import, --format and --out need --profile NAME")
    name = args.profile
    if name is not None:
        check_name(name)
    profile = load_profile(args.profiles_dir, name) if name else None  # a corrupt file stops here

    md5 = check_provenance(args.model, args.lock, args.allow_untracked)
    check_provenance(args.similar, args.lock, args.allow_untracked, kind="similar-movies file")
    model = joblib.load(args.model)
    similar = SimilarMovies.load(args.similar).for_movies(model.movie_ids_, args.similar)
    print(describe_model(args.model, md5, args.model.parent / "mlflow_run.json",
                         project_root() / "mlflow.db"), file=sys.stderr)
    catalog = Catalog.load(args.data_dir or data_dir(params), model, args.tmdb_cache)
    recommender = Recommender(model, similar, catalog, params["rank"])
    if profile is not None:
        report_unknown_movies(profile, recommender.catalog)

    if batch:
        additions = [parse_rate(argument, recommender.catalog) for argument in args.rate]
        how = ["cli"] * len(additions)
        if args.import_file:
            imported, skipped = read_import(args.import_file, recommender.catalog)
            for line in skipped:
                print(f"skipped {line}", file=sys.stderr)
            additions += imported
            how += ["import"] * len(imported)
        for (movie, rating), given in zip(additions, how, strict=True):
            profile.rate(movie, rating, given)
        if additions:
            profile = save_profile(args.profiles_dir, profile)
            print(f"saved {len(additions)} ratings to profile {name!r} "
                  f"({len(profile.ratings)} in all)", file=sys.stderr)
        table = format_table(recommender.recommend(profile, top, min_year=args.min_year,
                                                   genre=args.genre), args.format or "table")
        if args.out:
            with atomic_path(args.out) as tmp:
                tmp.write_text(table, encoding="utf-8")
        else:
            sys.stdout.write(table)
        return

    def say(text: str) -> None:
        print(text, flush=True)

    if name is None:
        name = choose_profile(args.profiles_dir, input, say)
        profile = load_profile(args.profiles_dir, name)
    session = Session(recommender, profile, args.profiles_dir, settings, input, say)
    try:
        session.run(top)
    except KeyboardInterrupt:
        say("\nInterrupted; every answer so far is saved.")
        sys.exit(130)


if __name__ == "__main__":
    run_main(main)
