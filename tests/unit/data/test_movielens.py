"""The loader: every malformed file gives one clear error naming file, line and value."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from movierec.data.movielens import load_links, load_movies, load_ratings, load_tags
from movierec.errors import UserInputError

HEADER = "userId,movieId,rating,timestamp\n"


def write_ratings(directory: Path, text: str | bytes) -> Path:
    path = directory / "ratings.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return directory


@pytest.mark.parametrize(("content", "message"), [
    ("", "file is empty"),
    (HEADER, "has a header but no data rows"),
    ("userId,movieId,timestamp\n1,2,3\n", "missing column(s) rating"),
    ("userId,movieID,rating,timestamp\n1,2,3,4\n", "missing column(s) movieId"),
    (HEADER + "1,2,4.0,5\n1,3,abc,6\n", "line 3: rating = 'abc' is not a number"),
    (HEADER + "1,2,4.0,5\n1,3,7.0,6\n", "line 3: rating = 7 is outside the allowed range 0.5-5.0"),
    (HEADER + "1,2,0.0,5\n", "line 2: rating = 0 is outside"),
    (HEADER + "1,2,4.0,5\n,3,4.0,6\n", "line 3: userId is empty"),
    (HEADER + "1,2.5,4.0,5\n", "line 2: movieId = 2.5 is not a whole number"),
    (b"userId,movieId,rating,timestamp\n1,2,4.0,5\n\xff\xfe,3,4.0,6\n", "not UTF-8 text"),
])
def test_bad_ratings_file(tmp_path, content, message):
    with pytest.raises(UserInputError) as error:
        load_ratings(write_ratings(tmp_path, content))
    assert message in str(error.value)
    assert str(tmp_path / "ratings.csv") in str(error.value)


def test_missing_file_names_the_required_files(tmp_path):
    with pytest.raises(UserInputError, match=r"ratings.csv: file not found; a MovieLens directory needs"):
        load_ratings(tmp_path)


@pytest.mark.parametrize("content", [
    HEADER + "1,2,4.0,5\n1,3,3.5,6\n",
    (HEADER + "1,2,4.0,5\n1,3,3.5,6\n").replace("\n", "\r\n"),
    "\ufeff" + HEADER + "1,2,4.0,5\n1,3,3.5,6\n",
    "userId,movieId,rating,timestamp,comment\n1,2,4.0,5,x\n1,3,3.5,6,y\n",
])
def test_accepted_variants_lf_crlf_bom_extra_columns(tmp_path, content):
    ratings = load_ratings(write_ratings(tmp_path, content))
    assert ratings.to_dict("list") == {
        "userId": [1, 1], "movieId": [2, 3], "rating": [4.0, 3.5], "timestamp": [5, 6]}
    assert ratings.dtypes.astype(str).to_dict() == {
        "userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}


def test_duplicate_ratings_keep_the_latest_and_are_reported(tmp_path, capsys):
    ratings = load_ratings(write_ratings(tmp_path, HEADER + "1,2,2.0,9\n1,2,4.0,5\n1,3,3.0,1\n"))
    assert ratings[["movieId", "rating"]].to_dict("list") == {"movieId": [2, 3], "rating": [2.0, 3.0]}
    assert "1 duplicate (userId, movieId) rows" in capsys.readouterr().err


def test_movies_quoted_titles_no_genres_and_missing_years(tmp_path):
    (tmp_path / "movies.csv").write_text(
        'movieId,title,genres\n'
        '20,"Good, the Bad and the Ugly, The (1966)",Action|Western\n'
        '10,Untitled Project,(no genres listed)\n'
        '30,Some Series (2007-2013),Drama\n'
    )
    movies = load_movies(tmp_path)
    assert movies["movieId"].tolist() == [10, 20, 30]
    assert movies["title"].tolist()[1] == "Good, the Bad and the Ugly, The (1966)"
    assert movies["genres"].tolist() == [[], ["Action", "Western"], ["Drama"]]
    assert movies["year"].isna().tolist() == [True, False, False]
    assert movies["year"].tolist()[1:] == [1966.0, 2007.0]


def test_movies_duplicate_id_is_an_error(tmp_path):
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,A (1990),Drama\n1,B (1991),Drama\n")
    with pytest.raises(UserInputError, match="line 3: movieId = 1 appears twice"):
        load_movies(tmp_path)


def test_tags_with_empty_text_are_dropped(tmp_path):
    (tmp_path / "tags.csv").write_text('userId,movieId,tag,timestamp\n1,2,"",3\n1,2,  Funny ,4\n')
    assert load_tags(tmp_path).to_dict("list") == {"userId": [1], "movieId": [2], "tag": ["funny"]}


def test_links_keep_imdb_zeros_and_allow_missing_tmdb(tmp_path):
    (tmp_path / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,\n")
    links = load_links(tmp_path)
    assert links["imdbId"].tolist() == ["0114709", "0113497"]
    assert links["tmdbId"].tolist()[0] == 862 and pd.isna(links["tmdbId"].tolist()[1])
