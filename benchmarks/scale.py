"""The whole pipeline at ml-latest scale on generated data: wall time and peak memory per stage.

    python benchmarks/scale.py --scale 1.0 --work /tmp/scale --runs 3   # 33.8M ratings
    python benchmarks/scale.py --scale 0.01 --work /tmp/small           # the same code, seconds

It generates ml-latest-shaped CSVs (``benchmarks/generate.py``), copies the project into
``--work`` with them as a bundled variant (the committed params.yaml, only ``data.variant``
changed), and runs ``dvc repro`` of the whole pipeline as a user would, ``--runs`` times (each
later run with ``--force``): each stage's median and the spread of the whole runs are printed,
with each stage's seconds per million ratings (how its cost grows). Each stage's wall time
runs from DVC's "Running stage" line to the next one (so it includes DVC's own work for the stage:
hashing, caching, writing dvc.lock); its peak memory is the largest total resident memory of the
DVC process and everything it started, sampled from /proc (Linux). Then, measured in the same run
on the same training split, it compares the training fit with scikit-learn's ``Ridge`` on the
explicit design matrix (the largest row sample that fits in ``--sklearn-rows``), and with the
original design's 200k-rating fit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "stages"))
from movierec.io import file_digest  # noqa: E402

RUNNING = re.compile(r"^Running stage '([^']+)'")
PAGE_GB = os.sysconf("SC_PAGE_SIZE") / 2**30
TARGETS = {"interactions": 30, "features": 10, "train": 40}


def copy_project(destination: Path) -> None:
    """The project's tracked and unignored files in a fresh git repository (DVC needs one)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    env = os.environ | {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
                        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "benchmark copy"]):
        subprocess.run(command, cwd=destination, env=env, check=True)


def bundle(data: Path, destination: Path) -> None:
    """Hard-link (or copy) generated CSVs into a bundled variant with its SHA256SUMS."""
    destination.mkdir(parents=True)
    lines = []
    for path in sorted(data.glob("*.csv")):
        try:
            os.link(path, destination / path.name)
        except OSError:
            shutil.copyfile(path, destination / path.name)
        lines.append(f"{file_digest(path, 'sha256')}  {path.name}\n")
    (destination / "SHA256SUMS").write_text("".join(lines))


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; its wall seconds and peak resident GB (itself or any child it waited for)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20


def tree_resident_gb(root: int) -> float:
    """Total resident memory of process ``root`` and all its descendants, in GB (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    parent = int(stat.read().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):  # the process ended meanwhile
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total * PAGE_GB


def run_pipeline(project: Path, log: Path, force: bool) -> list[dict]:
    """One ``dvc repro`` in ``project``: each stage's wall seconds and peak GB, in run order."""
    process = subprocess.Popen(["dvc", "repro"] + (["--force"] if force else []), cwd=project,
                               stdout=subprocess.PIPE, stderr=log.open("w"), text=True, bufsize=1,
                               env=os.environ | {"PYTHONUNBUFFERED": "1"})
    stages: list[dict] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            if stages:
                row = stages[-1]
                row["peak_gb"] = max(row["peak_gb"], tree_resident_gb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in process.stdout:
        match = RUNNING.match(line)
        if match:
            now = time.perf_counter()
            if stages:
                stages[-1]["seconds"] = now - stages[-1]["start"]
            stages.append({"stage": match.group(1), "start": now, "peak_gb": 0.0})
            print(f"  running {match.group(1)}", file=sys.stderr, flush=True)
    code = process.wait()
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"dvc repro failed in {project} (exit {code}); see {log}")
    stages[-1]["seconds"] = time.perf_counter() - stages[-1]["start"]
    return [{"stage": row["stage"], "seconds": round(row["seconds"], 1),
             "peak_gb": round(row["peak_gb"], 2)} for row in stages]


def _fit_probe(project: str, rows: int, method: str, connection) -> None:
    """In a fresh process: fit one Ridge on ``rows`` training ratings; report seconds, peak GB."""
    sys.path.insert(0, str(Path(project) / "stages"))
    import numpy as np
    import pandas as pd
    from scipy import sparse
    from sklearn.linear_model import Ridge

    from movierec.features.movie_features import MovieFeatures
    from movierec.model.estimator import RatingModel
    from movierec.model.ridge import ridge_by_movie

    features = MovieFeatures.load(Path(project) / "data" / "features")
    train = pd.read_parquet(Path(project) / "data" / "prepared" / "train.parquet",
                            columns=["userId", "movieId", "rating"])
    if rows < len(train):
        train = train.iloc[np.sort(np.random.default_rng(0).choice(len(train), rows, False))]
    if method == "ours_full_fit":
        params = yaml.safe_load((Path(project) / "params.yaml").read_text())["train"]
        start = time.perf_counter()
        RatingModel(**params).fit(train, features)
        seconds = time.perf_counter() - start
    else:  # the same design for both: content of the movie, numeric features, user mean
        index = pd.Index(features.movie_ids).get_indexer(train["movieId"].to_numpy())
        user_mean = train.groupby("userId")["rating"].transform("mean").to_numpy()
        dense = np.column_stack([features.movies[features.numeric].to_numpy(float)[index],
                                 user_mean])
        y = train["rating"].to_numpy(float)
        start = time.perf_counter()
        if method == "sklearn_ridge":
            design = sparse.hstack([features.content[index], sparse.csr_matrix(dense)]).tocsr()
            Ridge(alpha=10.0).fit(design, y)
        else:
            ridge_by_movie(features.content, index, dense, y, 10.0)
        seconds = time.perf_counter() - start
    connection.send((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))


