"""The download stage: bundled copy with checksums; GroupLens-style zip from a local server,
verified by its published MD5, resumable, atomic."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support import BUNDLED, make_movielens, run_stage, serving, write_params


class GroupLens(ThreadingHTTPServer):
    """Serves ``files[name]`` with Range support; ``cut_after`` bytes then drops the connection."""

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = files
        self.cut_after: int | None = None
        self.ranges: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/datasets/movielens"


class Handler(BaseHTTPRequestHandler):
    server: GroupLens

    def do_GET(self) -> None:
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.server.files:
            self.send_error(404)
            return
        body = self.server.files[name]
        requested = self.headers.get("Range")
        self.server.ranges.append(requested)
        start = int(requested.removeprefix("bytes=").rstrip("-")) if requested else 0
        self.send_response(206 if requested else 200)
        if requested:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if self.server.cut_after is not None and name.endswith(".zip"):
            payload = payload[: self.server.cut_after]
            self.server.cut_after = None
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def zipped(directory: Path, variant: str) -> bytes:
    """A GroupLens-style archive: ``<variant>/<file>`` for each file of ``directory``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, f"{variant}/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def grouplens(tmp_path):
    source = make_movielens(tmp_path / "source", n_users=300, n_movies=60)
    archive = zipped(source, "ml-latest")
    md5 = hashlib.md5(archive).hexdigest()
    files = {"ml-latest.zip": archive, "ml-latest.zip.md5": f"{md5}  ml-latest.zip\n".encode()}
    with serving(GroupLens(files)) as server:
        yield server, source


def run_download(tmp_path: Path, url: str, variant: str = "ml-latest",
                 bundled: Path | None = None):
    params = write_params(tmp_path / "params.yaml", data__variant=variant, data__url=url)
    return run_stage("download.py", "--params", params, "--bundled", bundled or tmp_path / "none",
                     "--partial-dir", tmp_path / "downloads", "--out", tmp_path / "raw" / variant)


def same_files(left: Path, right: Path) -> bool:
    return all((left / name).read_bytes() == (right / name).read_bytes()
               for name in ("movies.csv", "ratings.csv", "tags.csv", "links.csv"))


def test_download_verifies_and_extracts(tmp_path, grouplens):
    server, source = grouplens
    result = run_download(tmp_path, server.url)
    assert result.returncode == 0, result.stderr
    assert "MD5 verified" in result.stdout
    assert same_files(tmp_path / "raw" / "ml-latest", source)
    assert not list((tmp_path / "downloads").iterdir())  # the archive is not kept
    assert [p.name for p in (tmp_path / "raw").iterdir()] == ["ml-latest"]  # no staging left


def test_interrupted_download_resumes_where_it_stopped(tmp_path, grouplens):
    server, source = grouplens
    size = len(server.files["ml-latest.zip"])
    server.cut_after = size // 3
    first = run_download(tmp_path, server.url)
    assert first.returncode == 2 and "run again to resume it" in first.stderr
    assert not (tmp_path / "raw" / "ml-latest").exists()
    partial = tmp_path / "downloads" / "ml-latest.zip.part"
    assert partial.stat().st_size == size // 3
    second = run_download(tmp_path, server.url)
    assert second.returncode == 0, second.stderr
    assert server.ranges[-1] == f"bytes={size // 3}-"  # only the rest was asked for
    assert same_files(tmp_path / "raw" / "ml-latest", source)


def test_corrupt_download_is_deleted_and_nothing_is_written(tmp_path, grouplens):
    server, _ = grouplens
    server.files["ml-latest.zip.md5"] = b"0" * 32 + b"  ml-latest.zip\n"
    result = run_download(tmp_path, server.url)
    assert result.returncode == 2
    assert "differs from the published 000000" in result.stderr and "deleted" in result.stderr
    assert not (tmp_path / "raw" / "ml-latest").exists()
    assert not (tmp_path / "downloads" / "ml-latest.zip.part").exists()


