"""Stage: top-N quality: precision, recall and NDCG of the model's lists and of baselines.

Every test user's unrated movies are ranked the way recommend ranks them; relevant movies are the
user's test ratings >= rank.relevant_rating.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from movierec.cli import add_evaluation_arguments, run_main
from movierec.evaluation.ranking import (
    ranking_table,
    ranking_users,
    relevant_sets,
    top_lists,
    write_ranking_plots,
)
from movierec.io import write_json
from movierec.model.estimator import load_model
from movierec.params import read_params
from movierec.ranking.lists import Ranker
from movierec.ranking.similarity import SimilarMovies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the fitted model (joblib)")
    parser.add_argument("--similar", type=Path, required=True, help="similar movies (npz)")
    add_evaluation_arguments(parser)
    args = parser.parse_args()
    params = read_params(args.params)
    rank = params.rank

    columns = ["userId", "movieId", "rating"]
    train = pd.read_parquet(args.train, columns=columns)
    test = pd.read_parquet(args.test, columns=columns)
    model = load_model(args.model)
    similar = SimilarMovies.load(args.similar).for_movies(model.movie_ids_, args.similar)
    users = ranking_users(test, model, rank, params.split.seed)
    relevant = relevant_sets(test, model, users, rank.relevant_rating)
    lists = top_lists(model, Ranker(similar, model.items_.movie_count, rank), train, users)
    table, metrics = ranking_table(lists, relevant, rank.k)
    write_ranking_plots(table, rank.k, args.plots_dir)
    write_json(args.metrics_out, metrics)
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
