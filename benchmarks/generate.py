"""Deterministic MovieLens-shaped data (ml-latest's files and columns) at any scale.

    python benchmarks/generate.py --out /tmp/ml-gen --scale 1.0     # ml-latest size: 33.8M ratings

Movie popularity and user activity are long-tailed; genres are MovieLens' own vocabulary, tags
come from a long-tailed vocabulary; ratings are half stars driven by hidden user and movie biases
and factors (movie factors lean on the movie's genres), so there is signal to learn. The same
arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary",
          "Drama", "Fantasy", "Film-Noir", "Horror", "IMAX", "Musical", "Mystery", "Romance",
          "Sci-Fi", "Thriller", "War", "Western"]
# ml-latest (2023 release): 86,537 movies, 33,832,162 ratings, 2,328,315 tags, 330,975 users
FULL = {"movies": 86_537, "ratings": 33_832_162, "tags": 2_328_315, "users": 330_975}
FACTORS = 8
CHUNK = 4_000_000


def zipf_weights(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Long-tailed probabilities of ``n`` items, in random item order."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.permutation(weights / weights.sum())


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    table = pa.table(columns)
    options = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(table, path, write_options=options)


def user_activity(n_users: int, n_ratings: int, n_movies: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: log-normal (median ~1/3 of the mean), at least 1, at most 30% of movies,
    summing to exactly ``n_ratings``."""
    weights = rng.lognormal(0.0, 1.4, n_users)
    cap = max(int(0.3 * n_movies), 1)
    if cap * n_users < n_ratings:
        raise ValueError(f"{n_ratings} ratings do not fit {n_users} users rating at most {cap} "
                         f"of {n_movies} movies each")
    counts = np.clip(np.floor(weights / weights.sum() * n_ratings), 1, cap).astype(np.int64)
    while (short := n_ratings - counts.sum()) != 0:
        room = np.flatnonzero(counts < cap) if short > 0 else np.flatnonzero(counts > 1)
        chosen = rng.choice(room, size=min(abs(short), len(room)), replace=False)
        counts[chosen] += np.sign(short)
    return counts


