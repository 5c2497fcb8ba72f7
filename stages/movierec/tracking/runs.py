"""The one MLflow helper: where runs go, how they are named and tagged.

Default store: ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlartifacts``, where
``<repo>`` is ``DVC_ROOT`` (set by DVC, also inside queued and ``--temp`` experiments that run in
``.dvc/tmp/exps``), so every run lands in the main repository. ``MLFLOW_TRACKING_URI`` overrides it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from movierec.io import locked

EXPERIMENT = "movie-recommender"


def project_root() -> Path:
    """The main repository: ``DVC_ROOT`` when DVC runs us, else the current directory."""
    return Path(os.environ.get("DVC_ROOT") or Path.cwd()).resolve()


def default_tracking_uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlflow.db'}"


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"alpha": 1}}`` -> ``{"train.alpha": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def git_commit() -> str:
    """The commit the run starts from: DVC's experiment baseline, else ``HEAD``."""
    if os.environ.get("DVC_EXP_BASELINE_REV"):
        return os.environ["DVC_EXP_BASELINE_REV"]
    result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def run_tags(data_sha256: str) -> dict[str, str]:
    """Tags that tie a run to its code, DVC experiment and data."""
    tags = {
        "mlflow.source.git.commit": git_commit(),
        "data.sha256": data_sha256,
    }
    if os.environ.get("DVC_EXP_NAME"):
        tags["dvc.exp_name"] = os.environ["DVC_EXP_NAME"]
    return tags


def run_description(commit: str, changed: Mapping[str, tuple[Any, Any]]) -> str:
    """What the run is: the params it changed from the commit it started from (the ``-S``
    overrides of a DVC experiment), or the committed params."""
    if not changed:
        return f"The committed params of {commit[:7]}."
    return f"Params changed from {commit[:7]}: " + ", ".join(
        f"{name} {before!r} -> {after!r}" for name, (before, after) in sorted(changed.items())) + "."


def committed_params(commit: str) -> dict[str, Any] | None:
    """The flat params of ``params.yaml`` at ``commit``, None if git cannot show them."""
    import yaml

    shown = subprocess.run(["git", "show", f"{commit}:params.yaml"], capture_output=True,
                           text=True, check=False)
    if shown.returncode != 0:
        return None
    return flatten(yaml.safe_load(shown.stdout) or {})


def changed_params(params: Mapping[str, Any], commit: str) -> dict[str, tuple[Any, Any]]:
    """The params whose value differs from ``commit``'s params.yaml: name -> (before, now)."""
    before = committed_params(commit)
    if before is None:
        return {}
    return {name: (before.get(name), value) for name, value in params.items()
            if before.get(name) != value}


