"""The validation split: every rating and ranking metric again, on data carved from the training
split alone, so that hyperparameters and ranking weights are chosen without the test split.

``validation.users`` training users (seeded, among those with ``validation.min_ratings`` training
ratings) are held out entirely, as the new-user simulation holds out its users; of the other
users' training ratings a random ``validation.share`` is held out as their validation targets.
Everything is refitted on the rest (:func:`movierec.evaluation.refit.refit`), then scored as the
test split is: RMSE and MAE of the held-out ratings, top-N lists of the known users, and the
new-user simulation on the held-out users.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from movierec.evaluation.metrics import coverage, mae, ranking_metrics, rmse
from movierec.evaluation.newuser import hold_out_users, simulate_all
from movierec.evaluation.ranking import ranking_users, relevant_sets, top_lists
from movierec.evaluation.refit import refit
from movierec.features.movie_features import MovieFeatures
from movierec.model.baselines import baseline_predictions
from movierec.params import Params, ValidationParams


def validation_split(train: pd.DataFrame, settings: ValidationParams
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ratings to fit on, every training rating of the held-out users, and the known users'
    held-out ratings (their validation targets)."""
    rng = np.random.default_rng(settings.seed)
    held_out = hold_out_users(train["userId"], settings.users, settings.min_ratings, rng,
                              "validation")
    is_new = train["userId"].isin(held_out).to_numpy()
    known = train[~is_new]
    target = np.zeros(len(known), dtype=bool)
    target[rng.permutation(len(known))[: round(settings.share * len(known))]] = True
    return (known[~target].reset_index(drop=True), train[is_new].reset_index(drop=True),
            known[target].reset_index(drop=True))


def run_validation(params: Params, train_path: Path, features: MovieFeatures,
                   movies: pd.DataFrame, tags: pd.DataFrame) -> dict[str, float]:
    """Every metric of the validation split of the training split (``train_path``, parquet),
    flat, under ``validation.``. The split is read here so that only the refit's ratings stay in
    memory while it runs."""
    fit, newusers, targets = validation_split(
        pd.read_parquet(train_path, columns=["userId", "movieId", "rating", "timestamp"]),
        params.validation)
    fit = fit[["userId", "movieId", "rating"]]
    print(f"refitting on {len(fit)} of {len(fit) + len(targets) + len(newusers)} training "
          f"ratings: {len(targets)} held out of known users, {newusers['userId'].nunique()} users "
          f"held out entirely", flush=True)
    fitted = refit(params, fit, features, movies, tags)
    model, rank = fitted.model, params.rank
    actual = targets["rating"].to_numpy(dtype=float)
    predicted = model.predict(targets["userId"].to_numpy(), targets["movieId"].to_numpy())
    bias = baseline_predictions(fit, targets, params.evaluate.baseline_damping)["bias"]
    metrics = {"validation.rmse": rmse(actual, predicted), "validation.mae": mae(actual, predicted),
               "validation.bias_rmse": rmse(actual, bias), "validation.bias_mae": mae(actual, bias)}

    users = ranking_users(targets, model, rank, params.split.seed)
    relevant = relevant_sets(targets, model, users, rank.relevant_rating)
    lists = top_lists(model, fitted.ranker, fit, users)["model"]
    metrics |= {f"validation.{key}": value
                for key, value in ranking_metrics(lists, relevant, rank.k).items()}
    metrics[f"validation.coverage_at_{rank.k}"] = coverage(lists, len(fitted.ranker.items.movies))
    _, _, newuser_metrics = simulate_all(fitted, newusers, params.newuser, "validation.newuser.")
    metrics |= newuser_metrics
    return {key: float(np.round(value, 6)) for key, value in metrics.items()}
