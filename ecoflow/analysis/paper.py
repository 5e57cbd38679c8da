"""Every reproduced number beside the paper's (``reference/ecoflow_paper.yaml``), with the ratio.

:func:`comparison` gathers, from the workflow's tables, the figures the paper publishes: the
per-layer speedups of §6.2.1, the maximum energy savings of §6.2.2, Table 6, Table 2, the
multicast IDs of §4.4, the Fig. 3 claim and, for GANs, the §6.3 claims on the Table 7 layers and
Table 8. Quantities the run did not produce (a network not
simulated, a layer not selected) are left out, not guessed. ``ratio`` is ours / paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

NETWORK_NAMES = {"AlexNet": "alexnet", "ResNet-50": "resnet50", "ShuffleNet": "shufflenet",
                 "Inception": "inception_v3", "Xception": "xception",
                 "MobileNet": "mobilenet"}  # fmt: skip
TABLE6_DATAFLOWS = {"Eyeriss": "rs", "EcoFlow": "ecoflow"}
# §6.2.1: the layers whose speedups the text quotes, as (network, variant, paper label)
SPEEDUP_LAYERS = {
    "resnet50_CONV3": ("resnet50", "base", "CONV3"),
    "alexnet_CONV1": ("alexnet", "base", "CONV1"),
    "alexnet_opt_CONV1": ("alexnet", "opt", "CONV1"),
}
APPROXIMATE = {"close to 4x": (4.0, "about"), "more than 3x": (3.0, "at least")}
GAN_NAMES = {"pix2pix": "pix2pix", "CycleGAN": "cyclegan"}
TABLE8_DATAFLOWS = {"Eyeriss": "rs", "GANAX": "ganax", "EcoFlow": "ecoflow"}


def _row(quantity: str, source: str, paper: float, ours: float, note: str = "") -> dict:
    return {"quantity": quantity, "source": source, "paper": paper, "ours": ours,
            "ratio": ours / paper if paper else np.nan, "note": note}  # fmt: skip


def _speedups(layers: pd.DataFrame, ref: Mapping[str, Any]) -> list[dict]:
    rows = []
    for phase, figure in (("igrad", "Fig. 9"), ("fgrad", "Fig. 10")):
        quoted = {k: v for group in ref[phase].values() if isinstance(group, dict)
                  for k, v in group.items()}  # fmt: skip
        for key, value in quoted.items():
            network, variant, label = SPEEDUP_LAYERS[key]
            tag = f"{network} {'o-' if variant == 'opt' else ''}{label}"
            hit = layers[(layers["tag"] == tag) & (layers["phase"] == phase)
                         & (layers["dataflow"] == "ecoflow")]  # fmt: skip
            if hit.empty:
                continue
            paper, note = APPROXIMATE[value] if value in APPROXIMATE else (float(value), "")
            rows.append(_row(f"{phase} speedup over tpu, {tag}", f"§6.2.1, {figure}", paper,
                             float(hit["speedup"].iloc[0]), note))  # fmt: skip
    energy = ref["energy"]
    for phase, key in (("igrad", "igrad_max_saving_vs_tpu"), ("fgrad", "fgrad_max_saving")):
        hit = layers[(layers["phase"] == phase) & (layers["dataflow"] == "ecoflow")]
        if hit.empty:
            continue
        value = energy[key]
        paper = float(next(iter(value.values()))) if isinstance(value, dict) else float(value)
        best = hit.loc[hit["energy_saving"].idxmax()]
        rows.append(_row(f"{phase} largest energy saving over tpu", "§6.2.2, Fig. 11", paper,
                         float(best["energy_saving"]), f"ours at {best['tag']}"))  # fmt: skip
    return rows


def _table6(e2e: pd.DataFrame, ref: Mapping[str, Any]) -> list[dict]:
    rows = []
    for metric in ("speedup", "energy_saving"):
        for name, by_df in ref[metric].items():
            network = NETWORK_NAMES[name]
            for paper_df, df in TABLE6_DATAFLOWS.items():
                for variant in ("base", "opt"):
                    hit = e2e[(e2e["network"] == network) & (e2e["dataflow"] == df)
                              & (e2e["variant"] == variant)]  # fmt: skip
                    if hit.empty:
                        continue
                    rows.append(_row(f"end-to-end {metric.replace('_', ' ')}, {name}, "
                                     f"{paper_df} ({variant})", "Table 6",
                                     float(by_df[paper_df]), float(hit[metric].iloc[0]),
                                     f"{int(hit['layers'].iloc[0])} layers"))  # fmt: skip
    return rows


def _table8(e2e: pd.DataFrame, ref: Mapping[str, Any]) -> list[dict]:
    rows = []
    for metric in ("speedup", "energy_saving"):
        for name, by_df in ref[metric].items():
            for paper_df, df in TABLE8_DATAFLOWS.items():
                hit = e2e[(e2e["network"] == GAN_NAMES[name]) & (e2e["dataflow"] == df)
                          & (e2e["variant"] == "base")]  # fmt: skip
                if hit.empty:
                    continue
                rows.append(_row(f"end-to-end {metric.replace('_', ' ')}, {name}, {paper_df}",
                                 "Table 8", float(by_df[paper_df]), float(hit[metric].iloc[0]),
                                 f"{int(hit['layers'].iloc[0])} layers"))  # fmt: skip
    return rows


def _geomean_ratio(layers: pd.DataFrame, over: str, mask: pd.Series) -> tuple[float, int]:
    """Geometric mean over layer phases of ``time(over) / time(ecoflow)`` where ``mask``."""
    sel = layers[mask]
    t = sel.pivot_table(index=["tag", "phase"], columns="dataflow", values="time_ms")
    if over not in t or "ecoflow" not in t:
        return np.nan, 0
    r = (t[over] / t["ecoflow"]).dropna()
    return (float(np.exp(np.log(r).mean())) if len(r) else np.nan), len(r)


def _gan_layers(layers: pd.DataFrame) -> list[dict]:
    """§6.3's claims on the Table 7 layers (Fig. 12), as geometric means over layer phases."""
    rows = []
    gen, disc = layers["tag"].str.contains("Gen-"), layers["tag"].str.contains("Disc-")
    every = pd.Series(True, index=layers.index)
    transposed = (gen & (layers["phase"] == "forward")) | (disc & (layers["phase"] == "igrad"))
    for over, mask, paper, what, note in (
        ("rs", every, 4.0, "every phase", "paper: on the order of 4x"),
        ("tpu", every, 4.0, "every phase", "paper: on the order of 4x"),
        ("ganax", layers["phase"] == "fgrad", 3.5, "fgrad", "paper: 3-4x"),
        (
            "ganax",
            transposed,
            1.0,
            "generator forward and discriminator igrad",
            "paper: very similar",
        ),
    ):
        value, n = _geomean_ratio(layers, over, mask)
        if n:
            rows.append(_row(f"ecoflow speedup over {over}, Table 7 layers, {what} (geometric "
                             "mean)", "§6.3, Fig. 12", paper, value,
                             f"{note}; {n} layer phases"))  # fmt: skip
    return rows


