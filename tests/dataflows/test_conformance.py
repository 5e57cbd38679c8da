"""Conformance suite: every dataflow through the same checks.

Functional outputs equal JAX autodiff exactly on integer data; every product of the padded
problem is scheduled exactly once; cycles never fall below the ideal; the default run (identical
passes simulated once) and the exhaustive run agree; halving a bus never speeds a run up; the
compiled passes behave identically in the JAX step and the NumPy reference.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow.config import HardwareConfig, load_hardware
from ecoflow.dataflows import get
from ecoflow.dataflows.rs import RsMapping
from ecoflow.dataflows.tpu import unlimited_pass_cycles
from ecoflow.evaluate import combine, run_functional, simulate
from ecoflow.memory import choose
from ecoflow.sim.run import run_passes
from ecoflow.workloads import golden
from ecoflow.workloads.layer import PHASES, ConvLayer
from tests.sim.test_reference import assert_same_trajectory

ROOT_HW = "config/hardware/{}.yaml"
DATAFLOWS = ("rs", "tpu", "ecoflow", "ganax")


def _small(hw: HardwareConfig, rows: int = 4, cols: int = 5) -> HardwareConfig:
    """A small array (folding and replication on tiny layers) with small scratchpads."""
    pe = hw.pe.model_copy(update={"ifmap_spad_entries": 24, "filter_spad_entries": 48,
                                  "psum_spad_entries": 4})  # fmt: skip
    array = hw.array.model_copy(update={"rows": rows, "cols": cols})
    return hw.model_copy(update={"array": array, "pe": pe})


HW = {
    "rs": _small(load_hardware(ROOT_HW.format("eyeriss_13x15"))),
    "tpu": _small(load_hardware(ROOT_HW.format("tpu_13x15"))),
    "ecoflow": _small(load_hardware(ROOT_HW.format("ecoflow_13x15"))),
}
HW["ganax"] = HW["rs"]  # GANAX runs on the Eyeriss array


def phases_of(dataflow: str) -> tuple[str, ...]:
    """The phases random layers check: GANAX runs the others of a ``conv`` layer as ``rs``."""
    return ("igrad",) if dataflow == "ganax" else PHASES


def own_phase(dataflow: str, phase: str) -> str:
    """``phase``, or the phase where GANAX differs from ``rs`` (see :func:`phases_of`)."""
    return phase if phase in phases_of(dataflow) else phases_of(dataflow)[0]


def expected_macs(dataflow: str, problem) -> int:
    """MACs a dataflow schedules: every product of the padded problem, only the useful ones
    for EcoFlow's zero-free mappings, those of GANAX's sub-convolutions (no inserted zero)."""
    from ecoflow.dataflows.ecoflow import delegate
    from ecoflow.dataflows.ganax import decompose

    if dataflow == "ganax" and (parts := decompose(problem)) is not None:
        return sum(p.problem.padded.zero_counts().macs for p in parts)
    zero_free = dataflow == "ecoflow" and delegate(problem) != "rs"
    counts = problem.padded.zero_counts()
    return counts.useful_macs if zero_free else counts.macs


@st.composite
def layers(draw: st.DrawFn) -> ConvLayer:
    r = draw(st.integers(1, 5))
    s = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    h = draw(st.integers(r, 9))
    w = draw(st.integers(s, 9))
    pad = draw(st.integers(0, min(r, s) - 1))
    return ConvLayer(
        N=draw(st.integers(1, 2)),
        C=draw(st.integers(1, 3)),
        H=h,
        W=w,
        K=draw(st.integers(1, 4)),
        R=r,
        S=s,
        stride=(stride, draw(st.integers(1, 3))),
        padding=((pad, pad), (pad, 0)),
        name="h",
    )


def _operands(layer: ConvLayer, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return tuple(
        rng.integers(-3, 4, shape).astype(np.float32)
        for shape in (layer.input_shape, layer.weight_shape, layer.output_shape)
    )  # type: ignore[return-value]


def check_functional(
    layer: ConvLayer, dataflow: str, hw: HardwareConfig, phases=PHASES, **compile_args
) -> None:
    x, w, dy = _operands(layer)
    gold = golden.autodiff(layer, jnp.asarray(x), jnp.asarray(w), jnp.asarray(dy))
    for phase in phases:
        problem = layer.problem(phase)
        schedule = get(dataflow).compile(problem, hw, exhaustive=True, **compile_args)
        lhs, rhs = golden.operands(layer, phase, jnp.asarray(x), jnp.asarray(w), jnp.asarray(dy))
        raw, _ = run_functional(schedule, hw, np.asarray(lhs), np.asarray(rhs))
        got = np.asarray(golden.from_raw(layer, phase, jnp.asarray(raw)))
        np.testing.assert_array_equal(got, np.asarray(gold[phase]), err_msg=f"{dataflow} {phase}")


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@settings(max_examples=3)
@given(layer=layers())
def test_functional_equals_autodiff(dataflow: str, layer: ConvLayer) -> None:
    check_functional(layer, dataflow, HW[dataflow], phases=phases_of(dataflow))


FIXED = [
    # taller than the 4-row array: folded window rows (rs), many tiles (tpu)
    ConvLayer(N=1, C=2, H=9, W=7, K=3, R=6, S=2, stride=(1, 2), name="fold"),
    # small: replicated sets, stride 4, depthwise groups
    ConvLayer(N=2, C=4, H=8, W=8, K=4, R=2, S=2, stride=(4, 4), groups=4, name="dw"),
    # transposed convolution layer
    ConvLayer(N=1, C=2, H=3, W=3, K=2, R=3, S=3, stride=(2, 2), kind="tconv", name="tc"),
]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("layer", FIXED, ids=lambda layer: layer.name)
def test_functional_folding_replication(dataflow: str, layer: ConvLayer) -> None:
    phases = PHASES if layer.kind == "tconv" else phases_of(dataflow)
    check_functional(layer, dataflow, HW[dataflow], phases=phases)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@settings(max_examples=8)
@given(layer=layers(), phase=st.sampled_from(PHASES))
def test_every_product_scheduled_once(dataflow: str, layer: ConvLayer, phase: str) -> None:
    problem = layer.problem(own_phase(dataflow, phase))
    pairs = []
    for spec in get(dataflow).pass_specs(problem, HW[dataflow]):
        for o in spec.ops:
            pairs.append(np.stack([o.ifmap[o.mac], o.filter[o.mac]], axis=1))
    pairs = np.concatenate(pairs)
    # in a direct convolution an (input element, filter element) pair names one product
    assert len(np.unique(pairs, axis=0)) == len(pairs)
    assert len(pairs) == expected_macs(dataflow, problem)


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@settings(max_examples=5)
@given(layer=layers(), phase=st.sampled_from(PHASES))
def test_default_equals_exhaustive(dataflow: str, layer: ConvLayer, phase: str) -> None:
    hw = HW[dataflow]
    problem = layer.problem(own_phase(dataflow, phase))
    df = get(dataflow)
    fast = simulate(problem, df, hw)
    pick = choose(df, problem, hw)  # the mapping and loop order simulate runs with
    full = df.compile(problem, hw, exhaustive=True, mapping=pick.mapping, order=pick.order)
    results, _, _ = run_passes([g.program for g in full.groups], hw)
    slow = combine(full, results, hw, df.ideal_cycles(problem, hw))
    assert fast.distinct_passes <= slow.distinct_passes == slow.passes == fast.passes
    assert fast.to_dict() | {"distinct_passes": 0} == slow.to_dict() | {"distinct_passes": 0}
    # zero-gated MACs counted by the simulator equal the schedule's exact count
    assert sum(r.counters["zero_mac"] for r in results) == full.zero_macs
    assert fast.cycles >= fast.ideal_cycles
    assert fast.macs == expected_macs(dataflow, problem)


def _conflict_free(hw: HardwareConfig) -> HardwareConfig:
    """Enough global-buffer banks that no two words ever meet in one.

    Bank conflicts make timing anomalous (a word delayed by a narrower bus can dodge a conflict
    and finish a cycle earlier), so the bus-width property is checked without them.
    """
    gbuf = hw.global_buffer.model_copy(update={"banks": 4096})
    return hw.model_copy(update={"global_buffer": gbuf})


def _halve(hw: HardwareConfig, which: str) -> HardwareConfig:
    noc = hw.noc
    if which == "gon":
        noc = noc.model_copy(update={"gon": noc.gon.model_copy(update={"width_bits": 16})})
    else:
        gin = noc.gin.model_copy(update={f"{which}_width_bits": 16})
        noc = noc.model_copy(update={"gin": gin})
    return hw.model_copy(update={"noc": noc})


@settings(max_examples=5)
@given(layer=layers(), phase=st.sampled_from(PHASES), which=st.sampled_from(["wide", "gon"]))
def test_narrower_bus_never_faster_rs(layer: ConvLayer, phase: str, which: str) -> None:
    hw = _conflict_free(HW["rs"])
    problem = layer.problem(phase)
    base = get("rs").compile(problem, hw)
    keys = ("h", "ew", "chain", "p", "q", "n", "taps", "inner")
    mapping = RsMapping(**{k: base.mapping[k] for k in keys})
    narrow = _halve(hw, which)
    slow = get("rs").compile(problem, narrow, mapping=mapping)
    r_base, _, _ = run_passes([g.program for g in base.groups], hw)
    r_slow, _, _ = run_passes([g.program for g in slow.groups], narrow)
    for a, b in zip(r_base, r_slow, strict=True):
        assert b.cycles >= a.cycles


@settings(max_examples=5)
@given(layer=layers(), phase=st.sampled_from(PHASES), which=st.sampled_from(["wide", "narrow"]))
def test_narrower_bus_never_faster_tpu(layer: ConvLayer, phase: str, which: str) -> None:
    hw = _conflict_free(HW["tpu"])
    problem = layer.problem(phase)
    assert (
        simulate(problem, get("tpu"), _halve(hw, which)).cycles
        >= simulate(problem, get("tpu"), hw).cycles
    )


def _unlimited(hw: HardwareConfig) -> HardwareConfig:
    """Networks and global-buffer banks too wide to ever hold a word back."""
    wide = 16 * 64
    noc = hw.noc.model_copy(
        update={
            "gin": hw.noc.gin.model_copy(
                update={"wide_width_bits": wide, "narrow_width_bits": wide}
            ),
            "gon": hw.noc.gon.model_copy(update={"width_bits": wide * 4}),
        }
    )
    gbuf = hw.global_buffer.model_copy(update={"banks": 4096, "bank_width_bits": 4096})
    pe = hw.pe.model_copy(update={"queue_entries": 64})
    return hw.model_copy(update={"noc": noc, "global_buffer": gbuf, "pe": pe})


@settings(max_examples=10)
@given(layer=layers(), phase=st.sampled_from(PHASES))
def test_tpu_pass_cycles_closed_form(layer: ConvLayer, phase: str) -> None:
    hw = _unlimited(HW["tpu"])
    schedule = get("tpu").compile(layer.problem(phase), hw)
    k_red = int(schedule.mapping["K_red"])
    if k_red <= hw.pe.operand_registers:
        return
    results, _, _ = run_passes([g.program for g in schedule.groups], hw)
    for g, r in zip(schedule.groups, results, strict=True):
        used = g.program.n_ops.reshape(hw.array.rows, hw.array.cols) > 0
        rows, cols = int(used.any(1).sum()), int(used.any(0).sum())
        assert r.cycles == unlimited_pass_cycles(rows, cols, k_red, hw)


@settings(max_examples=10)
@given(
    n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
    k=st.integers(1, 4),
)  # fmt: skip
def test_rs_pass_cycles_closed_form_pointwise(n: int, c: int, h: int, w: int, k: int) -> None:
    """1x1 filters: every PE is a chain of one; it issues back to back from cycle 1.

    Pass cycles = the longest PE program + multiplier + adder + hop (its last result retiring).
    """
    hw = _unlimited(HW["rs"])
    layer = ConvLayer(N=n, C=c, H=h, W=w, K=k, R=1, S=1, name="pw")
    schedule = get("rs").compile(layer.problem("forward"), hw)
    if int(schedule.mapping["chain"]) != 1:
        return
    latency = hw.pe.multiplier_stages + hw.pe.adder_stages + hw.noc.local.hop_latency_cycles
    results, _, _ = run_passes([g.program for g in schedule.groups], hw)
    for g, r in zip(schedule.groups, results, strict=True):
        if g.stage == 0:
            assert r.cycles == int(g.program.n_ops.max()) + latency


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("phase", PHASES)
def test_compiled_passes_match_reference(dataflow: str, phase: str) -> None:
    layer = ConvLayer(N=1, C=2, H=5, W=5, K=2, R=3, S=2, stride=(2, 1), padding=((1, 1), (0, 1)),
                      name="ref")  # fmt: skip
    hw = HW[dataflow]
    schedule = get(dataflow).compile(layer.problem(phase), hw)
    for g in schedule.groups[:2]:
        assert_same_trajectory(g.program, hw)


def test_shipped_hardware_rs_refuses_systolic() -> None:
    layer = ConvLayer(N=1, C=1, H=3, W=3, K=1, R=1, S=1, name="x")
    systolic = load_hardware(ROOT_HW.format("tpu_13x15"))
    reason = get("rs").supports(layer.problem("forward"), systolic)
    assert reason is not None and "multicast" in reason


def test_rs_splits_filter_rows_wider_than_the_scratchpads() -> None:
    """A 9-tap row on 4-entry scratchpads runs as three chunks of 3 taps, values exact."""
    hw = HW["rs"]
    pe = hw.pe.model_copy(update={"ifmap_spad_entries": 4, "filter_spad_entries": 4})
    hw = hw.model_copy(update={"pe": pe})
    layer = ConvLayer(N=1, C=1, H=3, W=11, K=2, R=2, S=9, name="wide")
    assert get("rs").compile(layer.problem("forward"), hw).mapping["taps"] == 3
    check_functional(layer, "rs", hw)


def test_program_rejects_routes_off_the_array() -> None:
    """Sends up from the top row and operands from outside the edge are compile errors."""
    from ecoflow.dataflows.base import CompileError, build_program

    layer = ConvLayer(N=1, C=1, H=3, W=3, K=1, R=2, S=2, name="edge")
    spec = get("rs").pass_specs(layer.problem("forward"), HW["rs"])[0]
    spec.send_up = spec.send_up.copy()
    spec.send_up[0] = True
    with pytest.raises(CompileError, match="top row"):
        build_program(spec, HW["rs"])
    spec = get("tpu").pass_specs(layer.problem("forward"), HW["tpu"])[0]
    spec.source = dict(spec.source, ifmap=np.where(spec.source["ifmap"] == "gin", "left",
                                                    spec.source["ifmap"]))  # fmt: skip
    with pytest.raises(CompileError, match="outside"):
        build_program(spec, HW["tpu"])


def test_rs_sets_sharing_a_strip_and_many_images() -> None:
    """Sets of one strip holding different filter blocks (ifmap rows multicast to every band),
    and a filter gradient streaming many input planes past each filter row: values exact, the
    JAX step equals the NumPy reference, and the multicast words are counted once."""
    hw = HW["rs"]
    layer = ConvLayer(N=2, C=12, H=6, W=5, K=6, R=1, S=1, name="pointwise")
    rs = get("rs")
    forward = RsMapping(h=1, ew=2, chain=1, p=2, q=2, n=1, taps=1, inner="filters")
    check_functional(layer, "rs", hw, phases=("forward",), mapping=forward)
    fgrad = RsMapping(h=4, ew=1, chain=1, p=2, q=1, n=8, taps=5, inner="strips")
    check_functional(layer, "rs", hw, phases=("fgrad",), mapping=fgrad)
    for phase, m in (("forward", forward), ("fgrad", fgrad)):
        for g in rs.compile(layer.problem(phase), hw, mapping=m).groups:
            assert_same_trajectory(g.program, hw, max_cycles=20_000)
    # the first forward pass holds eight sets (four bands of two), filter blocks 0-2 of strip 0,
    # then of strip 1, then two of strip 2: it reads the rows of three strips, each word once
    spec = rs.pass_specs(layer.problem("forward"), hw, forward)[0]
    elem = spec.streams["ifmap"].elem
    assert len(elem) == len(set(elem.tolist())) == 3 * forward.q * forward.ew * layer.W
