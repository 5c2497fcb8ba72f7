"""recommend: profiles, provenance, title matching, imports, personalisation, the interactive flow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from movierec.data.tmdb import connect
from movierec.errors import UserInputError
from movierec.io import file_digest
from movierec.model.estimator import load_model
from movierec.params import read_params
from movierec.ranking.lists import Ranker
from movierec.ranking.similarity import SimilarMovies
from movierec.recommend.catalog import Catalog
from movierec.recommend.imports import parse_rate, read_import
from movierec.recommend.profiles import Profile
from movierec.recommend.recommender import Recommender
from support import BUNDLED, ROOT, run_stage, write_params


def lock_of(*paths, md5=None):
    """A dvc.lock recording ``paths`` with their md5 (or ``md5``)."""
    outs = [{"path": str(path), "md5": md5 or file_digest(path, "md5")} for path in paths]
    return {"stages": {"out": {"outs": outs}}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The bundled data through interactions, features, similar movies and train; a dvc.lock
    naming the model and the similar movies."""
    root = tmp_path_factory.mktemp("trained")
    params = write_params(root / "params.yaml")
    steps = [
        ("interactions.py", "--data-dir", BUNDLED, "--train-out", root / "train.parquet",
         "--test-out", root / "test.parquet", "--summary-out", root / "summary.json"),
        ("features.py", "--data-dir", BUNDLED, "--train", root / "train.parquet",
         "--out", root / "features"),
        ("similar_movies.py", "--train", root / "train.parquet", "--features", root / "features",
         "--out", root / "similar_movies.npz"),
        ("train.py", "--train", root / "train.parquet", "--features", root / "features",
         "--model-out", root / "model.joblib"),
    ]
    for script, *args in steps:
        result = run_stage(script, *args, "--params", params)
        assert result.returncode == 0, result.stderr
    (root / "dvc.lock").write_text(yaml.safe_dump(lock_of(root / "model.joblib",
                                                          root / "similar_movies.npz")))
    return root


@pytest.fixture(scope="module")
def recommender(trained):
    model = load_model(trained / "model.joblib")
    similar = SimilarMovies.load(trained / "similar_movies.npz").matrix
    rank = read_params(ROOT / "params.yaml").rank
    return Recommender(model, Ranker(similar, model.items_.movie_count, rank),
                       Catalog.load(BUNDLED, model))


def recommend_cli(trained, tmp_path, *args, stdin=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "recommend.py"), "--model",
         trained / "model.joblib", "--similar", trained / "similar_movies.npz",
         "--lock", trained / "dvc.lock", "--data-dir", BUNDLED,
         "--profiles-dir", tmp_path / "profiles", "--params", trained / "params.yaml", *map(str, args)],
        input=stdin, capture_output=True, text=True, cwd=tmp_path, check=False)


def profile_of(recommender, genre, liked, disliked, n=25):
    """A profile that loves the most rated movies of ``genre`` and dislikes those of another."""
    movies = recommender.catalog.movies.assign(count=recommender.model.items_.movie_count)
    profile = Profile("p")
    for name, rating in ((liked, 5.0), (disliked, 1.0)):
        in_genre = movies[movies["genres"].str.split("|").map(lambda g, x=name: x in g)]
        for movie in in_genre.sort_values("count", ascending=False).index[:n]:
            profile.rate(movie, rating, "cli")
    return profile


def genre_share(frame, genre):
    return frame["genres"].str.split("|").map(lambda g: genre in g).mean()


def test_opposite_profiles_get_lists_led_by_their_genres(recommender):
    horror = recommender.recommend(profile_of(recommender, "Horror", "Horror", "Romance"), 10)
    romance = recommender.recommend(profile_of(recommender, "Romance", "Romance", "Horror"), 10)
    assert set(horror["movieId"]).isdisjoint(set(romance["movieId"]))
    counts = recommender.model.items_.movie_count
    listable = recommender.catalog.movies[counts >= recommender.ranker.params.min_ratings]
    for listed, liked, disliked in ((horror, "Horror", "Romance"), (romance, "Romance", "Horror")):
        # the liked genre at least twice as common as among the movies that could be listed
        # (Horror 8%, Romance 18%), the disliked one rarer
        assert genre_share(listed, liked) >= 2 * genre_share(listable, liked)
        assert genre_share(listed, disliked) < genre_share(listable, disliked)


def test_a_profile_never_gets_back_a_movie_it_rated(recommender):
    profile = profile_of(recommender, "Drama", "Drama", "Comedy", n=200)
    top = recommender.recommend(profile, 50)
    assert len(top) == 50 and not set(top["movieId"]) & set(profile.ratings)


