"""Top-N lists: the one path from predicted ratings and a profile to a list, which evaluation, the
new-user simulation and recommend share (:class:`Ranker`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from movierec import numerics
from movierec.kernels import sparse_dense
from movierec.model.estimator import RatingModel
from movierec.params import RankParams
from movierec.ranking.item_model import LIKED_CENTER, ItemModel, covered_positions
from movierec.ranking.model import RankModel


def liked_matrix(rows: np.ndarray, movie_idx: np.ndarray, ratings: np.ndarray, n_rows: int,
                 n_movies: int, threshold: float) -> sparse.csr_matrix:
    """Binary rows x movies matrix of the ratings >= ``threshold`` (unknown movies, -1, ignored)."""
    keep = (np.asarray(ratings) >= threshold) & (movie_idx >= 0)
    return sparse.csr_matrix((np.ones(keep.sum()), (rows[keep], movie_idx[keep])),
                             shape=(n_rows, n_movies))


def row_sets(matrix: sparse.csr_matrix) -> list[set[int]]:
    """The column indices stored in each row, e.g. each person's liked movies."""
    matrix = sparse.csr_matrix(matrix)
    return [set(matrix.indices[start:end].tolist())
            for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)]


def co_rating_scores(co_rated_of: sparse.csr_matrix, liked: sparse.csr_matrix) -> np.ndarray:
    """Mean co-rating similarity of every movie to each row's liked movies (0 with none liked).

    ``co_rated_of`` is the similarity transposed (row ``j``: every movie's similarity to ``j``),
    so only the liked movies' rows are read; each sum adds its terms by ascending liked movie,
    as the product ``similarity @ liked.T`` does."""
    n_liked = np.asarray(liked.sum(axis=1)).ravel()
    totals = (sparse.csr_matrix(liked).sorted_indices() @ co_rated_of).toarray()
    return totals / np.maximum(n_liked, 1)[:, None]


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Column indices of the ``n`` highest scores of each row, best first (ties: lower index).

    ``-inf`` scores (excluded movies) are never returned, so a row may hold fewer than ``n``;
    missing places are -1.
    """
    scores = np.atleast_2d(scores)
    n_rows, n_columns = scores.shape
    n = min(n, n_columns)
    # the n-th best score of each row; every row has at least n scores at or above it, and these
    # few candidates are sorted: best first, then the lower column
    kth = np.partition(scores, n_columns - n, axis=1)[:, n_columns - n]
    row, column = np.nonzero(scores >= kth[:, None])
    value = scores[row, column]
    order = np.lexsort((column, -value, row))
    row, column, value = row[order], column[order], value[order]
    place = np.arange(len(row)) - np.searchsorted(row, np.arange(n_rows))[row]
    keep = place < n
    best, best_value = column[keep].reshape(n_rows, n), value[keep].reshape(n_rows, n)
    return np.where(np.isneginf(best_value), -1, best)


def mask_and_select(scores: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray, n: int,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """:func:`top_n` of ``scores`` (changed in place) without the movies each row's profile holds
    (``rows``, ``movie_idx``; -1: unknown movie) and without ``exclude`` (a boolean mask
    broadcastable to ``scores``)."""
    known = movie_idx >= 0
    scores[rows[known], movie_idx[known]] = -np.inf
    if exclude is not None:
        scores[np.broadcast_to(exclude, scores.shape)] = -np.inf
    return top_n(scores, n)


def select_among(scores: np.ndarray, movies: np.ndarray, n_movies: int, rows: np.ndarray,
                 movie_idx: np.ndarray, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """:func:`mask_and_select` over the movies ``movies`` only (ascending; ``scores`` holds their
    columns, ``exclude`` is over all ``n_movies``): each row's best ``n`` movie indices, as many
    places as all ``n_movies`` would give (-1 when empty; ties keep the lower movie)."""
    column = covered_positions(movies, n_movies)
    profile_column = np.where(movie_idx >= 0, column[np.maximum(movie_idx, 0)], -1)
    if exclude is not None:
        exclude = np.broadcast_to(exclude, (len(scores), n_movies))[:, movies]
    place = mask_and_select(scores, rows, profile_column, n, exclude)
    place = np.pad(place, ((0, 0), (0, min(n, n_movies) - place.shape[1])), constant_values=-1)
    return np.where(place >= 0, movies[np.maximum(place, 0)], -1)


def walk_scale(rated: np.ndarray, walk: np.ndarray) -> np.ndarray:
    """Per row, the factor that gives the walk's scores the standard deviation of the rated item
    model's (0 where the walk is flat): the walk's probabilities then weigh the same at every
    profile size and catalogue size."""
    spread = numerics.row_std(walk)
    return np.where(spread > 0, numerics.row_std(rated) / np.where(spread > 0, spread, 1.0), 0.0)


@dataclass
class RankComponents:
    """The unweighted terms of the rank score (:class:`Ranker`) of each covered movie (columns)
    for each profile (rows) of ``size`` ratings; ``popularity`` is one row for all. ``walk`` is
    scaled to the spread of ``rated`` in its row (:func:`walk_scale`). ``taste`` is
    each profile's genre distribution: the mean genre vector of its liked movies; ``spread`` the
    standard deviation of its ratings."""

    size: np.ndarray
    spread: np.ndarray
    rated: np.ndarray
    disliked: np.ndarray
    liked: np.ndarray
    liked_plain: np.ndarray
    predicted: np.ndarray
    popularity: np.ndarray
    co_rating: np.ndarray
    walk: np.ndarray
    taste: np.ndarray


def calibrate(pool: np.ndarray, value: np.ndarray, genres: sparse.csr_matrix, taste: np.ndarray,
              weight: np.ndarray, n: int, smoothing: float = 0.01) -> np.ndarray:
    """Choose ``n`` of each row's ``pool`` (-1: no movie) greedily, each time the movie that
    maximises ``(1 - weight) * value - weight * KL(taste || genres of the list so far)``
    (Steck 2018, calibrated recommendations): a list's genre mix follows the profile's taste.
    ``genres`` is movies x genres with rows summing to 1; the list's mix is smoothed toward the
    taste by ``smoothing`` so the divergence stays finite."""
    n_rows, width = pool.shape
    mix = genres[np.maximum(pool, 0).ravel()].toarray().reshape(n_rows, width, -1)
    present = taste > 0
    log_taste = np.log(np.where(present, taste, 1.0))
    chosen = np.full((n_rows, min(n, width)), -1)
    total = np.zeros((n_rows, mix.shape[2]))
    available = pool >= 0
    for place in range(chosen.shape[1]):
        share = (1 - smoothing) * (total[:, None, :] + mix) / (place + 1) + smoothing * taste[:, None, :]
        divergence = np.sum(np.where(present[:, None, :],
                                     taste[:, None, :] * (log_taste[:, None, :] - np.log(
                                         np.where(present[:, None, :], share, 1.0))), 0.0), axis=2)
        objective = np.where(available, (1 - weight) * value - weight * divergence, -np.inf)
        pick = np.argmax(objective, axis=1)  # ties: the earlier place
        found = np.isfinite(objective[np.arange(n_rows), pick])
        chosen[found, place] = pool[found, pick[found]]
        total[found] += mix[found, pick[found]]
        available[np.arange(n_rows), pick] = False
    return chosen


@dataclass(frozen=True)
class Ranker:
    """The one way to turn predicted ratings and profiles into top-N lists.

    A movie's rank score for a profile of ``n`` ratings adds, each with a weight that moves from
    its first value (a profile of one rating) to its second (a large profile) as
    ``g = n / (n + rank.large_profile)`` grows:

    - the item model's score (:mod:`movierec.ranking.item_model`): ``rated`` with weight 1 (a
      movie rated below 2.5 with ``rank.disliked_weight``) plus ``rank.liked_weight`` x
      ``liked`` plus ``rank.liked_plain_weight`` x ``liked_plain``, divided by ``sqrt(n)``;
    - ``rank.rating_weight`` x the rating model's predicted rating (unclipped);
    - ``rank.popularity_weight`` x log(1 + the movie's training ratings): small profiles lean on
      what many people rated, large ones are steered away from it;
    - ``rank.co_rating_weight`` x the movie's mean co-rating similarity to the profile's liked
      movies (:mod:`movierec.ranking.similarity`);
    - ``rank.walk_weight`` x the item model's random walk from the profile's movies rated 2.5 or
      more, scaled to the rated item model's spread (:func:`walk_scale`).

    Only the movies the item model covers are listed. ``model`` (:class:`RankModel`),
    ``rating_counts`` and ``genres`` (movies x genres, rows summing to 1) are in the rating
    model's movie order.
    """

    model: RankModel
    rating_counts: np.ndarray
    genres: sparse.csr_matrix
    params: RankParams

    @classmethod
    def of(cls, model: RankModel, rating_model: RatingModel, params: RankParams) -> Ranker:
        """The ranker of a ranking model and the rating model it was fitted beside: the rating
        model's training counts and genres of its movies."""
        return cls(model, rating_model.items_.movie_count, rating_model.genres_, params)

    @property
    def items(self) -> ItemModel:
        return self.model.items

    @property
    def similar(self) -> sparse.csr_matrix:
        return self.model.similar

    def components(self, predicted: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray,
                   ratings: np.ndarray) -> RankComponents:
        """The terms of the rank score of every covered movie for each row's profile, unweighted
        (``predicted``: rows x the covered movies, ``items.movies``, unclipped)."""
        n_rows = len(predicted)
        if predicted.shape[1] != len(self.items.movies):
            raise ValueError(f"predicted ratings of {predicted.shape[1]} movies, not of the "
                             f"{len(self.items.movies)} the item model covers (items.movies)")
        size = np.bincount(rows, minlength=n_rows).astype(float)
        rated_in, disliked_in, liked_in, plain_in = self.items.profile_matrices(
            rows, movie_idx, ratings, n_rows)
        scale = np.sqrt(np.maximum(size, 1))[:, None]
        covered = self.items.movies
        rated = sparse_dense(rated_in, self.items.rated) / scale
        walk = sparse_dense(rated_in, self.items.walk)
        liked = liked_matrix(rows, movie_idx, ratings, n_rows, len(self.rating_counts),
                             self.params.relevant_rating)
        n_liked = np.asarray(liked.sum(axis=1))
        ratings = np.asarray(ratings, dtype=float)
        mean = np.bincount(rows, ratings, minlength=n_rows) / np.maximum(size, 1)
        spread = np.sqrt(np.bincount(rows, (ratings - mean[rows]) ** 2, minlength=n_rows)
                         / np.maximum(size, 1))
        return RankComponents(
            size=size, spread=spread,
            rated=rated,
            disliked=sparse_dense(disliked_in, self.items.rated) / scale,
            liked=sparse_dense(liked_in, self.items.liked) / scale,
            liked_plain=sparse_dense(plain_in, self.items.liked_plain) / scale,
            predicted=predicted,
            popularity=numerics.log1p(self.rating_counts[covered])[None, :],
            co_rating=co_rating_scores(self.model.similar_of(), liked),
            walk=walk * walk_scale(rated, walk)[:, None],
            taste=(liked @ self.genres).toarray() / np.maximum(n_liked, 1))

    def weights(self, size: np.ndarray, params: RankParams | None = None) -> dict[str, np.ndarray]:
        """Each term's weight for profiles of ``size`` ratings (a column each): from the param's
        first value at one rating to its second for a large profile."""
        params = params or self.params
        large = (size / (size + params.large_profile))[:, None]
        pairs = {"disliked": params.disliked_weight, "liked": params.liked_weight,
                 "liked_plain": params.liked_plain_weight,
                 "predicted": params.rating_weight,
                 "popularity": params.popularity_weight, "co_rating": params.co_rating_weight,
                 "walk": params.walk_weight, "rerank": params.rerank_weight}
        return {name: small * (1 - large) + big * large for name, (small, big) in pairs.items()}

    def covered_scores(self, parts: RankComponents,
                       params: RankParams | None = None) -> np.ndarray:
        """Rank scores of the covered movies (columns as ``items.movies``): the weighted terms.
        ``params`` defaults to the ranker's (tuning passes others)."""
        weight = self.weights(parts.size, params)
        item_score = (parts.rated + weight["disliked"] * parts.disliked
                      + weight["liked"] * parts.liked + weight["liked_plain"] * parts.liked_plain)
        for name in ("predicted", "popularity", "co_rating", "walk"):
            item_score += weight[name] * getattr(parts, name)
        return item_score

    def combine(self, parts: RankComponents, params: RankParams | None = None) -> np.ndarray:
        """Rank scores of every movie (columns): :meth:`covered_scores` for the covered movies,
        ``-inf`` for the others."""
        scores = np.full((len(parts.size), self.items.n_movies), -np.inf)
        scores[:, self.items.movies] = self.covered_scores(parts, params)
        return scores

    def scores(self, predicted: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray,
               ratings: np.ndarray) -> np.ndarray:
        """Rank scores of every movie (columns) for each row's profile; ``-inf`` for the movies
        the item model does not cover. ``predicted``: rows x covered movies, unclipped."""
        return self.combine(self.components(predicted, rows, movie_idx, ratings))

    def lists(self, parts: RankComponents, rows: np.ndarray, movie_idx: np.ndarray, n: int,
              exclude: np.ndarray | None = None, params: RankParams | None = None) -> np.ndarray:
        """The best ``n`` movies of each row, in two steps: the ``rank.candidates`` best by the
        rank score (:meth:`covered_scores`), then reordered by their place there plus
        ``rank.rerank_weight`` x the predicted rating (a place counts ``1 / candidates``), so that
        among the movies a person would plausibly watch, what they would like comes first. For a
        decisive profile, whose ratings spread more than one star (standard deviation), the
        reordering also follows its genre taste (:func:`calibrate`), with the weight
        ``rank.calibration_weight`` x (spread - 1), at most 1. The profile's movies (``rows``,
        ``movie_idx``) and ``exclude`` are never listed; -1 fills places no movie can take."""
        params = params or self.params
        pool_size = max(params.candidates, n)
        pool = select_among(self.covered_scores(parts, params), self.items.movies,
                            self.items.n_movies, rows, movie_idx, pool_size, exclude)
        found = pool >= 0
        predicted = np.take_along_axis(parts.predicted,
                                       np.where(found, self.items.positions(pool), 0), axis=1)
        weight = self.weights(parts.size, params)
        order = -np.arange(pool.shape[1])[None, :] / params.candidates + weight["rerank"] * predicted
        order[~found] = -np.inf
        decisive = np.clip(parts.spread - 1.0, 0.0, 1.0)[:, None]  # 0 up to 1 star, 1 from 2 on
        calibration = np.clip(params.calibration_weight * decisive, 0.0, 1.0)
        if not (calibration > 0).any():
            return np.take_along_axis(pool, top_n(order, n), axis=1)
        return calibrate(pool, order, self.genres, parts.taste, calibration, n)

    def top_n(self, predicted: np.ndarray, rows: np.ndarray, movie_idx: np.ndarray,
              ratings: np.ndarray, n: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """The best ``n`` movies of each row of ``predicted`` (rows x covered movies, unclipped,
        as :meth:`RatingModel.score_matrix` gives them with ``movies=items.movies``) for the
        profiles given as ratings (``rows``, ``movie_idx``, ``ratings``; movie -1: unknown to
        the model): :meth:`lists` of :meth:`components`."""
        return self.lists(self.components(predicted, rows, movie_idx, ratings), rows, movie_idx, n,
                          exclude)

    def because(self, movie_idx: np.ndarray, ratings: np.ndarray, listed: np.ndarray,
                most: int = 2) -> list[list[int]]:
        """For one profile (``movie_idx``, ``ratings``), the profile entries (positions in those
        arrays) that raise each ``listed`` movie's score most, strongest first, at most ``most``:
        their terms of the item model, the co-rating similarity and the walk."""
        size = np.array([float(len(movie_idx))])
        weight = self.weights(size)
        liked_w, co_rating_w = weight["liked"], weight["co_rating"]
        known = movie_idx >= 0
        source, target = self.items.positions(movie_idx), self.items.positions(listed)
        covered = source >= 0
        contribution = np.zeros((len(movie_idx), len(listed)))
        inputs = ((np.asarray(ratings, dtype=float)[covered] - LIKED_CENTER)
                  * self.items.liked_scale[source[covered]])
        low = np.asarray(ratings, dtype=float)[covered] < LIKED_CENTER
        rated_input = np.where(low, weight["disliked"][0, 0], 1.0)
        centred = np.asarray(ratings, dtype=float)[covered] - LIKED_CENTER
        weights = (rated_input[:, None] * self.items.rated[source[covered]][:, target]
                   + liked_w[0, 0] * inputs[:, None] * self.items.liked[source[covered]][:, target]
                   + weight["liked_plain"][0, 0] * centred[:, None]
                   * self.items.liked_plain[source[covered]][:, target])
        contribution[covered] = weights / np.sqrt(max(size[0], 1))
        starts = self.items.profile_matrices(np.zeros(len(movie_idx), dtype=int), movie_idx,
                                             ratings, 1)[0]  # the walk's, as in components()
        factor = walk_scale(sparse_dense(starts, self.items.rated) / np.sqrt(max(size[0], 1)),
                            sparse_dense(starts, self.items.walk))[0]
        contribution[np.flatnonzero(covered)[~low]] += (
            weight["walk"][0, 0] * factor * self.items.walk[source[covered][~low]][:, target])
        liked = known & (np.asarray(ratings) >= self.params.relevant_rating)
        if liked.any():
            similarity = self.similar[listed][:, movie_idx[liked]].toarray().T
            contribution[liked] += co_rating_w[0, 0] * similarity / liked.sum()
        reasons = []
        for k in range(len(listed)):
            order = np.lexsort((np.arange(len(movie_idx)), -contribution[:, k]))
            reasons.append([int(j) for j in order[:most] if contribution[j, k] > 0])
        return reasons
