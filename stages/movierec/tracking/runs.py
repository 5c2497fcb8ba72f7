"""The one MLflow helper: where runs go, how they are named and tagged.

Default store: ``sqlite:///<repo>/mlflow.db`` with artifacts in ``<repo>/mlartifacts``, where
``<repo>`` is ``DVC_ROOT`` (set by DVC, also inside queued and ``--temp`` experiments that run in
``.dvc/tmp/exps``), so every run lands in the main repository. ``MLFLOW_TRACKING_URI`` overrides it.
"""

from __future__ import annotations

import contextlib
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


def metric_key(name: str) -> str:
    """MLflow's name for a metric: ``ndcg@10`` -> ``ndcg_at_10`` (MLflow does not allow ``@``)."""
    return name.replace("@", "_at_")


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


def log_model(model_path: Path, example: pd.DataFrame, requirements: list[str]) -> None:
    """Log the joblib model as an MLflow pyfunc model with a signature and an input example."""
    import joblib
    import mlflow
    from mlflow.models import infer_signature

    package = Path(__file__).resolve().parents[1]  # movierec, importable by the logged model
    predicted = joblib.load(model_path).predict(example["userId"].to_numpy(),
                                                example["movieId"].to_numpy())
    with warnings.catch_warnings():  # ids are never missing: integer columns are right
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        signature = infer_signature(example, pd.Series(predicted, name="rating"))
    mlflow.pyfunc.log_model(
        name="model", python_model=str(Path(__file__).with_name("pyfunc_model.py")),
        artifacts={"model": str(model_path)}, code_paths=[str(package)],
        pip_requirements=requirements, signature=signature, input_example=example)


def log_run(params: Mapping[str, Any], metrics: Mapping[str, float], tags: Mapping[str, str],
            artifacts: list[Path], model: tuple[Path, pd.DataFrame, list[str]] | None = None) -> str:
    """Log one run (params, metrics, tags, artifact files or folders and, given ``model`` as
    (joblib path, input example, pip requirements), a pyfunc model); return its run id."""
    import mlflow  # imported here: it is slow to import and only this stage needs it

    root = project_root()
    uri = os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri(root)
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
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=dict(tags)) as run:
            mlflow.log_params(dict(params))
            mlflow.log_metrics({metric_key(name): value for name, value in metrics.items()})
            for path in artifacts:
                if path.is_dir():
                    mlflow.log_artifacts(str(path), artifact_path=path.name)
                else:
                    mlflow.log_artifact(str(path))
            if model is not None:
                log_model(*model)
        return run.info.run_id
