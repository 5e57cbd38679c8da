"""Batches of passes shrink as their passes finish, with the same results as one pass at a time.

:func:`ecoflow.sim.run.run_passes` advances a batch of passes together; once half of its lanes
are done it moves the rest into a smaller batch. Every pass must report what it reports when
run alone: cycles, event and stall counts and fast-forwarded cycles. (With values, the
conformance suite checks every dataflow's outputs against JAX through batches of passes of
unequal lengths, which shrink the same way.)
"""

from __future__ import annotations

import pytest

from ecoflow.config import load_hardware
from ecoflow.dataflows import get
from ecoflow.sim import run
from ecoflow.sim.run import run_passes
from ecoflow.workloads.layer import ConvLayer

HW = load_hardware("config/hardware/ecoflow_13x15.yaml")


def _lanes_seen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the lanes of every kernel call."""
    seen: list[int] = []
    advance = run._advance

    def spy(arrays, *args, **kwargs):
        seen.append(int(arrays.n_ops.shape[0]))
        return advance(arrays, *args, **kwargs)

    monkeypatch.setattr(run, "_advance", spy)
    return seen


def _programs(layer: ConvLayer, phase: str, **kwargs) -> list:
    return [g.program for g in get("ecoflow").compile(layer.problem(phase), HW, **kwargs).groups]


def test_timing_batch_shrinks_with_fast_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    # one pass long enough to be fast-forwarded, three short ones that finish early
    long = _programs(ConvLayer(N=1, C=16, H=28, W=28, K=16, R=1, S=1, stride=2, name="long"),
                     "fgrad")[:1]  # fmt: skip
    short = _programs(ConvLayer(N=1, C=2, H=6, W=6, K=2, R=3, S=3, padding=1, name="s"), "fgrad")
    programs = long + (short * 3)[:3]
    alone = {}  # each distinct program run by itself once
    for p in programs:
        if id(p) not in alone:
            alone[id(p)] = run_passes([p], HW, chunk=32)[0][0]
    seen = _lanes_seen(monkeypatch)
    together, _, _ = run_passes(programs, HW, chunk=32)
    assert together == [alone[id(p)] for p in programs]
    assert seen[0] == 4 and seen[-1] == 1, "the batch did not shrink"
    assert together[0].skipped > 0, "the long pass was not fast-forwarded"
