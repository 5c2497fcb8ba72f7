"""Choose the ranking's params on the validation split (never on the test split).

    python benchmarks/tune_ranking.py --iterations 400          # after `dvc repro`

The validation split is the ``validate`` stage's (``movierec.evaluation.validation``), drawn
``--splits`` times with the seeds ``validation.seed``, +1, ...: on each, the rating model is fitted
once on its fit set, the ranking model once per ``--fits`` entry (item-model penalties,
``rank.liked_exponent``, ``similar.exponent``). For the known users' validation targets and for
the validation new users at every profile size and order, the rank score's terms
(:class:`movierec.ranking.lists.Ranker`) are computed once; a random search then moves the rank
weights (``rank.large_profile``, the weight pairs, ``rank.candidates``,
``rank.calibration_weight``): a pair moves at one end, at both, or around one setting's median
profile size (:func:`pivoted`), and a new ``rank.large_profile`` keeps every weight at the
smallest and largest settings' sizes (:func:`rescaled`). A setting scores its NDCG@k over the
best EASE peer's on the same setting and split (EASE on who rated and on who liked what, each at
its best of ``--ease-penalties`` for that setting), averaged over the splits; the search
maximises the worst setting's ratio (or, with ``--new-user-floor F``, the known users' ratio while
every new-user setting's stays at F or above) while the known users' catalogue coverage stays at
``--min-coverage`` or above and the lists stay personal: on each split and on the model of the
whole training split, the opposite profiles of ``tests/stages/test_recommend.py`` (a horror fan
who hates romance and the reverse) get lists led by their genre.
It prints every improvement and, last, the params to put in params.yaml; with
``--check-splits M``, then the start's and the chosen params' objective on M further splits
that the search never saw (how much of its gain is fitted to the splits it searched on).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stages"))
from movierec.data.movielens import load_movies, load_tags  # noqa: E402
from movierec.evaluation.metrics import coverage, ranking_metrics  # noqa: E402
from movierec.evaluation.newuser import ORDERS, draw  # noqa: E402
from movierec.evaluation.ranking import ranking_users, relevant_sets  # noqa: E402
from movierec.evaluation.refit import refit  # noqa: E402
from movierec.evaluation.validation import validation_split  # noqa: E402
from movierec.features.movie_features import MovieFeatures  # noqa: E402
from movierec.params import RankParams, read_params  # noqa: E402
from movierec.ranking.item_model import (  # noqa: E402
    covered_movies,
    covered_positions,
    ease_weights,
    gram,
)
from movierec.ranking.lists import (  # noqa: E402
    RankComponents,
    Ranker,
    liked_matrix,
    mask_and_select,
    row_sets,
)
from movierec.ranking.model import fit_rank_model  # noqa: E402

WEIGHTS = ("disliked_weight", "liked_weight", "liked_plain_weight", "rating_weight",
           "popularity_weight", "co_rating_weight", "walk_weight", "rerank_weight")
STEP = {"disliked_weight": 0.15, "liked_weight": 0.1, "liked_plain_weight": 1.0,
        "rating_weight": 0.002,
        "popularity_weight": 0.002, "co_rating_weight": 0.03, "walk_weight": 0.1,
        "rerank_weight": 0.1}
CANDIDATES = (30, 50, 100, 150, 200)
OPPOSITE = (("Horror", "Romance"), ("Romance", "Horror"))  # tests/stages/test_recommend.py


@dataclass
class Setting:
    """One validation setting: its profiles, relevant movies and rank-score terms."""

    name: str
    rows: np.ndarray
    movie_idx: np.ndarray
    ratings: np.ndarray
    relevant: list[set[int]]
    parts: dict[tuple[float, ...], RankComponents]


def settings(params, fitted, rankers, fit: pd.DataFrame, newusers: pd.DataFrame,
             targets: pd.DataFrame) -> list[Setting]:
    """The known users and the new users at every profile size and order."""
    model, rank = fitted.model, params.rank
    found = []
    users = ranking_users(targets, model, rank, params.split.seed)
    seen = fit[fit["userId"].isin(users)]
    rows = np.searchsorted(users, seen["userId"].to_numpy())
    movie_idx = model.movie_index(seen["movieId"].to_numpy())
    ratings = seen["rating"].to_numpy(dtype=float)
    covered = next(iter(rankers.values())).items.movies  # (the rankers share one item model)
    predicted = model.score_matrix(model.users_, model.user_index(users), clip=False,
                                   movies=covered)
    found.append(Setting("known", rows, movie_idx, ratings,
                         relevant_sets(targets, model, users, rank.relevant_rating),
                         {key: ranker.components(predicted, rows, movie_idx, ratings)
                          for key, ranker in rankers.items()}))
    for order in ORDERS:
        rng = np.random.default_rng(params.newuser.seed)
        for size in params.newuser.profile_sizes:
            profiles = draw(newusers, order, size, rng)
            profile = profiles.profile
            movie_idx = model.movie_index(profile["movieId"].to_numpy())
            ratings = profile["rating"].to_numpy(dtype=float)
            evidence = model.profiles_evidence(profiles.profile_row, profile["movieId"].to_numpy(),
                                               ratings, profiles.n_users)
            predicted = model.score_matrix(evidence, np.arange(profiles.n_users), clip=False,
                                           movies=covered)
            target = profiles.target
            relevant = row_sets(liked_matrix(
                profiles.target_row, model.movie_index(target["movieId"].to_numpy()),
                target["rating"].to_numpy(), profiles.n_users, len(model.movie_ids_),
                rank.relevant_rating))
            found.append(Setting(f"{order}.k{size}", profiles.profile_row, movie_idx, ratings,
                                 relevant,
                                 {key: ranker.components(predicted, profiles.profile_row,
                                                         movie_idx, ratings)
                                  for key, ranker in rankers.items()}))
    return found


def ease_references(fit: pd.DataFrame, model, rank: RankParams, found: list[Setting],
                    penalties: tuple[float, ...]) -> dict[str, float]:
    """Per setting, the best NDCG@k of the EASE peers over ``penalties``: on who rated what and
    on who liked what (as ``benchmarks/peers.py`` fits them), each with its best penalty for
    that very setting (an optimistic reference)."""
    n_movies = len(model.movie_ids_)
    user_idx = np.unique(fit["userId"].to_numpy(), return_inverse=True)[1]
    movie_idx = model.movie_index(fit["movieId"].to_numpy())
    covered = covered_movies(np.bincount(movie_idx, minlength=n_movies), rank)
    column = covered_positions(covered, n_movies)
    kept = column[movie_idx] >= 0
    liked = kept & (fit["rating"].to_numpy() >= rank.relevant_rating)
    grams = {"rated": gram(user_idx[kept], column[movie_idx[kept]], user_idx.max() + 1,
                           len(covered)),
             "liked": gram(user_idx[liked], column[movie_idx[liked]], user_idx.max() + 1,
                           len(covered))}
    best: dict[str, float] = {}
    for kind, matrix in grams.items():
        for penalty in penalties:
            weights = ease_weights(matrix, penalty)
            for s in found:
                position = np.where(s.movie_idx >= 0, column[np.maximum(s.movie_idx, 0)], -1)
                use = (position >= 0) & ((s.ratings >= rank.relevant_rating) | (kind == "rated"))
                inputs = sparse.csr_matrix((np.ones(use.sum()), (s.rows[use], position[use])),
                                           shape=(len(s.relevant), len(covered)))
                scores = np.full((len(s.relevant), n_movies), -np.inf)
                scores[:, covered] = np.asarray(inputs @ weights)
                lists = mask_and_select(scores, s.rows, s.movie_idx, rank.k)
                ndcg = ranking_metrics(lists, s.relevant, rank.k)[f"ndcg_at_{rank.k}"]
                best[s.name] = max(best.get(s.name, 0.0), ndcg)
    return best


def evaluate(ranker: Ranker, setting: Setting, key, rank: RankParams) -> tuple[float, float]:
    """NDCG@k and catalogue coverage of one setting's lists under ``rank``."""
    lists = ranker.lists(setting.parts[key], setting.rows, setting.movie_idx, rank.k, params=rank)
    return (ranking_metrics(lists, setting.relevant, rank.k)[f"ndcg_at_{rank.k}"],
            coverage(lists, len(ranker.items.movies)))


