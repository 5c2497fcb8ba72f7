"""Matplotlib helpers: offline PNGs, written atomically and byte-identical across reruns."""

from __future__ import annotations

import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from movierec.io import atomic_path


def new_figure(width: float = 6.4, height: float = 4.2, ncols: int = 1) -> tuple[Figure, Any]:
    """A figure with one axes, or a row of ``ncols`` axes."""
    figure, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
    return figure, axes


def save_png(figure: Figure, path: str | os.PathLike) -> None:
    """Save ``figure`` as PNG with no version or time metadata, then close it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(figure)
