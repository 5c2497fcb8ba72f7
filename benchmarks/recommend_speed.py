"""Recommend speed: model loading and a recommendation refresh for a profile.

    python benchmarks/recommend_speed.py                    # the bundled data's tracked model
    python benchmarks/recommend_speed.py --movies 86537     # also a model over 86k movies

The first part times what ``stages/recommend.py`` does on the pipeline's model: loading (model
and catalogue) and refreshing the top 10 for a 20-rating profile (targets: loading <= 2 s,
refresh <= 200 ms). With ``--movies N`` it also fits a model on generated MovieLens-shaped data
with N movies (ml-latest has 86,537) and times the same refresh there (target <= 1 s). Times are
medians of ``--repeats`` runs; the reference printed beside them is a plain ``numpy`` argsort of
the same number of scores, measured in the same run, so shared-machine noise shows in both.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stages"))
GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
          "Thriller", "War", "Western"]

from features import build_movie_features  # noqa: E402
from model import RatingModel  # noqa: E402
from movielens import load_movies, load_ratings, load_tags  # noqa: E402
from params import data_dir, read_params  # noqa: E402
from profiles import Profile  # noqa: E402
from recommend import Catalog, Recommender  # noqa: E402


def generate_movielens(directory: Path, n_users: int, n_movies: int, n_ratings: int,
                       seed: int) -> Path:
    """A MovieLens-shaped directory: long-tailed movie popularity, biased half-star ratings."""
    rng = np.random.default_rng(seed)
    movie_ids = np.arange(1, n_movies + 1)
    genre_count = rng.integers(1, 4, n_movies)
    genre_lists = ["|".join(rng.choice(GENRES, size=c, replace=False)) for c in genre_count]
    pd.DataFrame({"movieId": movie_ids,
                  "title": [f"Movie {i} ({1930 + i % 90})" for i in movie_ids],
                  "genres": genre_lists}).to_csv(directory / "movies.csv", index=False)
    popularity = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    users = rng.integers(0, n_users, n_ratings)
    movies = rng.choice(n_movies, size=n_ratings, p=popularity / popularity.sum())
    pairs = np.unique(users.astype(np.int64) * n_movies + movies)
    users, movies = pairs // n_movies, pairs % n_movies
    rating = (3.5 + rng.normal(0, 0.4, n_users)[users] + rng.normal(0, 0.6, n_movies)[movies]
              + rng.normal(0, 0.8, len(pairs)))
    pd.DataFrame({"userId": users + 1, "movieId": movie_ids[movies],
                  "rating": np.clip(np.round(rating * 2) / 2, 0.5, 5.0),
                  "timestamp": 1_000_000_000 + np.arange(len(pairs))}).to_csv(
        directory / "ratings.csv", index=False)
    tagged = rng.choice(n_movies, size=n_movies // 4, replace=False)
    pd.DataFrame({"userId": 1, "movieId": movie_ids[tagged],
                  "tag": rng.choice(["funny", "dark", "classic", "twist", "slow"], len(tagged)),
                  "timestamp": 1}).to_csv(directory / "tags.csv", index=False)
    pd.DataFrame({"movieId": movie_ids, "imdbId": [f"{i:07d}" for i in movie_ids],
                  "tmdbId": movie_ids}).to_csv(directory / "links.csv", index=False)
    return directory


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_refresh(recommender: Recommender, repeats: int) -> tuple[float, float]:
    """Median refresh time for a 20-rating profile, and the argsort reference."""
    rng = np.random.default_rng(0)
    popular = np.argsort(-recommender.model.items_.movie_count)[:200]
    profile = Profile("bench")
    for movie in rng.choice(recommender.model.movie_ids_[popular], size=20, replace=False):
        profile.rate(int(movie), float(rng.choice(np.arange(1, 5.5, 0.5))), "rated")
    refresh = median_seconds(lambda: recommender.recommend(profile, 10), repeats)
    scores = rng.random(len(recommender.model.movie_ids_))
    reference = median_seconds(lambda: np.argsort(-scores, kind="stable"), repeats)
    return refresh, reference


def report(label: str, refresh: float, reference: float, target: float) -> None:
    print(f"{label}: refresh {refresh * 1000:.0f} ms (target <= {target * 1000:.0f} ms; "
          f"{refresh / reference:.0f}x an argsort of the same scores, {reference * 1000:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "model.joblib")
    parser.add_argument("--movies", type=int, default=0,
                        help="also time a model over this many generated movies")
    parser.add_argument("--ratings", type=int, default=1_000_000,
                        help="ratings drawn for the generated data set")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    params = read_params(ROOT / "params.yaml")

    start = time.perf_counter()
    model = joblib.load(args.model)
    recommender = Recommender(model, Catalog.load(ROOT / data_dir(params), model),
                              params["rank"])
    loading = time.perf_counter() - start
    print(f"bundled data ({len(model.movie_ids_)} movies): loading {loading:.2f} s (target <= 2 s)")
    report("bundled data", *time_refresh(recommender, args.repeats), target=0.2)

    if args.movies:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"generating {args.movies} movies and fitting a model ...", flush=True)
            data = generate_movielens(Path(tmp), n_users=5000, n_movies=args.movies,
                                      n_ratings=args.ratings, seed=1)
            ratings = load_ratings(data)
            features = build_movie_features(load_movies(data), load_tags(data), ratings,
                                            params["features"]["max_features"], min_df=1)
            big = RatingModel(**params["train"]).fit(ratings, features)
            catalog = Catalog.load(data, big)
            report(f"{args.movies} movies, {len(ratings)} ratings",
                   *time_refresh(Recommender(big, catalog, params["rank"]), args.repeats),
                   target=1.0)


if __name__ == "__main__":
    main()