def opposite_profiles(fitted, rankers, genres: pd.Series) -> dict:
    """The rank-score terms of the opposite profiles of the recommend tests (a fan of one genre's
    25 most rated movies who gave 1 star to another's), per ranking model; and the genre sets."""
    model = fitted.model
    genre_sets = genres.str.split("|").map(set).to_numpy()
    counts = model.items_.movie_count
    found = {}
    for liked, disliked in OPPOSITE:
        movie_idx, ratings = [], []
        for genre, rating in ((liked, 5.0), (disliked, 1.0)):
            members = np.flatnonzero([genre in g for g in genre_sets])
            chosen = members[np.lexsort((members, -counts[members]))][:25]
            movie_idx += chosen.tolist()
            ratings += [rating] * len(chosen)
        movie_idx, ratings = np.array(movie_idx), np.array(ratings)
        rows = np.zeros(len(movie_idx), dtype=int)
        evidence = model.profiles_evidence(rows, model.movie_ids_[movie_idx], ratings, 1)
        predicted = model.score_matrix(evidence, np.zeros(1, dtype=int), clip=False,
                                       movies=next(iter(rankers.values())).items.movies)
        found[(liked, disliked)] = (rows, movie_idx, {
            key: ranker.components(predicted, rows, movie_idx, ratings)
            for key, ranker in rankers.items()})
    return {"profiles": found, "genres": genre_sets}


