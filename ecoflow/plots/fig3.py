"""Figure 3: padding-induced zero multiplications of igrad and fgrad (§3.1)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
import xarray as xr

from ecoflow.analysis.variables import label
from ecoflow.plots.style import theme

BACKWARD = ["igrad", "fgrad"]


def representative(ds: xr.Dataset, network: str, variant: str) -> list[str]:
    """Layers of one network variant with distinct shapes, in network order."""
    sub = ds.sel(network=network, variant=variant)
    layers = sub["layer"].values[sub["order"].notnull().values]
    layers = sorted(layers, key=lambda name: float(sub["order"].sel(layer=name)))
    seen, out = set(), []
    for name in layers:
        s = sub.sel(layer=name)
        key = tuple(float(s[c]) for c in ("C", "H", "W", "K", "R", "S", "stride_h", "groups"))
        if key not in seen:
            seen.add(key)
            out.append(str(name))
    return out


def fig3(ds: xr.Dataset) -> plt.Figure:
    """Share of multiplications by padding zeros in igrad and fgrad, per distinct layer shape.

    Args:
        ds: zero-analysis Dataset (:func:`ecoflow.analysis.dataset.zero_dataset`).

    Returns:
        One panel per network and variant; bars per layer and phase, labelled with the stride.
    """
    theme()
    panels = [(str(n), str(v)) for n in ds["network"].values for v in ds["variant"].values]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(11, 2.6 * len(panels)), squeeze=False, constrained_layout=True
    )
    for ax, (network, variant) in zip(axes[:, 0], panels, strict=True):
        names = representative(ds, network, variant)
        sub = ds.sel(network=network, variant=variant, layer=names, phase=BACKWARD)
        df = sub["zero_fraction"].to_dataframe().reset_index()
        stride = {
            n: int(max(sub["stride_h"].sel(layer=n), sub["stride_w"].sel(layer=n))) for n in names
        }
        tag = {n: f"{sub['paper_label'].sel(layer=n).item() or n} (s{stride[n]})" for n in names}
        df["layer"] = df["layer"].map(tag)
        sns.barplot(
            df, x="layer", y="zero_fraction", hue="phase", ax=ax, order=[tag[n] for n in names]
        )
        ax.set_ylim(0, 1)
        ax.axhline(0.7, color="0.3", lw=0.8, ls="--")
        ax.set_title(f"{network} ({variant})", loc="left")
        ax.set_xlabel("")
        ax.set_ylabel("")  # one label for the column of panels (long: it ran into the next)
        ax.tick_params(axis="x", labelrotation=60, labelsize=6)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    fig.supylabel(label("zero_fraction"))
    fig.suptitle("Fig. 3: padding-induced zero multiplications in igrad and fgrad (dashed: 70%)")
    return fig
