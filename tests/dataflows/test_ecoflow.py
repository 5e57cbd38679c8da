"""EcoFlow's zero-free dataflows: the paper's walk-throughs, values, zeros, IDs and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow.config import load_hardware
from ecoflow.dataflows import dilated, get, transposed
from ecoflow.dataflows.base import CompileError
from ecoflow.dataflows.common import DirectConv
from ecoflow.dataflows.dilated import DilatedMapping
from ecoflow.dataflows.transposed import TransposedMapping
from ecoflow.evaluate import simulate
from ecoflow.workloads.layer import ConvLayer
from tests.dataflows.test_conformance import HW, check_functional
from tests.sim.test_reference import assert_same_trajectory

ECO = HW["ecoflow"]


# ---- Figure 5 (§4.1.1) -------------------------------------------------------------------------
def test_figure5_outer_product_labels_shifts_and_pes() -> None:
    """Stride 2, 2x2 error, 3x3 rotated filter, 5x5 input gradient, as printed in Fig. 5."""
    sym = transposed.symbolic((2, 2), (3, 3), 2)
    # step 1: symbolic vectors 9x1 and 4x1, the weights in execution order w00, w10, w20, ...
    assert sym.weights == ("w00", "w10", "w20", "w01", "w11", "w21", "w02", "w12", "w22")
    assert sym.errors == ("e00", "e01", "e10", "e11")
    # step 2: a 9x4 outer product without a zero: every product lands inside the output
    assert len(sym.product) == 9 and all(len(row) == 4 for row in sym.product)
    assert all(label is not None for row in sym.product for label in row)
    w, e = sym.weights.index, sym.errors.index
    # step 3: labels; delta_i22 gathers w00 e11, w20 e01, w02 e10 and w22 e00 (§4.1.2)
    assert {(r, c) for r in range(9) for c in range(4) if sym.product[r][c] == (2, 2)} == {
        (w("w00"), e("e11")), (w("w20"), e("e01")), (w("w02"), e("e10")), (w("w22"), e("e00")),
    }  # fmt: skip
    # step 4: the first six blocks are not shifted, the last three move one PE right
    assert sym.shift == (0, 0, 0, 0, 0, 0, 1, 1, 1)
    # w22 e01 and w02 e11 (light blue, one label) land on vertically adjacent PE00 and PE10
    assert sym.product[w("w22")][e("e01")] == sym.product[w("w02")][e("e11")]
    assert sym.pe[w("w22")][e("e01")] == (0, 0)
    assert sym.pe[w("w02")][e("e11")] == (1, 0)
    # delta_i22: PE11 and PE01 first (w00 e11, w20 e01), then w02 e10 and w22 e00
    assert sym.pe[w("w00")][e("e11")] == (1, 1) and sym.pe[w("w20")][e("e01")] == (0, 1)
    assert sym.pe[w("w02")][e("e10")] == (1, 1) and sym.pe[w("w22")][e("e00")] == (0, 1)
    # multicast groups: PE00 receives {e00, e01}
    assert sym.groups[(0, 0)] == ("e00", "e01")


def test_compiled_transposed_uses_the_figure5_columns() -> None:
    """With one error column per PE column and blocks of ``stride`` outputs, every product of
    the compiled schedule sits in the column the circular shift of Fig. 5 gives it."""
    layer = ConvLayer(N=1, C=1, H=5, W=5, K=1, R=3, S=3, stride=2, name="fig5")
    problem = layer.problem("igrad")
    d = DirectConv.of(problem)
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    mapping = TransposedMapping(nr=2, nc=2, e=1, p=1, n=1, phases=2)
    (spec,) = get("ecoflow_igrad").pass_specs(problem, hw, mapping=mapping)
    sym = transposed.symbolic((2, 2), (3, 3), 2)
    seen = 0
    for p, o in enumerate(spec.ops):
        col = p % hw.array.cols
        for f, x in zip(o.filter[o.mac], o.ifmap[o.mac], strict=True):
            _, _, r_rot, s_rot = np.unravel_index(f, d.filter_shape)
            _, _, h, wpos = np.unravel_index(x, d.in_shape)
            a, b = (h - 2) // 2, (wpos - 2) // 2  # error element (2 of padding, dilation 2)
            r, s = 2 - r_rot, 2 - s_rot  # the forward filter tap (the filter is rotated)
            assert col == sym.pe[s * 3 + r][a * 2 + b][1]
            seen += 1
    assert seen == 36


# ---- Figure 7 (§4.2.1) -------------------------------------------------------------------------
def test_figure7_products_pes_and_groups() -> None:
    """Stride 2, 3x3 filter gradient: one gradient element per PE, four receive groups each."""
    sym = dilated.symbolic((5, 5), (3, 3), 2)
    assert sym.pe[(0, 2)] == 2 and len(sym.pe) == 9
    assert sym.groups[2] == ((0, 2), (0, 4), (2, 2), (2, 4))  # PE02: {i02, i04, i22, i24}
    # the multicast group i02 is PE00 and PE02
    assert {pe for pe, g in sym.groups.items() if (0, 2) in g} == {0, 2}
    assert all(len(g) >= 4 for g in sym.groups.values())
    # dW[r, s] = sum over the 2x2 error of x[r + 2a, s + 2b] e[a, b]
    assert sym.products[(1, 1)] == (((1, 1), (0, 0)), ((1, 3), (0, 1)), ((3, 1), (1, 0)),
                                    ((3, 3), (1, 1)))  # fmt: skip


# ---- values ------------------------------------------------------------------------------------
@st.composite
def big_layers(draw: st.DrawFn) -> ConvLayer:
    """Filters 1x1 to 11x11, strides 1 to 8, maps from smaller to larger than the 4x5 array."""
    r = draw(st.integers(1, 11))
    s = draw(st.integers(1, 11))
    stride = draw(st.integers(1, 8))
    h = draw(st.integers(r, r + 9))
    w = draw(st.integers(s, s + 9))
    pad = draw(st.integers(0, min(r, s) - 1))
    return ConvLayer(
        N=draw(st.integers(1, 2)),
        C=draw(st.integers(1, 2)),
        H=h,
        W=w,
        K=draw(st.integers(1, 3)),
        R=r,
        S=s,
        stride=(stride, draw(st.integers(1, 8))),
        padding=((pad, 0), (pad, pad)),
        name="big",
    )


@settings(max_examples=6, deadline=None)
@given(layer=big_layers())
def test_functional_large_filters_and_strides(layer: ConvLayer) -> None:
    check_functional(layer, "ecoflow", ECO, phases=("igrad", "fgrad"))


@pytest.mark.parametrize(
    "mapping",
    [TransposedMapping(2, 3, 3, 2, 2, 1), TransposedMapping(5, 3, 2, 1, 2, 1),
     TransposedMapping(2, 2, 4, 1, 1, 1)],
    ids=lambda m: f"e{m.e}p{m.p}n{m.n}",
)  # fmt: skip
def test_transposed_expansion_and_grouping(mapping: TransposedMapping) -> None:
    """Reduced channels split over 2-4 PEs of a column; several blocks per unit."""
    layer = ConvLayer(N=2, C=3, H=9, W=8, K=5, R=3, S=2, stride=(2, 3), padding=1, name="exp")
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    check_functional(layer, "ecoflow_igrad", hw, phases=("igrad",), mapping=mapping)


def test_transposed_unshared_strips_fall_back_to_unit_row_audiences() -> None:
    """Without shared strips an error word goes once per filter row, to one unit row.

    Exact receiver groups need 6 column IDs on this layer (the PEs hold 5), so the error words
    go to fixed audiences; each word must still reach a PE only once.
    """
    layer = ConvLayer(N=1, C=2, H=14, W=14, K=2, R=5, S=5, stride=1, padding=2, name="c2")
    mapping = TransposedMapping(nr=4, nc=5, e=1, p=1, n=1, phases=1, phases_w=1, share=False)
    check_functional(layer, "ecoflow_igrad", ECO, phases=("igrad",), mapping=mapping)


@pytest.mark.parametrize(
    "mapping",
    [DilatedMapping(2, 2, 1), DilatedMapping(3, 1, 2), DilatedMapping(2, 2, 1, "channels")],
    ids=lambda m: f"e{m.e}-{m.inner}",
)
def test_dilated_expansion_and_stages(mapping: DilatedMapping, monkeypatch) -> None:
    """Error rows split over PEs of a column, and a reduction cut into stages (psums return
    through the global buffer)."""
    monkeypatch.setattr(dilated, "OPS_PER_PASS", 20)
    layer = ConvLayer(N=2, C=3, H=9, W=8, K=4, R=3, S=2, stride=(2, 3), padding=1, name="exp")
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    schedule = get("ecoflow_fgrad").compile(layer.problem("fgrad"), hw, mapping=mapping)
    assert len({g.stage for g in schedule.groups}) > 1
    check_functional(layer, "ecoflow_fgrad", hw, phases=("fgrad",), mapping=mapping)


def test_dilated_stages_hide_returning_partial_sums(monkeypatch) -> None:
    """A filter gradient cut into stages: the partial sums of a stage come back beside its
    products instead of before them.

    The bottom PE of a unit adds the returning psums in bursts of its queue spread over the
    stage. Before, every PE waited for all of its psums before its first product: 4.6% of the
    PE-cycles of this layer stalled on psums.
    """
    monkeypatch.setattr(dilated, "OPS_PER_PASS", 6000)
    layer = ConvLayer(N=1, C=16, H=48, W=48, K=8, R=3, S=3, padding=1, name="t")
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    problem = layer.problem("fgrad")
    schedule = get("ecoflow").compile(problem, hw)
    assert len({g.stage for g in schedule.groups}) > 1
    r = simulate(problem, get("ecoflow"), hw)
    pe_cycles = r.cycles * hw.array.rows * hw.array.cols
    assert r.stall_cycles["psum"] < 0.005 * pe_cycles


TCONV = ConvLayer(N=1, C=24, H=12, W=12, K=12, R=4, S=4, stride=(2, 2), kind="tconv", name="t")


def test_dilated_tap_rows_progress_together() -> None:
    """The filter gradient of a transposed layer: its input is dilated by 2, so each tap row
    meets data in one error row of two, the other tap rows in the other.

    Error rows go in pairs: the units of all tap rows compute at once, one row per pair, and
    the ifmap words of a pair are one round. Ranked by error row alone, the
    tap rows took turns, each waiting for the ifmap words of the rows the others computed:
    this layer ran in 7,973 cycles (2 stages of 9 error rows, sized in error columns), 24% of
    its PE-cycles waiting for ifmap words.
    """
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    problem = TCONV.problem("fgrad")
    plan = dilated._Plan(DirectConv.of(problem), DilatedMapping(1, 1, 24), hw)
    assert plan.period == 2
    assert plan.stages == 1  # 26 error rows of 8 data columns x 24 channels: 2,496 products
    per_row = plan.wz.taps * plan.m.q * plan.m.p  # ticks of one error row (or pair)
    work = plan.work(plan.passes()[0])
    assert len(work) == 4 * 4 * 12
    # tap rows 2 and 3 meet data in the first pair, 0 and 1 (padded by 3) in the second:
    # ranked by error row, tap row 0 started at row 3
    assert sorted({int(w.tick[0]) // per_row for w in work.values()}) == [0, 1]
    r = simulate(problem, get("ecoflow"), hw)
    assert r.mapping["q"] == 24 and r.passes == 1
    pe_cycles = r.cycles * hw.array.rows * hw.array.cols
    assert r.stall_cycles["ifmap"] < 0.05 * pe_cycles


def test_dilated_stages_of_a_dilated_input(monkeypatch) -> None:
    """Stages of a transposed layer's filter gradient hold whole pairs of error rows and the
    values match ``jax.vjp``."""
    monkeypatch.setattr(dilated, "OPS_PER_PASS", 400)
    mapping = DilatedMapping(1, 2, 2)
    plan = dilated._Plan(DirectConv.of(TCONV.problem("fgrad")), mapping, ECO)
    assert plan.stages > 1 and plan.stage_len % 2 == 0
    check_functional(TCONV, "ecoflow_fgrad", ECO, phases=("fgrad",), mapping=mapping)
    # and the compiled passes of a small one step alike in the JAX simulator and the reference
    small = ConvLayer(N=1, C=2, H=4, W=4, K=2, R=4, S=4, stride=(2, 2), kind="tconv", name="s")
    monkeypatch.setattr(dilated, "OPS_PER_PASS", 16)  # two error rows (one pair) per stage
    schedule = get("ecoflow_fgrad").compile(small.problem("fgrad"), ECO, mapping=mapping)
    assert len(schedule.groups) > 1
    for g in schedule.groups[:2]:
        assert_same_trajectory(g.program, ECO)


@pytest.mark.parametrize(
    "mapping",
    [DilatedMapping(1, 2, 2), DilatedMapping(1, 4, 1, "channels"), DilatedMapping(1, 1, 3)],
    ids=lambda m: f"p{m.p}-q{m.q}-{m.inner}",
)
def test_dilated_estimate_counts_data_products(mapping: DilatedMapping) -> None:
    """With GIN channels too wide to bound a pass, the estimate is each pass's busiest PE.

    The filter gradient of a transposed layer has a dilated input: three error rows and
    columns in four meet a zero there, and a zero-free PE skips their products.
    """
    layer = ConvLayer(N=1, C=6, H=5, W=5, K=4, R=3, S=3, stride=(2, 2), kind="tconv", name="t")
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    gin = hw.noc.gin.model_copy(update={"wide_width_bits": 1 << 20, "narrow_width_bits": 1 << 20})
    gon = hw.noc.gon.model_copy(update={"width_bits": 1 << 20})
    hw = hw.model_copy(update={"noc": hw.noc.model_copy(update={"gin": gin, "gon": gon})})
    plan = dilated._Plan(DirectConv.of(layer.problem("fgrad")), mapping, hw)
    busiest = sum(max(len(w) for w in plan.work(ps).values()) for ps in plan.passes())
    overhead = plan.n_batches * plan.stages * mapping.e * 4
    assert plan.estimate()[0] == busiest + overhead


def test_dilated_search_counts_split_receiver_groups() -> None:
    """A 1x7 filter gradient: where the units sharing an ifmap row are no rectangle of the
    array and their IDs do not fit the controllers, an element takes a word per rectangle.

    The probe (one reduction step of the first pass) sees the words per element of the whole
    pass; the search ranks by the refined estimate and drops mappings whose probe overflows a
    scratchpad. Measured on this layer with (1, 3, 8, "channels"): 10,922 simulated cycles
    against 10,421 refined and 6,940 rough.
    """
    layer = ConvLayer(N=1, C=32, H=17, W=17, K=12, R=1, S=7, padding=((0, 0), (3, 3)), name="t")
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    d = DirectConv.of(layer.problem("fgrad"))
    split = dilated._Plan(d, DilatedMapping(1, 3, 8, "channels"), hw)
    words = split.spec(split.passes()[0]).streams["ifmap"]
    assert split.probe == pytest.approx(len(words) / len(np.unique(words.elem)))
    assert split.probe > 5
    assert split.estimate()[0] > 1.4 * split.estimate(refined=False)[0]
    overflow = DilatedMapping(1, 1, 24)
    with pytest.raises(CompileError, match="must hold 92 words"):
        _ = dilated._Plan(d, overflow, hw).probe
    best = dilated.shortlist(d, hw, 4)
    assert overflow not in best
    costs = [dilated._Plan(d, m, hw).estimate() for m in best]
    assert costs == sorted(costs)
    assert costs[0] < split.estimate()


# ---- no zeros ----------------------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(layer=big_layers(), phase=st.sampled_from(["igrad", "fgrad"]))
def test_no_multiplication_by_a_padding_zero(layer: ConvLayer, phase: str) -> None:
    """Every scheduled product has two data operands, and every useful product is scheduled."""
    problem = layer.problem(phase)
    d = DirectConv.of(problem)
    zero_hw, zero_rs = d.zero_hw(), d.zero_rs()
    pairs = []
    for spec in get("ecoflow").pass_specs(problem, ECO):
        for o in spec.ops:
            x, f = o.ifmap[o.mac], o.filter[o.mac]
            *_, h, w = np.unravel_index(x, d.in_shape)
            *_, r, s = np.unravel_index(f, d.filter_shape)
            assert not np.any(zero_hw[h, w]) and not np.any(zero_rs[r, s])
            assert not np.any(o.zero)
            pairs.append(np.stack([x, f], axis=1))
    pairs = np.concatenate(pairs)
    assert len(np.unique(pairs, axis=0)) == len(pairs) == problem.zero_counts().useful_macs


# ---- IDs and errors ----------------------------------------------------------------------------
def test_too_few_multicast_ids_is_a_compile_error_or_a_slower_mapping() -> None:
    """Eyeriss's one ID per X-bus and PE cannot hold the groups of EcoFlow's best mapping.

    Given that mapping, the compile names the IDs; left to search, it finds one whose groups
    fit (as many units per row as filter columns: every error word goes to a whole row), with
    more estimated cycles.
    """
    hw = load_hardware("config/hardware/ecoflow_13x15.yaml")
    gin = hw.noc.gin.model_copy(update={"row_ids_per_xbus": 1, "column_ids_per_pe": 1})
    one = hw.model_copy(update={"noc": hw.noc.model_copy(update={"gin": gin})})
    layer = ConvLayer(N=1, C=2, H=8, W=8, K=2, R=5, S=5, stride=1, padding=2, name="c2")
    problem = layer.problem("igrad")
    d = DirectConv.of(problem)
    best = transposed.shortlist(d, hw)[0]  # the best by estimate
    with pytest.raises(CompileError, match="ids_per"):
        get("ecoflow").compile(problem, one, mapping=best)
    fits = transposed.shortlist(d, one)[0]
    assert get("ecoflow").compile(problem, one).mapping["nc"] == fits.nc == layer.S
    assert transposed._Plan(d, fits, one).estimate() > transposed._Plan(d, best, hw).estimate()


def test_transposed_search_prefers_mappings_that_fit_the_ids() -> None:
    """7x7 filters at stride 1: the best mappings by estimate need 7 column IDs per PE.

    The search builds candidates until one fits the 5 IDs of the PEs as well as the
    scratchpads; the compile then succeeds (it raised on the IDs before).
    """
    layer = ConvLayer(N=1, C=16, H=30, W=30, K=3, R=7, S=7, stride=1, padding=3, name="c")
    problem = layer.problem("igrad")
    for mapping in transposed.shortlist(DirectConv.of(problem), ECO, k=2):
        get("ecoflow").compile(problem, ECO, mapping=mapping)


def test_ecoflow_delegates_by_phase() -> None:
    conv = ConvLayer(N=1, C=2, H=6, W=6, K=2, R=3, S=3, stride=2, name="c")
    tconv = conv.replace(kind="tconv", H=3, W=3, name="t")
    runs = {
        (layer.kind, phase): get("ecoflow").compile(layer.problem(phase), ECO).mapping["runs"]
        for layer in (conv, tconv)
        for phase in ("forward", "igrad", "fgrad")
    }
    assert runs == {
        ("conv", "forward"): "rs", ("conv", "igrad"): "ecoflow_igrad",
        ("conv", "fgrad"): "ecoflow_fgrad", ("tconv", "forward"): "ecoflow_igrad",
        ("tconv", "igrad"): "rs", ("tconv", "fgrad"): "ecoflow_fgrad",
    }  # fmt: skip
    # a filter gradient with no zero to skip (1x1, stride 1) is a direct convolution
    pointwise = ConvLayer(N=1, C=2, H=4, W=4, K=2, R=1, S=1, name="pw")
    assert get("ecoflow").compile(pointwise.problem("fgrad"), ECO).mapping["runs"] == "rs"
    strided = pointwise.replace(stride=2, name="pw2")
    assert get("ecoflow").compile(strided.problem("fgrad"), ECO).mapping["runs"] == "ecoflow_fgrad"


def test_ecoflow_refuses_systolic_hardware() -> None:
    layer = ConvLayer(N=1, C=1, H=3, W=3, K=1, R=1, S=1, name="x")
    systolic = load_hardware("config/hardware/tpu_13x15.yaml")
    with pytest.raises(CompileError, match="multicast"):
        get("ecoflow").compile(layer.problem("igrad"), systolic)


# ---- the validation sweep ----------------------------------------------------------------------
def test_validation_sweep_sample() -> None:
    """A seeded sample of §4.1's sweep (inputs to 224x224, filters to 15x15, strides 1-4)."""
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import validate_ecoflow

    cases = [c for c in validate_ecoflow.space() if c[0] <= 40]
    sample = [*random.Random(5).sample(cases, 4), (3, 3, 2), (9, 1, 4)]
    rows = validate_ecoflow.run(sample)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]


def test_symbolic_check_catches_a_missing_and_a_misplaced_product(monkeypatch) -> None:
    from ecoflow.validation import check_symbolic

    layer = ConvLayer(N=1, C=1, H=7, W=7, K=1, R=3, S=3, stride=2, name="v")
    problem = layer.problem("igrad")
    df = get("ecoflow_igrad")
    assert check_symbolic(problem, df, ECO).ok
    real = df.pass_specs

    def broken(problem, hw, **kw):
        specs = real(problem, hw, **kw)
        o = next(o for s in specs for o in s.ops if o.mac.sum() > 1)
        o.out[np.nonzero(o.mac)[0][0]] += 1  # accumulate one product into the next output
        return specs

    monkeypatch.setattr(df, "pass_specs", broken)
    result = check_symbolic(problem, df, ECO)
    assert not result.ok and "wrong output" in result.problem
