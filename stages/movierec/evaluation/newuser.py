"""The new-user simulation: how well a small profile predicts a person the model never saw.

``newuser.users`` users (seeded, among those with ``newuser.min_ratings`` ratings) are held out:
the features' tag tokens, the rating model and the ranking model are refitted on the training
split without any of their ratings or tags, so they are new to it, as a person who runs recommend
is. For each, ``k`` of their ratings (``newuser.profile_sizes``; in random order, and
earliest-first as a harder variant) are revealed as the profile and the rest are predicted,
through the same code path recommend uses for a saved profile:
:meth:`RatingModel.profiles_evidence`, ``score_matrix`` and :class:`Ranker`. Baselines in the same
run: the profile's mean rating, and a bias fold-in (:class:`BiasBaseline` with the profile as the
user's ratings). As a reference for what small profiles can reach on the same users, profiles of a
share of each user's ratings (``newuser.profile_shares``) are scored too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.data.movielens import RATING_MAX, RATING_MIN
from movierec.errors import UserInputError
from movierec.evaluation.metrics import ranking_metrics, rmse
from movierec.evaluation.plots import new_figure, save_png
from movierec.evaluation.refit import Fitted, refit
from movierec.features.movie_features import MovieFeatures
from movierec.model.baselines import BiasBaseline
from movierec.model.estimator import RatingModel
from movierec.params import NewuserParams, Params
from movierec.ranking.lists import Ranker, liked_matrix, row_sets

ORDERS = ("random", "earliest")


def hold_out_users(user_ids: pd.Series, n_users: int, min_ratings: int,
                   rng: np.random.Generator, section: str = "newuser") -> np.ndarray:
    """``n_users`` random user ids among those with at least ``min_ratings`` ratings
    (``user_ids`` holds the user of every rating); errors name the params of ``section``."""
    counts = user_ids.value_counts().sort_index()
    eligible = counts.index[counts >= min_ratings].to_numpy()
    if n_users > len(eligible) // 2:
        raise UserInputError(
            f"{section}.users = {n_users} is more than half of the {len(eligible)} users with at "
            f"least {section}.min_ratings = {min_ratings} ratings; lower either"
        )
    return np.sort(rng.choice(eligible, size=n_users, replace=False))


def split_new_users(train: pd.DataFrame, test: pd.DataFrame,
                    settings: NewuserParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training ratings without the held-out users (drawn with the ``newuser`` params
    ``settings``), and every rating of those users from both splits."""
    held_out = hold_out_users(pd.concat([train["userId"], test["userId"]]), settings.users,
                              settings.min_ratings, np.random.default_rng(settings.seed))
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


@dataclass
class Draw:
    """The new users' profiles and the rest of their ratings (targets) for one order and size;
    ``*_row`` is each rating's user, ``0 .. n_users-1``."""

    profile: pd.DataFrame
    target: pd.DataFrame
    profile_row: np.ndarray
    target_row: np.ndarray
    n_users: int


def draw(newusers: pd.DataFrame, order: str, reveal: float, rng: np.random.Generator) -> Draw:
    """Profiles of ``reveal`` ratings (1 or more) of each user or, below 1, of that share of each
    user's ratings (rounded down), revealed in ``order``."""
    ordered = reveal_order(newusers, order, rng)
    users = np.sort(ordered["userId"].unique())
    row = np.searchsorted(users, ordered["userId"].to_numpy())
    shown = revealed(ordered["position"].to_numpy(), row, reveal)
    return Draw(ordered[shown], ordered[~shown], row[shown], row[~shown], len(users))


