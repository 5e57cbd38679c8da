"""FuSeConv inference latency on a systolic array, cycle by cycle (``reference/fuseconv.yaml``).

:func:`simulate_variants` runs every layer of a network variant (batch 1, forward pass) on one
systolic hardware: the ``baseline`` network (depthwise ``KxK`` as ``tpu`` runs it, one filter
per channel) on ``tpu``, the FuSe variants on ``st_os`` (1-D depthwise layers one per array row,
every other layer as ``tpu``). :func:`summary` adds the layers up per variant: latency with the
DRAM time between passes and without it (the array alone, what the authors' analytical model
counts), the speedup over the baseline, the share of time in depthwise, pointwise and other
layers, and the published speedup beside ours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ecoflow.config import load_energy_for, load_hardware
from ecoflow.dataflows import get
from ecoflow.evaluate import LayerResult, simulate
from ecoflow.workloads import fuseconv as nets

log = logging.getLogger(__name__)

CATEGORIES = ("depthwise", "pointwise", "other")
LAYER_COLUMNS = ("network", "variant", "layer", "category", "dataflow", "runs", "C", "H", "W",
                 "K", "R", "S", "stride", "groups", "macs", "cycles", "compute_cycles",
                 "time_ms", "utilization")  # fmt: skip


def dataflow_of(variant: str) -> str:
    """The dataflow a variant runs with: ``tpu`` for the baseline, ``st_os`` for FuSe."""
    return "tpu" if variant == "baseline" else "st_os"


def simulate_variants(
    network: str,
    hardware_file: str | Path,
    variants: Sequence[str] = nets.VARIANTS,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Per layer of each variant: cycles, array-only cycles, time and utilisation.

    Layers of one shape that run on the same dataflow (most pointwise layers of the variants)
    are simulated once.
    """
    hw = load_hardware(hardware_file)
    table = load_energy_for(hardware_file, hw)
    todo = [(v, layer) for v in variants for layer in nets.build(network, v)]  # type: ignore[arg-type]
    done: dict[tuple, LayerResult] = {}
    rows = []
    for i, (variant, layer) in enumerate(todo):
        flow = dataflow_of(variant)
        key = (layer.replace(name=""), flow)
        if key not in done:
            done[key] = simulate(layer.problem("forward"), get(flow), hw, table=table)
            log.info("%s %s %s: %d cycles (%d/%d)", network, variant, layer.name,
                     done[key].cycles, i + 1, len(todo))  # fmt: skip
        r = done[key]
        rows.append({
            "network": network, "variant": variant, "layer": layer.name,
            "category": nets.category(layer), "dataflow": flow,
            "runs": str(r.mapping.get("runs", flow)), "C": layer.C, "H": layer.H, "W": layer.W,
            "K": layer.K, "R": layer.R, "S": layer.S, "stride": layer.stride[0],
            "groups": layer.groups, "macs": nets.macs([layer]), "cycles": r.cycles,
            "compute_cycles": r.cycles - r.stall_cycles["dram"], "time_ms": r.time_ms,
            "utilization": r.utilization,
        })  # fmt: skip
        if progress is not None:
            progress(i + 1, len(todo))
    return pd.DataFrame(rows, columns=list(LAYER_COLUMNS))


def summary(layers: pd.DataFrame, reference: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per network and variant: latency, speedup over the baseline, time shares, published.

    Columns: ``network variant layers macs cycles time_ms compute_cycles speedup
    compute_speedup share_depthwise share_pointwise share_other published_speedup ratio``
    (``ratio``: our array-only speedup over the published one).
    """
    published = (reference or {}).get("speedup_over_baseline", {})
    rows = []
    for (network, variant), g in layers.groupby(["network", "variant"], sort=False):
        base = layers[(layers["network"] == network) & (layers["variant"] == "baseline")]
        cycles, compute = int(g["cycles"].sum()), int(g["compute_cycles"].sum())
        row = {
            "network": network, "variant": variant, "layers": len(g),
            "macs": int(g["macs"].sum()), "cycles": cycles, "time_ms": float(g["time_ms"].sum()),
            "compute_cycles": compute,
            "speedup": float(base["cycles"].sum() / cycles) if len(base) else float("nan"),
            "compute_speedup": (float(base["compute_cycles"].sum() / compute) if len(base)
                                else float("nan")),
        }  # fmt: skip
        for cat in CATEGORIES:
            row[f"share_{cat}"] = float(g.loc[g["category"] == cat, "cycles"].sum() / cycles)
        paper = published.get(nets.REFERENCE_NAMES.get(str(network), ""), {}).get(str(variant))
        row["published_speedup"] = float(paper) if paper is not None else float("nan")
        row["ratio"] = row["compute_speedup"] / row["published_speedup"]
        rows.append(row)
    return pd.DataFrame(rows)
