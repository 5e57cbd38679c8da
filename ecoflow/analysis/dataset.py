"""Builders of xarray Datasets (the only place Datasets are made)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from ecoflow.analysis.variables import attrs
from ecoflow.workloads.layer import PHASES, ConvLayer

if TYPE_CHECKING:
    from ecoflow.evaluate import LayerResult

ZERO_VARIABLES = ("macs", "zero_macs", "inner_zero_macs", "outer_zero_macs", "zero_fraction")
SHAPE_COORDS = ("C", "H", "W", "K", "R", "S", "stride_h", "stride_w", "groups", "P", "Q")


def zero_dataset(tables: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> xr.Dataset:
    """Zero analysis of several networks as one Dataset.

    Args:
        tables: network -> (layer table, zero table) as the workflow writes them.

    Returns:
        Dims ``network, variant, layer, phase``; variables :data:`ZERO_VARIABLES` with units;
        layer shapes, kinds (``conv``, ``tconv``), paper labels and layer order as coordinates
        (``NaN``/empty where a network lacks the layer).
    """
    frames = []
    for network, (layers, zeros) in tables.items():
        merged = zeros.merge(layers, on=["variant", "layer"], how="left", validate="many_to_one")
        merged["network"] = network
        merged["order"] = merged.groupby("variant").cumcount() // len(PHASES)
        frames.append(merged)
    df = pd.concat(frames, ignore_index=True)
    index = ["network", "variant", "layer", "phase"]
    ds = xr.Dataset.from_dataframe(df.set_index(index)[list(ZERO_VARIABLES)])
    ds = ds.reindex(phase=list(PHASES))
    for name in ZERO_VARIABLES:
        ds[name].attrs = attrs(name)
    first = df[df["phase"] == PHASES[0]].set_index(["network", "variant", "layer"])
    for coord in (*SHAPE_COORDS, "kind", "order", "paper_label"):
        series = first[coord]
        arr = xr.DataArray.from_series(series).reindex_like(ds[["network", "variant", "layer"]])
        if coord in ("kind", "paper_label"):
            arr = arr.fillna("").astype(str)
        ds = ds.assign_coords({coord: arr})
    ds.attrs = {"title": "zero analysis of training phases (EcoFlow §3.1)"}
    return ds


SIM_VARIABLES = ("cycles", "ideal_cycles", "time_ms", "macs", "zero_macs", "utilization",
                 "power_mw", "dram_bytes", "gbuf_bytes", "passes")  # fmt: skip
LEVELS = ("dram", "gbuf", "spad", "alu", "noc")  # Fig. 11's energy categories
SIM_DIMS = ("network", "variant", "layer", "phase", "dataflow", "hardware")


def sim_dataset(
    network: str,
    dataflow: str,
    hardware: str,
    records: Sequence[tuple[str, ConvLayer, str, str, LayerResult]],
    provenance: Mapping[str, str] | None = None,
) -> xr.Dataset:
    """Simulated layer phases of one network, dataflow and hardware as a Dataset.

    Args:
        network: the network.
        dataflow: the dataflow's id.
        hardware: the hardware's name.
        records: ``(variant, layer, paper label, phase, result)`` in network order.
        provenance: attributes to record (files and their hashes).

    Returns:
        Dims :data:`SIM_DIMS` (one network, dataflow and hardware) plus ``level`` (energy),
        ``level, action`` (``counts``) and ``stall_cause``; variables :data:`SIM_VARIABLES`,
        ``energy_pj``, ``counts`` and ``stall_cycles`` with units; the layer shape letters,
        paper labels and layer order as coordinates. No wall-clock time: re-runs are
        byte-identical.
    """
    variants = list(dict.fromkeys(r[0] for r in records))
    layers = list(dict.fromkeys(r[1].name for r in records))
    phases = [p for p in PHASES if any(r[3] == p for r in records)]
    first = records[0][4]
    actions = {level: list(first.counts[level]) for level in LEVELS}
    all_actions = list(dict.fromkeys(a for level in LEVELS for a in actions[level]))
    causes = list(first.stall_cycles)
    shape = (len(variants), len(layers), len(phases))
    scalar = {name: np.full(shape, np.nan) for name in SIM_VARIABLES}
    energy = np.full((*shape, len(LEVELS)), np.nan)
    counts = np.full((*shape, len(LEVELS), len(all_actions)), np.nan)
    stalls = np.full((*shape, len(causes)), np.nan)
    letters = ("N", "C", "H", "W", "K", "R", "S", "P", "Q", "groups", "stride_h", "stride_w")
    lv = (len(variants), len(layers))
    coords: dict[str, Any] = {c: np.full(lv, -1, np.int64) for c in letters}
    label = np.full(lv, "", dtype=object)
    for variant, layer, paper_label, phase, result in records:
        at = (variants.index(variant), layers.index(layer.name), phases.index(phase))
        for name in SIM_VARIABLES:
            scalar[name][at] = getattr(result, name)
        energy[at] = [result.energy_pj.get(level, np.nan) for level in LEVELS]
        for i, level in enumerate(LEVELS):
            for action, n in result.counts[level].items():
                counts[(*at, i, all_actions.index(action))] = n
        stalls[at] = [result.stall_cycles[c] for c in causes]
        at_l = at[:2]
        for c in letters[:-2]:
            coords[c][at_l] = getattr(layer, c)
        coords["stride_h"][at_l], coords["stride_w"][at_l] = layer.stride
        label[at_l] = paper_label
    base = ("variant", "layer", "phase")
    data = {name: (base, arr) for name, arr in scalar.items()}
    data["energy_pj"] = ((*base, "level"), energy)
    data["counts"] = ((*base, "level", "action"), counts)
    data["stall_cycles"] = ((*base, "stall_cause"), stalls)
    ds = xr.Dataset(
        data,
        coords={
            "variant": variants, "layer": layers, "phase": phases, "level": list(LEVELS),
            "action": all_actions, "stall_cause": causes,
            **{c: (("variant", "layer"), v) for c, v in coords.items()},
            "paper_label": (("variant", "layer"), label.astype(str)),
            "order": ("layer", np.arange(len(layers))),
        },
    )  # fmt: skip
    ds = ds.expand_dims(network=[network], dataflow=[dataflow], hardware=[hardware])
    # layer shapes belong to the network (the same name is another layer elsewhere)
    for c in (*letters, "paper_label", "order"):
        ds = ds.assign_coords({c: ds[c].expand_dims(network=[network])})
    ds = ds.transpose(*SIM_DIMS, ...)
    for name in ds.data_vars:
        ds[name].attrs = attrs(str(name))
    ds.attrs = {
        "title": f"{network} on {dataflow} ({hardware}): cycle-level simulation",
        "ecoflow_version": version("ecoflow"),
        **dict(provenance or {}),
    }
    return ds


def merge_sim(datasets: Sequence[xr.Dataset]) -> xr.Dataset:
    """Merge per-job simulation Datasets (outer join: a network lacks others' layers).

    Layer-shape coordinates hold ``-1`` (labels ``""``) where a network has no such layer.
    """
    merged = xr.merge(datasets, join="outer", compat="no_conflicts", combine_attrs="drop")
    for name in merged.coords:
        c = merged[name]
        if name in ("paper_label",):
            merged = merged.assign_coords({name: c.fillna("").astype(str)})
        elif c.dtype.kind == "f" and name not in ("order",) and c.ndim > 1:
            merged = merged.assign_coords({name: c.fillna(-1).astype(np.int64)})
    for name in merged.data_vars:
        merged[name].attrs = attrs(str(name))
    merged.attrs = {
        "title": "EcoFlow reproduction: simulated layer phases",
        "ecoflow_version": version("ecoflow"),
        "jobs": "; ".join(d.attrs.get("title", "") for d in datasets),
    }
    return merged
