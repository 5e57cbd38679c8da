"""Builders of xarray Datasets (the only place Datasets are made)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import xarray as xr

from ecoflow.analysis.variables import attrs
from ecoflow.workloads.layer import PHASES

ZERO_VARIABLES = ("macs", "zero_macs", "inner_zero_macs", "outer_zero_macs", "zero_fraction")
SHAPE_COORDS = ("C", "H", "W", "K", "R", "S", "stride_h", "stride_w", "groups", "P", "Q")


def zero_dataset(tables: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]]) -> xr.Dataset:
    """Zero analysis of several networks as one Dataset.

    Args:
        tables: network -> (layer table, zero table) as the workflow writes them.

    Returns:
        Dims ``network, variant, layer, phase``; variables :data:`ZERO_VARIABLES` with units;
        layer shapes, paper labels and layer order as coordinates (``NaN``/empty where a network
        lacks the layer).
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
    for coord in (*SHAPE_COORDS, "order", "paper_label"):
        series = first[coord]
        arr = xr.DataArray.from_series(series).reindex_like(ds[["network", "variant", "layer"]])
        if coord == "paper_label":
            arr = arr.fillna("").astype(str)
        ds = ds.assign_coords({coord: arr})
    ds.attrs = {"title": "zero analysis of training phases (EcoFlow §3.1)"}
    return ds
