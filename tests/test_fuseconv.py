"""FuSeConv's networks, their variants, and the latency summary."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml

from ecoflow.fuseconv import summary
from ecoflow.plots.fuseconv import speedups
from ecoflow.workloads import fuseconv as nets

matplotlib.use("Agg")


@pytest.mark.parametrize("network", nets.NETWORKS)
def test_baseline_macs_match_the_published_figures(network: str) -> None:
    ours = nets.macs(nets.build(network)) / 1e6
    assert abs(ours / nets.PUBLISHED_MACS[network] - 1) < 0.05, ours


@pytest.mark.parametrize("network", nets.NETWORKS)
def test_fuse_variants_replace_every_square_depthwise_layer(network: str) -> None:
    base = nets.build(network)
    square = [lay for lay in base if nets.category(lay) == "depthwise" and lay.R > 1]
    for variant, fused in (("full", len(square)), ("half", len(square)),
                           ("full_50pct", len(square) - len(square) // 2)):  # fmt: skip
        layers = nets.build(network, variant)
        rows = [lay for lay in layers if lay.groups == lay.C > 1 and lay.R == 1 and lay.S > 1]
        cols = [lay for lay in layers if lay.groups == lay.C > 1 and lay.S == 1 and lay.R > 1]
        assert len(rows) == len(cols) == fused, variant
        left = [lay for lay in layers if lay.groups == lay.C > 1 and lay.R == lay.S > 1]
        assert len(left) == len(square) - fused
    # half: the two 1-D layers of a block share the channels; full: each takes them all
    half = nets.build(network, "half")
    full = nets.build(network, "full")
    first = next(i for i, lay in enumerate(base) if lay.R > 1 and lay.groups == lay.C > 1)
    c = base[first].C
    assert half[first].C + half[first + 1].C == c
    assert full[first].C == full[first + 1].C == c


def test_summary_speedups_and_shares(root: Path) -> None:
    ref = yaml.safe_load((root / "reference" / "fuseconv.yaml").read_text())
    rows = []
    for variant, dw in (("baseline", 300), ("full", 60), ("half", 30)):
        for layer, cat, cycles in (("a", "depthwise", dw), ("b", "pointwise", 100)):
            rows.append({"network": "mobilenet_v1", "variant": variant, "layer": layer,
                         "category": cat, "macs": 10, "cycles": cycles + 10,
                         "compute_cycles": cycles, "time_ms": cycles / 2e5})  # fmt: skip
    table = summary(pd.DataFrame(rows), ref).set_index("variant")
    np.testing.assert_allclose(table.loc["full", "compute_speedup"], 400 / 160)
    np.testing.assert_allclose(table.loc["half", "speedup"], 420 / 150)
    np.testing.assert_allclose(table.loc["baseline", "compute_speedup"], 1.0)
    shares = table[["share_depthwise", "share_pointwise", "share_other"]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    assert table.loc["full", "published_speedup"] == 4.10
    np.testing.assert_allclose(table.loc["half", "ratio"], (400 / 130) / 6.76)
    fig = speedups(table.reset_index())
    assert len(fig.axes) == 2


def test_unknown_network_and_missing_baseline_are_config_errors(tmp_path: Path, root: Path) -> None:
    from ecoflow import config

    data = yaml.safe_load((root / "config" / "config.yaml").read_text())
    cases = ((lambda d: d["fuseconv"].update(networks=["resnet"]), "unknown FuSeConv"),
             (lambda d: d["fuseconv"].update(variants=["full"]), "baseline"))  # fmt: skip
    for edit, reason in cases:
        changed = yaml.safe_load(yaml.safe_dump(data))
        edit(changed)
        path = tmp_path / "c.yaml"
        path.write_text(yaml.safe_dump(changed))
        with pytest.raises(config.ConfigError, match=reason):
            config.load(path)
