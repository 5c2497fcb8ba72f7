"""Genre and tag tokens of each movie, and their TF-IDF weights (as scikit-learn computes them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from movierec import numerics
from movierec.errors import UserInputError

STOP_WORDS_FILE = Path(__file__).with_name("stop_words.txt")


def stop_words() -> list[str]:
    """The English stop words of ``stop_words.txt`` (scikit-learn's list), sorted."""
    lines = STOP_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return sorted(line for line in lines if line and not line.startswith("#"))


def movie_tokens(movies: pd.DataFrame, tags: pd.DataFrame) -> tuple[np.ndarray, pa.Array]:
    """Token occurrences: ``genre:<Genre>`` per genre, ``tag:<word>`` per word of each tag.

    Words are runs of ``[a-z0-9']`` starting with a letter or digit, at least two characters, not
    an English stop word. Returns each occurrence's movie row (position in ``movies``) and token.
    """
    text = pa.chunked_array(pa.array(tags["tag"].astype("string").array)).combine_chunks()
    text = text.cast(pa.string())
    pieces = pc.split_pattern_regex(text, pattern="[^a-z0-9']+")
    words = pc.utf8_ltrim(pc.list_flatten(pieces), characters="'")
    tag_row = np.searchsorted(movies["movieId"].to_numpy(),
                              tags["movieId"].to_numpy())[pc.list_parent_indices(pieces)]
    keep = pc.and_(pc.greater_equal(pc.utf8_length(words), 2),
                   pc.invert(pc.is_in(words, value_set=pa.array(stop_words()))))
    known = np.isin(tags["movieId"].to_numpy(), movies["movieId"].to_numpy())
    keep = np.asarray(keep) & known[pc.list_parent_indices(pieces)]
    genres = movies["genres"]
    genre_row = np.repeat(np.arange(len(movies)), genres.map(len).to_numpy())
    genre_tokens = pa.array(["genre:" + g for parts in genres for g in parts], type=pa.string())
    tag_tokens = pc.binary_join_element_wise("tag:", pc.filter(words, pa.array(keep)), "")
    return (np.concatenate([genre_row, tag_row[keep]]),
            pa.concat_arrays([genre_tokens, tag_tokens]))


def tfidf(rows: np.ndarray, tokens: pa.Array, n_movies: int, max_features: int,
          min_df: int) -> tuple[sparse.csr_matrix, list[str]]:
    """TF-IDF of token occurrences as scikit-learn's ``TfidfVectorizer`` computes it.

    Tokens in at least ``min_df`` movies, the ``max_features`` most frequent of them (equal
    counts: alphabetical first), in alphabetical order; smoothed idf, rows scaled to unit length.
    """
    vocabulary = pc.unique(tokens)
    vocabulary = vocabulary.take(pc.sort_indices(vocabulary))
    codes = pc.index_in(tokens, value_set=vocabulary).to_numpy()
    counts = sparse.csr_matrix((np.ones(len(codes)), (rows, codes)),
                               shape=(n_movies, len(vocabulary)))
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    kept = np.flatnonzero(document_frequency >= min_df)
    if len(kept) == 0:
        raise UserInputError(
            f"features.min_df = {min_df} leaves no genre or tag token (the most common is in "
            f"{document_frequency.max(initial=0)} movies); lower features.min_df (it counts "
            f"movies a token must appear in)")
    if len(kept) > max_features:
        frequency = np.asarray(counts.sum(axis=0)).ravel()
        # ties by alphabetical order, with a stable sort: numpy's default sort picks a SIMD
        # kernel by CPU, and its order of equal counts would differ between machines
        kept = np.sort(kept[np.argsort(-frequency[kept], kind="stable")[:max_features]])
    idf = numerics.log((1 + n_movies) / (1 + document_frequency[kept])) + 1  # smoothed idf
    weighted = sparse.csr_matrix(counts[:, kept] @ sparse.diags(idf))
    lengths = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = np.divide(1.0, lengths, out=np.zeros_like(lengths), where=lengths > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ weighted), vocabulary.take(kept).to_pylist()