def probe(project: Path, rows: int, method: str) -> tuple[float, float]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_fit_probe, args=(str(project), rows, method, sender))
    process.start()
    result = receiver.recv()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="share of ml-latest's size")
    parser.add_argument("--work", type=Path, required=True, help="an empty working directory")
    parser.add_argument("--data", type=Path, help="generated CSVs to reuse (else generated)")
    parser.add_argument("--runs", type=int, default=1, help="whole dvc repro runs (spread)")
    parser.add_argument("--sklearn-rows", type=int, default=2_000_000,
                        help="rows of the explicit design matrix scikit-learn's Ridge gets")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty")

    data = args.data
    if data is None:
        data = args.work / "generated"
        seconds, _ = timed([sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--out",
                            str(data), "--scale", str(args.scale)], args.work)
        print(f"generated {data} in {seconds:.0f} s")
    project = args.work / "project"
    project.mkdir()
    copy_project(project)
    variant = f"generated-{args.scale:g}"
    bundle(data, project / "data" / "bundled" / variant)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["variant"] = variant
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    runs = []
    for run in range(args.runs):
        print(f"dvc repro (the whole pipeline), run {run + 1} of {args.runs} ...", file=sys.stderr,
              flush=True)
        runs.append(run_pipeline(project, args.work / f"dvc_repro_{run + 1}.log", force=run > 0))
    summary = json.loads((project / "data" / "prepared" / "summary.json").read_text())
    n_train = summary["train"]
    millions = summary["interactions"] / 1e6
    rows = [{"stage": stage["stage"],
             "seconds": statistics.median(r[k]["seconds"] for r in runs),
             "peak_gb": max(r[k]["peak_gb"] for r in runs)} for k, stage in enumerate(runs[0])]
    print(f"\n{millions:.2f}M ratings, {args.runs} run(s); median per stage")
    print(f"{'stage':<18}{'wall s':>8}{'s / 1M':>8}{'peak GB':>9}  target")
    for row in rows:
        target = f"<= {TARGETS[row['stage']]} s" if row["stage"] in TARGETS else ""
        print(f"{row['stage']:<18}{row['seconds']:>8.1f}{row['seconds'] / millions:>8.2f}"
              f"{row['peak_gb']:>9.2f}  {target}")
    # fetching the data is not part of the pipeline's target
    totals = [sum(row["seconds"] for row in run if row["stage"] != "download") for run in runs]
    peak = max(r["peak_gb"] for r in rows)
    spread = f" (runs: {', '.join(f'{t:.0f}' for t in totals)} s)" if len(runs) > 1 else ""
    print(f"{'dvc repro':<18}{statistics.median(totals):>8.1f}"
          f"{statistics.median(totals) / millions:>8.2f}{peak:>9.2f}  <= 180 s, <= 8 GB "
          f"(all stages but download){spread}", flush=True)

    sample = min(args.sklearn_rows, n_train)
    print(f"\nRidge fits, same training split ({n_train:,} ratings), each in a fresh process:")
    fits = {
        "ours: whole train stage fit, all rows": probe(project, n_train, "ours_full_fit"),
        "ours: sufficient-statistics Ridge, all rows": probe(project, n_train, "ours_ridge"),
        f"ours: sufficient-statistics Ridge, {sample:,} rows": probe(project, sample, "ours_ridge"),
        f"scikit-learn Ridge, explicit design, {sample:,} rows": probe(project, sample,
                                                                      "sklearn_ridge"),
        "original design: scikit-learn Ridge, 200,000 rows": probe(project, min(200_000, n_train),
                                                                   "sklearn_ridge"),
    }
    for name, (seconds, peak_gb) in fits.items():
        print(f"  {name:<58}{seconds:>8.1f} s{peak_gb:>7.2f} GB")
    ours, ours_peak = fits["ours: whole train stage fit, all rows"]
    sklearn, sklearn_peak = fits[f"scikit-learn Ridge, explicit design, {sample:,} rows"]
    original, _ = fits["original design: scikit-learn Ridge, 200,000 rows"]
    print(f"ratios: our fit on all {n_train:,} rows takes {ours / sklearn:.2f}x the time and "
          f"{ours_peak / sklearn_peak:.2f}x the memory of scikit-learn's Ridge on {sample:,} rows "
          f"({n_train / sample:.1f}x fewer rows); {ours / original:.2f}x the original's 200k fit")
    (args.work / "scale.json").write_text(json.dumps({"stages": rows, "runs": runs, "fits": {
        name: {"seconds": round(s, 2), "peak_gb": round(g, 2)} for name, (s, g) in fits.items()},
        "train_ratings": n_train, "ratings": summary["interactions"]}, indent=1) + "\n")


if __name__ == "__main__":
    main()