def sample_pairs(counts: np.ndarray, movie_p: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``counts[u]`` distinct movies for each user ``u`` (by popularity), sorted by user, movie."""
    n_movies = len(movie_p)
    keys = np.empty(0, dtype=np.int64)
    missing = counts
    for attempt in range(100):
        users = np.repeat(np.arange(len(counts)), missing)
        # popularity first; the last rounds fill heavy users' lists from the long tail
        movies = (rng.choice(n_movies, size=len(users), p=movie_p) if attempt < 10
                  else rng.integers(0, n_movies, len(users)))
        new = np.sort(users * n_movies + movies)
        new = new[np.r_[True, new[1:] != new[:-1]]]
        if len(keys):
            position = np.minimum(np.searchsorted(keys, new), len(keys) - 1)
            new = new[keys[position] != new]
        keys = np.sort(np.concatenate([keys, new]), kind="stable")  # a merge of two sorted runs
        missing = counts - np.bincount(keys // n_movies, minlength=len(counts))
        if not missing.any():
            return keys // n_movies, keys % n_movies
    raise RuntimeError("could not draw distinct movies for every user")


def generate(out: Path, scale: float, seed: int, movies: int | None = None) -> dict[str, int]:
    """Write movies, ratings, tags and links CSVs for ``scale`` x ml-latest into ``out``
    (``movies`` overrides the size of the catalogue)."""
    rng = np.random.default_rng(seed)
    # catalogues shrink slower than activity, so that small scales keep users' lists realistic
    n_movies = movies or max(int(FULL["movies"] * (scale ** 0.5 if scale < 1 else scale)), 50)
    n_users = max(int(FULL["users"] * scale), 50)
    n_ratings = max(int(FULL["ratings"] * scale), 1000)
    n_tags = max(int(FULL["tags"] * scale), 100)
    out.mkdir(parents=True, exist_ok=True)

    # movies: 1-4 genres each (~3% with none), a release year, hidden bias and factors
    movie_ids = np.sort(rng.choice(np.arange(1, n_movies * 3), size=n_movies, replace=False))
    genre_p = zipf_weights(len(GENRES), 0.8, rng)
    n_genres = rng.choice([0, 1, 2, 3, 4], size=n_movies, p=[0.03, 0.35, 0.35, 0.2, 0.07])
    genre_sets = [np.sort(rng.choice(len(GENRES), size=k, replace=False, p=genre_p))
                  for k in n_genres]
    genre_text = ["|".join(GENRES[g] for g in gs) if len(gs) else "(no genres listed)"
                  for gs in genre_sets]
    years = np.clip(np.round(2018 - rng.exponential(18, n_movies)), 1900, 2018).astype(int)
    titles = np.char.add(np.char.add("Movie ", movie_ids.astype(str)),
                         np.char.add(" (", np.char.add(years.astype(str), ")")))
    write_csv(out / "movies.csv", {"movieId": movie_ids, "title": titles, "genres": genre_text})
    genre_loadings = rng.normal(0, 0.5, (len(GENRES), FACTORS))
    movie_factors = rng.normal(0, 0.25, (n_movies, FACTORS))
    for k, gs in enumerate(genre_sets):
        if len(gs):
            movie_factors[k] += genre_loadings[gs].mean(axis=0)
    movie_bias = rng.normal(0, 0.45, n_movies)
    user_bias = rng.normal(0, 0.4, n_users)
    user_factors = rng.normal(0, 0.35, (n_users, FACTORS))

    # ratings: long-tailed activity and popularity; users rated in time order
    counts = user_activity(n_users, n_ratings, n_movies, rng)
    movie_p = zipf_weights(n_movies, 1.15, rng)
    users, movies = sample_pairs(counts, movie_p, rng)
    rating = np.empty(n_ratings, dtype=np.float64)
    for start in range(0, n_ratings, CHUNK):
        u, m = users[start:start + CHUNK], movies[start:start + CHUNK]
        value = (3.5 + user_bias[u] + movie_bias[m]
                 + np.einsum("ij,ij->i", user_factors[u], movie_factors[m])
                 + rng.normal(0, 0.75, len(u)))
        rating[start:start + CHUNK] = np.clip(np.round(value * 2) / 2, 0.5, 5.0)
    first_day = rng.integers(820_454_400, 1_537_000_000, n_users)  # 1996 .. 2018
    timestamp = first_day[users] + rng.integers(0, 86_400 * 30, n_ratings)
    write_csv(out / "ratings.csv", {"userId": (users + 1).astype(np.int32),
                                    "movieId": movie_ids[movies].astype(np.int32),
                                    "rating": rating, "timestamp": timestamp})
    del users, movies, rating, timestamp

    # tags: popular movies get more, words from a long-tailed vocabulary, some two-word tags
    vocabulary = np.char.add("word", np.arange(max(n_tags // 40, 50)).astype(str))
    word_p = zipf_weights(len(vocabulary), 1.1, rng)
    tag_movies = rng.choice(n_movies, size=n_tags, p=movie_p)
    first, second = rng.choice(len(vocabulary), size=(2, n_tags), p=word_p)
    tag = np.where(rng.random(n_tags) < 0.3,
                   np.char.add(np.char.add(vocabulary[first], " "), vocabulary[second]),
                   vocabulary[first])
    tag_users = rng.choice(n_users, size=n_tags, p=counts / counts.sum())
    order = np.lexsort((tag_movies, tag_users))
    write_csv(out / "tags.csv", {"userId": (tag_users[order] + 1).astype(np.int32),
                                 "movieId": movie_ids[tag_movies[order]].astype(np.int32),
                                 "tag": tag[order],
                                 "timestamp": rng.integers(1_137_000_000, 1_537_000_000, n_tags)})
    # links: zero-padded IMDb ids as text, a few movies without a TMDB id
    tmdb = np.where(rng.random(n_movies) < 0.01, None, movie_ids * 7 + 3)
    write_csv(out / "links.csv", {"movieId": movie_ids,
                                  "imdbId": np.char.zfill(movie_ids.astype(str), 7),
                                  "tmdbId": pa.array(tmdb, type=pa.int64())})
    return {"movies": n_movies, "users": n_users, "ratings": n_ratings, "tags": n_tags}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the CSVs to")
    parser.add_argument("--scale", type=float, default=1.0, help="share of ml-latest's size")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 0 < args.scale <= 4:
        parser.error(f"--scale {args.scale}: use a share of ml-latest's size in (0, 4]")
    start = time.perf_counter()
    counts = generate(args.out, args.scale, args.seed)
    print(f"{args.out}: {counts['ratings']:,} ratings by {counts['users']:,} users of "
          f"{counts['movies']:,} movies, {counts['tags']:,} tags "
          f"in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
