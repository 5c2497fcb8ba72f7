"""The catalogue as a person sees it (title, year, genres, links, overview) and title matching."""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from movierec.data.movielens import YEAR_SUFFIX, load_links, load_movies, parse_year
from movierec.data.tmdb import overviews, read_cache, trim
from movierec.errors import UserInputError
from movierec.model.estimator import RatingModel
from movierec.recommend.profiles import Profile


def _normalise(title: str) -> str:
    """Lower-case title with a trailing article moved to the front: 'Matrix, The' -> 'the matrix'."""
    title = YEAR_SUFFIX.sub("", title).strip()
    moved = re.sub(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$", r"\2 \1", title,
                   flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]+", " ", moved.lower()).strip()


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
        movies["key"] = movies["title"].fillna("").map(_normalise)
        movies["overview"] = ""
        if tmdb_cache is not None and tmdb_cache.is_file():
            movies["overview"] = overviews(movies["tmdbId"], read_cache(tmdb_cache)).map(trim)
        return cls(movies)

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
        """The movieId a title such as ``Heat (1995)`` or ``matrix`` means, or a helpful error."""
        key, year = _normalise(query), parse_year(pd.Series([query.strip()])).iloc[0]
        matches = self.movies[self.movies["key"] == key]
        if pd.notna(year):
            matches = matches[matches["year"] == year]
        if len(matches) == 1:
            return int(matches.index[0])
        if len(matches) > 1:
            options = "; ".join(matches["title"].astype(str).head(8))
            raise UserInputError(f"title {query!r} is ambiguous: {options}; add the year in "
                                 f"parentheses")
        close = difflib.get_close_matches(key, self.movies["key"].unique().tolist(), n=5,
                                          cutoff=0.6)
        suggestions = self.movies[self.movies["key"].isin(close)]["title"].astype(str).head(5)
        hint = f"; did you mean: {'; '.join(suggestions)}?" if len(suggestions) else ""
        raise UserInputError(f"no movie titled {query!r}{hint}")


def report_unknown_movies(profile: Profile, catalog: Catalog) -> None:
    """Say which saved ratings are of movies the model does not know (they are kept, not used)."""
    unknown = sorted(set(profile.ratings) - set(catalog.movies.index))
    if unknown:
        shown = ", ".join(map(str, unknown[:10])) + (" ..." if len(unknown) > 10 else "")
        print(f"profile {profile.name!r}: {len(unknown)} ratings of movies not in this model's "
              f"catalogue are skipped (movieId {shown})", file=sys.stderr)
