"""Peer benchmark, on exactly the project's splits and new-user profiles: rating peers (Surprise's
BaselineOnly, SVD and KNNBaseline) and ranking peers (most popular, EASE, item-kNN, implicit's
ALS), each beside our model.

Run after ``dvc repro`` (it reads the split, params and our metrics from the pipeline's outputs):

    pip install -r benchmarks/requirements-peers.txt
    python benchmarks/peers.py

Prints four Markdown tables and writes them to ``--out``: test RMSE and MAE of known users;
new-user RMSE per profile size (random order), with the users, profiles and predicted ratings
that ``stages/newuser.py`` draws from the same params; NDCG@k and coverage of known users' top-k
lists (``stages/evaluate_ranking.py``'s users, candidates and relevant movies); new users' NDCG@k
at every profile size and order (``stages/newuser.py``'s draws). Every ranking peer ranks the same
candidate movies as ours, and its hyperparameter (EASE's penalty, ALS's regularization) is
chosen on the validation split of ``stages/validate.py``, for known and for new users apart.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from implicit.als import AlternatingLeastSquares
from implicit.nearest_neighbours import CosineRecommender
from scipy import sparse
from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stages"))
from movierec.data.ids import IdLookup, factorize_sorted
from movierec.evaluation.metrics import coverage, ranking_metrics, rmse
from movierec.evaluation.newuser import ORDERS, draw, reveal_order, split_new_users
from movierec.evaluation.ranking import ranking_users, relevant_sets
from movierec.evaluation.validation import validation_split
from movierec.io import atomic_path
from movierec.model.estimator import load_model
from movierec.params import NewuserParams, Params, read_params
from movierec.ranking.item_model import covered_movies, covered_positions, ease_weights, gram
from movierec.ranking.lists import liked_matrix, mask_and_select, row_sets

PEERS = {
    "Surprise BaselineOnly (ALS user + item biases)": lambda: BaselineOnly(verbose=False),
    "Surprise SVD (50 factors, 40 epochs, reg 0.08)": lambda: SVD(
        n_factors=50, n_epochs=40, lr_all=0.007, reg_all=0.08, random_state=0),
    "Surprise KNNBaseline (item-based, pearson_baseline, k=40)": lambda: KNNBaseline(
        k=40, sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False),
}


FOLD_IN_PENALTIES = (1.0, 3.0, 10.0, 30.0)  # ridge penalties tried for the SVD fold-in


def fit_surprise(make, train: pd.DataFrame):
    """A Surprise algorithm fitted on ``train`` (userId, movieId, rating)."""
    reader = Reader(rating_scale=(0.5, 5.0))
    trainset = Dataset.load_from_df(train[["userId", "movieId", "rating"]], reader)
    return make().fit(trainset.build_full_trainset())


def predict_surprise(algorithm, pairs: pd.DataFrame) -> np.ndarray:
    """The algorithm's estimate for each (userId, movieId) row (a loop over ratings: this is the
    peer's API, not our code path)."""
    return np.array([algorithm.predict(u, i).est
                     for u, i in zip(pairs["userId"], pairs["movieId"], strict=True)])


def evaluate_peer(make, train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float, float]:
    """Fit a Surprise algorithm on ``train``; RMSE, MAE on ``test`` and seconds taken."""
    start = time.perf_counter()
    predicted = predict_surprise(fit_surprise(make, train), test)
    errors = test["rating"].to_numpy(dtype=float) - predicted
    return (float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors))),
            time.perf_counter() - start)


def newuser_profiles(train: pd.DataFrame, test: pd.DataFrame, settings: NewuserParams
                     ) -> tuple[pd.DataFrame, dict[int, tuple[pd.DataFrame, pd.DataFrame]]]:
    """The training ratings without the held-out users, and each profile size's (profiles,
    targets): the same draws as ``stages/newuser.py`` (random order) from the ``newuser`` params."""
    columns = ["userId", "movieId", "rating", "timestamp"]
    base, newusers = split_new_users(train[columns], test[columns], settings)
    rng = np.random.default_rng(settings.seed)
    draws = {}
    for size in settings.profile_sizes:
        ordered = reveal_order(newusers, "random", rng)
        shown = ordered["position"].to_numpy() < size
        draws[size] = (ordered[shown], ordered[~shown])
    return base, draws


