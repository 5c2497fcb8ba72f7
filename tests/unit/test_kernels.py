"""The compiled kernels against a pure numpy/scipy reference of the same definitions, on
rating-shaped data with ties: scale changes their speed, not the model."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from scipy import sparse

from movierec import kernels
from movierec.kernels import (
    _csr_arrays,
    affinities,
    affinity_rows,
    fits_top_k_pairs,
    fold_residuals,
    fold_square_sums,
    fold_sums,
    kernel_csr,
    neighbor_rows,
    neighbor_sums,
    pair_counts,
    sparse_dense,
    top_k_co_ratings,
)


def strongest_per_row_reference(products: sparse.csr_matrix, values: np.ndarray,
                                k: int) -> sparse.csr_matrix:
    """The ``k`` largest ``|values|`` of each row of ``products``' pattern, off the diagonal and
    non-zero; ties keep the lower columns."""
    rows, dense = [], np.zeros(products.shape)
    row = np.repeat(np.arange(products.shape[0]), np.diff(products.indptr))
    dense[row, products.indices] = values
    np.fill_diagonal(dense, 0.0)
    for r in range(products.shape[0]):
        order = np.lexsort((np.arange(products.shape[1]), -np.abs(dense[r])))
        keep = [c for c in order[:k] if dense[r, c] != 0]
        line = np.zeros(products.shape[1])
        line[keep] = dense[r, keep]
        rows.append(line)
    return sparse.csr_matrix(np.array(rows))


def top_k_pairs_reference(by_user: sparse.csr_matrix, row_scale: np.ndarray,
                          column_scale: np.ndarray, shrinkage: float, k: int) -> sparse.csr_matrix:
    products = (by_user.T.tocsr() @ by_user).tocsr()
    products.sort_indices()
    rated = by_user.copy()
    rated.data = np.ones_like(rated.data)
    counts = (rated.T.tocsr() @ rated).toarray()
    row = np.repeat(np.arange(products.shape[0]), np.diff(products.indptr))
    col = products.indices
    denominator = row_scale[row] * column_scale[col]
    values = np.divide(products.data, denominator, out=np.zeros_like(products.data),
                       where=denominator > 0)
    if shrinkage >= 0:
        values = values * counts[row, col] / (counts[row, col] + shrinkage)
    return strongest_per_row_reference(products, values, k)


def top_k_pairs(by_user: sparse.csr_matrix, row_scale: np.ndarray, column_scale: np.ndarray,
                shrinkage: float, k: int) -> sparse.csr_matrix:
    """:func:`fits_top_k_pairs` of one fit: every entry of ``by_user`` with its value."""
    return fits_top_k_pairs(by_user, by_user.data[:, None], np.full(by_user.nnz, -1),
                            np.asarray(row_scale, dtype=float)[:, None],
                            np.asarray(column_scale, dtype=float)[:, None], shrinkage, k)[0]


def rating_like(seed: int, n_users: int = 60, n_movies: int = 40) -> sparse.csr_matrix:
    """Users x movies residuals: long-tailed movies, half-star ratings (so many exact ties)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_movies + 1)
    rated = rng.random((n_users, n_movies)) < 0.6 * popularity / popularity.mean() / 3
    values = rng.integers(-4, 5, size=rated.shape) / 2.0
    return sparse.csr_matrix(np.where(rated, values, 0.0))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("k", [1, 3, 100])
