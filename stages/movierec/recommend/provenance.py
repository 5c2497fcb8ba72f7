"""Which model recommend uses: the outputs dvc.lock records, refused if their bytes differ, and
the line that names them (file, hash, git commit, MLflow run)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from movierec.errors import UserInputError
from movierec.io import file_digest
from movierec.tracking.runs import find_run


def locked_md5(lock_path: Path, out_path: Path) -> str | None:
    """The md5 that ``dvc.lock`` records for the output ``out_path``, if it records one."""
    try:
        lock = yaml.safe_load(lock_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return None
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if Path(out.get("path", "")) == out_path:
                return out.get("md5")
    return None


def check_provenance(path: Path, lock_path: Path, allow_untracked: bool,
                     kind: str = "model") -> str:
    """Refuse a pipeline output (the ``kind``) whose bytes differ from what dvc.lock records;
    return its md5."""
    if not path.is_file():
        raise UserInputError(f"{path}: no {kind}; run `dvc repro` (or `dvc pull`) first")
    actual = file_digest(path, "md5")
    recorded = locked_md5(lock_path, path)
    if recorded != actual and not allow_untracked:
        what = "records no hash for it" if recorded is None else f"records md5 {recorded}"
        raise UserInputError(
            f"{path} (md5 {actual}) is not the {kind} {lock_path} tracks ({what}); "
            f"run `dvc repro` (or `dvc pull`) first, or pass --allow-untracked to use it anyway"
        )
    return actual


def describe_model(model_path: Path, md5: str, record_path: Path, root: Path) -> str:
    """One line naming the model: file, hash, git commit and MLflow run (when known: the run
    the ``track`` stage tagged with this pipeline run's fingerprint, found through MLflow's
    client in whatever store ``MLFLOW_TRACKING_URI`` names)."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    run_id = None
    try:
        fingerprint = json.loads(record_path.read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, KeyError, ValueError):
        fingerprint = None
    if fingerprint:
        run_id = find_run(fingerprint, root)
    run_id = run_id or "unknown"
    return f"model {model_path} (md5 {md5[:10]}, git commit {commit}, MLflow run {run_id})"
