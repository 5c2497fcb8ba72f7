"""Top-N quality of known users: precision, recall and NDCG of the model's lists and of baselines.

For each test user (at most ``rank.max_users``, a seeded sample), every movie the user has not
rated in training is ranked; relevant movies are the user's test ratings >=
``rank.relevant_rating``. The model ranks through :class:`movierec.ranking.lists.Ranker`, the path
recommend uses; the baselines are the most popular movies and the model's predicted rating alone
(no item model, popularity or co-rating term; among the same listable movies), to show what those
buy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from movierec.evaluation.metrics import coverage, ranking_metrics
from movierec.evaluation.plots import new_figure, save_png
from movierec.io import atomic_path
from movierec.model.estimator import RatingModel
from movierec.params import RankParams
from movierec.ranking.lists import Ranker, liked_matrix, row_sets, select_among, top_n

BATCH = 256  # users scored at once (a batch holds BATCH x movies scores)


def ranking_users(test: pd.DataFrame, model: RatingModel, params: RankParams,
                  seed: int) -> np.ndarray:
    """The test users with training ratings, sorted; a seeded sample of ``rank.max_users``."""
    users = np.sort(test["userId"].unique())
    users = users[model.user_index(users) >= 0]
    if 0 < params.max_users < len(users):
        users = np.sort(np.random.default_rng(seed).choice(users, size=params.max_users,
                                                            replace=False))
    return users


def relevant_sets(frame: pd.DataFrame, model: RatingModel, users: np.ndarray,
                  threshold: float) -> list[set[int]]:
    """For each of ``users`` (sorted), the model's movie indices of their ratings >= ``threshold``."""
    frame = frame[frame["userId"].isin(users)]
    liked = liked_matrix(np.searchsorted(users, frame["userId"].to_numpy()),
                         model.movie_index(frame["movieId"].to_numpy()),
                         frame["rating"].to_numpy(), len(users), len(model.movie_ids_), threshold)
    return row_sets(liked)


def top_lists(model: RatingModel, ranker: Ranker, train: pd.DataFrame,
              users: np.ndarray) -> dict[str, np.ndarray]:
    """Top-``k`` movie indices for each user: the model's lists and the baselines' (the predicted
    rating alone, among the movies the item model covers, as the model's; the most rated)."""
    counts, k, covered = ranker.rating_counts, ranker.params.k, ranker.items.movies
    train = train[train["userId"].isin(users)]
    rated = train.assign(row=model.user_index(train["userId"].to_numpy()),
                         movie=model.movie_index(train["movieId"].to_numpy()))
    lists: dict[str, list[np.ndarray]] = {"model": [], "predicted_rating_only": [], "popular": []}
    batches = range(0, len(users), BATCH)
    for start in tqdm(batches, desc="ranking test users", unit="batch", file=sys.stderr,
                      disable=len(batches) < 4, leave=False):
        rows = model.user_index(users[start:start + BATCH])
        predicted = model.score_matrix(model.users_, rows, clip=False, movies=covered)
        seen = rated[rated["row"].isin(rows)]
        position = pd.Series(np.arange(len(rows)), index=rows)[seen["row"]].to_numpy()
        movie, rating = seen["movie"].to_numpy(), seen["rating"].to_numpy()
        lists["model"].append(ranker.top_n(predicted, position, movie, rating, k))
        lists["predicted_rating_only"].append(
            select_among(predicted, covered, len(counts), position, movie, k))
        # a row's k most rated unrated movies are among the k + its ratings most rated of all
        most = np.sort(top_n(counts[None, :].astype(float),
                             k + np.bincount(position, minlength=len(rows)).max(initial=0))[0])
        lists["popular"].append(select_among(np.tile(counts[most].astype(float), (len(rows), 1)),
                                             most, len(counts), position, movie, k))
    return {name: np.vstack(parts) for name, parts in lists.items()}


def ranking_table(lists: dict[str, np.ndarray], relevant: list[set[int]], k: int,
                  n_candidates: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Each method's metrics (and catalogue coverage of ``n_candidates`` listable movies) as a
    table, and flat: the model's unprefixed, baselines' prefixed."""
    rows = []
    metrics: dict[str, float] = {}
    for name, recommended in lists.items():
        scores = ranking_metrics(recommended, relevant, k)
        scores[f"coverage_at_{k}"] = coverage(recommended, n_candidates)
        rows.append({"method": name} | scores)
        prefix = "" if name == "model" else f"{name}_"
        metrics |= {f"{prefix}{key}": round(value, 6) for key, value in scores.items()}
    metrics["ranking_users"] = sum(bool(items) for items in relevant)
    return pd.DataFrame(rows).round(6), metrics


def write_ranking_plots(table: pd.DataFrame, k: int, plots_dir: Path) -> None:
    """The table as CSV (for ``dvc plots``) and as a bar chart PNG."""
    with atomic_path(plots_dir / "ranking.csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    figure, axes = new_figure()
    positions = np.arange(len(table))
    for offset, metric in enumerate((f"precision_at_{k}", f"recall_at_{k}", f"ndcg_at_{k}")):
        axes.bar(positions + (offset - 1) * 0.27, table[metric], width=0.27, label=metric)
    axes.set_xticks(positions, table["method"])
    axes.set(ylabel="mean over test users", title=f"Top-{k} lists on the test split")
    axes.legend()
    save_png(figure, plots_dir / "ranking.png")