@pytest.mark.parametrize("shape", [(60, 40), (150, 300)])  # the second: more candidates per
@pytest.mark.parametrize("block", [None, 7])  # movie than the kernel's room for them; blocks
def test_top_k_pairs_equals_the_reference(seed: int, k: int, shape: tuple[int, int],
                                          block: int | None, monkeypatch):
    if block:  # many blocks of movies, as at scale
        monkeypatch.setattr(kernels, "BLOCK_MOVIES", block)
    residuals = rating_like(seed, *shape)
    norms = np.sqrt(np.asarray(residuals.multiply(residuals).sum(axis=0)).ravel())
    for shrinkage, row_scale, column_scale in [(10.0, norms, norms), (-1.0, norms ** 0.7, norms ** 0.3)]:
        before = residuals.copy()
        got = top_k_pairs(residuals, row_scale, column_scale, shrinkage, k)
        assert (residuals != before).nnz == 0  # the input is left as it was
        want = top_k_pairs_reference(residuals, row_scale, column_scale, shrinkage, k)
        assert got.has_sorted_indices
        assert (got != 0).toarray().tolist() == (want != 0).toarray().tolist()
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", [(80, 50), (150, 300)])
@pytest.mark.parametrize("block", [None, 7])
def test_fits_top_k_pairs_gives_each_fit_what_top_k_pairs_gives_its_entries(
        seed: int, shape: tuple[int, int], block: int | None, monkeypatch):
    if block:
        monkeypatch.setattr(kernels, "BLOCK_MOVIES", block)
    residuals = rating_like(seed, *shape)
    n_users, n_movies = shape
    rng = np.random.default_rng(seed)
    n_fits = 4
    skip = rng.integers(-1, n_fits, residuals.nnz)  # -1: in every fit
    values = residuals.data[:, None] + rng.normal(size=(residuals.nnz, n_fits)).round(1)
    scale = rng.random((n_movies, n_fits)) + 0.5
    rows = np.repeat(np.arange(n_users), np.diff(residuals.indptr))
    for shrinkage in (10.0, -1.0):
        got = fits_top_k_pairs(residuals, values, skip, scale, scale[::-1], shrinkage, 7)
        for f in range(n_fits):
            held = skip != f
            fit = sparse.csr_matrix((values[held, f], (rows[held], residuals.indices[held])),
                                    shape=residuals.shape)
            want = top_k_pairs(fit, scale[:, f], scale[::-1, f], shrinkage, 7)
            assert (got[f] != want).nnz == 0, f  # to the last bit
        overwritten = values.copy()
        in_place = fits_top_k_pairs(residuals, overwritten, skip, scale, scale[::-1], shrinkage,
                                    7, overwrite_values=True)
        assert all((a != b).nnz == 0 for a, b in zip(in_place, got, strict=True))
        assert not np.array_equal(overwritten, values)  # the caller's array was used, not copied


@pytest.mark.parametrize("seed", range(3))
def test_permute_rows_reorders_in_place_as_fancy_indexing(seed: int):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(500, 3))
    order = rng.permutation(500)
    want = rows[order]
    kernels._permute_rows(rows, order)
    assert np.array_equal(rows, want)


def test_fits_top_k_pairs_refuses_to_overwrite_values_it_would_have_to_copy():
    residuals = rating_like(0, 40, 30)
    values = np.asfortranarray(np.repeat(residuals.data[:, None], 2, axis=1))
    scale = np.ones((30, 2))
    with pytest.raises(ValueError, match="C-ordered float64 values, not float64 strided"):
        fits_top_k_pairs(residuals, values, np.full(residuals.nnz, -1), scale, scale, 1.0, 5,
                         overwrite_values=True)


def test_fits_top_k_pairs_keeps_no_reference_to_its_arrays():
    # freed on return, not at the next garbage collection: at full scale the residuals are
    # 0.86 GB, held through the out-of-fold phase by a dispatch's reference cycle before
    residuals = rating_like(1, 60, 40)
    values = np.repeat(residuals.data[:, None], 3, axis=1)
    scale = np.ones((40, 3))
    skip = np.full(residuals.nnz, -1)
    fits_top_k_pairs(residuals, values.copy(), skip, scale, scale, 1.0, 5)  # compiled first
    alive = weakref.ref(values)
    gc.disable()
    try:
        fits_top_k_pairs(residuals, values, skip, scale, scale, 1.0, 5, overwrite_values=True)
        del values
        assert alive() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("k", [1, 3, 100])
@pytest.mark.parametrize("shape", [(60, 40), (150, 300)])
@pytest.mark.parametrize("block", [None, 7])
def test_top_k_co_ratings_equals_the_reference_and_the_one_fit_pass(
        seed: int, k: int, shape: tuple[int, int], block: int | None, monkeypatch):
    if block:
        monkeypatch.setattr(kernels, "BLOCK_MOVIES", block)
        monkeypatch.setattr(kernels, "BLOCK_COUNTS", block)
    residuals = rating_like(seed, *shape)
    rated = residuals.copy()
    rated.data = np.ones_like(rated.data)
    counts = np.bincount(rated.indices, minlength=shape[1]).astype(float)
    row_scale, column_scale = counts ** 0.7, counts ** 0.3
    got = top_k_co_ratings(residuals, row_scale, column_scale, k)  # the values are ignored
    want = top_k_pairs_reference(rated, row_scale, column_scale, -1.0, k)
    assert got.has_sorted_indices
    assert (got != 0).toarray().tolist() == (want != 0).toarray().tolist()
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=0, atol=1e-9)
    one_fit = top_k_pairs(rated, row_scale, column_scale, -1.0, k)
    assert (got != one_fit).nnz == 0  # to the last bit
    assert np.array_equal(got.indices, one_fit.indices)


