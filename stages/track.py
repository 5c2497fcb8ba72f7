"""Stage 6: mirror this pipeline run into MLflow (params, metrics, plots, model, tags)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import run_main
from params import read_params
from tracking import flatten, log_run, run_tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--metrics", type=Path, required=True, help="metrics JSON to log")
    parser.add_argument("--summary", type=Path, required=True, help="data summary JSON")
    parser.add_argument("--artifacts", type=Path, nargs="+", required=True,
                        help="files or folders to log as artifacts")
    args = parser.parse_args()

    params = flatten(read_params(args.params))
    metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    run_id = log_run(params, metrics, run_tags(summary["data_sha256"]), args.artifacts)
    print(f"logged MLflow run {run_id} ({len(params)} params, {len(metrics)} metrics)")


if __name__ == "__main__":
    run_main(main)
