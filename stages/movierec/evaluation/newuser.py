"""Stage: new-user simulation: how well a small profile predicts a person the model never saw.

``newuser.users`` users (seeded, among those with ``newuser.min_ratings`` ratings) are held out:
a model with the ``train`` params (and the co-rating similarity, ``similar``) is refitted on the
training split without any of their ratings, so they are new to it, as a person who runs recommend
is. For each, ``k`` of their ratings (``newuser.profile_sizes``; in random order, and
earliest-first as a harder variant) are revealed as the profile and the rest are predicted,
through the same code path recommend uses for a saved profile:
:meth:`model.RatingModel.profiles_evidence`, ``score_matrix`` and the ranking of :mod:`ranking`.
Baselines in the same run: the profile's mean rating, and a bias fold-in (global mean + movie
bias + the profile's damped user bias). As a reference for what small profiles can reach on the
same users, profiles of a share of each user's ratings (``newuser.profile_shares``) are scored too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from common import UserInputError, add_evaluation_arguments, atomic_path, run_main, write_json
from metrics import ranking_metrics, rmse
from model import EvidenceConfig, ItemEvidence, RatingModel, fit_movie_biases, user_evidence
from movie_features import MovieFeatures
from params import read_params
from plotting import new_figure, save_png
from ranking import co_rating_scores, fit_similar_movies, liked_matrix, ranking_scores, row_sets, top_n

ORDERS = ("random", "earliest")


def hold_out_users(user_ids: pd.Series, n_users: int, min_ratings: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``n_users`` random user ids among those with at least ``min_ratings`` ratings
    (``user_ids`` holds the user of every rating)."""
    counts = user_ids.value_counts().sort_index()
    eligible = counts.index[counts >= min_ratings].to_numpy()
    if n_users > len(eligible) // 2:
        raise UserInputError(
            f"newuser.users = {n_users} is more than half of the {len(eligible)} users with at "
            f"least newuser.min_ratings = {min_ratings} ratings; lower either"
        )
    return np.sort(rng.choice(eligible, size=n_users, replace=False))