def test_top_k_pairs_of_empty_movies_and_users():
    by_user = sparse.csr_matrix((3, 4))
    assert top_k_pairs(by_user, np.ones(4), np.ones(4), 1.0, 5).nnz == 0
    assert top_k_co_ratings(by_user, np.ones(4), np.ones(4), 5).nnz == 0


def test_neighbor_sums_equal_the_reference():
    rng = np.random.default_rng(0)
    evidence = rating_like(1)
    weights = sparse.random(40, 40, density=0.2, random_state=1, format="csr")
    weights.data -= 0.5
    users = np.sort(rng.integers(0, 60, 500))
    users[::7] = rng.integers(0, 60, len(users[::7]))  # not all grouped by user
    movies = rng.integers(0, 40, 500)
    numerator, support = neighbor_sums(evidence, weights, users, movies)
    dense_evidence, dense_weights = evidence.toarray(), weights.toarray()
    has = evidence.toarray() != 0
    want = (dense_weights[movies] * dense_evidence[users]).sum(axis=1)
    want_support = (np.abs(dense_weights[movies]) * has[users]).sum(axis=1)
    np.testing.assert_allclose(numerator, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(support, want_support, rtol=0, atol=1e-9)


def test_affinities_equal_the_dense_reference_and_each_other():
    evidence = rating_like(2)
    tokens = sparse.random(40, 12, density=0.25, random_state=3, format="csr")
    damping = 2.0
    rated = evidence.copy()
    rated.data[:] = 1.0
    sums, weights = (evidence @ tokens).toarray(), (rated @ tokens).toarray()
    by_user = np.divide(sums, weights + damping, out=np.zeros_like(sums), where=weights + damping > 0)
    want = (tokens @ by_user.T).T  # users x movies
    rows = np.array([5, 0, 59, 5])
    np.testing.assert_allclose(affinity_rows(evidence, tokens, damping, rows), want[rows], rtol=0,
                               atol=1e-12)
    users, movies = np.repeat(rows, 40), np.tile(np.arange(40), len(rows))
    assert affinities(evidence, tokens, damping, users, movies).tolist() == \
        affinity_rows(evidence, tokens, damping, rows).ravel().tolist()
    some = np.array([39, 2, 17])
    assert affinity_rows(evidence, tokens, damping, rows, some).tolist() == \
        affinity_rows(evidence, tokens, damping, rows)[:, some].tolist()
    with_zeros = tokens.copy()
    with_zeros.data[::3] = 0.0  # explicit zeros are no weight (the kernels list tokens by weight)
    without = with_zeros.copy()
    without.eliminate_zeros()
    assert affinity_rows(evidence, with_zeros, damping, rows).tolist() == \
        affinity_rows(evidence, without, damping, rows).tolist()
    with_zeros.data[1] = -1.0
    with pytest.raises(ValueError, match="must not be negative"):
        affinities(evidence, with_zeros, damping, users, movies)


def test_sparse_dense_equals_scipys_float64_product():
    matrix = rating_like(3)[:7]
    dense = np.random.default_rng(4).random((40, 9)).astype(np.float32)
    assert sparse_dense(matrix, dense).tolist() == (matrix @ dense.astype(float)).tolist()


def test_neighbor_rows_equal_the_scipy_product_and_the_per_query_sums():
    evidence = rating_like(5)
    weights = sparse.random(40, 40, density=0.2, random_state=6, format="csr")
    weights.data -= 0.5
    rows = np.array([3, 0, 59])
    numerator, support = neighbor_rows(evidence, weights.T.tocsr(), rows)
    picked = evidence[rows]
    rated = picked.copy()
    rated.data[:] = 1.0
    assert numerator.tolist() == (weights @ picked.T).T.toarray().tolist()
    assert support.tolist() == (abs(weights) @ rated.T).T.toarray().tolist()
    some = np.array([39, 2, 17])
    some_numerator, some_support = neighbor_rows(evidence, weights.T.tocsr(), rows, some)
    assert some_numerator.tolist() == numerator[:, some].tolist()
    assert some_support.tolist() == support[:, some].tolist()
    users, movies = np.repeat(rows, 40), np.tile(np.arange(40), 3)
    per_query = neighbor_sums(evidence, weights, users, movies)
    np.testing.assert_allclose(numerator.ravel(), per_query[0], rtol=0, atol=1e-12)


def test_kernel_csr_holds_the_same_matrix_in_the_types_kernels_read_without_copies():
    matrix = sparse.random(30, 20, density=0.2, random_state=7, format="csr", dtype=np.float32)
    converted = kernel_csr(matrix.T)
    assert (converted != matrix.T.tocsr()).nnz == 0
    assert converted.indices.dtype == converted.indptr.dtype == np.int64
    passed = _csr_arrays(converted)
    assert all(np.shares_memory(a, b) for a, b in
               zip(passed, (converted.indptr, converted.indices, converted.data), strict=True))


def test_pair_counts_equal_the_weighted_gram():
    rng = np.random.default_rng(3)
    x = sparse.random(30, 8, density=0.3, format="csr", random_state=rng)
    binary = (x.toarray() != 0).astype(float)
    np.testing.assert_array_equal(pair_counts(x), binary.T @ binary)  # exact integers
    weights = rng.random((2, 30))
    counts, first, second = pair_counts(x, weights)  # one pass: the counts, then each weighting
    np.testing.assert_array_equal(counts, binary.T @ binary)
    for summed, user_weights in zip((first, second), weights, strict=True):
        np.testing.assert_allclose(summed, binary.T @ (user_weights[:, None] * binary),
                                   rtol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_layout_is_numpys_stable_sorts(seed: int):
    rng = np.random.default_rng(seed)
    pattern = sparse.random(300, 40, density=0.15, format="csr", random_state=rng)
    pattern.data[:] = 1.0
    pattern = sparse.vstack([pattern, sparse.csr_matrix((2, 40))]).tocsr()  # users with none
    layout = kernels._Layout.of(pattern)
    counts = np.bincount(pattern.indices, minlength=40)  # many ties: lower movie first
    np.testing.assert_array_equal(layout.label, np.lexsort((np.arange(40), -counts)))
    relabel = np.argsort(layout.label)
    user_of = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    order = np.lexsort((np.arange(pattern.nnz), relabel[pattern.indices], user_of))
    np.testing.assert_array_equal(layout.order, order)
    np.testing.assert_array_equal(layout.user_movies, relabel[pattern.indices][order])
    by_movie = np.argsort(layout.user_movies, kind="stable")
    np.testing.assert_array_equal(layout.by_movie, by_movie)
    np.testing.assert_array_equal(layout.movie_users, user_of[order][by_movie])
    np.testing.assert_array_equal(layout.movie_ptr,
                                  np.concatenate([[0], np.cumsum(np.bincount(
                                      layout.user_movies, minlength=40))]))
    np.testing.assert_array_equal(layout.user_ptr, pattern.indptr)


def test_fold_sums_and_residuals_equal_each_fits_bincount():
    rng = np.random.default_rng(5)
    n, n_keys, n_tables = 500, 30, 12
    keys, table_keys = rng.integers(0, n_keys, n), rng.integers(0, n_tables, n)
    ratings, fold = rng.choice(np.arange(0.5, 5.5, 0.5), n), rng.integers(0, 4, n)
    shift, table = rng.normal(3.5, 0.1, 5), rng.normal(size=(n_tables, 5))
    other = rng.normal(size=(n_keys, 5))
    sums, counts = fold_sums(keys, n_keys, ratings, fold, shift, table_keys, table)
    residuals = fold_residuals(np.arange(n), keys, table_keys, ratings, fold, shift, table, other)
    squares = fold_square_sums(keys, n_keys, residuals, fold)
    for f in range(5):  # the last fit leaves nothing out
        held = fold != f
        weights = ratings[held] - shift[f] - table[table_keys[held], f]
        np.testing.assert_array_equal(sums[:, f], np.bincount(keys[held], weights, n_keys))
        np.testing.assert_array_equal(counts[:, f], np.bincount(keys[held], minlength=n_keys))
        np.testing.assert_array_equal(residuals[held, f], weights - other[keys[held], f])
        assert (residuals[~held, f] == 0).all()
        np.testing.assert_array_equal(
            squares[:, f], np.bincount(keys[held], residuals[held, f] ** 2, n_keys))
    np.testing.assert_array_equal(fold_sums(keys, n_keys, ratings, fold, shift)[0][:, 4],
                                  np.bincount(keys, ratings - shift[4], n_keys))