def test_filters_year_and_genre(recommender):
    top = recommender.recommend(Profile("empty"), 10, min_year=2010, genre="animation")
    assert (top["year"] >= 2010).all() and genre_share(top, "Animation") == 1.0


def test_corrupt_profile_is_reported_and_left_untouched(trained, tmp_path):
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "bob.json"
    path.write_text('{"name": "bob", "ratings": [')
    result = recommend_cli(trained, tmp_path, "--profile", "bob", "--rate", "Heat (1995)=4")
    assert result.returncode == 2
    assert "bob.json: not valid JSON" in result.stderr and "left untouched" in result.stderr
    assert path.read_text() == '{"name": "bob", "ratings": ['


def test_titles_match_forgivingly_with_suggestions(recommender):
    catalog = recommender.catalog
    assert parse_rate("Heat (1995)=4.5", catalog) == (6, 4.5)
    assert parse_rate("the matrix=5", catalog) == (2571, 5.0)
    with pytest.raises(UserInputError, match=r"did you mean: .*Matrix, The"):
        parse_rate("The Matrx (1999)=4", catalog)
    with pytest.raises(UserInputError, match="ambiguous"):
        parse_rate("Hamlet=4", catalog)
    with pytest.raises(UserInputError, match="rating 6 is not allowed"):
        parse_rate("Heat (1995)=6", catalog)


def test_import_movielens_and_letterboxd_files(recommender, tmp_path):
    (tmp_path / "ml.csv").write_text("userId,movieId,rating,timestamp\n1,6,4.5,1\n1,999999,3,2\n")
    ratings, skipped = read_import(tmp_path / "ml.csv", recommender.catalog)
    assert ratings == [(6, 4.5)] and "line 3: movieId 999999 is not in the catalogue" in skipped[0]
    (tmp_path / "lb.csv").write_text("Date,Name,Year,Letterboxd URI,Rating\n"
                                     "2024-01-01,Heat,1995,x,4.5\n2024-01-02,Nonexistent Film,2001,y,3\n")
    ratings, skipped = read_import(tmp_path / "lb.csv", recommender.catalog)
    assert ratings == [(6, 4.5)] and len(skipped) == 1


