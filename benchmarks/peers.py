"""Peer benchmark: Surprise's BaselineOnly, SVD and KNNBaseline on exactly the project's split.

Run after ``dvc repro`` (it reads the split and our metrics from the pipeline's outputs):

    pip install -r benchmarks/requirements-peers.txt
    python benchmarks/peers.py

Prints a Markdown table of every peer beside our model and baselines (all on the same test
ratings) and writes it to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader

PEERS = {
    "Surprise BaselineOnly (ALS user + item biases)": lambda: BaselineOnly(verbose=False),
    "Surprise SVD (50 factors, 40 epochs, reg 0.08)": lambda: SVD(
        n_factors=50, n_epochs=40, lr_all=0.007, reg_all=0.08, random_state=0),
    "Surprise KNNBaseline (item-based, pearson_baseline, k=40)": lambda: KNNBaseline(
        k=40, sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False),
}


def evaluate_peer(make, train: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float, float]:
    """Fit a Surprise algorithm on ``train``; RMSE, MAE on ``test`` and seconds taken."""
    start = time.perf_counter()
    reader = Reader(rating_scale=(0.5, 5.0))
    trainset = Dataset.load_from_df(train[["userId", "movieId", "rating"]], reader)
    algorithm = make().fit(trainset.build_full_trainset())
    predicted = np.array([algorithm.predict(u, i).est
                          for u, i in zip(test["userId"], test["movieId"], strict=True)])
    errors = test["rating"].to_numpy(dtype=float) - predicted
    return (float(np.sqrt(np.mean(errors**2))), float(np.mean(np.abs(errors))),
            time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, default=Path("data/prepared/train.parquet"))
    parser.add_argument("--test", type=Path, default=Path("data/prepared/test.parquet"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/metrics.json"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/peers.md"))
    args = parser.parse_args()
    for path in (args.train, args.test, args.metrics):
        if not path.is_file():
            sys.exit(f"error: {path} not found; run `dvc repro` first")
    train, test = pd.read_parquet(args.train), pd.read_parquet(args.test)
    ours = json.loads(args.metrics.read_text())
    rows = [("**our model** (Ridge over out-of-fold evidence)", ours["rmse"], ours["mae"], None),
            ("our bias baseline", ours["bias_rmse"], ours["bias_mae"], None),
            ("user mean", ours["user_mean_rmse"], ours["user_mean_mae"], None),
            ("global mean", ours["global_mean_rmse"], ours["global_mean_mae"], None)]
    for name, make in PEERS.items():
        print(f"fitting {name} ...", file=sys.stderr, flush=True)
        rows.append((name, *evaluate_peer(make, train, test)))
    lines = [f"Same split: {len(train)} training and {len(test)} test ratings.", "",
             "| model | RMSE | MAE | fit + predict (s) |", "|---|---|---|---|"]
    for name, rmse, mae, seconds in sorted(rows, key=lambda row: row[1]):
        lines.append(f"| {name} | {rmse:.4f} | {mae:.4f} | "
                     f"{'-' if seconds is None else f'{seconds:.1f}'} |")
    table = "\n".join(lines) + "\n"
    args.out.write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
