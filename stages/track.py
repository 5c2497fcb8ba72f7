"""Stage: mirror this pipeline run into MLflow (params, metrics, datasets, plots, model, tags and
a description of what the run changed).

The model is logged twice: the joblib file as an artifact, and as an MLflow pyfunc model (with a
signature and an input example) that ``mlflow.pyfunc.load_model`` serves, registered as a new
version of the ``movie-recommender`` model. The splits are logged as the run's datasets, their
digest the md5 that dvc.lock records.

Its output, a small record of what was logged, is cached by DVC and not committed: a fresh clone
that runs ``dvc repro`` logs its run, while rerunning an unchanged pipeline logs nothing twice.
The record holds no run id or time, so identical runs give identical hashes in dvc.lock.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import movierec.blas  # noqa: F401  (before numpy: one BLAS kernel on every CPU)

import pandas as pd

from movierec.cli import add_params_argument, parser_for, run_main
from movierec.io import file_digest, write_json
from movierec.params import as_dict, read_params
from movierec.tracking.runs import EXPERIMENT, flatten, log_run, run_tags


def main() -> None:
    parser = parser_for(__doc__)
    add_params_argument(parser)
    parser.add_argument("--metrics", type=Path, nargs="+", required=True,
                        help="metrics JSON files to log")
    parser.add_argument("--summary", type=Path, required=True, help="data summary JSON")
    parser.add_argument("--artifacts", type=Path, nargs="+", required=True,
                        help="files or folders to log as artifacts")
    parser.add_argument("--model", type=Path, required=True, help="joblib model to log")
    parser.add_argument("--datasets", nargs="+", required=True, metavar="SPLIT=PARQUET",
                        help="the splits to log as the run's datasets")
    parser.add_argument("--example", type=Path, required=True,
                        help="interactions (parquet) whose first rows are the input example")
    parser.add_argument("--requirements", type=Path, required=True,
                        help="pinned requirements of the logged model")
    parser.add_argument("--record-out", type=Path, required=True,
                        help="JSON record of the logged run's fingerprint")
    args = parser.parse_args()

    params = flatten(as_dict(read_params(args.params)))
    metrics = {}
    for path in args.metrics:
        metrics |= json.loads(path.read_text(encoding="utf-8"))
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    fingerprint = hashlib.sha256(
        json.dumps([params, metrics, summary["data_sha256"]], sort_keys=True).encode()
    ).hexdigest()
    tags = run_tags(summary["data_sha256"]) | {"dvc.fingerprint": fingerprint}
    example = pd.read_parquet(args.example, columns=["userId", "movieId"]).head(5)
    requirements = [line.strip() for line in args.requirements.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    datasets = {}
    for entry in args.datasets:
        split, _, path = entry.partition("=")
        datasets[split] = (Path(path), file_digest(Path(path), "md5"))
    run_id = log_run(params, metrics, tags, args.artifacts, (args.model, example, requirements),
                     datasets, read_params(args.params).data.variant)
    write_json(args.record_out, {"experiment": EXPERIMENT, "fingerprint": fingerprint})
    print(f"logged MLflow run {run_id} ({len(params)} params, {len(metrics)} metrics)")


if __name__ == "__main__":
    run_main(main)
