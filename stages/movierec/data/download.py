"""Put the MovieLens variant ``data.variant`` in ``data/raw/<variant>``, verified.

A variant bundled with the project (``data/bundled/<variant>``, e.g. ml-latest-small) is copied
byte for byte after its ``SHA256SUMS`` are checked. Any other (ml-latest, ml-32m, ml-25m) is
downloaded from ``data.url`` as ``<variant>.zip`` and checked against the MD5 that GroupLens
publishes beside it (``<variant>.zip.md5``). The download resumes a partial file left by an
interrupted run (HTTP Range); a corrupt download is deleted; the output directory appears only
complete (extracted beside it, then renamed).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from movierec.data.movielens import (
    FILES,
    LINKS_COLUMNS,
    OPTIONAL_FILES,
    REQUIRED_FILES,
    TAGS_COLUMNS,
)
from movierec.errors import UserInputError
from movierec.io import file_digest

BLOCK = 1 << 20


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A temporary directory beside ``out`` that replaces ``out`` only if the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the data is not
    try:
        yield staging
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_sha256sums(directory: Path) -> None:
    """Every file listed in ``directory/SHA256SUMS`` must exist with that SHA-256."""
    sums = directory / "SHA256SUMS"
    if not sums.is_file():
        raise UserInputError(f"{sums}: missing; a bundled variant needs its checksums")
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        expected, _, name = line.strip().partition("  ")
        if not name:
            continue
        path = directory / name
        if not path.is_file():
            raise UserInputError(f"{sums}, line {number}: {name} is missing from {directory}")
        actual = file_digest(path, "sha256")
        if actual != expected:
            raise UserInputError(f"{path}: SHA-256 {actual} differs from {expected} in {sums} "
                                 f"(line {number}); restore the file (git checkout -- {path})")


OPTIONAL_HEADERS = {"tags.csv": TAGS_COLUMNS, "links.csv": LINKS_COLUMNS}
OPTIONAL_MEANING = {"tags.csv": "no tag tokens", "links.csv": "no IMDb/TMDB links"}


def complete_optional(directory: Path) -> str:
    """Write the header of each optional file ``directory`` lacks (so every later stage reads
    the same four files); what is absent, for the stage's message ("" if nothing)."""
    absent = []
    for name in OPTIONAL_FILES:
        path = directory / name
        if not path.is_file():
            path.write_text(",".join(OPTIONAL_HEADERS[name]) + "\n", encoding="utf-8")
            absent.append(f"no {name} ({OPTIONAL_MEANING[name]})")
        elif len(path.read_bytes()[:4096].strip().splitlines()) <= 1:
            absent.append(f"{name} has no rows ({OPTIONAL_MEANING[name]})")
    return "; ".join(absent)


def copy_bundled(source: Path, out: Path) -> str:
    """Check ``source``'s checksums and copy its files to ``out`` (atomically, as a directory);
    what optional files are absent (:func:`complete_optional`)."""
    check_sha256sums(source)
    with _staging(out) as staging:
        for path in sorted(source.iterdir()):
            if path.is_file():
                shutil.copyfile(path, staging / path.name)
        return complete_optional(staging)


def _get(url: str, offset: int = 0) -> http.client.HTTPResponse:
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as error:
        raise UserInputError(f"{url}: HTTP {error.code} {error.reason}; check data.variant and "
                             f"data.url") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise UserInputError(f"{url}: cannot connect ({getattr(error, 'reason', error)}); "
                             f"run again when the network is back (the download resumes)") from None


def published_md5(url: str) -> str:
    """The MD5 GroupLens publishes at ``url`` (``<hex>  <name>`` or just ``<hex>``)."""
    with _get(url) as answer:
        text = answer.read(4096).decode("ascii", errors="replace").split()
    if not text or len(text[0]) != 32:
        raise UserInputError(f"{url}: not an MD5 checksum file (starts {' '.join(text)[:40]!r})")
    return text[0].lower()


def download(url: str, partial: Path) -> None:
    """Fetch ``url`` into ``partial``, resuming what an earlier run left there."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    offset = partial.stat().st_size if partial.exists() else 0
    with _get(url, offset) as answer:
        if offset and answer.status != 206:  # the server ignored the Range: start over
            offset = 0
        total = answer.length + offset if answer.length is not None else None
        mode = "ab" if offset else "wb"
        with open(partial, mode) as handle, tqdm(total=total, initial=offset, unit="B",
                                                 unit_scale=True, desc=f"download {url}",
                                                 file=sys.stderr) as progress:
            try:
                for block in iter(lambda: answer.read(BLOCK), b""):
                    handle.write(block)
                    progress.update(len(block))
            except (TimeoutError, ConnectionError, OSError) as error:
                raise UserInputError(f"{url}: download interrupted after {handle.tell()} bytes "
                                     f"({error}); run again to resume it") from None
    if total is not None and partial.stat().st_size < total:
        raise UserInputError(f"{url}: download ended after {partial.stat().st_size} of {total} "
                             f"bytes; run again to resume it")


def extract(archive: Path, out: Path) -> str:
    """Unpack the MovieLens CSVs (and README) of ``archive`` into ``out``, atomically; what
    optional files are absent (:func:`complete_optional`)."""
    with zipfile.ZipFile(archive) as bundle, _staging(out) as staging:
        members = {Path(name).name: name for name in bundle.namelist() if not name.endswith("/")}
        missing = [name for name in REQUIRED_FILES if name not in members]
        if missing:
            raise UserInputError(f"{archive}: no {', '.join(missing)} inside; is data.variant a "
                                 f"MovieLens data set?")
        for name in [*FILES, "README.txt"]:
            if name in members:
                with bundle.open(members[name]) as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target, BLOCK)
        return complete_optional(staging)


def fetch_variant(variant: str, url: str, partial_dir: Path, out: Path) -> str:
    """Download, verify and extract ``<url>/<variant>.zip`` into ``out``; what optional files
    are absent."""
    archive_url = f"{url.rstrip('/')}/{variant}.zip"
    expected = published_md5(archive_url + ".md5")
    partial = partial_dir / f"{variant}.zip.part"
    download(archive_url, partial)
    actual = file_digest(partial, "md5")
    if actual != expected:
        partial.unlink()
        raise UserInputError(f"{archive_url}: MD5 {actual} differs from the published {expected}; "
                             f"the corrupt download was deleted, run again to fetch it anew")
    absent = extract(partial, out)
    partial.unlink()
    return absent


def put_variant(variant: str, url: str, bundled: Path, partial_dir: Path, out: Path) -> str:
    """Copy the bundled ``variant`` or download it into ``out``; a line saying which was done
    (and which optional files it lacks)."""
    if (bundled / variant).is_dir():
        absent = copy_bundled(bundled / variant, out)
        done = f"{out}: {variant} copied from {bundled / variant}, checksums verified"
    else:
        absent = fetch_variant(variant, url, partial_dir, out)
        done = f"{out}: {variant} downloaded from {url}, MD5 verified"
    return f"{done}; {absent}" if absent else done
