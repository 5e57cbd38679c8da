"""``st_os`` (FuSeConv's spatial-tiled output stationary) on 1-D depthwise layers.

The conformance suite's checks on the layers st_os maps itself: values equal JAX autodiff; a
stride-1 fold of ``c`` positions takes ``K + c - 1`` cycles plus the pipeline; the default run
equals the exhaustive one; the folds behave alike in the JAX step and the NumPy reference; the
footprints are the segments the folds stream. Other layers run exactly as ``tpu``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow.dataflows import get
from ecoflow.dataflows.common import DirectConv
from ecoflow.evaluate import combine, simulate
from ecoflow.sim.run import run_passes
from ecoflow.workloads.layer import ConvLayer
from tests.dataflows.test_conformance import HW, _unlimited, check_functional
from tests.sim.test_reference import assert_same_trajectory
from tests.test_memory import assert_footprint, program_segments

SYSTOLIC = HW["tpu"]  # a 4x5 systolic array with small registers


@st.composite
def line_layers(draw: st.DrawFn, stride: tuple[int, int] = (1, 2)) -> ConvLayer:
    """A 1xK or Kx1 depthwise layer."""
    k = draw(st.integers(1, 5))
    across = draw(st.booleans())
    r, s = (1, k) if across else (k, 1)
    c = draw(st.integers(1, 3))
    h, w = draw(st.integers(r, 9)), draw(st.integers(s, 9))
    pad = draw(st.integers(0, k - 1))
    pads = ((0, 0), (pad, pad)) if across else ((pad, pad), (0, 0))
    step = draw(st.integers(*stride))
    return ConvLayer(N=draw(st.integers(1, 2)), C=c, H=h, W=w, K=c, R=r, S=s, groups=c,
                     stride=(1, step) if across else (step, 1), padding=pads,
                     name="line")  # fmt: skip


@settings(max_examples=4, deadline=None)
@given(layer=line_layers())
def test_values_equal_autodiff(layer: ConvLayer) -> None:
    # fgrad of a depthwise layer groups the batch: it runs as tpu (the conformance suite's)
    check_functional(layer, "st_os", SYSTOLIC, phases=("forward", "igrad"))
    assert get("st_os").compile(layer.problem("forward"), SYSTOLIC).mapping["runs"] == "st_os"


@settings(max_examples=5, deadline=None)
@given(layer=line_layers(stride=(1, 1)))
def test_fold_cycles_closed_form(layer: ConvLayer) -> None:
    hw = _unlimited(SYSTOLIC)
    schedule = get("st_os").compile(layer.problem("forward"), hw)
    taps = int(schedule.mapping["taps"])
    latency = hw.pe.multiplier_stages + hw.pe.adder_stages + hw.noc.local.hop_latency_cycles
    results, _, _ = run_passes([g.program for g in schedule.groups], hw)
    for g, r in zip(schedule.groups, results, strict=True):
        used = g.program.n_ops.reshape(hw.array.rows, hw.array.cols) > 0
        cols = int(used.any(0).sum())
        assert r.cycles == taps + cols - 1 + latency


@settings(max_examples=3, deadline=None)
@given(layer=line_layers())
def test_default_equals_exhaustive(layer: ConvLayer) -> None:
    problem = layer.problem("forward")
    df = get("st_os")
    fast = simulate(problem, df, SYSTOLIC)
    full = df.compile(problem, SYSTOLIC, exhaustive=True)
    results, _, _ = run_passes([g.program for g in full.groups], SYSTOLIC)
    slow = combine(full, results, SYSTOLIC, df.ideal_cycles(problem, SYSTOLIC))
    assert fast.to_dict() | {"distinct_passes": 0} == slow.to_dict() | {"distinct_passes": 0}
    assert fast.cycles >= fast.ideal_cycles


def test_folds_match_reference() -> None:
    layer = ConvLayer(N=1, C=2, H=4, W=9, K=2, R=1, S=3, groups=2, stride=(1, 2),
                      padding=((0, 0), (1, 1)), name="ref")  # fmt: skip
    for g in get("st_os").compile(layer.problem("forward"), SYSTOLIC).groups:
        assert_same_trajectory(g.program, SYSTOLIC)


def test_other_layers_run_as_tpu() -> None:
    square = ConvLayer(N=1, C=2, H=6, W=6, K=2, R=3, S=3, groups=2, name="dw3x3")
    pointwise = ConvLayer(N=1, C=3, H=4, W=4, K=4, R=1, S=1, name="pw")
    for layer in (square, pointwise):
        problem = layer.problem("forward")
        ours = simulate(problem, get("st_os"), SYSTOLIC)
        assert ours.mapping["runs"] == "tpu"
        assert ours.cycles == simulate(problem, get("tpu"), SYSTOLIC).cycles


@settings(max_examples=5, deadline=None)
@given(layer=line_layers())
def test_footprints_are_the_segments_the_folds_stream(layer: ConvLayer) -> None:
    problem = layer.problem("forward")
    schedule = get("st_os").compile(problem, SYSTOLIC, exhaustive=True)
    d = DirectConv.of(problem)
    assert schedule.footprints is not None and len(schedule.footprints) == schedule.passes
    for i, g in enumerate(schedule.groups):
        want = program_segments(g.program, d, SYSTOLIC.segment_words)
        assert_footprint(schedule.footprints.of(i), want, exact=True)
