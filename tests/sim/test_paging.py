"""Programs past a compile's memory budget are read from temporary files, with the same results."""

from __future__ import annotations

import numpy as np
import pytest

from ecoflow.config import load_hardware
from ecoflow.dataflows import base, get
from ecoflow.evaluate import simulate
from ecoflow.workloads.layer import ConvLayer


def test_paged_programs_simulate_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    problem = ConvLayer(N=1, C=2, H=8, W=8, K=4, R=3, S=3, padding=1, name="t").problem("fgrad")
    resident = simulate(problem, get("ecoflow"), hw)
    monkeypatch.setattr(base, "RESIDENT_OPS_BYTES", 0)
    schedule = get("ecoflow").compile(problem, hw)
    assert all(isinstance(g.program.ops, np.memmap) for g in schedule.groups)
    assert not any(g.program.ops.flags.writeable for g in schedule.groups)
    assert simulate(problem, get("ecoflow"), hw) == resident