def split_new_users(train: pd.DataFrame, test: pd.DataFrame,
                    settings: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training ratings without the held-out users (drawn with the ``newuser`` params
    ``settings``), and every rating of those users from both splits."""
    held_out = hold_out_users(pd.concat([train["userId"], test["userId"]]), settings["users"],
                              settings["min_ratings"], np.random.default_rng(settings["seed"]))
    in_train, in_test = train["userId"].isin(held_out), test["userId"].isin(held_out)
    newusers = pd.concat([train[in_train], test[in_test]], ignore_index=True)
    return train[~in_train].reset_index(drop=True), newusers


def reveal_order(ratings: pd.DataFrame, order: str, rng: np.random.Generator) -> pd.DataFrame:
    """Each user's ratings in the order they are revealed, with their place ``position``."""
    if order == "random":
        ordered = ratings.assign(key=rng.random(len(ratings))).sort_values(["userId", "key"])
    else:
        ordered = ratings.sort_values(["userId", "timestamp", "movieId"], kind="stable")
    return ordered.assign(position=ordered.groupby("userId").cumcount().to_numpy())


def revealed(position: np.ndarray, row: np.ndarray, reveal: float) -> np.ndarray:
    """Which ratings form the profiles: the first ``reveal`` of each user's (``position`` is a
    rating's place in its user's order, ``row`` its user) or, for ``reveal`` below 1, that share of
    each user's ratings, rounded down."""
    limit = reveal if reveal >= 1 else np.floor(reveal * np.bincount(row)[row])
    return position < limit


def simulate(model: RatingModel, similar: sparse.csr_matrix, items: ItemEvidence,
             newusers: pd.DataFrame, order: str, reveal: float, rank: dict, damping: float,
             rng: np.random.Generator) -> dict[str, float]:
    """RMSE and top-N metrics of the model and the baselines for profiles of ``reveal`` ratings
    (1 or more) or, below 1, of that share of each user's ratings (rounded down).

    ``similar`` is the co-rating similarity and ``items`` holds the bias baseline's movie biases
    (damped by ``damping``), both in the model's movie order.
    """
    ordered = reveal_order(newusers, order, rng)
    users = np.sort(ordered["userId"].unique())
    row = np.searchsorted(users, ordered["userId"].to_numpy())
    shown = revealed(ordered["position"].to_numpy(), row, reveal)
    profile, target = ordered[shown], ordered[~shown]
    profile_row, target_row = row[shown], row[~shown]
    actual = target["rating"].to_numpy(dtype=float)
    profile_idx = model.movie_index(profile["movieId"].to_numpy())

    evidence = model.profiles_evidence(profile_row, profile["movieId"].to_numpy(),
                                       profile["rating"].to_numpy(), len(users))
    scores = model.score_matrix(evidence, np.arange(len(users)), clip=False)
    target_idx = model.movie_index(target["movieId"].to_numpy())
    known = target_idx >= 0
    predicted = np.where(known, np.clip(scores[target_row, np.maximum(target_idx, 0)], 0.5, 5.0),
                         np.clip(model.items_.global_mean + evidence.bias[target_row], 0.5, 5.0))

    # baselines: the profile's mean, and a bias fold-in from biases fitted on the training split
    profile_mean = profile.groupby(profile_row)["rating"].mean().to_numpy()
    biases_only = EvidenceConfig(damping=damping, genre_affinity=False, tag_affinity=False,
                                 item_neighbors=False)
    folded = user_evidence(items, profile_row, profile_idx, profile["rating"].to_numpy(dtype=float),
                           len(users), None, None, biases_only)
    bias_scores = np.clip(items.global_mean + items.movie_bias[None, :] + folded.bias[:, None],
                          0.5, 5.0)
    bias_predicted = np.where(known, bias_scores[target_row, np.maximum(target_idx, 0)],
                              np.clip(items.global_mean + folded.bias[target_row], 0.5, 5.0))

    k = rank["k"]
    relevant = row_sets(liked_matrix(target_row, target_idx, actual, len(users),
                                     len(model.movie_ids_), rank["relevant_rating"]))
    liked = liked_matrix(profile_row, profile_idx, profile["rating"].to_numpy(), len(users),
                         len(model.movie_ids_), rank["relevant_rating"])
    co_rating = co_rating_scores(similar, liked)
    results = {"rmse": rmse(actual, predicted),
               "user_mean_rmse": rmse(actual, profile_mean[target_row]),
               "bias_rmse": rmse(actual, bias_predicted)}
    for name, matrix in (("", scores), ("bias_", bias_scores)):
        ranked = ranking_scores(matrix, model.items_.movie_count, co_rating, rank)
        ranked[profile_row[profile_idx >= 0], profile_idx[profile_idx >= 0]] = -np.inf
        ndcg = ranking_metrics(top_n(ranked, k), relevant, k)[f"ndcg@{k}"]
        results[f"{name}ndcg@{k}"] = ndcg
    return results


def plot_profile_sizes(table: pd.DataFrame, shares: pd.DataFrame, k: int, path: Path) -> None:
    """RMSE and NDCG by profile size, with the model's RMSE on share profiles as lines across."""
    figure, (left, right) = new_figure(10.0, 4.2, ncols=2)
    styles = {"random": "-", "earliest": "--"}
    for order, group in table.groupby("order", sort=False):
        for metric, label in (("rmse", "model"), ("bias_rmse", "bias fold-in"),
                              ("user_mean_rmse", "profile mean")):
            left.plot(group["profile_size"], group[metric], styles[order], marker="o",
                      label=f"{label} ({order})")
        for metric, label in ((f"ndcg@{k}", "model"), (f"bias_ndcg@{k}", "bias fold-in")):
            right.plot(group["profile_size"], group[metric], styles[order], marker="o",
                       label=f"{label} ({order})")
    for row in shares.to_dict("records"):
        left.axhline(row["rmse"], linestyle=styles[row["order"]], color="grey", linewidth=0.8,
                     label=f"model, {row['profile_share']:.0%} of each user's ratings "
                           f"({row['order']})")
    left.set(xlabel="profile size (ratings)", ylabel="RMSE on the rest", title="New users: RMSE")
    right.set(xlabel="profile size (ratings)", ylabel=f"NDCG@{k}", title=f"New users: NDCG@{k}")
    left.legend(fontsize="x-small")
    right.legend(fontsize="x-small")
    save_png(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_evaluation_arguments(parser)
    parser.add_argument("--features", type=Path, required=True, help="movie features directory")
    args = parser.parse_args()
    params = read_params(args.params)
    simulation, rank = params["newuser"], params["rank"]
    sizes = simulation["profile_sizes"]
    if max(sizes) >= simulation["min_ratings"]:
        raise UserInputError(
            f"newuser.profile_sizes = {sizes} would reveal every rating of a held-out user with "
            f"newuser.min_ratings = {simulation['min_ratings']}; keep every size below it"
        )

    columns = ["userId", "movieId", "rating", "timestamp"]
    train, newusers = split_new_users(pd.read_parquet(args.train, columns=columns),
                                      pd.read_parquet(args.test, columns=columns), simulation)
    train = train[["userId", "movieId", "rating"]]
    print(f"refitting the model without {newusers['userId'].nunique()} held-out users "
          f"({len(newusers)} ratings)", flush=True)
    model = RatingModel(**params["train"]).fit(train, MovieFeatures.load(args.features))
    settings = params["similar"]
    similar = fit_similar_movies(train, model.movie_ids_, settings["neighbors"],
                                 settings["exponent"], settings["max_per_user"],
                                 np.random.default_rng(settings["seed"])).matrix
    damping = params["evaluate"]["baseline_damping"]
    baseline_items = fit_movie_biases(model.movie_index(train["movieId"].to_numpy()),
                                      train["rating"].to_numpy(dtype=float),
                                      len(model.movie_ids_), damping)
    del train
    rows, share_rows, metrics = [], [], {}
    for order in ORDERS:
        rng = np.random.default_rng(simulation["seed"])
        prefix = "newuser." + ("" if order == "random" else "earliest.")
        for reveal in sizes + simulation["profile_shares"]:
            results = simulate(model, similar, baseline_items, newusers, order, reveal, rank,
                               damping, rng)
            results = {key: float(np.round(value, 6)) for key, value in results.items()}
            if reveal in sizes:
                rows.append({"order": order, "profile_size": reveal} | results)
                name = f"k{reveal}"
            else:
                share_rows.append({"order": order, "profile_share": reveal} | results)
                name = f"share{100 * reveal:g}"
            metrics |= {f"{prefix}{name}.{key}": value for key, value in results.items()}
    metrics["newuser.users"] = int(newusers["userId"].nunique())
    table, shares = pd.DataFrame(rows), pd.DataFrame(share_rows)
    with atomic_path(args.plots_dir / "newuser.csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    plot_profile_sizes(table, shares, rank["k"], args.plots_dir / "newuser.png")
    write_json(args.metrics_out, metrics)
    print(table.to_string(index=False))
    if len(shares):
        print(shares.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
