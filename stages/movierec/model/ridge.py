"""The Ridge regression of the rating model, solved exactly from sufficient statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from threadpoolctl import threadpool_limits


@dataclass
class LinearFit:
    """A fitted linear model: ``predict(X) = X @ coef_ + intercept_``.

    With ``dense_mean_`` and ``dense_scale_``, X's columns after the content ones are standardized:
    ``(column - dense_mean_) / dense_scale_``.
    """

    coef_: np.ndarray
    intercept_: float
    dense_mean_: np.ndarray | None = None
    dense_scale_: np.ndarray | None = None

    def predict(self, design: np.ndarray | sparse.spmatrix) -> np.ndarray:
        return np.asarray(design @ self.coef_).ravel() + self.intercept_


def ridge_by_movie(content: sparse.csr_matrix | None, movie_idx: np.ndarray, dense: np.ndarray,
                   y: np.ndarray, alpha: float, standardize: bool = False,
                   movie_dense: np.ndarray | None = None) -> LinearFit:
    """Ridge with intercept on ``X = [content[movie_idx], movie_dense[movie_idx], dense]``,
    without building ``X``.

    The same estimator as ``sklearn.linear_model.Ridge(alpha).fit(X, y)`` (exact solve): the
    movie-level columns repeat per movie, so their centred Gram matrix and ``X^T y`` come from
    per-movie counts and sums; the dense columns' moments are one BLAS product, centred afterwards.
    Memory is that of ``dense``; time is linear in the rows.
    ``standardize`` fits on the ``movie_dense`` and ``dense`` columns scaled to unit standard
    deviation (applied to the Gram matrix, so nothing is copied); ``dense_mean_`` and
    ``dense_scale_`` then hold their means and scales, ``movie_dense`` first.
    """
    n, n_dense = dense.shape
    y_mean, dense_mean = float(y.mean()), dense.mean(axis=0)
    gram = dense.T @ dense - n * np.outer(dense_mean, dense_mean)
    xty = dense.T @ y - n * y_mean * dense_mean
    means = dense_mean
    parts = [part for part in (content, movie_dense) if part is not None]
    n_content = 0 if content is None else content.shape[1]
    if parts:
        movies = sparse.hstack([sparse.csr_matrix(part) for part in parts]).tocsr()
        n_movies = movies.shape[0]
        counts = np.bincount(movie_idx, minlength=n_movies).astype(float)
        movies_mean = np.asarray(movies.T @ counts).ravel() / n
        gram_movies = (movies.T @ sparse.diags(counts) @ movies).toarray()
        gram_movies -= n * np.outer(movies_mean, movies_mean)
        dense_by_movie = np.column_stack([  # per-movie sums of the centred columns
            np.bincount(movie_idx, dense[:, j], minlength=n_movies) - counts * dense_mean[j]
            for j in range(n_dense)]).reshape(n_movies, n_dense)
        cross = np.asarray(movies.T @ dense_by_movie)
        gram = np.block([[gram_movies, cross], [cross.T, gram]])
        y_by_movie = np.bincount(movie_idx, y, minlength=n_movies) - counts * y_mean
        xty = np.concatenate([movies.T @ y_by_movie, xty])
        means = np.concatenate([movies_mean, dense_mean])
    scale = np.ones(len(gram))
    if standardize:  # every column but content's; the centred Gram's diagonal is n x variance
        scale[n_content:] = np.sqrt(np.diag(gram)[n_content:] / n)
        scale[scale == 0] = 1.0
        gram /= np.outer(scale, scale)
        xty /= scale
    fitted_means = np.where(np.arange(len(means)) < n_content, means, 0.0) if standardize else means
    with threadpool_limits(limits=1):  # LAPACK's and BLAS's blocking follow the thread count
        coef = linalg.solve(gram + alpha * np.eye(len(gram)), xty, assume_a="pos")
        intercept = y_mean - float(fitted_means @ coef)
    return LinearFit(coef_=coef, intercept_=intercept,
                     dense_mean_=means[n_content:] if standardize else None,
                     dense_scale_=scale[n_content:] if standardize else None)
