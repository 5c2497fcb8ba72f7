"""The bundled MovieLens copy is byte for byte what GroupLens ships."""

import hashlib

from support import BUNDLED


def test_bundled_files_match_sha256sums():
    listed = dict(
        reversed(line.split()) for line in (BUNDLED / "SHA256SUMS").read_text().splitlines()
    )
    assert set(listed) == {"README.txt", "links.csv", "movies.csv", "ratings.csv", "tags.csv"}
    for name, expected in listed.items():
        assert hashlib.sha256((BUNDLED / name).read_bytes()).hexdigest() == expected, name


def test_bundled_csvs_keep_crlf_line_endings():
    assert (BUNDLED / "ratings.csv").read_bytes()[:40].count(b"\r\n") >= 1
