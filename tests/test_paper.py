"""The paper comparison reads every per-layer speedup §6.2 quotes, the approximate ones too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ecoflow.analysis.paper import comparison


def test_quoted_layer_speedups_beside_ours(paper: dict) -> None:
    rows = [
        {"tag": tag, "phase": phase, "dataflow": "ecoflow", "speedup": 2.0, "energy_saving": 3.0}
        for tag in ("resnet50 CONV3", "alexnet CONV1", "alexnet o-CONV1")
        for phase in ("igrad", "fgrad")
    ]
    out = comparison(paper, layers=pd.DataFrame(rows)).set_index("quantity")
    resnet = out.loc["igrad speedup over tpu, resnet50 CONV3"]
    assert (resnet["paper"], resnet["note"]) == (4.0, "about")  # "close to 4x"
    resnet = out.loc["fgrad speedup over tpu, resnet50 CONV3"]
    assert (resnet["paper"], resnet["note"]) == (3.0, "at least")  # "more than 3x"
    assert out.loc["igrad speedup over tpu, alexnet o-CONV1", "paper"] == 52.0
    assert out.loc["fgrad speedup over tpu, alexnet CONV1", "ratio"] == 2.0 / 15.6


def test_fig3_least_zero_share_skips_transposed_layers(paper: dict) -> None:
    # a stride-2 transposed layer's igrad is a direct strided convolution: no zero inserted
    layers = ["c1", "c2", "t1"]
    zero = np.array([[0.1, 0.75, 0.72], [0.0, 0.8, 0.9], [0.0, 0.0, 0.5]])  # layer, phase
    ds = xr.Dataset(
        {"zero_fraction": (("network", "variant", "layer", "phase"), zero[None, None])},
        coords={"network": ["n"], "variant": ["base"], "layer": layers,
                "phase": ["forward", "igrad", "fgrad"],
                "stride_h": (("network", "variant", "layer"), [[[2, 2, 2]]]),
                "stride_w": (("network", "variant", "layer"), [[[2, 1, 2]]]),
                "kind": (("network", "variant", "layer"), [[["conv", "conv", "tconv"]]])},
    )  # fmt: skip
    out = comparison(paper, zeros=ds).set_index("quantity")
    assert out.loc["least zero share, stride-2 layers, igrad and fgrad", "ours"] == 0.72
