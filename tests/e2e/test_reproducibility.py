"""Slow checks of the whole pipeline: bit-identical reruns and recovery after a kill."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
import yaml

from support import copy_project, git_env

pytestmark = pytest.mark.slow


def run(repo, *command, env=None):
    result = subprocess.run(command, cwd=repo, env=git_env() | (env or {}), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def output_hashes(repo) -> dict[str, str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in lock["stages"].values()
            for out in stage.get("outs", [])}


# another machine, as far as one machine can pretend: numpy without its AVX-512 kernels, OpenBLAS
# asked for another CPU's kernels (movierec.blas pins one), BLAS on one thread instead of two
OTHER_MACHINE = {"NPY_DISABLE_CPU_FEATURES": "AVX512_SPR AVX512_ICL X86_V4",
                 "OPENBLAS_CORETYPE": "Sandybridge",
                 "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def test_repro_gives_the_same_output_hashes_on_another_cpu_and_thread_count(tmp_path):
    repo = copy_project(tmp_path / "project")
    run(repo, "dvc", "repro", "-f", env={"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"})
    first = output_hashes(repo)
    run(repo, "dvc", "repro", "-f", env=OTHER_MACHINE)
    assert output_hashes(repo) == first
    committed = yaml.safe_load(subprocess.run(["git", "show", "HEAD:dvc.lock"], cwd=repo,
                                              capture_output=True, text=True, check=True).stdout)
    assert {out["path"]: out["md5"] for stage in committed["stages"].values()
            for out in stage.get("outs", [])} == first  # and the same as the committed run


def test_a_repro_killed_midway_is_recovered_by_the_next(tmp_path):
    repo = copy_project(tmp_path / "project")
    process = subprocess.Popen(["dvc", "repro"], cwd=repo, env=git_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (repo / "data" / "features").exists():
        time.sleep(0.5)
    time.sleep(5)  # inside the train stage
    subprocess.run(["pkill", "-KILL", "-s", str(process.pid)], check=False)
    process.wait()
    assert process.returncode == -signal.SIGKILL or process.returncode != 0
    run(repo, "dvc", "repro")
    assert "Data and pipelines are up to date" in run(repo, "dvc", "status")
