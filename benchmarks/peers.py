"""Peer benchmark: Surprise's BaselineOnly, SVD and KNNBaseline on exactly the project's split,
and on exactly the new-user simulation's held-out users and profiles.

Run after ``dvc repro`` (it reads the split, params and our metrics from the pipeline's outputs):

    pip install -r benchmarks/requirements-peers.txt
    python benchmarks/peers.py

Prints two Markdown tables, each peer beside our model and baselines, and writes them to
``--out``: test RMSE and MAE of known users; new-user RMSE per profile size (random order), with
the users, profiles and predicted ratings that ``stages/newuser.py`` draws from the same params.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stages"))
from movierec.data.ids import IdLookup
from movierec.evaluation.metrics import rmse
from movierec.evaluation.newuser import reveal_order, split_new_users
from movierec.io import atomic_path
from movierec.params import NewuserParams, read_params

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=Path("data/prepared/train.parquet"))
    parser.add_argument("--test", type=Path, default=Path("data/prepared/test.parquet"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/metrics.json"))
    parser.add_argument("--newuser-metrics", type=Path, default=Path("metrics/newuser.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/peers.md"))
    args = parser.parse_args()
    for path in (args.train, args.test, args.metrics, args.newuser_metrics):
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
    newuser = newuser_table(train, test, read_params(args.params).newuser,
                            json.loads(args.newuser_metrics.read_text()))
    report = f"{table}\n{newuser}"
    with atomic_path(args.out) as tmp:
        tmp.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
