"""Figures 9-13: gradient speedups over TPU, GAN speedups over RS, and energy breakdowns.

Each function takes the table of :func:`ecoflow.analysis.compare.layer_table` (built from the
merged Dataset) and returns a figure.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ecoflow.analysis.compare import BASELINE
from ecoflow.analysis.dataset import LEVELS
from ecoflow.analysis.variables import label
from ecoflow.plots.style import dataflow_palette, theme

TITLES = {
    "igrad": "Fig. 9: input-gradient speedup, normalised to tpu (tpu time in ms on its bars)",
    "fgrad": "Fig. 10: filter-gradient speedup, normalised to tpu (tpu time in ms on its bars)",
}


def speedup(table: pd.DataFrame, phase: str) -> plt.Figure:
    """Speedup over ``tpu`` of each dataflow per layer (log scale), ``tpu`` time on its bars."""
    theme()
    df = table[table["phase"] == phase]
    order = list(dict.fromkeys(df["tag"]))
    hue = list(dict.fromkeys(df["dataflow"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(order) + 2), 3.6), constrained_layout=True)
    sns.barplot(df, x="tag", y="speedup", hue="dataflow", order=order, hue_order=hue, ax=ax,
                palette=dataflow_palette(hue))  # fmt: skip
    ax.set_yscale("log")
    ax.axhline(1, color="0.3", lw=0.8)
    base = df[df["dataflow"] == BASELINE].set_index("tag")["time_ms"]
    bars = ax.containers[hue.index(BASELINE)] if BASELINE in hue else []
    for bar, tag in zip(bars, order, strict=False):
        ax.annotate(f"{base[tag]:.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=6, rotation=90)  # fmt: skip
    top = float(np.nanmax(df["speedup"])) if len(df) else 1.0
    ax.set_ylim(min(0.1, float(np.nanmin(df["speedup"])) / 2) if len(df) else 0.1, top * 4)
    ax.set_xlabel("")
    ax.set_ylabel(label("speedup"))
    ax.tick_params(axis="x", labelrotation=50, labelsize=7)
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    ax.set_title(TITLES.get(phase, phase), loc="left", fontsize=9)
    return fig


def energy_breakdown(
    table: pd.DataFrame,
    phases: tuple[str, ...] = ("igrad", "fgrad"),
    title: str = "Fig. 11: energy breakdown of the evaluated layers",
) -> plt.Figure:
    """Fig. 11: energy by level (DRAM, GBUFF, SPAD, ALU, NoC) per layer and dataflow.

    Bars are divided by the ``tpu`` total of their layer and phase, with ``tpu``'s energy in uJ
    below its bar.
    """
    theme()
    fig, axes = plt.subplots(len(phases), 1, figsize=(11, 3.2 * len(phases)), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    colors = dict(zip(LEVELS, sns.color_palette("colorblind", len(LEVELS)), strict=True))
    for ax, phase in zip(axes[:, 0], phases, strict=True):
        df = table[table["phase"] == phase]
        tags = list(dict.fromkeys(df["tag"]))
        shown = list(dict.fromkeys(df["dataflow"]))
        width = 0.8 / max(1, len(shown))
        for i, tag in enumerate(tags):
            rows = df[df["tag"] == tag].set_index("dataflow")
            ref = float(rows.loc[BASELINE, "energy_pj"]) if BASELINE in rows.index else np.nan
            for j, flow in enumerate(shown):
                if flow not in rows.index:
                    continue
                x = i + (j - (len(shown) - 1) / 2) * width
                bottom = 0.0
                for level in LEVELS:
                    h = float(rows.loc[flow, f"energy_{level}_pj"]) / ref
                    ax.bar(x, h, width * 0.95, bottom=bottom, color=colors[level],
                           label=level if (i, j) == (0, 0) else None)  # fmt: skip
                    bottom += h
                ax.text(x, bottom, flow, ha="center", va="bottom", fontsize=5, rotation=90)
                if flow == BASELINE:
                    ax.text(x, -0.02, f"{ref / 1e6:.0f}", ha="center", va="top", fontsize=5)
        ax.set_xticks(range(len(tags)), tags, rotation=50 if len(tags) > 4 else 0,
                      ha="right" if len(tags) > 4 else "center", fontsize=7)  # fmt: skip
        ax.set_ylabel(f"energy / {BASELINE} energy [1]")
        ax.set_title(f"{phase}: energy by level, normalised to {BASELINE} (its energy in uJ "
                     "below its bar)", loc="left", fontsize=9)  # fmt: skip
        ax.legend(fontsize=7, ncols=len(LEVELS), loc="lower right", bbox_to_anchor=(1, 1))
    fig.suptitle(title)
    return fig


def gan_energy(
    table: pd.DataFrame,
    phases: tuple[str, ...] = ("forward", "igrad", "fgrad"),
    flows: tuple[str, ...] = ("tpu", "rs", "ecoflow"),
    title: str = "Fig. 13: energy by level of the GAN layers (Table 7)",
) -> plt.Figure:
    """Fig. 13: energy by level in uJ, one panel per layer and phase, each on its own scale.

    The paper draws absolute energy; the layers differ by two orders of magnitude, so a shared
    axis would flatten the small ones. Rows are phases, columns layers (``tag``).
    """
    theme()
    tags = list(dict.fromkeys(table["tag"]))
    fig, axes = plt.subplots(len(phases), max(1, len(tags)),
                             figsize=(1.9 * max(1, len(tags)) + 1.2, 2.3 * len(phases)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    colors = dict(zip(LEVELS, sns.color_palette("colorblind", len(LEVELS)), strict=True))
    for (r, phase), (c, tag) in itertools.product(enumerate(phases), enumerate(tags)):
        ax = axes[r, c]
        rows = table[(table["phase"] == phase) & (table["tag"] == tag)].set_index("dataflow")
        shown = [f for f in flows if f in rows.index]
        bottom = np.zeros(len(shown))
        for level in LEVELS:
            h = np.array([float(rows.loc[f, f"energy_{level}_pj"]) / 1e6 for f in shown])
            ax.bar(range(len(shown)), h, 0.75, bottom=bottom, color=colors[level],
                   label=level if (r, c) == (0, 0) else None)  # fmt: skip
            bottom += h
        ax.set_xticks(range(len(shown)), shown, fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
        top = float(bottom.max()) if len(shown) else 0.0
        ax.set_ylim(0, top * 1.08 or 1.0)  # no energy (no table): an empty panel
        if r == 0:
            ax.set_title(tag, fontsize=7)
        if c == 0:
            ax.set_ylabel(f"{phase}\nenergy [uJ]", fontsize=7)
    fig.legend(*axes[0, 0].get_legend_handles_labels(), fontsize=7, ncols=len(LEVELS),
               loc="outside lower center")  # fmt: skip
    fig.suptitle(title + ", each panel on its own scale", fontsize=9)
    return fig


GAN_TITLE = ("Fig. 12: speedup of the GAN layers (Table 7), normalised to rs "
             "(rs time in ms on its bars)")  # fmt: skip


def gan_speedup(table: pd.DataFrame, baseline: str = "rs") -> plt.Figure:
    """Fig. 12: per Table 7 layer, the speedup of each dataflow over ``baseline`` in each phase.

    ``table``: :func:`ecoflow.analysis.compare.layer_table` normalised to ``baseline``.
    """
    theme()
    phases = list(dict.fromkeys(table["phase"]))
    fig, axes = plt.subplots(1, len(phases), figsize=(3.6 * len(phases) + 1, 3.6), squeeze=False,
                             sharey=True, constrained_layout=True)  # fmt: skip
    hue = list(dict.fromkeys(table["dataflow"]))
    top = float(np.nanmax(table["speedup"])) if len(table) else 1.0
    low = float(np.nanmin(table["speedup"])) if len(table) else 1.0
    for ax, phase in zip(axes[0], phases, strict=True):
        df = table[table["phase"] == phase]
        order = list(dict.fromkeys(df["tag"]))
        sns.barplot(df, x="tag", y="speedup", hue="dataflow", order=order, hue_order=hue, ax=ax,
                    palette=dataflow_palette(hue), legend=ax is axes[0, -1])  # fmt: skip
        ax.set_yscale("log")
        ax.axhline(1, color="0.3", lw=0.8)
        base = df[df["dataflow"] == baseline].set_index("tag")["time_ms"]
        bars = ax.containers[hue.index(baseline)] if baseline in hue else []
        for bar, tag in zip(bars, order, strict=False):
            ax.annotate(f"{base[tag]:.1f}", (bar.get_x() + bar.get_width() / 2,
                        bar.get_height()), ha="center", va="bottom", fontsize=6,
                        rotation=90)  # fmt: skip
        ax.set_ylim(min(0.1, low / 2), top * 4)
        ax.set_xlabel("")
        ax.set_ylabel(f"speedup over {baseline} [1]")
        ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.set_title(phase, loc="left", fontsize=9)
        if ax.get_legend() is not None:
            sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    fig.suptitle(GAN_TITLE, fontsize=9)
    return fig


def paper_comparison(table: pd.DataFrame) -> plt.Figure:
    """Ours over the paper's, one dot per published quantity (log scale; 1 is agreement)."""
    theme()
    df = table.dropna(subset=["ratio"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.22 * len(df) + 1.5), constrained_layout=True)
    sources = list(dict.fromkeys(df["source"]))
    palette = dict(zip(sources, sns.color_palette("colorblind", len(sources)), strict=False))
    for i, row in df.iterrows():
        ax.plot(row["ratio"], i, "o", color=palette[row["source"]], ms=4)
    ax.set_yticks(range(len(df)), df["quantity"], fontsize=6)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1, color="0.3", lw=0.8)
    for edge in (0.75, 1.25):
        ax.axvline(edge, color="0.6", lw=0.6, ls="--")
    handles = [plt.Line2D([], [], marker="o", ls="", color=palette[s], label=s) for s in sources]
    ax.legend(handles=handles, fontsize=6, loc="lower right")
    ax.set_xlabel("ours / paper [1] (dashed: 25% either way)")
    ax.set_title("Every reproduced number beside the paper's", loc="left", fontsize=9)
    return fig
