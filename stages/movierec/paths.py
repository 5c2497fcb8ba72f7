"""Default locations, relative to the repository root: the one place that names them.

``dvc.yaml`` passes every path to the stages explicitly; these are the defaults of the commands a
person runs by hand (``recommend.py``, ``fetch_tmdb.py``) and of the benchmarks.
"""

from pathlib import Path

RAW_DATA = Path("data/raw")  # data/raw/<data.variant>, written by the download stage
MODEL = Path("models/model.joblib")
MLFLOW_RECORD = Path("models/mlflow_run.json")
RANK_MODEL = Path("models/rank_model.npz")
PROFILES = Path("profiles")
PARAMS = Path("params.yaml")
DVC_LOCK = Path("dvc.lock")
TMDB_CACHE = Path("data/tmdb/tmdb.sqlite")


def raw_data_dir(variant: str) -> Path:
    """Where the ``download`` stage puts the MovieLens variant ``data.variant``."""
    return RAW_DATA / variant