def simulate(model: RatingModel, ranker: Ranker, baseline: BiasBaseline,
             profiles: Draw) -> dict[str, float]:
    """RMSE and top-N metrics of the model and the baselines for new users' ``profiles``.

    ``ranker`` and ``baseline`` (fitted on the training split) are in the model's movie order.
    """
    profile, target, users = profiles.profile, profiles.target, np.arange(profiles.n_users)
    profile_row, target_row = profiles.profile_row, profiles.target_row
    profile_ratings = profile["rating"].to_numpy()
    actual = target["rating"].to_numpy(dtype=float)
    profile_idx = model.movie_index(profile["movieId"].to_numpy())

    evidence = model.profiles_evidence(profile_row, profile["movieId"].to_numpy(), profile_ratings,
                                       len(users))
    target_idx = model.movie_index(target["movieId"].to_numpy())
    known = target_idx >= 0
    # only the movies that are listed or predicted: the covered ones and the targets
    covered = ranker.items.movies
    scored = np.union1d(covered, target_idx[known])
    scores = model.score_matrix(evidence, np.arange(len(users)), clip=False, movies=scored)
    target_column = np.searchsorted(scored, np.maximum(target_idx, 0))
    predicted = np.where(
        known, np.clip(scores[target_row, target_column], RATING_MIN, RATING_MAX),
        np.clip(model.items_.global_mean + evidence.bias[target_row], RATING_MIN, RATING_MAX))

    # baselines: the profile's mean, and a bias fold-in of the profile
    profile_mean = profile.groupby(profile_row)["rating"].mean().to_numpy()
    user_bias = baseline.user_biases(profile_row, profile_idx, profile_ratings.astype(float),
                                     len(users))
    bias_scores = baseline.score_matrix(user_bias)

    k = ranker.params.k
    relevant = row_sets(liked_matrix(target_row, target_idx, actual, len(users),
                                     len(model.movie_ids_), ranker.params.relevant_rating))
    results = {"rmse": rmse(actual, predicted),
               "user_mean_rmse": rmse(actual, profile_mean[target_row]),
               "bias_rmse": rmse(actual, baseline.predict(user_bias, target_row, target_idx))}
    for name, matrix in (("", scores[:, np.searchsorted(scored, covered)]),
                         ("bias_", bias_scores[:, covered])):
        lists = ranker.top_n(matrix, profile_row, profile_idx, profile_ratings, k)
        results[f"{name}ndcg_at_{k}"] = ranking_metrics(lists, relevant, k)[f"ndcg_at_{k}"]
    return results


def simulate_all(fitted: Fitted, newusers: pd.DataFrame, settings: NewuserParams,
                 prefix: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """:func:`simulate` for every order and profile size or share of ``settings``: the table by
    profile size, the table by profile share, and the flat metrics (keys under ``prefix``)."""
    sizes = list(settings.profile_sizes)
    rows, share_rows, metrics = [], [], {}
    for order in ORDERS:
        rng = np.random.default_rng(settings.seed)
        order_prefix = prefix + ("" if order == "random" else "earliest.")
        for reveal in sizes + list(settings.profile_shares):
            results = simulate(fitted.model, fitted.ranker, fitted.baseline,
                               draw(newusers, order, reveal, rng))
            results = {key: float(np.round(value, 6)) for key, value in results.items()}
            if reveal in sizes:
                rows.append({"order": order, "profile_size": reveal} | results)
                name = f"k{reveal}"
            else:
                share_rows.append({"order": order, "profile_share": reveal} | results)
                name = f"share{100 * reveal:g}"
            metrics |= {f"{order_prefix}{name}.{key}": value for key, value in results.items()}
    metrics[f"{prefix}users"] = int(newusers["userId"].nunique())
    return pd.DataFrame(rows), pd.DataFrame(share_rows), metrics


def run_simulation(params: Params, train_path: Path, test_path: Path, features: MovieFeatures,
                   movies: pd.DataFrame, tags: pd.DataFrame
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Refit on the training split (``train_path``, parquet) without the held-out users (their
    tags too) and simulate every order and profile size: the table by profile size, the table by
    profile share, and the flat metrics. The splits are read here so that only the refit's
    training ratings stay in memory while it runs."""
    columns = ["userId", "movieId", "rating", "timestamp"]
    train, newusers = split_new_users(pd.read_parquet(train_path, columns=columns),
                                      pd.read_parquet(test_path, columns=columns), params.newuser)
    train = train[["userId", "movieId", "rating"]]
    print(f"refitting the model without {newusers['userId'].nunique()} held-out users "
          f"({len(newusers)} ratings)", flush=True)
    fitted = refit(params, train, features, movies, tags)
    del train
    return simulate_all(fitted, newusers, params.newuser, "newuser.")


def plot_profile_sizes(table: pd.DataFrame, shares: pd.DataFrame, k: int, path: Path) -> None:
    """RMSE and NDCG by profile size, with the model's RMSE on share profiles as lines across."""
    figure, (left, right) = new_figure(10.0, 4.2, ncols=2)
    styles = {"random": "-", "earliest": "--"}
    for order, group in table.groupby("order", sort=False):
        for metric, label in (("rmse", "model"), ("bias_rmse", "bias fold-in"),
                              ("user_mean_rmse", "profile mean")):
            left.plot(group["profile_size"], group[metric], styles[order], marker="o",
                      label=f"{label} ({order})")
        for metric, label in ((f"ndcg_at_{k}", "model"), (f"bias_ndcg_at_{k}", "bias fold-in")):
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
