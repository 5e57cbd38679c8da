"""Fast-forward over periodic steady states: the counts equal stepping every cycle.

Every comparison runs the same passes twice through :func:`ecoflow.sim.run.run_passes`, with
and without fast-forward, and requires identical cycles, event counts and stall counts; the
chunk is made small so that short passes reach the period search.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow.config import load_hardware
from ecoflow.dataflows import get
from ecoflow.dataflows.rs import RsMapping
from ecoflow.sim import run, skip
from ecoflow.sim.run import run_passes
from ecoflow.workloads.layer import PHASES, ConvLayer
from tests.dataflows.test_conformance import HW, layers

FULL = {
    "rs": load_hardware("config/hardware/eyeriss_13x15.yaml"),
    "tpu": load_hardware("config/hardware/tpu_13x15.yaml"),
    "ecoflow": load_hardware("config/hardware/ecoflow_13x15.yaml"),
}


def _both(programs, hw, chunk):
    fast, _, _ = run_passes(programs, hw, chunk=chunk, skip=True)
    slow, _, _ = run_passes(programs, hw, chunk=chunk, skip=False)
    for f, s in zip(fast, slow, strict=True):
        assert (f.cycles, f.counters, f.stalls) == (s.cycles, s.counters, s.stalls)
        assert s.skipped == 0
    return fast


def _conv(c: int, h: int, k: int, r: int, stride: int) -> ConvLayer:
    pad = (r // 2, r // 2)
    return ConvLayer(N=1, C=c, H=h, W=h, K=k, R=r, S=r, stride=(stride, stride),
                     padding=(pad, pad), name="long")  # fmt: skip


# layers whose passes run long enough to settle into a period on the 13x15 arrays
LONG = _conv(16, 28, 32, 3, 2)
# a mapping whose passes settle into a period within the 32k-cycle history (four chained bands)
CHAINED = RsMapping(h=3, ew=14, chain=4, p=16, q=4, n=1, taps=3)
CASES = [
    ("rs", LONG, "forward", None),
    ("tpu", _conv(4, 56, 16, 3, 1), "fgrad", None),
    ("ecoflow", LONG, "forward", CHAINED),
    ("ecoflow", _conv(16, 28, 16, 1, 2), "fgrad", None),
]


@pytest.mark.parametrize(("dataflow", "layer", "phase", "mapping"), CASES)
def test_fast_forward_equals_stepping(
    dataflow: str, layer: ConvLayer, phase: str, mapping: RsMapping | None
) -> None:
    hw = FULL[dataflow]
    schedule = get(dataflow).compile(layer.problem(phase), hw, mapping=mapping)
    fast = _both([g.program for g in schedule.groups], hw, chunk=32)
    assert sum(r.skipped for r in fast) > 0, "no pass was fast-forwarded"
    assert all(r.skipped < r.cycles for r in fast)


@settings(max_examples=15, deadline=None)
@given(
    dataflow=st.sampled_from(["rs", "tpu", "ecoflow"]),
    layer=layers(),
    phase=st.sampled_from(PHASES),
)
def test_fast_forward_equals_stepping_on_random_layers(
    dataflow: str, layer: ConvLayer, phase: str
) -> None:
    hw = HW[dataflow]
    schedule = get(dataflow).compile(layer.problem(phase), hw, exhaustive=True)
    _both([g.program for g in schedule.groups], hw, chunk=8)


def test_find_period() -> None:
    rng = np.random.default_rng(0)
    beat = rng.integers(0, 5, 37)
    sig = np.concatenate([rng.integers(0, 5, 100), np.tile(beat, 20)])
    assert skip.find_period(sig) == 37
    assert skip.find_period(rng.integers(0, 1000, 600)) is None
    assert skip.find_period(np.zeros(10, np.int64)) is None  # too short to tell


def _two_states(hw, monkeypatch: pytest.MonkeyPatch):
    """A pass and its states one period apart, as the run finds them."""
    schedule = get("rs").compile(LONG.problem("forward"), hw)
    program = schedule.groups[0].program
    seen = []

    def spy(p, a, b, banks):
        jump = skip.periods_ahead(p, a, b, banks)
        if jump is not None:
            seen.append((p, *({k: np.array(v) for k, v in x.items()} for x in (a, b)), banks))
        return jump

    monkeypatch.setattr(run, "periods_ahead", spy)
    run_passes([program], hw, chunk=32)
    assert seen, "the run found no period"
    return seen[0]


def test_periods_ahead_refuses_what_is_not_a_period(monkeypatch: pytest.MonkeyPatch) -> None:
    program, a, b, banks = _two_states(FULL["rs"], monkeypatch)
    jump = skip.periods_ahead(program, a, b, banks)
    assert jump is not None and jump.periods >= 1
    moved = skip.fast_forward(b, jump)
    assert int(moved["cycle"]) == int(b["cycle"]) + jump.periods * jump.cycles
    np.testing.assert_array_equal(moved["pc"], b["pc"] + jump.periods * (b["pc"] - a["pc"]))
    # a result in flight that the other state lacks
    pipe = a["pipe"].copy()
    pipe[0, 0] = 1 - pipe[0, 0] if pipe[0, 0] in (0, 1) else 0
    assert skip.periods_ahead(program, dict(a, pipe=pipe), b, banks) is None
    # a PE that received words but released none
    used = b["used"].copy()
    used[0, int(np.argmax(b["pc"] - a["pc"]))] -= 1
    assert skip.periods_ahead(program, a, dict(b, used=used), banks) is None
    # the program stops repeating right after the checked period: nothing to jump
    ops = program.ops.copy()
    p = int(np.argmax(b["pc"] - a["pc"]))
    ops[p, int(b["pc"][p]) + 1, 1] += 1
    cut = type(program)(**{**program.__dict__, "ops": ops})
    assert skip.periods_ahead(cut, a, b, banks) is None
