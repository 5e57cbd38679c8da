"""Shared figure setup: Agg backend, seaborn theme, deterministic files."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns

from ecoflow.io import temporary_sibling

METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None},
}


# one colour per dataflow in every figure (seaborn's colourblind palette, in this order)
DATAFLOW_ORDER = ("rs", "tpu", "ecoflow", "ganax", "st_os")


def dataflow_palette(dataflows: list[str]) -> dict[str, tuple[float, float, float]]:
    """The colour of each dataflow: the same in every figure, whichever dataflows it shows."""
    known = list(DATAFLOW_ORDER) + sorted(set(dataflows) - set(DATAFLOW_ORDER))
    colors = sns.color_palette("colorblind", len(known))
    return {d: colors[known.index(d)] for d in dataflows}


def theme() -> None:
    """Apply the project's seaborn theme."""
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind")
    plt.rcParams["svg.hashsalt"] = "ecoflow"
    plt.rcParams["pdf.compression"] = 6


def save(fig: plt.Figure, path: str | Path) -> Path:
    """Save a figure with fixed metadata (byte-identical on re-run), atomically."""
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    tmp = temporary_sibling(path)
    try:
        fig.savefig(tmp, format=fmt, metadata=METADATA.get(fmt), dpi=150, bbox_inches="tight")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
