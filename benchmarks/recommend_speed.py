"""Recommend speed: model loading and a recommendation refresh for a profile.

    python benchmarks/recommend_speed.py                    # the bundled data's tracked model
    python benchmarks/recommend_speed.py --movies 86537     # also a model over 86k movies

The first part times what ``stages/recommend.py`` does on the pipeline's model: loading (model
and catalogue) and refreshing the top 10 for a 20-rating profile (targets: loading <= 2 s,
refresh <= 200 ms). With ``--movies N`` it also fits a model on generated MovieLens-shaped data
with N movies (ml-latest has 86,537), with the committed params, and times the same refresh
there (target <= 50 ms). Times are
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stages"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from generate import FULL, generate  # noqa: E402

from movierec.data.movielens import load_movies, load_ratings, load_tags  # noqa: E402
from movierec.features.movie_features import build_movie_features  # noqa: E402
from movierec.model.estimator import RatingModel, load_model  # noqa: E402
from movierec.params import as_dict, read_params  # noqa: E402
from movierec.paths import raw_data_dir  # noqa: E402
from movierec.ranking.lists import Ranker  # noqa: E402
from movierec.ranking.model import RankModel, fit_rank_model  # noqa: E402
from movierec.recommend.catalog import Catalog  # noqa: E402
from movierec.recommend.profiles import Profile  # noqa: E402
from movierec.recommend.recommender import Recommender  # noqa: E402


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
    parser.add_argument("--rank-model", type=Path, default=ROOT / "models" / "rank_model.npz")
    parser.add_argument("--movies", type=int, default=0,
                        help="also time a model over this many generated movies")
    parser.add_argument("--ratings", type=int, default=860_269,
                        help="ratings of the generated data set")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    params = read_params(ROOT / "params.yaml")

    start = time.perf_counter()
    model = load_model(args.model)
    rank_model = RankModel.load(args.rank_model).for_movies(model.movie_ids_, args.rank_model)
    recommender = Recommender(model, Ranker.of(rank_model, model, params.rank),
                              Catalog.load(ROOT / raw_data_dir(params.data.variant), model))
    loading = time.perf_counter() - start
    print(f"bundled data ({len(model.movie_ids_)} movies): loading {loading:.2f} s (target <= 2 s)")
    report("bundled data", *time_refresh(recommender, args.repeats), target=0.2)

    if args.movies:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"generating {args.movies} movies and fitting a model ...", flush=True)
            data = Path(tmp)
            generate(data, scale=args.ratings / FULL["ratings"], seed=1, movies=args.movies)
            ratings = load_ratings(data)
            features = build_movie_features(load_movies(data), load_tags(data), ratings,
                                            params.features.max_features, min_df=1)
            big = RatingModel(**as_dict(params.train)).fit(ratings, features)
            big_rank = fit_rank_model(ratings, big.movie_ids_, params.rank, params.similar)
            big_recommender = Recommender(big, Ranker.of(big_rank, big, params.rank),
                                          Catalog.load(data, big))
            report(f"{args.movies} movies, {len(ratings)} ratings",
                   *time_refresh(big_recommender, args.repeats), target=0.05)


if __name__ == "__main__":
    main()
