"""Per-movie features see only the training split's tags."""

from __future__ import annotations

from movierec.data.movielens import load_movies, load_tags
from movierec.features.movie_features import build_movie_features, training_tags
from support import ratings_table


def test_only_tags_whose_user_rated_the_movie_in_training_feed_tokens(movielens_dir):
    """Tags 'dark comedy' (user 1) and 'Dark' (user 2) on movie 10, 'space' (user 3) on 20,
    'funny' (user 4) on 30: with only users 2 and 3's ratings of them in training, 'comedy' and
    'funny' (whose ratings are held out) are no tokens."""
    movies, tags = load_movies(movielens_dir), load_tags(movielens_dir)
    train = ratings_table([(2, 10, 4.0), (3, 20, 5.0), (4, 20, 3.0), (1, 30, 2.0)])
    assert training_tags(tags, train)["tag"].tolist() == ["dark", "space"]
    features = build_movie_features(movies, tags, train, max_features=100, min_df=1)
    assert {"tag:dark", "tag:space"} <= set(features.names)
    assert not {"tag:comedy", "tag:funny"} & set(features.names)