def svd_fold_in(svd, profiles: pd.DataFrame, targets: pd.DataFrame, penalty: float) -> np.ndarray:
    """Predictions of an SVD fitted without the new users: each user's bias and factors are a
    ridge fit (``penalty``) of their profile ratings on the fixed movie biases and factors."""
    trainset = svd.trainset
    # raw movie id of each inner id (a loop over movies)
    inner_ids = IdLookup(np.array([trainset.to_raw_iid(inner) for inner in trainset.all_items()]))
    mean = trainset.global_mean

    def movie_terms(movie_ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        inner = inner_ids.positions(movie_ids.to_numpy())
        bias = np.where(inner >= 0, svd.bi[np.maximum(inner, 0)], 0.0)
        factors = np.where(inner[:, None] >= 0, svd.qi[np.maximum(inner, 0)], 0.0)
        return bias, factors

    profile_bias, profile_factors = movie_terms(profiles["movieId"])
    target_bias, target_factors = movie_terms(targets["movieId"])
    predicted = np.empty(len(targets))
    target_rows = targets.groupby("userId").indices
    for user, rows in profiles.groupby("userId").indices.items():  # a loop over users
        design = np.column_stack([np.ones(len(rows)), profile_factors[rows]])
        residual = profiles["rating"].to_numpy(dtype=float)[rows] - mean - profile_bias[rows]
        weights = np.linalg.solve(design.T @ design + penalty * np.eye(design.shape[1]),
                                  design.T @ residual)
        where = target_rows[user]
        predicted[where] = (mean + target_bias[where] + weights[0]
                            + target_factors[where] @ weights[1:])
    return np.clip(predicted, 0.5, 5.0)


def newuser_table(train: pd.DataFrame, test: pd.DataFrame, settings: NewuserParams,
                  ours: dict) -> str:
    """New-user RMSE of the peers and ours, per profile size, on the same users and profiles."""
    base, draws = newuser_profiles(train, test, settings)
    rows = {"**our model** (profile evidence)": {}, "our bias fold-in": {}, "profile mean": {}}
    for size, (profiles, targets) in draws.items():
        profile_mean = profiles.groupby("userId")["rating"].mean()
        check = rmse(targets["rating"], profile_mean[targets["userId"]].to_numpy())
        expected = ours[f"newuser.k{size}.user_mean_rmse"]
        if abs(check - expected) > 1e-5:
            sys.exit(f"error: profile-mean RMSE at k={size} is {check:.6f} here but {expected} in "
                     "metrics/newuser.json: the pipeline's outputs are stale; run `dvc repro`")
        rows["**our model** (profile evidence)"][size] = ours[f"newuser.k{size}.rmse"]
        rows["our bias fold-in"][size] = ours[f"newuser.k{size}.bias_rmse"]
        rows["profile mean"][size] = check
    print("fitting Surprise SVD without the new users ...", file=sys.stderr, flush=True)
    svd = fit_surprise(PEERS["Surprise SVD (50 factors, 40 epochs, reg 0.08)"], base)
    for penalty in FOLD_IN_PENALTIES:
        rows[f"Surprise SVD + ridge fold-in (penalty {penalty:g})"] = {
            size: rmse(targets["rating"], svd_fold_in(svd, profiles, targets, penalty))
            for size, (profiles, targets) in draws.items()}
    for name, make in PEERS.items():
        print(f"fitting {name} on training + profiles ...", file=sys.stderr, flush=True)
        rows[f"{name}, refitted with the profiles"] = {
            size: rmse(targets["rating"],
                       predict_surprise(fit_surprise(make, pd.concat([base, profiles])), targets))
            for size, (profiles, targets) in draws.items()}
    sizes = list(draws)
    largest = sizes[-1]
    lines = [f"New users: the {settings.users} users held out by `stages/newuser.py` "
             f"(`newuser.seed: {settings.seed}`), random order; RMSE on each user's other "
             "ratings. The SVD fold-in's penalty is tried on these same ratings (a grid, so its "
             "best row is optimistic).", "",
             "| model | " + " | ".join(f"k={size}" for size in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name, by_size in sorted(rows.items(), key=lambda item: item[1][largest]):
        lines.append(f"| {name} | " + " | ".join(f"{by_size[size]:.4f}" for size in sizes) + " |")
    return "\n".join(lines) + "\n"


EASE_PENALTIES = (50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0)
ALS_REGULARIZATION = (0.01, 0.1, 1.0)


@dataclass
class Profiles:
    """Profiles to rank for (``rows``, model-order ``movie_idx``, ``ratings``; ``n`` of them) and
    each one's relevant movies."""

    rows: np.ndarray
    movie_idx: np.ndarray
    ratings: np.ndarray
    n: int
    relevant: list[set[int]]

    def matrix(self, n_movies: int, threshold: float | None = None) -> sparse.csr_matrix:
        """The profiles as a binary rows x movies matrix (only ratings >= ``threshold``, if
        given)."""
        known = (self.movie_idx >= 0) & (self.ratings >= (threshold or -np.inf))
        return sparse.csr_matrix((np.ones(known.sum()), (self.rows[known], self.movie_idx[known])),
                                 shape=(self.n, n_movies))


def known_profiles(model, train: pd.DataFrame, test: pd.DataFrame, params: Params) -> Profiles:
    """evaluate_ranking's users: their training ratings, and their relevant test movies."""
    users = ranking_users(test, model, params.rank, params.split.seed)
    seen = train[train["userId"].isin(users)]
    return Profiles(np.searchsorted(users, seen["userId"].to_numpy()),
                    model.movie_index(seen["movieId"].to_numpy()),
                    seen["rating"].to_numpy(dtype=float), len(users),
                    relevant_sets(test, model, users, params.rank.relevant_rating))


def new_profiles(model, newusers: pd.DataFrame, settings: NewuserParams,
                 relevant_rating: float) -> dict[str, Profiles]:
    """The new-user stage's draws at every order and profile size."""
    found = {}
    for order in ORDERS:
        rng = np.random.default_rng(settings.seed)
        for size in list(settings.profile_sizes) + list(settings.profile_shares):
            drawn = draw(newusers, order, size, rng)
            if size not in settings.profile_sizes:
                continue
            profile, target = drawn.profile, drawn.target
            relevant = row_sets(liked_matrix(
                drawn.target_row, model.movie_index(target["movieId"].to_numpy()),
                target["rating"].to_numpy(), drawn.n_users, len(model.movie_ids_),
                relevant_rating))
            found[f"{order}.k{size}"] = Profiles(
                drawn.profile_row, model.movie_index(profile["movieId"].to_numpy()),
                profile["rating"].to_numpy(dtype=float), drawn.n_users, relevant)
    return found


class RankingPeers:
    """Most popular, EASE, item-kNN and ALS fitted on ``train`` over ``model``'s movies; each
    ranks the movies the item model would cover (``covered``)."""

    def __init__(self, model, train: pd.DataFrame, params: Params) -> None:
        self.n_movies = len(model.movie_ids_)
        user_idx, _ = factorize_sorted(train["userId"].to_numpy())
        movie_idx = model.movie_index(train["movieId"].to_numpy())
        self.counts = np.bincount(movie_idx, minlength=self.n_movies).astype(float)
        self.covered = covered_movies(self.counts, params.rank)
        self.rated = sparse.csr_matrix((np.ones(len(user_idx)), (user_idx, movie_idx)),
                                       shape=(user_idx.max() + 1, self.n_movies))
        column = covered_positions(self.covered, self.n_movies)
        kept = column[movie_idx] >= 0
        self.gram = gram(user_idx[kept], column[movie_idx][kept], user_idx.max() + 1,
                         len(self.covered))
        self.relevant_rating = params.rank.relevant_rating
        liked = kept & (train["rating"].to_numpy() >= self.relevant_rating)
        self.liked_gram = gram(user_idx[liked], column[movie_idx][liked], user_idx.max() + 1,
                               len(self.covered))
        self.ease_liked: dict[float, np.ndarray] = {}
        self.knn = CosineRecommender(K=50)
        self.knn.fit(self.rated, show_progress=False)
        self.als: dict[float, AlternatingLeastSquares] = {}
        self.ease: dict[float, np.ndarray] = {}

    def scores(self, peer: str, setting: float, profiles: Profiles) -> np.ndarray:
        """Scores of every movie (columns) for each profile; -inf outside the covered movies."""
        inputs = profiles.matrix(self.n_movies)
        scores = np.full((profiles.n, self.n_movies), -np.inf)
        if peer == "most popular":
            values = np.tile(self.counts[self.covered], (profiles.n, 1))
        elif peer == "EASE":
            if setting not in self.ease:
                self.ease[setting] = ease_weights(self.gram, setting)
            values = np.asarray(inputs[:, self.covered] @ self.ease[setting])
        elif peer == "EASE, liked ratings only":
            if setting not in self.ease_liked:
                self.ease_liked[setting] = ease_weights(self.liked_gram, setting)
            liked = profiles.matrix(self.n_movies, self.relevant_rating)
            values = np.asarray(liked[:, self.covered] @ self.ease_liked[setting])
        elif peer == "item-kNN (cosine, k=50)":
            values = (inputs @ self.knn.similarity).toarray()[:, self.covered]
        else:  # ALS: each profile's factors recomputed from its movies, the movie factors fixed
            if setting not in self.als:
                self.als[setting] = AlternatingLeastSquares(
                    factors=128, regularization=setting, iterations=15, random_state=0)
                self.als[setting].fit(self.rated, show_progress=False)
            als = self.als[setting]
            factors = als.recalculate_user(np.arange(profiles.n), inputs)
            values = (np.asarray(factors) @ np.asarray(als.item_factors).T)[:, self.covered]
        scores[:, self.covered] = values
        return scores

    def ndcg(self, peer: str, setting: float, profiles: Profiles, k: int) -> tuple[float, float]:
        lists = mask_and_select(self.scores(peer, setting, profiles), profiles.rows,
                                profiles.movie_idx, k)
        return (ranking_metrics(lists, profiles.relevant, k)[f"ndcg_at_{k}"],
                coverage(lists, len(self.covered)))


PEER_SETTINGS = {"most popular": (None,), "EASE": EASE_PENALTIES,
                 "EASE, liked ratings only": EASE_PENALTIES,
                 "item-kNN (cosine, k=50)": (None,), "implicit ALS (128 factors)": ALS_REGULARIZATION}


def chosen_on_validation(train: pd.DataFrame, params: Params, model) -> dict[str, dict]:
    """Each peer's setting with the best validation NDCG, for known users and for new users (the
    mean over every profile size and order)."""
    fit, newusers, targets = validation_split(train, params.validation)
    peers = RankingPeers(model, fit, params)
    k = params.rank.k
    known = known_profiles(model, fit, targets, params)
    new = new_profiles(model, newusers, params.newuser, params.rank.relevant_rating)
    chosen = {"known": {}, "new": {}}
    for peer, options in PEER_SETTINGS.items():
        known_scores = {option: peers.ndcg(peer, option, known, k)[0] for option in options}
        new_scores = {option: np.mean([peers.ndcg(peer, option, profiles, k)[0]
                                       for profiles in new.values()]) for option in options}
        chosen["known"][peer] = max(options, key=lambda option: known_scores[option])
        chosen["new"][peer] = max(options, key=lambda option: new_scores[option])
        print(f"validation: {peer}: known " + ", ".join(
            f"{option}: {value:.3f}" for option, value in known_scores.items()) + "; new " + ", ".join(
            f"{option}: {value:.3f}" for option, value in new_scores.items()), file=sys.stderr)
    return chosen


def peer_label(peer: str, setting: float | None) -> str:
    if setting is None:
        return peer
    return f"{peer}, {'penalty' if peer.startswith('EASE') else 'regularization'} {setting:g}"


def ranking_tables(train: pd.DataFrame, test: pd.DataFrame, params: Params, model_path: Path,
                   ranking: dict, newuser: dict) -> str:
    """Known users' and new users' NDCG@k of every ranking peer beside ours."""
    model = load_model(model_path)
    k = params.rank.k
    columns = ["userId", "movieId", "rating", "timestamp"]
    chosen = chosen_on_validation(train[columns], params, model)
    peers = RankingPeers(model, train, params)
    known = known_profiles(model, train, test, params)
    lines = [f"Known users: the {sum(map(bool, known.relevant))} test users of "
             f"`stages/evaluate_ranking.py` with a relevant test movie, "
             f"every movie they did not rate in training ranked among the "
             f"{len(peers.covered)} candidate movies; coverage is the share of candidates in "
             f"some top {k}. Peer settings chosen on the validation split.", "",
             f"| ranking | NDCG@{k} | coverage |", "|---|---|---|",
             f"| **our model** | **{ranking[f'ndcg_at_{k}']:.3f}** | {ranking[f'coverage_at_{k}']:.3f} |"]
    for peer in PEER_SETTINGS:
        setting = chosen["known"][peer]
        ndcg, cover = peers.ndcg(peer, setting, known, k)
        lines.append(f"| {peer_label(peer, setting)} | {ndcg:.3f} | {cover:.3f} |")
    base, newusers = split_new_users(train[columns], test[columns], params.newuser)
    new_peers = RankingPeers(model, base, params)
    new = new_profiles(model, newusers, params.newuser, params.rank.relevant_rating)
    names = list(new)
    lines += ["", f"New users: the {params.newuser.users} users held out by `stages/newuser.py`, "
              f"every peer fitted without them; NDCG@{k} of their other ratings, per profile "
              f"size and order. Peer settings chosen on the validation split's new users.", "",
              "| ranking | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
              "| **our model** | " + " | ".join(
                  f"**{newuser['newuser.' + name.replace('random.', '') + f'.ndcg_at_{k}']:.3f}**"
                  for name in names) + " |"]
    for peer in PEER_SETTINGS:
        setting = chosen["new"][peer]
        lines.append(f"| {peer_label(peer, setting)} | " + " | ".join(
            f"{new_peers.ndcg(peer, setting, new[name], k)[0]:.3f}" for name in names) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=Path("data/prepared/train.parquet"))
    parser.add_argument("--test", type=Path, default=Path("data/prepared/test.parquet"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/metrics.json"))
    parser.add_argument("--newuser-metrics", type=Path, default=Path("metrics/newuser.json"))
    parser.add_argument("--ranking-metrics", type=Path, default=Path("metrics/ranking.json"))
    parser.add_argument("--model", type=Path, default=Path("models/model.joblib"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/peers.md"))
    args = parser.parse_args()
    for path in (args.train, args.test, args.metrics, args.newuser_metrics, args.ranking_metrics,
                 args.model):
        if not path.is_file():
            sys.exit(f"error: {path} not found; run `dvc repro` first")
    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    ours = json.loads(args.metrics.read_text())
    rows = [("**our model** (Ridge over out-of-fold evidence)", ours["rmse"], ours["mae"], None),
            ("our bias baseline", ours["bias_rmse"], ours["bias_mae"], None),
            ("user mean", ours["user_mean_rmse"], ours["user_mean_mae"], None),
            ("global mean", ours["global_mean_rmse"], ours["global_mean_mae"], None)]
    for name, make in PEERS.items():
        print(f"fitting {name} ...", file=sys.stderr, flush=True)
        rows.append((name, *evaluate_peer(make, train, test)))
    lines = [f"Same split: {len(train)} training and {len(test)} test ratings.", "",
             "| model | RMSE | MAE | fit + predict (s) |", "|---|---|---|---|"]
    for name, root_mse, mean_abs, seconds in sorted(rows, key=lambda row: row[1]):
        lines.append(f"| {name} | {root_mse:.4f} | {mean_abs:.4f} | "
                     f"{'-' if seconds is None else f'{seconds:.1f}'} |")
    table = "\n".join(lines) + "\n"
    params = read_params(args.params)
    newuser_metrics = json.loads(args.newuser_metrics.read_text())
    newuser = newuser_table(train, test, params.newuser, newuser_metrics)
    ranking = ranking_tables(train, test, params, args.model,
                             json.loads(args.ranking_metrics.read_text()), newuser_metrics)
    report = f"{table}\n{newuser}\n{ranking}"
    with atomic_path(args.out) as tmp:
        tmp.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
