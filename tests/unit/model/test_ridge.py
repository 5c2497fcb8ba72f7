"""The sufficient-statistics Ridge equals scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from movierec.model.ridge import ridge_by_movie


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize(("with_content", "with_movie_dense"), [(True, True), (True, False),
                                                                (False, True), (False, False)])
def test_ridge_by_movie_is_scikit_learns_ridge(with_content, with_movie_dense, standardize):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(3)
    n_movies, n_rows = 40, 3000
    content = sparse.random(n_movies, 12, density=0.3, random_state=4, format="csr")
    movie_dense = rng.normal([1990.0, 0.1], [15.0, 0.3], size=(n_movies, 2))  # e.g. year
    movie_idx = rng.integers(0, n_movies, n_rows)
    dense = rng.normal([2000.0, 5.0, 0.0], [20.0, 1.0, 3.0], size=(n_rows, 3))  # uncentred
    y = (content[movie_idx] @ rng.normal(size=12) + movie_dense[movie_idx] @ [0.02, 1.0]
         + dense @ [0.01, -0.3, 0.2] + rng.normal(0, 0.5, n_rows))
    scaled = np.hstack([movie_dense[movie_idx], dense]) if with_movie_dense else dense
    if standardize:
        scaled = (scaled - scaled.mean(axis=0)) / scaled.std(axis=0)
    design = np.hstack([content[movie_idx].toarray(), scaled]) if with_content else scaled
    for alpha in (0.1, 10.0, 1000.0):
        expected = Ridge(alpha=alpha, solver="cholesky").fit(design, y)
        fitted = ridge_by_movie(content if with_content else None, movie_idx, dense, y, alpha,
                                standardize=standardize,
                                movie_dense=movie_dense if with_movie_dense else None)
        np.testing.assert_allclose(fitted.coef_, expected.coef_, rtol=1e-6, atol=1e-9)
        assert fitted.intercept_ == pytest.approx(expected.intercept_, rel=1e-6)
        np.testing.assert_allclose(fitted.predict(design), expected.predict(design), rtol=1e-9)
        if standardize:
            unscaled = np.hstack([movie_dense[movie_idx], dense]) if with_movie_dense else dense
            np.testing.assert_allclose(fitted.dense_mean_, unscaled.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(fitted.dense_scale_, unscaled.std(axis=0), rtol=1e-9)