def test_interactive_session_end_to_end(trained, tmp_path):
    # phase 1: bad answers are asked again; then ratings, interested, not interested, skip, done;
    # phase 2: one rating, then input ends (EOF): everything answered is saved
    answers = ["7", "abc", "", "4.5", "i", "n", "s", "d", "3.5"]
    result = recommend_cli(trained, tmp_path, "--profile", "zoe", stdin="\n".join(answers) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("is not an answer") == 3
    assert "Phase 2" in result.stdout and "predicted" in result.stdout
    assert "Only 3 ratings (fewer than 20)" in result.stdout
    assert "Your top 10" in result.stdout
    saved = json.loads((tmp_path / "profiles" / "zoe.json").read_text())
    assert sorted(entry["how"] for entry in saved["ratings"]) == [
        "interested", "not_interested", "rated", "rated"]
    assert sorted(entry["rating"] for entry in saved["ratings"]) == [2.0, 3.5, 4.0, 4.5]


def test_interactive_without_profile_asks_for_a_name(trained, tmp_path):
    result = recommend_cli(trained, tmp_path, stdin="bad name\nnew-user\nq\n")
    assert result.returncode == 0, result.stderr
    assert "Saved profiles: none yet" in result.stdout and "is not allowed" in result.stdout
    assert "Your top 10" in result.stdout


def test_batch_rates_and_writes_csv(trained, tmp_path):
    out = tmp_path / "out.csv"
    result = recommend_cli(trained, tmp_path, "--profile", "ann", "--rate", "Heat (1995)=4.5",
                           "--rate", "Toy Story (1995)=2", "--format", "csv", "--out", out,
                           "--top", "5")
    assert result.returncode == 0, result.stderr
    assert "saved 2 ratings" in result.stderr and "MLflow run" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "rank,movieId,title,year,genres,predicted_rating,tmdb_url,imdb_url,overview"
    assert len(lines) == 6


def test_cached_tmdb_overviews_are_shown_when_asking_and_recommending(trained, tmp_path):
    links = pd.read_csv(BUNDLED / "links.csv").dropna(subset=["tmdbId"])
    cache = tmp_path / "tmdb.sqlite"
    with connect(cache) as connection:
        connection.executemany(
            "INSERT INTO movies (tmdb_id, status, overview, fetched_at) VALUES (?, 'ok', ?, '')",
            [(int(t), f"Overview of {int(t)}. " + "Long text. " * 30)
             for t in links["tmdbId"].unique()])
    result = recommend_cli(trained, tmp_path, "--profile", "ovid", "--tmdb-cache", cache,
                           stdin="4\nq\n")
    assert result.returncode == 0, result.stderr
    asked = result.stdout.split("[1/")[1].split("your answer")[0]
    assert "    Overview of " in asked and "…" in asked and "themoviedb.org/movie/" in asked
    top = result.stdout.split("Your top 10")[1]
    assert top.count("Overview of ") == 10
    plain = recommend_cli(trained, tmp_path, "--profile", "ovid", "--format", "table",
                          "--tmdb-cache", tmp_path / "absent.sqlite")
    assert plain.returncode == 0 and "Overview" not in plain.stdout


def test_unknown_title_changes_nothing(trained, tmp_path):
    result = recommend_cli(trained, tmp_path, "--profile", "ann", "--rate", "Heat (1995)=4.5",
                           "--rate", "Zzzzz Qqqq=3", "--format", "json")
    assert result.returncode == 2 and "no movie titled 'Zzzzz Qqqq'" in result.stderr
    assert not (tmp_path / "profiles" / "ann.json").exists()


@pytest.mark.parametrize("untracked", ["model.joblib", "similar_movies.npz"])
def test_an_output_dvc_lock_does_not_record_is_refused(trained, tmp_path, untracked):
    tracked = {"model.joblib", "similar_movies.npz"} - {untracked}
    lock = lock_of(*(trained / name for name in tracked))
    lock["stages"]["other"] = lock_of(trained / untracked, md5="0" * 32)["stages"]["out"]
    (tmp_path / "other.lock").write_text(yaml.safe_dump(lock))
    args = ["--profile", "ann", "--format", "json", "--lock", tmp_path / "other.lock"]
    result = recommend_cli(trained, tmp_path, *args)
    assert result.returncode == 2
    kind = "model" if untracked == "model.joblib" else "similar-movies file"
    assert f"is not the {kind}" in result.stderr and "run `dvc repro` (or `dvc pull`)" in result.stderr
    allowed = recommend_cli(trained, tmp_path, *args, "--allow-untracked")
    assert allowed.returncode == 0, allowed.stderr
    assert len(json.loads(allowed.stdout)) == 10


def test_similar_movies_of_other_movies_are_refused(trained, tmp_path):
    similar = SimilarMovies.load(trained / "similar_movies.npz")
    other = SimilarMovies(similar.movie_ids[1:], similar.matrix[1:, 1:])
    other.save(tmp_path / "other.npz")
    result = recommend_cli(trained, tmp_path, "--profile", "ann", "--format", "json",
                           "--similar", tmp_path / "other.npz", "--allow-untracked")
    assert result.returncode == 2
    assert "other.npz holds" in result.stderr and "different runs" in result.stderr


def test_empty_profile_gets_popular_sensible_movies(recommender):
    top = recommender.recommend(Profile("new"), 10)
    assert len(top) == 10 and np.isfinite(top["predicted_rating"]).all()


def test_unknown_movie_ids_in_a_profile_are_skipped_and_reported(trained, tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "finn.json").write_text(json.dumps({"name": "finn", "ratings": [
        {"movieId": 6, "rating": 4.5}, {"movieId": 99999999, "rating": 3.0}]}))
    result = recommend_cli(trained, tmp_path, "--profile", "finn", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "1 ratings of movies not in this model's catalogue are skipped (movieId 99999999)" \
        in result.stderr
    assert 6 not in [row["movieId"] for row in json.loads(result.stdout)]


def test_ctrl_c_keeps_every_answer(trained, tmp_path):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, str(ROOT / "stages" / "recommend.py"), "--profile", "gus", "--model",
         str(trained / "model.joblib"), "--similar", str(trained / "similar_movies.npz"),
         "--lock", str(trained / "dvc.lock"), "--data-dir",
         str(BUNDLED), "--profiles-dir", str(tmp_path / "profiles"), "--params",
         str(trained / "params.yaml")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path,
        # a shell's background job ignores SIGINT and its children inherit that: restore it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    process.stdin.write("4.5\n3\n")
    process.stdin.flush()
    saved = tmp_path / "profiles" / "gus.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
            saved.exists() and len(json.loads(saved.read_text())["ratings"]) == 2):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "every answer so far is saved" in out
    assert sorted(entry["rating"] for entry in json.loads(saved.read_text())["ratings"]) == [3.0, 4.5]
