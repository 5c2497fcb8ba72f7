"""Stage: top-N quality: precision, recall and NDCG of the model's lists and of baselines.

For each test user (at most ``rank.max_users``, a seeded sample), every movie the user has not
rated in training is ranked; relevant movies are the user's test ratings >=
``rank.relevant_rating``. The model ranks with the same scoring as recommend (:mod:`ranking`);
the baselines are the most popular movies and the model's predicted rating alone (no popularity
or co-rating term, no minimum count), to show what those buy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from scipy import sparse
from tqdm import tqdm

from common import add_evaluation_arguments, atomic_path, run_main, write_json
from metrics import ranking_metrics
from model import RatingModel
from params import read_params
from plotting import new_figure, save_png
from ranking import SimilarMovies, co_rating_scores, liked_matrix, ranking_scores, row_sets, top_n

BATCH = 256  # users scored at once (a batch holds BATCH x movies scores)


def relevant_sets(frame: pd.DataFrame, model: RatingModel, users: np.ndarray,
                  threshold: float) -> list[set[int]]:
    """For each of ``users`` (sorted), the model's movie indices of their ratings >= ``threshold``."""
    frame = frame[frame["userId"].isin(users)]
    liked = liked_matrix(np.searchsorted(users, frame["userId"].to_numpy()),
                         model.movie_index(frame["movieId"].to_numpy()),
                         frame["rating"].to_numpy(), len(users), len(model.movie_ids_), threshold)
    return row_sets(liked)


def top_lists(model: RatingModel, similar: sparse.csr_matrix, train: pd.DataFrame,
              users: np.ndarray, rank: dict) -> dict[str, np.ndarray]:
    """Top-``k`` movie indices for each user: the model's lists and the baselines'
    (``similar``: the co-rating similarity, in the model's movie order)."""
    counts = model.items_.movie_count
    train = train[train["userId"].isin(users)]
    rated = train.assign(row=model.user_index(train["userId"].to_numpy()),
                         movie=model.movie_index(train["movieId"].to_numpy()))
    lists: dict[str, list[np.ndarray]] = {"model": [], "predicted_rating_only": [], "popular": []}
    batches = range(0, len(users), BATCH)
    for start in tqdm(batches, desc="ranking test users", unit="batch", file=sys.stderr,
                      disable=len(batches) < 4, leave=False):
        rows = model.user_index(users[start:start + BATCH])
        predicted = model.score_matrix(model.users_, rows, clip=False)
        seen = rated[rated["row"].isin(rows)]
        position = pd.Series(np.arange(len(rows)), index=rows)[seen["row"]].to_numpy()
        liked = liked_matrix(position, seen["movie"].to_numpy(), seen["rating"].to_numpy(),
                             len(rows), len(counts), rank["relevant_rating"])
        co_rating = co_rating_scores(similar, liked)
        candidates = {
            "model": ranking_scores(predicted, counts, co_rating, rank),
            "predicted_rating_only": predicted.copy(),
            "popular": np.tile(counts.astype(float), (len(rows), 1)),
        }
        for name, scores in candidates.items():
            scores[position, seen["movie"].to_numpy()] = -np.inf
            lists[name].append(top_n(scores, rank["k"]))
    return {name: np.vstack(parts) for name, parts in lists.items()}


def plot_ranking(table: pd.DataFrame, k: int, path: Path) -> None:
    figure, axes = new_figure()
    positions = np.arange(len(table))
    for offset, metric in enumerate((f"precision@{k}", f"recall@{k}", f"ndcg@{k}")):
        axes.bar(positions + (offset - 1) * 0.27, table[metric], width=0.27, label=metric)
    axes.set_xticks(positions, table["method"])
    axes.set(ylabel="mean over test users", title=f"Top-{k} lists on the test split")
    axes.legend()
    save_png(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--similar", type=Path, required=True, help="similar movies (npz)")
    add_evaluation_arguments(parser)
    args = parser.parse_args()
    all_params = read_params(args.params)
    params = all_params["rank"]
    k = params["k"]

    columns = ["userId", "movieId", "rating"]
    train = pd.read_parquet(args.train, columns=columns)
    test = pd.read_parquet(args.test, columns=columns)
    model = joblib.load(args.model)
    similar = SimilarMovies.load(args.similar).for_movies(model.movie_ids_, args.similar)
    users = np.sort(test["userId"].unique())
    users = users[model.user_index(users) >= 0]  # test users with training ratings
    if 0 < params["max_users"] < len(users):
        rng = np.random.default_rng(all_params["split"]["seed"])
        users = np.sort(rng.choice(users, size=params["max_users"], replace=False))
    relevant = relevant_sets(test, model, users, params["relevant_rating"])
    lists = top_lists(model, similar, train, users, params)
    rows = []
    metrics: dict[str, float] = {}
    for name, recommended in lists.items():
        scores = ranking_metrics(recommended, relevant, k)
        rows.append({"method": name} | scores)
        prefix = "" if name == "model" else f"{name}_"
        metrics |= {f"{prefix}{key}": round(value, 6) for key, value in scores.items()}
    metrics["ranking_users"] = sum(bool(items) for items in relevant)
    table = pd.DataFrame(rows).round(6)
    with atomic_path(args.plots_dir / "ranking.csv") as tmp:
        table.to_csv(tmp, index=False, lineterminator="\n")
    plot_ranking(table, k, args.plots_dir / "ranking.png")
    write_json(args.metrics_out, metrics)
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
