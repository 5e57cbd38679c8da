"""FuSeConv's latency speedups, ours beside the published ones, and where the time goes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ecoflow.plots.style import theme

SHARES = ("share_depthwise", "share_pointwise", "share_other")


def speedups(table: pd.DataFrame) -> plt.Figure:
    """FuSe speedups (ours beside the published ones) and the time shares of every variant.

    Left: speedup of each FuSe variant over its baseline (array only, with DRAM, published).
    Right: share of each variant's time in depthwise, pointwise and other layers.

    ``table``: :func:`ecoflow.fuseconv.summary`.
    """
    theme()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.2), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [3, 2]})  # fmt: skip
    fuse = table[table["variant"] != "baseline"]
    long = fuse.melt(id_vars=["network", "variant"],
                     value_vars=["compute_speedup", "speedup", "published_speedup"],
                     var_name="source", value_name="value")  # fmt: skip
    long["source"] = long["source"].map({"compute_speedup": "ours, array only",
                                         "speedup": "ours, with DRAM",
                                         "published_speedup": "published"})  # fmt: skip
    long["case"] = long["network"] + " " + long["variant"]
    order = list(dict.fromkeys(long["case"]))
    sns.barplot(long, x="case", y="value", hue="source", order=order, ax=ax)
    ax.axhline(1, color="0.3", lw=0.8)
    top = float(long["value"].max()) if len(long) else 1.0
    ax.set_ylim(0, 1.2 * top if top == top else 1.0)  # room for the legend above the bars
    ax.legend(fontsize=7, ncols=3, loc="upper center")
    ax.set_xlabel("")
    ax.set_ylabel("speedup over the baseline network [1]")
    ax.tick_params(axis="x", labelrotation=60, labelsize=6)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    ax.set_title("FuSe variants on st_os over the baseline on tpu (64x64, batch 1)", loc="left",
                 fontsize=9)  # fmt: skip
    cases = (table["network"] + " " + table["variant"]).tolist()
    bottom = np.zeros(len(table))
    colors = sns.color_palette("colorblind", len(SHARES))
    for share, color in zip(SHARES, colors, strict=True):
        bx.barh(cases, table[share], left=bottom, color=color,
                label=share.removeprefix("share_"))  # fmt: skip
        bottom += table[share].to_numpy()
    bx.invert_yaxis()
    bx.tick_params(axis="y", labelsize=6)
    bx.set_xlabel("share of the variant's cycles [1]")
    bx.legend(fontsize=7, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    bx.set_title("where the time goes", loc="left", fontsize=9)
    return fig
