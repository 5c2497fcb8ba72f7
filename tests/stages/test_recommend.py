"""recommend: profiles, provenance, title matching, imports, personalisation, the interactive flow."""

from __future__ import annotations

import json
import re
import shutil
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
from movierec.ranking.model import RankModel
from movierec.recommend.catalog import Catalog
from movierec.recommend.imports import parse_rate, read_import
from movierec.recommend.profiles import Profile
from movierec.recommend.recommender import Filters, Recommender, onboarding_movies
from support import BUNDLED, ROOT, run_stage, write_params


def lock_of(*paths, md5=None):
    """A dvc.lock recording ``paths`` with their md5 (or ``md5``)."""
    outs = [{"path": str(path), "md5": md5 or file_digest(path, "md5")} for path in paths]
    return {"stages": {"out": {"outs": outs}}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The bundled data through interactions, features, rank_model and train; a dvc.lock naming
    the model and the ranking model."""
    root = tmp_path_factory.mktemp("trained")
    params = write_params(root / "params.yaml")
    steps = [
        ("interactions.py", "--data-dir", BUNDLED, "--train-out", root / "train.parquet",
         "--test-out", root / "test.parquet", "--summary-out", root / "summary.json"),
        ("features.py", "--data-dir", BUNDLED, "--train", root / "train.parquet",
         "--out", root / "features"),
        ("rank_model.py", "--train", root / "train.parquet", "--features", root / "features",
         "--out", root / "rank_model.npz"),
        ("train.py", "--train", root / "train.parquet", "--features", root / "features",
         "--model-out", root / "model.joblib"),
    ]
    for script, *args in steps:
        result = run_stage(script, *args, "--params", params)
        assert result.returncode == 0, result.stderr
    (root / "dvc.lock").write_text(yaml.safe_dump(lock_of(root / "model.joblib",
                                                          root / "rank_model.npz")))
    yield root
    shutil.rmtree(root, ignore_errors=True)  # 0.2 GB; the retention policy keeps module dirs


@pytest.fixture(scope="module")
def recommender(trained):
    model = load_model(trained / "model.joblib")
    rank_model = RankModel.load(trained / "rank_model.npz")
    rank = read_params(ROOT / "params.yaml").rank
    return Recommender(model, Ranker.of(rank_model, model, rank),
                       Catalog.load(BUNDLED, model))


def recommend_cli(trained, tmp_path, *args, stdin=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / "recommend.py"), "--model",
         trained / "model.joblib", "--rank-model", trained / "rank_model.npz",
         "--lock", trained / "dvc.lock", "--data-dir", BUNDLED,
         "--profiles-dir", tmp_path / "profiles", "--params", trained / "params.yaml", *map(str, args)],
        input=stdin, capture_output=True, text=True, cwd=tmp_path, check=False)


def profile_of(recommender, genre, liked, disliked, n=25):
    """A profile that loves the most rated movies of ``genre`` and dislikes those of another."""
    movies = recommender.catalog.movies.assign(count=recommender.model.items_.movie_count)
    profile = Profile("p")
    for name, rating in ((liked, 5.0), (disliked, 1.0)):
        in_genre = movies[movies["genres"].str.split("|").map(lambda g, x=name: x in g)]
        for movie in in_genre.sort_values("count", ascending=False, kind="stable").index[:n]:
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
    filters = Filters(min_year=2010, genre=recommender.catalog.genre("animation"))
    top = recommender.recommend(Profile("empty"), 10, filters=filters)
    assert (top["year"] >= 2010).all() and genre_share(top, "Animation") == 1.0


@pytest.mark.parametrize("text", ["sci-fi", "scifi", "SCI FI", "Sci-Fi"])
def test_genre_names_match_through_case_and_separators(recommender, text):
    assert recommender.catalog.genre(text) == "Sci-Fi"


def test_an_unknown_genre_stops_with_the_valid_ones(trained, tmp_path):
    result = recommend_cli(trained, tmp_path, "--profile", "ann", "--format", "json",
                           "--genre", "Comedie")
    assert result.returncode == 2 and not result.stdout
    assert "--genre 'Comedie' is not a genre of this catalogue; use one of: Action," in result.stderr
    assert "Comedy" in result.stderr and "Sci-Fi" in result.stderr


def test_interactive_lists_follow_genre_and_year(trained, tmp_path):
    result = recommend_cli(trained, tmp_path, "--profile", "sam", "--genre", "comedy",
                           "--min-year", "2000", "--top", "3", stdin="4\nd\n4\nd\n")
    assert result.returncode == 0, result.stderr
    phase2, top = result.stdout.split("Phase 2")[1].split("Your top 3")
    asked = re.search(r"predicted [0-9.]+★  (.+?)  \[(.+?)\]", phase2)
    assert "Comedy" in asked.group(2).split("|")
    listed = re.findall(r"^ +\d\. [0-9.]+★  (.+) \((\d{4})\)  \[(.+)\]$", top, flags=re.M)
    assert len(listed) == 3
    assert all(int(year) >= 2000 and "Comedy" in genres.split("|") for _, year, genres in listed)


def test_a_ready_profile_goes_straight_to_recommendations(trained, tmp_path):
    ratings = "\n".join(f"1,{movie},4.0,1000" for movie in (1, 2, 3, 6, 10, 32, 47, 50, 110, 150,
                                                             260, 296, 318, 356, 480, 527, 589,
                                                             593, 1196, 2571))
    (tmp_path / "mine.csv").write_text("userId,movieId,rating,timestamp\n" + ratings + "\n")
    added = recommend_cli(trained, tmp_path, "--profile", "kim", "--import", tmp_path / "mine.csv",
                          "--format", "json")
    assert added.returncode == 0, added.stderr
    result = recommend_cli(trained, tmp_path, "--profile", "kim", stdin="d\n")
    assert result.returncode == 0, result.stderr
    assert "Profile 'kim' has 20 ratings: straight to recommendations" in result.stdout
    assert "Phase 1" not in result.stdout and "Phase 2" in result.stdout
    again = recommend_cli(trained, tmp_path, "--profile", "kim", "--onboard", stdin="s\nd\nd\n")
    assert "Phase 1" in again.stdout
    first_asked = re.search(r"\[1/\d+\] (.+?)  \[", again.stdout).group(1)
    skipped = json.loads((tmp_path / "profiles" / "kim.json").read_text())["skipped"]
    assert len(skipped) == 1  # the skip is remembered...
    third = recommend_cli(trained, tmp_path, "--profile", "kim", "--onboard", stdin="d\nd\n")
    assert f"] {first_asked}  [" not in third.stdout  # ...and not asked again


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
    with pytest.raises(UserInputError, match=r"did you mean: Matrix, The \(1999\)"):
        parse_rate("Matrx=4", catalog)  # no clear winner among the Matrix films
    assert parse_rate("The Matrx (1999)=4", catalog) == (2571, 4.0)  # a typo, the year decides
    assert parse_rate("Termnator 2=5", catalog)[0] == 589  # Terminator 2: Judgment Day
    assert parse_rate("terminator ii=5", catalog)[0] == 589  # a unique start, Roman numerals
    assert parse_rate("Forest Gump=4", catalog)[0] == 356
    # accents and alternative titles: "Léon: The Professional (a.k.a. The Professional) (Léon)"
    for title in ("Léon: The Professional (1994)", "leon the professional", "Léon (1994)"):
        assert parse_rate(f"{title}=5", catalog)[0] == 293
    with pytest.raises(UserInputError, match="ambiguous"):
        parse_rate("Hamlet=4", catalog)
    with pytest.raises(UserInputError, match="rating 6 is not allowed"):
        parse_rate("Heat (1995)=6", catalog)


def test_import_movielens_and_letterboxd_files(recommender, tmp_path):
    (tmp_path / "ml.csv").write_text("userId,movieId,rating,timestamp\n1,6,4.5,1\n1,999999,3,2\n")
    ratings, skipped = read_import(tmp_path / "ml.csv", recommender.catalog)
    assert ratings == [(6, 4.5, None)]
    assert "line 3: movieId 999999 is not in the catalogue" in skipped[0]
    (tmp_path / "lb.csv").write_text("Date,Name,Year,Letterboxd URI,Rating\n"
                                     "2024-01-01,Heat,1995,x,4.5\n2024-01-02,Nonexistent Film,2001,y,3\n"
                                     "2024-01-03,Léon: The Professional,1994,z,5\n")
    ratings, skipped = read_import(tmp_path / "lb.csv", recommender.catalog)
    # Letterboxd's Date is when the rating was given
    assert ratings == [(6, 4.5, "2024-01-01"), (293, 5.0, "2024-01-03")] and len(skipped) == 1


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
    assert lines[0] == ("rank,movieId,title,year,genres,predicted_rating,tmdb_url,imdb_url,because,"
                        "overview")
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


@pytest.mark.parametrize("untracked", ["model.joblib", "rank_model.npz"])
def test_an_output_dvc_lock_does_not_record_is_refused(trained, tmp_path, untracked):
    tracked = {"model.joblib", "rank_model.npz"} - {untracked}
    lock = lock_of(*(trained / name for name in tracked))
    lock["stages"]["other"] = lock_of(trained / untracked, md5="0" * 32)["stages"]["out"]
    (tmp_path / "other.lock").write_text(yaml.safe_dump(lock))
    args = ["--profile", "ann", "--format", "json", "--lock", tmp_path / "other.lock"]
    result = recommend_cli(trained, tmp_path, *args)
    assert result.returncode == 2
    kind = "model" if untracked == "model.joblib" else "ranking model"
    assert f"is not the {kind}" in result.stderr and "run `dvc repro` (or `dvc pull`)" in result.stderr
    allowed = recommend_cli(trained, tmp_path, *args, "--allow-untracked")
    assert allowed.returncode == 0, allowed.stderr
    assert len(json.loads(allowed.stdout)) == 10


def test_a_ranking_model_of_other_movies_is_refused(trained, tmp_path):
    rank_model = RankModel.load(trained / "rank_model.npz")
    items = rank_model.items
    other = RankModel(rank_model.movie_ids[1:], rank_model.similar[1:, 1:],
                      type(items)(items.movies[1:] - 1, items.rated[1:, 1:], items.liked[1:, 1:],
                                  items.liked_plain[1:, 1:], items.liked_scale[1:],
                                  items.walk[1:, 1:], items.n_movies - 1))
    other.save(tmp_path / "other.npz")
    result = recommend_cli(trained, tmp_path, "--profile", "ann", "--format", "json",
                           "--rank-model", tmp_path / "other.npz", "--allow-untracked")
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
         str(trained / "model.joblib"), "--rank-model", str(trained / "rank_model.npz"),
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


def test_a_profile_of_one_movie_gets_lists_explained_by_that_movie(recommender):
    profile = Profile("one")
    profile.rate(6, 4.5, "cli")  # Heat (1995)
    top = recommender.recommend(profile, 10)
    assert len(top) == 10
    assert (top["because"] == "because you rated Heat (1995) 4.5").all()
    assert (recommender.recommend(Profile("none"), 3)["because"] == "popular with MovieLens users"
            ).all()


@pytest.mark.parametrize(("liked", "disliked"), [(5.0, 1.0), (4.0, 2.0)])  # also i vs n
def test_a_low_rating_pushes_the_movies_similar_to_it_down(recommender, liked, disliked):
    def ranked(rating):
        profile = Profile("p")
        for movie, value in ((1196, rating), (318, 4.0)):  # Star Wars V; Shawshank
            profile.rate(movie, value, "cli")
        return recommender.recommend(profile, 200)["movieId"].tolist()

    fan, critic = ranked(liked), ranked(disliked)
    for movie in (260, 1210):  # Star Wars IV and VI
        assert movie in fan[:10]
        assert movie not in critic or critic.index(movie) > fan.index(movie)


def test_onboarding_spreads_over_decades_and_genres(recommender):
    settings = read_params(ROOT / "params.yaml").recommend
    asked = recommender.catalog.movies.loc[onboarding_movies(recommender, settings)]
    first = asked.head(settings.onboarding_genres * settings.per_genre)
    decades = (first["year"] // 10 * 10).value_counts()
    assert len(decades) >= 3 and decades.max() <= len(first) / 2, decades.to_dict()
    counts = recommender.model.items_.movie_count[recommender.model.movie_index(
        asked.index.to_numpy())]
    assert (counts >= 20).all()  # still movies most people know


def test_subcommands_rate_import_show_list_and_session(trained, tmp_path):
    rated = recommend_cli(trained, tmp_path, "rate", "--profile", "uma", "Heat (1995)=4.5",
                          "Termnator 2=5", "--top", "3")
    assert rated.returncode == 0, rated.stderr
    assert "Terminator 2: Judgment Day (1991): 5" in rated.stderr and "saved 2 ratings" in rated.stderr
    assert rated.stdout.count("★") == 3  # a table, without asking anything
    (tmp_path / "more.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,1\n")
    imported = recommend_cli(trained, tmp_path, "import", "--profile", "uma", tmp_path / "more.csv",
                             "--format", "json", "--top", "2")
    assert imported.returncode == 0, imported.stderr
    assert "(3 in all)" in imported.stderr and len(json.loads(imported.stdout)) == 2
    shown = recommend_cli(trained, tmp_path, "show", "--profile", "uma", "--format", "csv",
                          "--out", tmp_path / "uma.csv")
    assert shown.returncode == 0 and len((tmp_path / "uma.csv").read_text().splitlines()) == 11
    listed = recommend_cli(trained, tmp_path, "list")
    assert listed.returncode == 0 and listed.stdout.strip() == "uma  (3 ratings)"
    session = recommend_cli(trained, tmp_path, "session", "--profile", "uma", "--top", "2",
                            stdin="d\nq\n")
    assert session.returncode == 0, session.stderr
    assert "Phase 1" in session.stdout and "Your top 2" in session.stdout
    missing = recommend_cli(trained, tmp_path, "show")
    assert missing.returncode == 2 and "--profile" in missing.stderr