def personal(opposite: dict, ranker: Ranker, key, rank: RankParams) -> bool:
    """The recommend test's condition: each fan's top 10 holds their genre at least twice as often
    as the listable movies do, the other genre less often, and the two lists share no movie."""
    genre_sets = opposite["genres"]
    listable = genre_sets[ranker.items.movies]
    lists, passed = [], True
    for (liked, disliked), (rows, movie_idx, parts) in opposite["profiles"].items():
        top = ranker.lists(parts[key], rows, movie_idx, 10, params=rank)[0]
        top = top[top >= 0]

        def share(movies, genre):
            return np.mean([genre in g for g in movies])
        passed &= share(genre_sets[top], liked) >= 2 * share(listable, liked)
        passed &= share(genre_sets[top], disliked) < share(listable, disliked)
        lists.append(set(top.tolist()))
    return bool(passed and lists[0].isdisjoint(lists[1]))


def with_key(rank: RankParams, key: tuple[float, ...]) -> RankParams:
    """``rank`` with the fitted-model params of a ``--fits`` entry."""
    return replace(rank, rated_penalty=key[0], liked_penalty=key[1], liked_exponent=key[2],
                   liked_plain_penalty=key[4], walk_exponent=key[5])


def ranker_of(key: tuple[float, ...], params, fit: pd.DataFrame, fitted) -> Ranker:
    """The ranker of one ``--fits`` entry on ``fit``, beside ``fitted``'s rating model."""
    rank = with_key(params.rank, key)
    similar = replace(params.similar, exponent=key[3])
    return Ranker.of(fit_rank_model(fit, fitted.model.movie_ids_, rank, similar), fitted.model,
                     rank)


def pivoted(pair: tuple[float, float], step: float, pivot: float | None) -> tuple[float, float]:
    """A weight pair changed along a line that is 0 at ``g = pivot`` (the profile-size share of
    :meth:`Ranker.weights`; 0 moves only the large-profile end, 1 only the one-rating end) and
    ``step`` at the end farther from it; ``None`` moves both ends by ``step``."""
    small, large = pair
    if pivot is None:
        return small + step, large + step
    if pivot < 0.5:
        return small - step * pivot / (1 - pivot), large + step
    return small + step, large - step * (1 - pivot) / pivot


def rescaled(rank: RankParams, large_profile: float, sizes: list[float]) -> dict:
    """``rank.large_profile`` changed to ``large_profile`` with every weight pair refitted so
    each weight stays the same at the smallest and the largest of ``sizes``."""
    low, high = min(sizes), max(sizes)
    old = np.array([low, high]) / (np.array([low, high]) + rank.large_profile)
    new = np.array([low, high]) / (np.array([low, high]) + large_profile)
    changes: dict = {"large_profile": large_profile}
    for name in WEIGHTS:
        small, large = getattr(rank, name)
        at = small + (large - small) * old  # the weight at the two sizes
        slope = (at[1] - at[0]) / (new[1] - new[0])
        changes[name] = (float(at[0] - slope * new[0]), float(at[0] + slope * (1 - new[0])))
    return changes


