"""The GAN stage (§6.3) on tiny layers: simulation, Figs. 12-13, Table 8, the paper comparison."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml

from ecoflow.analysis.compare import by_run, end_to_end, layer_table, paper_layers
from ecoflow.analysis.dataset import merge_sim
from ecoflow.analysis.paper import comparison
from ecoflow.experiments import simulate_network
from ecoflow.plots.training import gan_energy, gan_speedup
from ecoflow.workloads.layer import ConvLayer
from ecoflow.workloads.networks import COLUMNS, rows

matplotlib.use("Agg")

RUNS = [
    {"dataflow": "rs", "hardware": "eyeriss_13x15"},
    {"dataflow": "tpu", "hardware": "tpu_13x15"},
    {"dataflow": "ganax", "hardware": "eyeriss_13x15"},
    {"dataflow": "ecoflow", "hardware": "ecoflow_13x15"},
]
# a generator's transposed convolution and a discriminator's strided one, named as in Table 7
LAYERS = [
    ConvLayer(N=1, C=2, H=3, W=3, K=2, R=3, S=3, stride=(2, 2), kind="tconv", name="gen_up1"),
    ConvLayer(N=1, C=2, H=6, W=6, K=2, R=4, S=4, stride=(2, 2), padding=1, name="disc_conv2"),
]
LABELS = {"gen_up1": "Gen-TCONV1", "disc_conv2": "Disc-CONV3"}


@pytest.fixture(scope="module")
def gan(tmp_path_factory: pytest.TempPathFactory, root: Path):
    """The merged Dataset of the four dataflows on the tiny ``cyclegan``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows("cyclegan", "base", LAYERS):
        writer.writerow(row | {"paper_label": LABELS[str(row["layer"])]})
    table = tmp_path_factory.mktemp("gan") / "cyclegan.csv"
    table.write_text(buf.getvalue())
    hardware = root / "config" / "hardware"
    datasets = [
        simulate_network(
            table, "cyclegan", ["base"], r["dataflow"], hardware / f"{r['hardware']}.yaml"
        )
        for r in RUNS
    ]
    return by_run(merge_sim(datasets), RUNS)


@pytest.mark.slow
def test_ganax_skips_inserted_zeros_only(gan) -> None:
    """GANAX multiplies fewer zeros than rs where the input is zero-inserted (generator forward,
    discriminator igrad) and runs the rest exactly as rs."""
    zero = gan["zero_macs"].sel(network="cyclegan", variant="base")
    cycles = gan["cycles"].sel(network="cyclegan", variant="base")
    for layer, phase in (("gen_up1", "forward"), ("disc_conv2", "igrad")):
        z = zero.sel(layer=layer, phase=phase)
        assert float(z.sel(dataflow="ganax")) < float(z.sel(dataflow="rs"))
    for layer, phase in (("gen_up1", "igrad"), ("gen_up1", "fgrad"), ("disc_conv2", "forward"),
                         ("disc_conv2", "fgrad")):  # fmt: skip
        c = cycles.sel(layer=layer, phase=phase)
        assert float(c.sel(dataflow="ganax")) == float(c.sel(dataflow="rs"))


@pytest.mark.slow
def test_gan_tables_figures_and_comparison(gan, root: Path) -> None:
    table = layer_table(gan, paper_layers(gan), baseline="rs")
    assert set(table["tag"]) == {"cyclegan Gen-TCONV1", "cyclegan Disc-CONV3"}
    rs = table[table["dataflow"] == "rs"]
    np.testing.assert_allclose(rs["speedup"], 1.0)
    e2e = end_to_end(gan)
    assert set(e2e["dataflow"]) == {"rs", "tpu", "ganax", "ecoflow"}
    assert (e2e["layers"] == 2).all()
    np.testing.assert_allclose(e2e[e2e["dataflow"] == "tpu"]["speedup"], 1.0)
    fig12 = gan_speedup(table)
    assert len(fig12.axes) == 3  # forward, igrad, fgrad
    fig13 = gan_energy(table)
    # one panel per phase and layer, tpu, rs and ecoflow stacked by the five levels
    assert len([a for a in fig13.axes if a.patches]) == 3 * 2
    assert all(len(a.patches) == 3 * 5 for a in fig13.axes)
    ref = yaml.safe_load((root / "reference" / "ecoflow_paper.yaml").read_text())
    rows_ = comparison(ref, gan_layers=table, table8=e2e)
    assert rows_["source"].str.contains("Table 8").sum() == 6  # CycleGAN: 3 dataflows, 2 metrics
    claims = rows_[rows_["source"].str.contains("Fig. 12")]
    assert len(claims) == 4 and claims["ours"].gt(0).all()
