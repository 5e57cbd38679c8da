"""Comparisons the paper draws from the simulated layers: speedups, energy, end-to-end training.

All functions read the merged simulation Dataset (:func:`ecoflow.analysis.dataset.merge_sim`)
through :func:`by_run`, which keeps each dataflow on the hardware it runs on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ecoflow.analysis.dataset import LEVELS

BASELINE = "tpu"  # Figs. 9-11 and Tables 6 and 8 normalise to the TPU dataflow
TRAINING = ("forward", "igrad", "fgrad")


def by_run(ds: xr.Dataset, runs: Sequence[Mapping[str, str]]) -> xr.Dataset:
    """One entry per dataflow, on its hardware (``runs``: ``{dataflow, hardware}`` pairs).

    The ``hardware`` dimension becomes a coordinate of ``dataflow``.
    """
    parts = [ds.sel(dataflow=r["dataflow"], hardware=r["hardware"]) for r in runs]
    out = xr.concat(parts, dim="dataflow", coords="different", compat="equals")
    return out.assign_coords(hardware=("dataflow", [r["hardware"] for r in runs]))


def layer_tag(network: str, variant: str, layer: str, paper_label: str) -> str:
    """A layer's name in figures: ``alexnet CONV1``, ``alexnet o-CONV1`` for ``opt``."""
    name = paper_label or layer
    return f"{network} {'o-' if variant == 'opt' else ''}{name}"


def paper_layers(ds: xr.Dataset) -> list[tuple[str, str, str]]:
    """``(network, variant, layer)`` of the layers the paper's tables name, in network order.

    An ``opt`` layer is kept only where its shape differs from the base one.
    """
    out = []
    for network in ds["network"].values:
        sub = ds.sel(network=network)
        names = sub["layer"].values[sub["order"].notnull().values]
        names = sorted(names, key=lambda n: float(sub["order"].sel(layer=n)))
        for name in names:
            for variant in sub["variant"].values:
                label = str(sub["paper_label"].sel(variant=variant, layer=name).item())
                if not label or np.isnan(float(sub["cycles"].sel(variant=variant, layer=name)
                                               .isel(phase=0, dataflow=0))):  # fmt: skip
                    continue
                if variant != "base" and _same_shape(sub, name, variant):
                    continue
                out.append((str(network), str(variant), str(name)))
    return out


def _same_shape(sub: xr.Dataset, layer: str, variant: str) -> bool:
    letters = ("C", "H", "W", "K", "R", "S", "stride_h", "stride_w")
    if "base" not in sub["variant"].values:
        return False
    return all(int(sub[c].sel(variant=variant, layer=layer)) ==
               int(sub[c].sel(variant="base", layer=layer)) for c in letters)  # fmt: skip


def layer_table(
    ds: xr.Dataset, layers: Sequence[tuple[str, str, str]], baseline: str = BASELINE
) -> pd.DataFrame:
    """Per layer, phase and dataflow: time, energy by level, both normalised to ``baseline``.

    Columns: ``network variant layer tag phase dataflow time_ms energy_pj speedup
    energy_saving`` and ``energy_<level>_pj``.
    """
    rows = []
    for network, variant, layer in layers:
        sub = ds.sel(network=network, variant=variant, layer=layer)
        tag = layer_tag(network, variant, layer, str(sub["paper_label"].item()))
        for phase in sub["phase"].values:
            base = sub.sel(phase=phase, dataflow=baseline)
            for df in sub["dataflow"].values:
                s = sub.sel(phase=phase, dataflow=df)
                e = s["energy_pj"].sel(level=list(LEVELS))
                rows.append({
                    "network": network, "variant": variant, "layer": layer, "tag": tag,
                    "phase": str(phase), "dataflow": str(df), "time_ms": float(s["time_ms"]),
                    "energy_pj": float(e.sum()),
                    **{f"energy_{lv}_pj": float(e.sel(level=lv)) for lv in LEVELS},
                    "speedup": float(base["time_ms"] / s["time_ms"]),
                    "energy_saving": float(base["energy_pj"].sum() / e.sum()),
                })  # fmt: skip
    return pd.DataFrame(rows)


def end_to_end(ds: xr.Dataset, phases: Sequence[str] = TRAINING) -> pd.DataFrame:
    """Training of every simulated conv layer (Tables 6 and 8), normalised to ``tpu``.

    Per network, variant and dataflow: the sums over layers and phases of time and energy,
    ``speedup = time(tpu) / time`` and ``energy_saving = energy(tpu) / energy``; ``layers``
    counts the layers summed (those simulated by every dataflow).
    """
    rows = []
    for network in ds["network"].values:
        for variant in ds["variant"].values:
            sub = ds.sel(network=network, variant=variant, phase=list(phases))
            t = sub["time_ms"]
            done = t.notnull().all(dim=("phase", "dataflow"))
            if not bool(done.any()):
                continue
            t = t.where(done).sum(dim=("layer", "phase"))
            e = sub["energy_pj"].sum(dim="level", min_count=1).where(done)
            e = e.sum(dim=("layer", "phase"))
            for df in sub["dataflow"].values:
                rows.append({
                    "network": str(network), "variant": str(variant), "dataflow": str(df),
                    "layers": int(done.sum()), "time_ms": float(t.sel(dataflow=df)),
                    "energy_pj": float(e.sel(dataflow=df)),
                    "speedup": float(t.sel(dataflow=BASELINE) / t.sel(dataflow=df)),
                    "energy_saving": float(e.sel(dataflow=BASELINE) / e.sel(dataflow=df)),
                })  # fmt: skip
    return pd.DataFrame(rows)