def chosen_params(key, rank: RankParams) -> str:
    """The params.yaml values of a setting, as one JSON line."""
    chosen = {name: getattr(rank, name) for name in
              ("rated_penalty", "liked_penalty", "large_profile", "candidates",
               "calibration_weight", *WEIGHTS)}
    chosen["liked_exponent"] = key[2]
    chosen["similar.exponent"] = key[3]
    chosen["liked_plain_penalty"] = key[4]
    chosen["walk_exponent"] = key[5]
    return json.dumps({name: [round(x, 5) for x in value] if isinstance(value, tuple)
                       else round(value, 5) for name, value in chosen.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--iterations", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fits",
                        help="ranking models to try, comma-separated rated_penalty:liked_penalty:"
                             "liked_exponent:similar.exponent:liked_plain_penalty:walk_exponent (each is "
                             "fitted once; default: the params file's)")
    parser.add_argument("--ease-penalties", default="200,500,2000,10000",
                        help="penalties of the EASE references (the best counts, per setting)")
    parser.add_argument("--min-coverage", type=float, default=0.22)
    parser.add_argument("--personal-penalty", type=float, default=0.05,
                        help="subtracted from the objective for each split whose opposite "
                             "profiles are not personal (0: ignore them)")
    parser.add_argument("--new-user-floor", type=float,
                        help="maximise the known users' ratio instead, while every new-user "
                             "setting's stays at this or above (default: the worst setting's)")
    parser.add_argument("--splits", type=int, default=3,
                        help="validation splits (validation.seed, +1, ...) averaged over")
    parser.add_argument("--check-splits", type=int, default=0,
                        help="further validation splits (the seeds after those searched on), "
                             "never searched on: the start's and the chosen params' objective "
                             "and NDCG per setting on them, to show how much of a gain is fitted "
                             "to the searched splits")
    args = parser.parse_args()
    params = read_params(args.params)
    data_dir = ROOT / "data" / "raw" / params.data.variant
    train = pd.read_parquet(ROOT / "data" / "prepared" / "train.parquet",
                            columns=["userId", "movieId", "rating", "timestamp"])
    features = MovieFeatures.load(ROOT / "data" / "features")
    movies, tags = load_movies(data_dir), load_tags(data_dir)
    rank = params.rank
    fits = args.fits or (f"{rank.rated_penalty}:{rank.liked_penalty}:{rank.liked_exponent}:"
                         f"{params.similar.exponent}:{rank.liked_plain_penalty}:{rank.walk_exponent}")
    pairs = [tuple(float(x) for x in fit_.split(":")) for fit_ in fits.split(",")]
    penalties = tuple(float(x) for x in args.ease_penalties.split(","))

    def validation_group(split: int, keys: list[tuple]) -> tuple:
        """Validation split ``split`` (seed validation.seed + split): the rankers of ``keys``,
        the settings, the best EASE peer's NDCG per setting and the opposite profiles."""
        validation = replace(params.validation, seed=params.validation.seed + split)
        fit, newusers, targets = validation_split(train, validation)
        fit = fit[["userId", "movieId", "rating"]]
        print(f"split {split}: refitting ...", file=sys.stderr, flush=True)
        fitted = refit(params, fit, features, movies, tags)
        rankers = {key: ranker_of(key, params, fit, fitted) for key in keys}
        found = settings(params, fitted, rankers, fit, newusers, targets)
        ease = ease_references(fit, fitted.model, params.rank, found, penalties)
        print(f"split {split}, best EASE: "
              + " ".join(f"{name}={value:.3f}" for name, value in ease.items()), flush=True)
        return rankers, found, ease, opposite_profiles(fitted, rankers, features.movies["genres"])

    # per split: its rankers, settings and the best EASE peer's NDCG per setting
    splits = [validation_group(split, pairs) for split in range(args.splits)]
    # the recommend test's own setting: the opposite profiles on the model of the whole training
    # split (no test rating is read), a constraint rather than a score
    print("whole training split: refitting ...", file=sys.stderr, flush=True)
    whole = train[["userId", "movieId", "rating"]]
    fitted = refit(params, whole, features, movies, tags)
    whole_rankers = {key: ranker_of(key, params, whole, fitted) for key in pairs}
    whole_opposite = opposite_profiles(fitted, whole_rankers, features.movies["genres"])

    def objective(key, rank: RankParams, groups: list[tuple] = splits
                  ) -> tuple[float, dict, int]:
        """The worst setting's NDCG over EASE's (each a mean over the splits; or the known
        users', less a penalty for new users below --new-user-floor), less a penalty for known
        users' coverage below --min-coverage; the mean NDCG, coverage and ratio per setting; and
        on how many of the splits the opposite profiles' lists are personal."""
        results, personal_lists = {}, 0
        for rankers, found, ease, opposite in groups:
            for s in found:
                ndcg, cover = evaluate(rankers[key], s, key, rank)
                results.setdefault(s.name, []).append((ndcg, cover, ndcg / ease[s.name]))
            personal_lists += personal(opposite, rankers[key], key, rank)
        results = {name: tuple(np.mean(values, axis=0)) for name, values in results.items()}
        worst = min(ratio for _, _, ratio in results.values())
        if args.new_user_floor is not None:
            new_users = min(ratio for name, (_, _, ratio) in results.items() if name != "known")
            worst = results["known"][2] - 5.0 * max(0.0, args.new_user_floor - new_users)
        shortfall = max(0.0, args.min_coverage - results["known"][1])
        penalty = args.personal_penalty * (len(groups) - personal_lists)
        if not personal(whole_opposite, whole_rankers[key], key, rank):
            penalty += 1.0
        return worst - 5.0 * shortfall - penalty, results, personal_lists

    # the median profile size of each setting: the search can change a weight while keeping it
    # where one setting's profiles are
    sizes = sorted({float(np.median(np.bincount(s.rows))) for s in splits[0][1]})
    rng = np.random.default_rng(args.seed)
    best_key, best = pairs[0], params.rank
    best_value, *_ = objective(best_key, best)
    print(f"start: objective {best_value:.4f}", flush=True)
    for iteration in range(args.iterations):
        key = pairs[rng.integers(len(pairs))] if rng.random() < 0.2 else best_key
        changes = {}
        for name in rng.choice(WEIGHTS, size=rng.integers(1, 3), replace=False):
            # a change of the weight that keeps it at one setting's profile size (or none)
            pivots = [None, 0.0, 1.0, *(n / (n + best.large_profile) for n in sizes)]
            changes[name] = pivoted(getattr(best, name), rng.normal() * STEP[name],
                                    pivots[rng.integers(len(pivots))])
        if rng.random() < 0.2:
            changes |= rescaled(best, float(np.clip(
                best.large_profile * np.exp(rng.normal() * 0.3), 5, 500)), sizes)
        if rng.random() < 0.1:
            changes["candidates"] = int(rng.choice(CANDIDATES))
        if rng.random() < 0.1:
            changes["calibration_weight"] = float(np.clip(best.calibration_weight
                                                          + rng.normal() * 0.1, 0, 1))
        candidate = replace(with_key(best, key), **changes)
        value, results, _ = objective(key, candidate)
        if value > best_value:
            best_key, best, best_value = key, candidate, value
            print(f"{iteration}: objective {value:.4f}  " + " ".join(
                f"{name}={ndcg:.3f}" for name, (ndcg, *_) in results.items())
                + f"  coverage={results['known'][1]:.3f}", flush=True)
            print(chosen_params(best_key, best), flush=True)
    print(chosen_params(best_key, best))
    if args.check_splits:
        keys = list(dict.fromkeys([pairs[0], best_key]))
        held_out = [validation_group(split, keys)
                    for split in range(args.splits, args.splits + args.check_splits)]
        for name, key, rank in (("start", pairs[0], params.rank), ("chosen", best_key, best)):
            value, results, personal_lists = objective(key, rank, held_out)
            print(f"held-out splits, {name}: objective {value:.4f}  " + " ".join(
                f"{setting}={ndcg:.3f} ({ratio:.3f} of EASE)"
                for setting, (ndcg, _, ratio) in results.items())
                + f"  coverage={results['known'][1]:.3f}  personal on {personal_lists} of "
                f"{len(held_out)}", flush=True)


if __name__ == "__main__":
    main()
