"""One BLAS kernel on every x86-64 CPU with AVX2, so a rerun elsewhere gives the same bits.

numpy's and scipy's OpenBLAS pick their kernels by CPU when they load (Haswell's on AVX2 CPUs,
SkylakeX's on AVX-512 ones, ...), and those kernels sum in different orders: the fitted models'
last bits, and so every hash in ``dvc.lock``, would differ between machines. Importing this module
before numpy sets ``OPENBLAS_CORETYPE=Haswell`` (over any value the environment gives) wherever
the CPU runs Haswell's kernels (AVX2 and FMA): every stage script imports it first (ruff's isort
section ``blas`` keeps it there). Other CPUs (ARM, x86-64 without AVX2) keep OpenBLAS's own
choice.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

KERNEL = "Haswell"
NEEDS = {"avx2", "fma"}  # the instructions the Haswell kernels use


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The first CPU's feature flags (Linux), empty where there is no such file."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def pinned_kernel(machine: str, flags: set[str]) -> str | None:
    """The OpenBLAS kernel to pin on this CPU, or None to leave OpenBLAS's choice."""
    return KERNEL if machine in {"x86_64", "AMD64"} and flags >= NEEDS else None


_kernel = pinned_kernel(platform.machine(), cpu_flags())
if _kernel is not None:
    os.environ["OPENBLAS_CORETYPE"] = _kernel
