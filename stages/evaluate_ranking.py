"""Stage: top-N quality: precision, recall, NDCG and coverage of the lists and of baselines.

Every test user's unrated movies are ranked the way recommend ranks them; relevant movies are the
user's test ratings >= rank.relevant_rating.
"""

from __future__ import annotations

from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_evaluation_arguments, parser_for, run_main
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
from movierec.ranking.model import RankModel


def main() -> None:
    parser = parser_for(__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the fitted model (joblib)")
    parser.add_argument("--rank-model", type=Path, required=True, help="the ranking model (npz)")
    add_evaluation_arguments(parser)
    args = parser.parse_args()
    params = read_params(args.params)
    rank = params.rank

    columns = ["userId", "movieId", "rating"]
    train = pd.read_parquet(args.train, columns=columns)
    test = pd.read_parquet(args.test, columns=columns)
    model = load_model(args.model)
    ranker = Ranker.of(RankModel.load(args.rank_model).for_movies(model.movie_ids_,
                                                                  args.rank_model), model, rank)
    users = ranking_users(test, model, rank, params.split.seed)
    relevant = relevant_sets(test, model, users, rank.relevant_rating)
    lists = top_lists(model, ranker, train, users)
    table, metrics = ranking_table(lists, relevant, rank.k, len(ranker.items.movies))
    write_ranking_plots(table, rank.k, args.plots_dir)
    write_json(args.metrics_out, metrics)
    print(table.to_string(index=False))


if __name__ == "__main__":
    run_main(main)