def test_unknown_variant_and_unreachable_server_are_explained(tmp_path, grouplens):
    server, _ = grouplens
    missing = run_download(tmp_path, server.url, variant="ml-99m")
    assert missing.returncode == 2 and "ml-99m.zip.md5: HTTP 404" in missing.stderr
    closed = run_download(tmp_path, "http://127.0.0.1:9/movielens")
    assert closed.returncode == 2 and "cannot connect" in closed.stderr
    assert not (tmp_path / "raw").exists() or not list((tmp_path / "raw").iterdir())


def test_bundled_variant_is_copied_byte_for_byte_after_its_checksums(tmp_path):
    result = run_download(tmp_path, "http://127.0.0.1:9/unused", variant="ml-latest-small",
                          bundled=BUNDLED.parent)
    assert result.returncode == 0, result.stderr
    copied = tmp_path / "raw" / "ml-latest-small"
    assert same_files(copied, BUNDLED) and (copied / "README.txt").exists()
    changed = tmp_path / "bundled" / "ml-latest-small"
    changed.mkdir(parents=True)
    for path in BUNDLED.iterdir():
        changed.joinpath(path.name).write_bytes(path.read_bytes())
    with open(changed / "ratings.csv", "ab") as handle:
        handle.write(b"1,1,5.0,1\r\n")
    refused = run_download(tmp_path, "http://127.0.0.1:9/unused", variant="ml-latest-small",
                           bundled=tmp_path / "bundled")
    assert refused.returncode == 2
    assert "ratings.csv: SHA-256" in refused.stderr and "SHA256SUMS (line 4)" in refused.stderr
    assert same_files(copied, BUNDLED)  # the earlier copy is untouched


def test_a_data_set_without_tags_and_links_runs_end_to_end(tmp_path):
    """tags.csv with only its header and no links.csv (as ml-100k converted to this format):
    the download stage says what is absent and writes the header; features, the models and
    recommend run without tag tokens and links."""
    source = make_movielens(tmp_path / "source", n_users=60, n_movies=40)
    (source / "links.csv").unlink()
    (source / "tags.csv").write_text("userId,movieId,tag,timestamp\n")
    archive = zipped(source, "ml-latest")
    md5 = hashlib.md5(archive).hexdigest()
    files = {"ml-latest.zip": archive, "ml-latest.zip.md5": f"{md5}  ml-latest.zip\n".encode()}
    with serving(GroupLens(files)) as server:
        result = run_download(tmp_path, server.url)
    assert result.returncode == 0, result.stderr
    assert ("tags.csv has no rows (no tag tokens); no links.csv (no IMDb/TMDB links)"
            in result.stdout)
    raw, params = tmp_path / "raw" / "ml-latest", tmp_path / "params.yaml"
    assert (raw / "links.csv").read_text() == "movieId,imdbId,tmdbId\n"
    steps = [
        ("interactions.py", "--data-dir", raw, "--train-out", tmp_path / "train.parquet",
         "--test-out", tmp_path / "test.parquet", "--summary-out", tmp_path / "summary.json"),
        ("features.py", "--data-dir", raw, "--train", tmp_path / "train.parquet",
         "--out", tmp_path / "features"),
        ("rank_model.py", "--train", tmp_path / "train.parquet", "--features",
         tmp_path / "features", "--out", tmp_path / "rank_model.npz"),
        ("train.py", "--train", tmp_path / "train.parquet", "--features", tmp_path / "features",
         "--model-out", tmp_path / "model.joblib"),
        ("recommend.py", "--model", tmp_path / "model.joblib", "--rank-model",
         tmp_path / "rank_model.npz", "--data-dir", raw, "--profiles-dir", tmp_path / "profiles",
         "--profile", "ann", "--rate", "Movie 1, The (1981)=5", "--format", "csv",
         "--allow-untracked"),
    ]
    for script, *args in steps:
        result = run_stage(script, *args, "--params", params)
        assert result.returncode == 0, (script, result.stderr)
    names = json.loads((tmp_path / "features" / "feature_names.json").read_text())
    assert names and not any(name.startswith("tag:") for name in names)
    listed = result.stdout.splitlines()
    assert listed[0].startswith("rank,movieId,title") and len(listed) == 11
