"""The paper comparison reads every per-layer speedup §6.2 quotes, the approximate ones too."""

from __future__ import annotations

import pandas as pd

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