def find_run(fingerprint: str, root: Path) -> str | None:
    """The id of the MLflow run tagged with ``fingerprint`` (the ``track`` stage's record), in
    the store runs go to (:func:`tracking_uri`); None if there is none or no store."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(root)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        return None  # no local store yet: do not create one
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return None
        runs = client.search_runs([experiment.experiment_id],
                                  filter_string=f"tags.`dvc.fingerprint` = '{fingerprint}'",
                                  order_by=["attributes.start_time ASC"], max_results=1)
    except mlflow.exceptions.MlflowException:
        return None
    return runs[0].info.run_id if runs else None


def tracking_uri(root: Path) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the repository's sqlite store."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(root)


def split_dataset(frame: pd.DataFrame, path: Path, name: str, digest: str):
    """``frame`` (read from ``path``) as an MLflow pandas dataset whose schema is what MLflow
    infers, found with a vectorised check for missing values per column: MLflow's own inference
    tests every value in Python (mlflow#13085; some 35 s for ml-latest's two splits)."""
    import mlflow
    from mlflow.data.pandas_dataset import PandasDataset
    from mlflow.models import infer_signature
    from mlflow.types import ColSpec, Schema

    class SplitDataset(PandasDataset):
        @functools.cached_property
        def schema(self) -> Schema:
            with warnings.catch_warnings():  # ids are never missing: integer columns are right
                warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
                types = infer_signature(self.df.head(1)).inputs.inputs  # numeric: the dtypes
            return Schema([ColSpec(spec.type, spec.name,
                                   required=not bool(self.df[spec.name].isna().any()))
                           for spec in types])

    with warnings.catch_warnings():  # a local path: MLflow's two local sources both fit
        warnings.filterwarnings("ignore", message=".*interpreted in multiple ways")
        plain = mlflow.data.from_pandas(frame, source=str(path), name=name, digest=digest)
    return SplitDataset(frame, source=plain.source, name=name, digest=digest)


def log_datasets(datasets: Mapping[str, tuple[Path, str]], variant: str) -> None:
    """Log each split (name -> (parquet path, its md5 as in dvc.lock)) as an MLflow dataset
    input, named after the data variant, its digest the md5 DVC records."""
    import mlflow

    for split, (path, md5) in datasets.items():
        dataset = split_dataset(pd.read_parquet(path), path, f"{variant}-{split}", md5)
        mlflow.log_input(dataset, context="training" if split == "train" else "evaluation",
                         tags={"variant": variant, "split": split})


def log_model(model_path: Path, example: pd.DataFrame, requirements: list[str],
              version_tags: Mapping[str, str]) -> None:
    """Log the joblib model as an MLflow pyfunc model with a signature and an input example,
    registered as a new version of the ``movie-recommender`` model with ``version_tags``."""
    import joblib
    import mlflow
    from mlflow.models import infer_signature

    package = Path(__file__).resolve().parents[1]  # movierec, importable by the logged model
    predicted = joblib.load(model_path).predict(example["userId"].to_numpy(),
                                                example["movieId"].to_numpy())
    with warnings.catch_warnings():  # ids are never missing: integer columns are right
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(example, pd.Series(predicted, name="rating"))
    info = mlflow.pyfunc.log_model(
        name="model", python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={"model": str(model_path)}, code_paths=[str(package)],
        pip_requirements=requirements, signature=signature, input_example=example,
        registered_model_name=EXPERIMENT)
    client = mlflow.tracking.MlflowClient()
    for key, value in version_tags.items():
        client.set_model_version_tag(EXPERIMENT, str(info.registered_model_version), key, value)


def log_run(params: Mapping[str, Any], metrics: Mapping[str, float], tags: Mapping[str, str],
            artifacts: list[Path], model: tuple[Path, pd.DataFrame, list[str]] | None = None,
            datasets: Mapping[str, tuple[Path, str]] | None = None, variant: str = "") -> str:
    """Log one run: params, metrics, tags, a description of what it changed, artifact files or
    folders, the ``datasets`` (split -> (parquet, md5)) and, given ``model`` as (joblib path,
    input example, pip requirements), a registered pyfunc model; return its run id."""
    import mlflow  # imported here: it is slow to import and only this stage needs it

    root = project_root()
    uri = tracking_uri(root)
    local = uri.startswith("sqlite:///") and "MLFLOW_TRACKING_URI" not in os.environ
    # parallel workers must not create a local sqlite store twice
    lock = locked(root / "mlflow.db.lock") if local else contextlib.nullcontext()
    with lock:
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            location = (root / "mlartifacts").as_uri() if local else None
            experiment_id = mlflow.create_experiment(EXPERIMENT, artifact_location=location)
        else:
            experiment_id = experiment.experiment_id
        run_name = tags.get("dvc.exp_name", "workspace")
        commit = tags.get("mlflow.source.git.commit", "unknown")
        description = run_description(commit, changed_params(params, commit))
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags),
                              description=description) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics(metrics)
            if datasets:
                log_datasets(datasets, variant)
            for path in artifacts:
                if path.is_dir():
                    mlflow.log_artifacts(str(path), artifact_path=path.name)
                else:
                    mlflow.log_artifact(str(path))
            if model is not None:
                version_tags = {"dvc.exp_name": run_name, "git.commit": commit}
                log_model(*model, version_tags)
        return run.info.run_id