def _table2(t2: pd.DataFrame) -> list[dict]:
    return [
        _row(
            f"Eyeriss {r.layer} {r.metric}",
            "Table 2 (chip)",
            float(r.chip),
            float(r.ours),
            "" if r.batch == 4 else f"ours at batch {r.batch}, the chip's at 4",
        )
        for r in t2.itertuples()
    ]


def _noc(noc: pd.DataFrame, ref: Mapping[str, Any]) -> list[dict]:
    rows = []
    for network in ("alexnet", "resnet50"):
        top = noc[(noc["network"] == network) & (noc["layer"] == "network maximum")]
        if top.empty:
            continue
        want = ref[network]
        rows.append(_row(f"{network} row IDs per X-bus", "§4.4", want["row_ids_per_bus"],
                         float(top["row_ids"].iloc[0])))  # fmt: skip
        rows.append(_row(f"{network} bits per row ID", "§4.4", want["bits_per_id"],
                         float(top["row_bits"].iloc[0])))  # fmt: skip
    return rows


def _fig3(zeros: xr.Dataset) -> list[dict]:
    """The least zero share of stride-2 layers' igrad and fgrad (the paper: more than 70%).

    Direct convolutions only: a transposed layer's input gradient is a direct strided
    convolution, with no zero to insert.
    """
    z = zeros["zero_fraction"].sel(phase=["igrad", "fgrad"])
    stride2 = (zeros["stride_h"] == 2) | (zeros["stride_w"] == 2)
    if "kind" in zeros.coords:
        stride2 = stride2 & (zeros["kind"] == "conv")
    least = float(z.where(stride2).min())
    if np.isnan(least):
        return []
    return [_row("least zero share, stride-2 layers, igrad and fgrad", "§3.1, Fig. 3", 0.70,
                 least, "paper: more than 70%")]  # fmt: skip


def comparison(
    ref: Mapping[str, Any],
    layers: pd.DataFrame | None = None,
    e2e: pd.DataFrame | None = None,
    table2: pd.DataFrame | None = None,
    noc: pd.DataFrame | None = None,
    zeros: xr.Dataset | None = None,
    gan_layers: pd.DataFrame | None = None,
    table8: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The paper's published figures beside ours: ``quantity source paper ours ratio note``."""
    rows: list[dict] = []
    if zeros is not None:
        rows += _fig3(zeros)
    if noc is not None:
        rows += _noc(noc, ref["noc_multicast_ids"])
    if table2 is not None:
        rows += _table2(table2)
    if layers is not None:
        rows += _speedups(layers, ref["per_layer_speedups_sec6_2"])
    if e2e is not None:
        rows += _table6(e2e, ref["cnn_end_to_end_table6"])
    if gan_layers is not None:
        rows += _gan_layers(gan_layers)
    if table8 is not None:
        rows += _table8(table8, ref["gan_sec6_3"]["end_to_end_table8"])
    return pd.DataFrame(rows, columns=["quantity", "source", "paper", "ours", "ratio", "note"])
