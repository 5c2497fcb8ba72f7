"""The catalogue as a person sees it (title, year, genres, links, overview) and title matching."""

from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz, process

from movierec.data.movielens import YEAR_SUFFIX, load_links, load_movies, parse_year
from movierec.data.tmdb import overviews, read_cache, trim
from movierec.errors import UserInputError
from movierec.model.estimator import RatingModel
from movierec.recommend.profiles import Profile

ARTICLES = {"the", "a", "an", "les", "la", "le", "l", "il", "das", "der", "die", "el"}
ROMAN = {"ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
         "ix": "9", "x": "10"}
ALIAS = re.compile(r"^a\.?\s?k\.?\s?a\.?\s+", flags=re.IGNORECASE)
SURE_MATCH, CLEAR_LEAD, SUGGEST = 90, 8, 60  # rapidfuzz WRatio scores (0-100)


def _normalise(title: str) -> str:
    """A title as it is matched: no accents, lower case, no punctuation, no leading or trailing
    article, Roman numerals as digits: 'Léon: The Professional' -> 'leon the professional',
    'Matrix, The' and 'The Matrix' -> 'matrix', 'Rocky II' -> 'rocky 2'."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    if len(words) > 1 and words[-1] in ARTICLES and ", " + words[-1] in text:  # 'Matrix, The'
        words = words[:-1]
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return " ".join(ROMAN.get(word, word) for word in words)


def title_keys(title: str) -> list[str]:
    """Every key a MovieLens title answers to: the title without its year and parentheses, and
    each alternative title in parentheses ("(a.k.a. The Professional)", "(Léon)")."""
    title = YEAR_SUFFIX.sub("", title).strip()
    names = [re.sub(r"\s*\([^()]*\)", "", title)]
    names += [ALIAS.sub("", inner) for inner in re.findall(r"\(([^()]*)\)", title)]
    keys = [_normalise(name) for name in names]
    return list(dict.fromkeys(key for key in keys if key))


def _genre_key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class Catalog:
    """Movies as the user sees them: title, year, genres and links, in the model's order."""

    movies: pd.DataFrame  # index: movieId

    @classmethod
    def load(cls, data_dir: Path, model: RatingModel, tmdb_cache: Path | None = None) -> Catalog:
        """The model's movies from ``data_dir``, with overviews from ``tmdb_cache`` if it exists."""
        movies = load_movies(data_dir).merge(load_links(data_dir), on="movieId", how="left")
        movies = movies.set_index("movieId").reindex(model.movie_ids_)
        movies["genres"] = movies["genres"].map(lambda g: "|".join(g) if isinstance(g, list) else "")
        movies["keys"] = movies["title"].fillna("").map(title_keys)
        movies["overview"] = ""
        if tmdb_cache is not None and tmdb_cache.is_file():
            movies["overview"] = overviews(movies["tmdbId"], read_cache(tmdb_cache)).map(trim)
        return cls(movies)

    def genre(self, text: str) -> str:
        """The catalogue's genre that ``text`` names, ignoring case and separators ("sci-fi",
        "scifi", "SciFi" -> "Sci-Fi"); an unknown genre stops with the valid ones."""
        known = sorted({g for genres in self.movies["genres"] for g in genres.split("|") if g})
        found = [g for g in known if _genre_key(g) == _genre_key(text)]
        if not found:
            raise UserInputError(f"--genre {text!r} is not a genre of this catalogue; use one of: "
                                 f"{', '.join(known)}")
        return found[0]

    def tmdb_url(self, movie_id: int) -> str:
        tmdb = self.movies.at[movie_id, "tmdbId"]
        return f"https://www.themoviedb.org/movie/{int(tmdb)}" if pd.notna(tmdb) else ""

    def imdb_url(self, movie_id: int) -> str:
        imdb = self.movies.at[movie_id, "imdbId"]
        return f"https://www.imdb.com/title/tt{imdb}/" if isinstance(imdb, str) and imdb else ""

    def links(self, movie_id: int) -> str:
        return "  ".join(filter(None, (self.tmdb_url(movie_id), self.imdb_url(movie_id))))

    def overview(self, movie_id: int) -> str:
        """The trimmed TMDB overview from the cache, '' if there is none."""
        return self.movies.at[movie_id, "overview"]

    def find(self, query: str) -> int:
        """The movieId a title such as ``Heat (1995)``, ``the matrix`` or ``Termnator 2`` means
        (forgiving case, accents, articles, alternative titles, Roman numerals, a unique start
        of a title and a clear typo; the year narrows it), or an error with suggestions."""
        key, year = _normalise(YEAR_SUFFIX.sub("", query)), parse_year(pd.Series([query.strip()])).iloc[0]
        keys = self.movies["keys"].explode().dropna()
        if pd.notna(year):
            keys = keys[self.movies.loc[keys.index, "year"].to_numpy() == year]
        for found in (keys[keys == key], keys[keys.str.startswith(key + " ")]):
            movies = found.index.unique()
            if len(movies) == 1:
                return int(movies[0])
            if len(movies) > 1:
                options = "; ".join(self.movies.loc[movies, "title"].astype(str).head(8))
                raise UserInputError(f"title {query!r} is ambiguous: {options}; add the year in "
                                     f"parentheses")
        # a typo is accepted when one movie's title (or its start, as long as the query:
        # 'termnator 2' is close to 'terminator 2', the start of 'terminator 2 judgment day') is
        # clearly the closest by edit distance; looser scores only make suggestions
        words = len(key.split(" "))
        starts = keys.map(lambda title: " ".join(title.split(" ")[:words]))
        sure: dict[int, float] = {}
        loose: dict[int, float] = {}
        for choices, scorer, found in ((keys, fuzz.ratio, sure), (starts, fuzz.ratio, sure),
                                       (keys, fuzz.WRatio, loose)):
            for _, score, position in process.extract(key, choices.to_numpy(), scorer=scorer,
                                                      limit=50):
                movie = int(keys.index[position])
                found[movie] = max(found.get(movie, 0.0), score)
        ranked = sorted(sure.items(), key=lambda item: (-item[1], item[0]))
        if ranked and ranked[0][1] >= SURE_MATCH and (
                len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= CLEAR_LEAD):
            return ranked[0][0]
        for movie, score in sure.items():
            loose[movie] = max(loose.get(movie, 0.0), score)
        ranked = sorted(loose.items(), key=lambda item: (-item[1], item[0]))
        suggestions = [str(self.movies.at[movie, "title"]) for movie, score in ranked[:5]
                       if score >= SUGGEST]
        hint = f"; did you mean: {'; '.join(suggestions)}?" if suggestions else ""
        raise UserInputError(f"no movie titled {query!r}{hint}")


def report_unknown_movies(profile: Profile, catalog: Catalog) -> None:
    """Say which saved ratings are of movies the model does not know (they are kept, not used)."""
    unknown = sorted(set(profile.ratings) - set(catalog.movies.index))
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        print(f"profile {profile.name!r}: {len(unknown)} ratings of movies not in this model's "
              f"catalogue are skipped (movieId {shown})", file=sys.stderr)
