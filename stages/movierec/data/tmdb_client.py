"""TMDB's ``/movie/{id}`` API: a rate-limited, retrying client, and filling the local cache with it.

Ids already in the cache are skipped, so a stopped run resumes where it was; each record is
committed on its own, so nothing is half-written. The key is never written to disk or printed.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tqdm import tqdm

from movierec.data.tmdb import FIELDS
from movierec.errors import UserInputError

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """TMDB could not be asked about one id, after every retry."""


@dataclass
class Client:
    """Asks TMDB's ``/movie/{id}``: rate-limited, retrying transient errors, never showing the key."""

    base_url: str
    api_key: str
    requests_per_second: float = 20.0
    retries: int = 5
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _last: float = field(default=float("-inf"), repr=False)

    def _request(self, tmdb_id: int) -> urllib.request.Request:
        query = {"language": "en-US"}
        headers = {"Accept": "application/json"}
        if self.api_key.startswith("eyJ"):  # a v4 read access token (a JWT)
            headers["Authorization"] = f"Bearer {self.api_key}"
        else:
            query["api_key"] = self.api_key
        url = f"{self.base_url.rstrip('/')}/movie/{tmdb_id}?{urllib.parse.urlencode(query)}"
        return urllib.request.Request(url, headers=headers)

    def _wait_turn(self) -> None:
        gap = 1.0 / self.requests_per_second - (self.clock() - self._last)
        if gap > 0:
            self.sleep(gap)
        self._last = self.clock()

    def movie(self, tmdb_id: int) -> dict | None:
        """The movie's record, or None if TMDB does not know the id."""
        for attempt in range(self.retries + 1):
            self._wait_turn()
            try:
                with urllib.request.urlopen(self._request(tmdb_id), timeout=self.timeout) as answer:
                    return json.loads(answer.read().decode("utf-8"))
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code == 401:
                    raise UserInputError("TMDB refused the key (HTTP 401): check TMDB_API_KEY "
                                         "(a v3 API key or a v4 read access token)") from None
                if error.code not in RETRY_STATUSES or attempt == self.retries:
                    raise FetchError(f"/movie/{tmdb_id}: HTTP {error.code}") from None
                delay = _retry_after(error.headers.get("Retry-After"), attempt)
            except (urllib.error.URLError, TimeoutError, ConnectionError,
                    json.JSONDecodeError) as error:
                if attempt == self.retries:
                    reason = getattr(error, "reason", error)
                    raise FetchError(f"/movie/{tmdb_id}: {type(error).__name__}: {reason}") from None
                delay = 0.5 * 2**attempt
            self.sleep(delay)
        raise AssertionError("unreachable")


def _retry_after(header: str | None, attempt: int) -> float:
    """Seconds to wait before a retry: the server's Retry-After (capped at 60 s) or a backoff."""
    try:
        return min(max(float(header), 0.0), 60.0)
    except (TypeError, ValueError):
        return 0.5 * 2**attempt


def cached_ids(connection: sqlite3.Connection) -> set[int]:
    return {row[0] for row in connection.execute("SELECT tmdb_id FROM movies")}


def store(connection: sqlite3.Connection, tmdb_id: int, record: dict | None) -> None:
    """Commit one answer: the record's fields, or a 'not_found' marker."""
    values = [None] * len(FIELDS) if record is None else [record.get(name) for name in FIELDS]
    with connection:
        connection.execute(
            f"INSERT OR REPLACE INTO movies (tmdb_id, status, {', '.join(FIELDS)}, fetched_at) "
            f"VALUES (?, ?, {', '.join('?' * len(FIELDS))}, ?)",
            [tmdb_id, "not_found" if record is None else "ok", *values,
             datetime.now(UTC).isoformat(timespec="seconds")])


def fetch(client: Client, connection: sqlite3.Connection, tmdb_ids: Iterable[int],
          limit: int | None = None) -> dict[str, int]:
    """Ask TMDB about every id not yet cached (at most ``limit``); counts of what happened."""
    todo = sorted(set(tmdb_ids) - cached_ids(connection))[:limit]
    counts = {"fetched": 0, "not_found": 0, "failed": 0}
    for tmdb_id in tqdm(todo, desc="TMDB /movie", unit="movie", file=sys.stderr,
                        disable=not todo):
        try:
            record = client.movie(tmdb_id)
        except FetchError as error:
            counts["failed"] += 1
            tqdm.write(f"warning: {error}; a later run retries it", file=sys.stderr)
            continue
        store(connection, tmdb_id, record)
        counts["fetched" if record is not None else "not_found"] += 1
    return counts
