"""Genre and tag tokens and their TF-IDF weights, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec.data.movielens import load_movies, load_tags
from movierec.features.movie_features import build_movie_features
from movierec.features.tokens import movie_tokens, stop_words, tfidf
from support import ratings_table


def test_feature_names_say_where_tokens_came_from(movielens_dir):
    movies, tags = load_movies(movielens_dir), load_tags(movielens_dir)
    rows, tokens = movie_tokens(movies, tags)
    first_movie = [token for row, token in zip(rows, tokens.to_pylist(), strict=True) if row == 0]
    assert first_movie[-3:] == ["tag:dark", "tag:comedy", "tag:dark"]
    assert all(token.startswith(("genre:", "tag:")) for token in tokens.to_pylist())
    train = ratings_table([(1, 10, 4.0), (2, 10, 3.0), (3, 20, 4.0), (4, 30, 2.0)])
    features = build_movie_features(movies, tags, train, max_features=100, min_df=1)
    assert "tag:dark" in features.names and "genre:Drama" in features.names
    assert features.content.shape == (len(movies), len(features.names))


def test_tag_words_follow_the_documented_rule():
    movies = pd.DataFrame({"movieId": [1], "genres": [[]]})
    tags = pd.DataFrame({"movieId": [1, 1, 1, 2],
                         "tag": ["it's 'quoted' a", "sci-fi/noir the", "''", "unknown movie"]})
    rows, tokens = movie_tokens(movies, tags)
    assert sorted(tokens.to_pylist()) == ["tag:fi", "tag:it's", "tag:noir", "tag:quoted'",
                                          "tag:sci"]
    assert rows.tolist() == [0] * 5


def test_stop_words_are_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    assert stop_words() == sorted(ENGLISH_STOP_WORDS)


def test_tfidf_is_scikit_learns():
    from sklearn.feature_extraction.text import TfidfTransformer

    rng = np.random.default_rng(0)
    rows = rng.integers(0, 30, 400)
    tokens = pa.array([f"t{k:02d}" for k in rng.zipf(1.5, 400) % 40])
    matrix, names = tfidf(rows, tokens, 31, max_features=12, min_df=2)  # movie 30: no token
    counts = pd.crosstab(rows, tokens.to_numpy(zero_copy_only=False)).reindex(range(31),
                                                                             fill_value=0)
    expected = TfidfTransformer().fit_transform(counts[names].to_numpy())
    assert len(names) == 12 and names == sorted(names)
    np.testing.assert_allclose(matrix.toarray(), expected.toarray(), rtol=1e-12, atol=1e-15)
