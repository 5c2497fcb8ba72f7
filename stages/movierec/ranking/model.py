"""What the ranking learns from the training split, in one file (the ``rank_model`` stage): the
item model and the co-rating similarity, over the rating model's movies."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from movierec.data.ids import IdLookup, factorize_sorted
from movierec.errors import UserInputError
from movierec.io import save_arrays
from movierec.params import RankParams, SimilarParams
from movierec.ranking.item_model import ItemModel, fit_item_model
from movierec.ranking.similarity import fit_similar_movies


@dataclass
class RankModel:
    """The ranking's fitted state: row and column ``k`` of each matrix is ``movie_ids[k]``."""

    movie_ids: np.ndarray
    similar: sparse.csr_matrix
    items: ItemModel

    def similar_of(self) -> sparse.csr_matrix:
        """``similar`` transposed, of the movies the item model covers: row ``j`` holds each
        covered movie's similarity to ``j`` (columns as ``items.movies``; built once, not
        saved)."""
        if "_similar_of" not in self.__dict__:
            self.__dict__["_similar_of"] = sparse.csr_matrix(
                sparse.csr_matrix(self.similar)[self.items.movies].T)
        return self.__dict__["_similar_of"]

    def save(self, path: str | Path) -> None:
        similar = sparse.csr_matrix(self.similar)
        save_arrays(path, movie_ids=self.movie_ids, similar_data=similar.data,
                    similar_indices=similar.indices, similar_indptr=similar.indptr,
                    item_movies=self.items.movies, item_rated=self.items.rated,
                    item_liked=self.items.liked, item_liked_plain=self.items.liked_plain,
                    item_liked_scale=self.items.liked_scale, item_walk=self.items.walk)

    @classmethod
    def load(cls, path: str | Path) -> RankModel:
        try:
            with np.load(path) as arrays:
                movie_ids = arrays["movie_ids"]
                n = len(movie_ids)
                similar = sparse.csr_matrix((arrays["similar_data"], arrays["similar_indices"],
                                             arrays["similar_indptr"]), shape=(n, n))
                items = ItemModel(arrays["item_movies"], arrays["item_rated"],
                                  arrays["item_liked"], arrays["item_liked_plain"],
                                  arrays["item_liked_scale"], arrays["item_walk"], n)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            raise UserInputError(f"{path}: not a ranking model ({error}); run `dvc repro` to "
                                 f"rebuild it") from None
        return cls(movie_ids, similar, items)

    def for_movies(self, movie_ids: np.ndarray, path: str | Path) -> RankModel:
        """The model, if its movies are ``movie_ids`` (the rating model's) in the same order."""
        if not np.array_equal(self.movie_ids, movie_ids):
            raise UserInputError(
                f"{path} holds {len(self.movie_ids)} movies, the rating model {len(movie_ids)} "
                f"(or in another order): they come from different runs; run `dvc repro`")
        return self


def fit_rank_model(ratings: pd.DataFrame, movie_ids: np.ndarray, rank: RankParams,
                   similar: SimilarParams) -> RankModel:
    """The ranking's state from training ``ratings`` (userId, movieId, rating) over ``movie_ids``
    (the rating model's movies, in its order)."""
    user_idx, user_ids = factorize_sorted(ratings["userId"].to_numpy())
    movie_idx = IdLookup(movie_ids).positions(ratings["movieId"].to_numpy())
    if (movie_idx < 0).any():
        missing = ratings["movieId"].to_numpy()[movie_idx < 0][0]
        raise ValueError(f"ratings include movies outside movie_ids, e.g. {missing}")
    similarity = fit_similar_movies(user_idx, movie_idx, len(user_ids), len(movie_ids), similar)
    items = fit_item_model(user_idx, movie_idx, ratings["rating"].to_numpy(dtype=float),
                           len(movie_ids), rank)
    return RankModel(np.asarray(movie_ids), similarity, items)
