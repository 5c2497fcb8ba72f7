"""Everything the pipeline fits, fitted again on another training set: the new-user simulation
and the validation split each hold some users or ratings out of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from movierec.features.movie_features import MovieFeatures, refit_movie_features
from movierec.model.baselines import BiasBaseline
from movierec.model.estimator import RatingModel
from movierec.params import Params
from movierec.ranking.lists import Ranker
from movierec.ranking.model import fit_rank_model


@dataclass
class Fitted:
    """The rating model, the ranker and the bias baseline of one training set."""

    model: RatingModel
    ranker: Ranker
    baseline: BiasBaseline


def refit(params: Params, train: pd.DataFrame, features: MovieFeatures, movies: pd.DataFrame,
          tags: pd.DataFrame) -> Fitted:
    """Fit the features' tag tokens, the rating model, the ranking model and the bias baseline on
    ``train`` (userId, movieId, rating), as the features, train and rank_model stages do."""
    features = refit_movie_features(features, movies, tags, train, params.features)
    model = RatingModel(**asdict(params.train)).fit(train, features)
    ranker = Ranker.of(fit_rank_model(train, model.movie_ids_, params.rank, params.similar),
                       model, params.rank)
    baseline = BiasBaseline(damping=params.evaluate.baseline_damping).fit(
        model.movie_index(train["movieId"].to_numpy()), train["rating"].to_numpy(dtype=float),
        len(model.movie_ids_))
    return Fitted(model, ranker, baseline)
