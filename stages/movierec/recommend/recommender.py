"""Recommendations for a profile: the model's predictions ranked by the one top-N path, as a table,
CSV or JSON; and phase 1's list of movies to ask about."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.data.movielens import RATING_MAX, RATING_MIN
from movierec.model.estimator import RatingModel, load_model
from movierec.params import RankParams, RecommendParams
from movierec.paths import MLFLOW_RECORD
from movierec.ranking.lists import Ranker
from movierec.ranking.model import RankModel
from movierec.recommend.catalog import Catalog
from movierec.recommend.profiles import Profile
from movierec.recommend.provenance import check_provenance, describe_model
from movierec.tracking.runs import project_root


@dataclass(frozen=True)
class Filters:
    """What a list may hold: movies from ``min_year`` on, of ``genre`` (a catalogue genre)."""

    min_year: int | None = None
    genre: str | None = None


NO_FILTERS = Filters()

@dataclass
class Recommender:
    """The model, the ranker (in the model's movie order) and the catalogue: what every
    recommendation needs."""

    model: RatingModel
    ranker: Ranker
    catalog: Catalog

    def recommend(self, profile: Profile, n: int, exclude: set[int] = frozenset(),
                  filters: Filters = NO_FILTERS) -> pd.DataFrame:
        """The top ``n`` movies for ``profile`` that pass ``filters``: never one it rated or one
        in ``exclude``."""
        min_year, genre = filters.min_year, filters.genre
        movie_ids = np.array(list(profile.ratings), dtype=np.int64)
        ratings = np.array([entry["rating"] for entry in profile.ratings.values()], dtype=float)
        rows = np.zeros(len(movie_ids), dtype=int)
        evidence = self.model.profiles_evidence(rows, movie_ids, ratings, 1)
        unclipped = self.model.score_matrix(evidence, np.zeros(1, dtype=int), clip=False,
                                            movies=self.ranker.items.movies)
        movies = self.catalog.movies
        blocked = movies.index.isin(list(exclude))
        if min_year is not None:
            blocked |= ~(movies["year"] >= min_year).to_numpy()
        if genre is not None:
            blocked |= ~movies["genres"].str.split("|").map(lambda parts: genre in parts).to_numpy()
        movie_idx = self.model.movie_index(movie_ids)
        best = self.ranker.top_n(unclipped, rows, movie_idx, ratings, n,
                                 exclude=blocked[None, :])[0]
        best = best[best >= 0]
        chosen = movies.iloc[best]
        reasons = self.ranker.because(movie_idx, ratings, best)
        known = movie_idx >= 0
        titles = np.full(len(movie_ids), "", dtype=object)  # the profile's, looked up once
        titles[known] = movies["title"].iloc[movie_idx[known]].astype(str).to_numpy()
        return pd.DataFrame({
            "rank": np.arange(1, len(best) + 1),
            "movieId": chosen.index.to_numpy(),
            "title": chosen["title"].astype(str).to_numpy(),
            "year": chosen["year"].astype("Int64").to_numpy(),
            "genres": chosen["genres"].to_numpy(),
            "predicted_rating": np.round(np.clip(
                unclipped[0, self.ranker.items.positions(best)], RATING_MIN, RATING_MAX), 2),
            "tmdb_url": [self.catalog.tmdb_url(movie) for movie in chosen.index],
            "imdb_url": [self.catalog.imdb_url(movie) for movie in chosen.index],
            "because": [because_text(titles[entries], ratings[entries]) for entries in reasons],
            "overview": chosen["overview"].to_numpy(),
        })


def because_text(titles: np.ndarray, ratings: np.ndarray) -> str:
    """"because you rated Heat (1995) 4.5 and Ronin (1998) 4", or why there is no such reason."""
    if len(titles) == 0:
        return "popular with MovieLens users"
    rated = [f"{title} {rating:g}" for title, rating in zip(titles, ratings, strict=True)]
    return "because you rated " + " and ".join(rated)


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
             + f"       {row.because}\n"
             + (f"       {row.overview}\n" if row.overview else "")
             + f"       {row.tmdb_url}  {row.imdb_url}".rstrip() for row in frame.itertuples()]
    return "\n".join(lines) + "\n"


def onboarding_movies(recommender: Recommender, settings: RecommendParams,
                      recognisable: int = 500) -> list[int]:
    """Phase 1's list: for each of the most common genres, well-known movies of different
    decades (each the genre's most rated of its decade, among the ``recognisable`` most rated
    movies, starting from another decade for each genre), plus random popular ones."""
    movies = recommender.catalog.movies.assign(count=recommender.model.items_.movie_count)
    recent = movies[(movies["year"] >= settings.min_year) & (movies["count"] > 0)]
    known = recent.sort_values("count", ascending=False, kind="stable").head(recognisable)
    known = known.assign(decade=(known["year"] // 10 * 10).astype(int))
    decades = sorted(known["decade"].unique())
    genres = recent["genres"].str.split("|").explode()
    top_genres = genres[genres != ""].value_counts().head(settings.onboarding_genres).index
    chosen: list[int] = []
    for number, genre in enumerate(top_genres):
        in_genre = known[known["genres"].str.split("|").map(lambda parts, g=genre: g in parts)
                         & ~known.index.isin(chosen)]
        best = in_genre.drop_duplicates("decade")  # the most rated of each decade
        turn = (best["decade"].map(decades.index) - number) % len(decades)
        chosen += best.assign(turn=turn.to_numpy()).sort_values("turn", kind="stable").index[
            : settings.per_genre].tolist()
    popular = known[~known.index.isin(chosen)].head(300)
    rng = np.random.default_rng(settings.seed)
    extras = rng.choice(popular.index.to_numpy(), size=min(settings.random_extras, len(popular)),
                        replace=False)
    return chosen + [int(movie) for movie in extras]


def open_recommender(model_path: Path, rank_model_path: Path, lock: Path, allow_untracked: bool,
                     data_dir: Path, tmdb_cache: Path | None, rank: RankParams) -> Recommender:
    """The pipeline's rating and ranking models, refused if dvc.lock records other bytes, with
    the catalogue; says on stderr which model it is."""
    md5 = check_provenance(model_path, lock, allow_untracked)
    check_provenance(rank_model_path, lock, allow_untracked, kind="ranking model")
    model = load_model(model_path)
    rank_model = RankModel.load(rank_model_path).for_movies(model.movie_ids_, rank_model_path)
    print(describe_model(model_path, md5, model_path.parent / MLFLOW_RECORD.name,
                         project_root()), file=sys.stderr)
    return Recommender(model, Ranker.of(rank_model, model, rank),
                       Catalog.load(data_dir, model, tmdb_cache))
