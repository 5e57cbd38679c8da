"""The memory model: pass footprints, buffer traffic between passes, DRAM time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow import memory
from ecoflow.dataflows import get
from ecoflow.dataflows.base import (
    F_FLAGS,
    F_OUT,
    SEND,
    UP,
    VALID,
    CompileError,
    Footprint,
    Footprints,
)
from ecoflow.dataflows.common import DirectConv, element_segments
from ecoflow.dataflows.ganax import decompose
from ecoflow.evaluate import simulate
from ecoflow.workloads.layer import PHASES, ConvLayer
from tests.dataflows.test_conformance import DATAFLOWS, FIXED, HW, layers, own_phase


def program_segments(program, d: DirectConv, seg: int) -> dict[str, np.ndarray]:
    """The buffer segments a compiled pass streams in and drains out, read off the program."""
    n = program.n_words
    flags = program.ops[:, :, F_FLAGS]
    to_gon = ((flags & VALID) > 0) & ((flags & SEND) > 0) & ((flags & UP) == 0)
    return {
        "ifmap": element_segments(program.stream_elem[0, : n[0]], d.Wx, seg),
        "filter": element_segments(program.stream_elem[1, : n[1]], d.Sw, seg),
        "psum": element_segments(program.stream_elem[2, : n[2]], d.Q, seg),
        "out": element_segments(program.ops[:, :, F_OUT][to_gon], d.Q, seg),
    }


def _decomposed(dataflow: str, problem) -> bool:
    """GANAX runs the problem as sub-convolutions."""
    return dataflow == "ganax" and decompose(problem) is not None


def assert_footprint(got: Footprint, want: dict[str, np.ndarray], exact: bool) -> None:
    """A pass's footprint holds the segments its streams and sends touch (exactly, unless the
    footprint comes from sub-convolutions, whose segments map to every original segment their
    columns span)."""
    for kind in ("ifmap", "filter", "psum", "out"):
        if exact:
            np.testing.assert_array_equal(getattr(got, kind), want[kind], err_msg=kind)
        else:
            assert np.isin(want[kind], getattr(got, kind)).all(), kind


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@settings(max_examples=15, deadline=None)
@given(layer=layers(), phase=st.sampled_from(PHASES))
@pytest.mark.parametrize("seg", [4, 32])
def test_footprints_are_the_segments_the_passes_stream(
    dataflow: str, seg: int, layer: ConvLayer, phase: str
) -> None:
    problem = layer.problem(own_phase(dataflow, phase))
    hw = HW[dataflow].model_copy(
        update={"dram": HW[dataflow].dram.model_copy(update={"burst_bytes": seg * 2})}
    )
    schedule = get(dataflow).compile(problem, hw, exhaustive=True)
    d = DirectConv.of(problem)
    assert schedule.footprints is not None and len(schedule.footprints) == schedule.passes
    for i, g in enumerate(schedule.groups):
        assert_footprint(schedule.footprints.of(i), program_segments(g.program, d, seg),
                         exact=not _decomposed(dataflow, problem))  # fmt: skip


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("layer", FIXED, ids=lambda layer: layer.name)
def test_footprints_of_folded_replicated_and_transposed_layers(dataflow, phase, layer) -> None:
    problem = layer.problem(phase)
    df = get(dataflow)
    d = DirectConv.of(problem)
    for order in df.orders(problem, HW[dataflow]):
        schedule = df.compile(problem, HW[dataflow], exhaustive=True, order=order)
        assert schedule.mapping["order"] == order
        for i, g in enumerate(schedule.groups):
            want = program_segments(g.program, d, HW[dataflow].segment_words)
            assert_footprint(schedule.footprints.of(i), want,
                             exact=not _decomposed(dataflow, problem))  # fmt: skip


def _sizes(n_if: int, n_f: int, n_out: int, words: int) -> memory.SegmentSizes:
    full = {"ifmap": np.full(n_if, words), "filter": np.full(n_f, words),
            "out": np.full(n_out, words)}  # fmt: skip
    return memory.SegmentSizes(gb=full, dram=full)


def _hw(kib: float):
    hw = HW["rs"]
    return hw.model_copy(
        update={"global_buffer": hw.global_buffer.model_copy(update={"size_kib": kib})}
    )


def _fp(ifmap=(), filt=(), psum=(), out=()) -> Footprint:
    return Footprint(*(np.asarray(x, np.int64) for x in (ifmap, filt, psum, out)))


@st.composite
def pass_sequences(draw: st.DrawFn) -> list[Footprint]:
    """Random passes over 12 input rows, 6 filter rows and 8 output rows, with stages."""
    n = draw(st.integers(1, 12))
    rows = st.lists(st.integers(0, 11), max_size=6)
    passes, written = [], set()
    for _ in range(n):
        out = draw(st.lists(st.integers(0, 7), max_size=4))
        psum = [r for r in out if r in written and draw(st.booleans())]
        written.update(out)
        passes.append(_fp(draw(rows), draw(st.lists(st.integers(0, 5), max_size=3)), psum, out))
    return passes


@settings(max_examples=60, deadline=None)
@given(passes=pass_sequences(), kib=st.sampled_from([0.0078125, 0.015625, 0.03125, 1.0]))
def test_traffic_between_compulsory_and_no_reuse(passes: list[Footprint], kib: float) -> None:
    """Every data word crosses DRAM at least once and never more than with no reuse."""
    fp = Footprints(passes)
    sizes = _sizes(12, 6, 8, 4)  # 4 words a row: 8 B; 0.0078 KiB holds one row
    t = memory.traffic(fp, sizes, _hw(kib))
    touched = sum(len(np.unique(np.concatenate([getattr(p, k) for p in passes] or [[]])))
                  for k in ("ifmap", "filter"))  # fmt: skip
    outs = len(np.unique(np.concatenate([p.out for p in passes] or [[]])))
    assert t.compulsory_words == 4 * (touched + outs)
    assert t.dram_words >= t.compulsory_words
    assert t.dram_words <= memory.no_reuse_words(fp, sizes)
    assert t.transfer_words.sum() == t.dram_words
    # each output row reaches DRAM at least once with its final value
    assert t.dram_write_words >= 4 * outs


def test_a_layer_that_fits_reads_each_byte_once() -> None:
    passes = [_fp([0, 1, 2], [0], [], [0, 1]), _fp([1, 2, 3], [0], [0, 1], [0, 1]),
              _fp([0, 3], [1], [], [2])]  # fmt: skip
    t = memory.traffic(Footprints(passes), _sizes(4, 2, 3, 4), _hw(1.0))
    assert t.fits
    assert t.dram_read_words == {"ifmap": 16, "filter": 8, "out": 0}
    assert t.dram_write_words == 12
    # fetched before the pass that first reads them; outputs written back at the end
    np.testing.assert_array_equal(t.transfer_words, [16, 4, 4, 12])


def test_spilled_partial_sums_are_written_and_read_back() -> None:
    """A buffer of one row: the partial sums of pass 0 give way to a row needed sooner."""
    passes = [_fp([0], [], [], [0]), _fp([1]), _fp([1]), _fp([], [], [0], [0])]
    t = memory.traffic(Footprints(passes), _sizes(4, 1, 1, 4), _hw(8 / 1024))
    assert not t.fits
    assert t.dram_read_words["out"] == 4  # the spilled psum row read back
    assert t.dram_write_words == 8  # written when spilled, and its final value at the end


def test_belady_keeps_the_row_needed_soonest() -> None:
    """Two rows fit: after pass 1, rows 0 and 1 are needed before row 2 again, so row 2 goes
    (least recently used would evict row 0, then row 1, then row 2: three more misses)."""
    passes = [_fp([0, 1]), _fp([2]), _fp([0]), _fp([1]), _fp([2])]
    t = memory.traffic(Footprints(passes), _sizes(3, 1, 1, 4), _hw(16 / 1024))
    assert t.dram_read_words["ifmap"] == 4 * 4  # rows 0, 1, 2 once, row 2 again


def test_zero_segments_take_buffer_room_but_no_dram() -> None:
    layer = ConvLayer(N=1, C=1, H=5, W=5, K=1, R=3, S=3, stride=2, name="s2")
    problem = layer.problem("igrad")
    d = DirectConv.of(problem)
    # the padded error: 2x2 data, dilated by 2 and padded by 2 on each side: 7x7
    assert d.Hx == 7 and d.Wx == 7
    padded = memory.problem_sizes(problem, 4, zero_free=False)
    free = memory.problem_sizes(problem, 4, zero_free=True)
    # two segments a row (columns 0-3 and 4-6): data at columns 2 and 4 of rows 2 and 4
    np.testing.assert_array_equal(padded.gb["ifmap"], np.tile([4, 3], 7))
    np.testing.assert_array_equal(padded.dram["ifmap"],
                                  [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0])  # fmt: skip
    np.testing.assert_array_equal(free.gb["ifmap"], free.dram["ifmap"])
    # the 3x3 filter fits one segment a row; the 5x5 input gradient takes two a row
    np.testing.assert_array_equal(padded.dram["filter"], [3, 3, 3])
    np.testing.assert_array_equal(padded.gb["out"], np.tile([4, 1], 5))


def test_overlapped_cycles() -> None:
    # the first transfer is exposed; later ones hide behind the previous pass's compute
    assert memory.overlapped_cycles(np.array([10, 10]), np.array([5, 3, 20])) == 5 + 10 + 20


def test_a_mapping_that_overflows_a_scratchpad_gives_way_to_the_next() -> None:
    """The estimates build no programs: where the best mapping overflows a scratchpad, the
    layer runs with the next best that fits; other compile errors, or none fitting, stop it."""
    layer = ConvLayer(N=1, C=4, H=8, W=8, K=4, R=3, S=3, padding=1, name="tiny")
    problem, df = layer.problem("fgrad"), get("ecoflow")
    picks = memory.ranked(df, problem, HW["ecoflow"])
    best = memory.choose(df, problem, HW["ecoflow"])
    assert (best.mapping, best.order) == (picks[0].mapping, picks[0].order)
    assert len({p.mapping for p in picks}) > 1
    assert [p.cost for p in picks] == sorted(p.cost for p in picks)

    class Tight(type(df)):
        key, every = "ifmap_capacity", False

        def compile(self, problem, hw, *, mapping=None, **kw):
            if self.every or mapping == picks[0].mapping:
                raise CompileError("tiny", self.key, "must hold 92 words, the scratchpad has 75")
            return super().compile(problem, hw, mapping=mapping, **kw)

    tight = Tight()
    r = simulate(problem, tight, HW["ecoflow"])
    want = next(p.mapping for p in picks if p.mapping != picks[0].mapping)
    assert r.mapping["p"] == want.p and r.mapping["q"] == want.q and r.mapping["e"] == want.e
    tight.key = "psum route"
    with pytest.raises(CompileError, match="psum route"):
        simulate(problem, tight, HW["ecoflow"])
    tight.key, tight.every = "ifmap_capacity", True  # no mapping fits: the last one's error
    with pytest.raises(CompileError, match="ifmap_capacity"):
        simulate(problem, tight, HW["ecoflow"])
