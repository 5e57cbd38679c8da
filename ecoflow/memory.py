"""Memory hierarchy: what the passes of a layer move between DRAM and the global buffer.

Within a pass the simulator models the global buffer cycle by cycle (GIN reads, GON writes,
bank conflicts). This module follows the data *between* passes, in loop-nest order.

Segments. The buffer holds operands in segments of rows, one DRAM burst each
(``hw.segment_words``, 32 words for 64-byte DDR4 bursts): segments of the rows of the padded
input ``(B', C', Hx, Wx)``, of the dilated filter ``(K, Cg, Rw, Sw)`` and of the raw output
``(batch, K, P, Q)``. Every dataflow's plan lists, for each pass, the segments it reads
(``ifmap``, ``filter``, and ``psum``: outputs whose partial sums an earlier stage left) and the
output segments it writes (:class:`~ecoflow.dataflows.base.Footprint`). A segment takes in the
buffer what the dataflow reads: all its words, zeros included, for ``rs`` and ``tpu`` (an
inference accelerator stores the zero-inserted operand), its data words for the zero-free
dataflows. DRAM holds only data: a segment moves its data words, and segments of inserted or
border zeros move nothing (the DMA engine writes the zeros as it fills the buffer).

Management. The buffer is managed by the compiler, which knows the whole pass sequence: a
segment is fetched when a pass needs it and is not resident, and when the segments exceed the
capacity the one whose next use lies furthest ahead is evicted (Belady's MIN, the best any
static schedule can do with one buffer), except that segments of zeros go first (the DMA
engine refills them without touching DRAM). An evicted output segment with a later use is written
to DRAM and read back when needed (a spilled partial sum); every output segment is written once
more at the end or when it is evicted for good. A pass whose own segments exceed the capacity
streams the excess (fetched, used, evicted). When every segment of the layer fits, each data
word crosses DRAM once: the compulsory traffic.

Search. Which passes follow which (the loop order) changes nothing inside the array, only
what the buffer can keep; the mapping parameters change both. :func:`choose` compares the
mappings the dataflow's own search ranks best on estimated cycles, each in every loop order,
and keeps the one with the least estimated energy-delay product, DRAM traffic included.

Time. DRAM transfers are double buffered: the segments pass ``i + 1`` fetches (and what pass ``i``
evicts) move while pass ``i`` computes, so a pass starts after the longer of the previous
pass's compute and its own transfer; the first transfer and the final write-back are exposed.

References:
    L. A. Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
    Systems Journal 5(2), 1966. A. Parashar et al., "Timeloop: A Systematic Approach to DNN
    Accelerator Evaluation", ISPASS 2019 (buffer tiles and compulsory traffic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecoflow.config import EnergyTable, HardwareConfig
from ecoflow.dataflows.base import KINDS, AbstractDataflow, CompositeDataflow, Footprints
from ecoflow.dataflows.common import DirectConv
from ecoflow.energy import prices
from ecoflow.workloads.layer import Axis, Problem

SPACES = ("ifmap", "filter", "out")  # segment id spaces


@dataclass(frozen=True)
class SegmentSizes:
    """Words of each segment in the global buffer and in DRAM, per id space.

    Attributes:
        gb: space -> (segments,) words a segment takes in the buffer.
        dram: space -> (segments,) data words it moves to or from DRAM.
    """

    gb: dict[str, np.ndarray]
    dram: dict[str, np.ndarray]


def _data_mask(axis: Axis) -> np.ndarray:
    """(extent,) True where the padded input holds a data element."""
    j = np.arange(axis.extent) - axis.pad[0]
    return (j >= 0) & (j <= (axis.size - 1) * axis.dilation) & (j % axis.dilation == 0)


def _segments(row_data: np.ndarray, col_data: np.ndarray, seg: int) -> tuple[np.ndarray, ...]:
    """Per segment (row-major ``row * n_seg + j``): padded words and data words."""
    width = len(col_data)
    n_seg = -(-width // seg)
    edges = np.minimum(np.arange(n_seg + 1) * seg, width)
    padded = np.diff(edges)
    data = np.add.reduceat(col_data.astype(np.int64), edges[:-1]) if width else padded
    return np.tile(padded, len(row_data)), np.outer(row_data, data).reshape(-1)


def segment_sizes(
    in_shape: tuple[int, ...],
    filter_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    axes: tuple[Axis, Axis],
    seg: int,
    *,
    zero_free: bool,
) -> SegmentSizes:
    """Buffer and DRAM words of every segment of a problem's padded operands.

    Args:
        in_shape: ``(B', C', Hx, Wx)`` of the padded input.
        filter_shape: ``(K, Cg, Rw, Sw)`` of the dilated filter.
        out_shape: ``(batch, K, P, Q)`` of the raw output.
        axes: the padded problem's (height, width) axes.
        seg: words per segment (:attr:`HardwareConfig.segment_words`).
        zero_free: the dataflow stores only data words (else whole padded segments).
    """
    hz, wz = axes
    b, c, _, _ = in_shape
    k, cg, rw, sw = filter_shape
    spaces = {
        "ifmap": (np.tile(_data_mask(hz), b * c), _data_mask(wz)),
        "filter": (np.tile(np.arange(rw) % hz.tap_dilation == 0, k * cg),
                   np.arange(sw) % wz.tap_dilation == 0),
        "out": (np.ones(math.prod(out_shape[:3]), bool), np.ones(out_shape[3], bool)),
    }  # fmt: skip
    gb, dram = {}, {}
    for space, (rows, cols) in spaces.items():
        padded, data = _segments(rows, cols, seg)
        gb[space], dram[space] = (data if zero_free else padded), data
    return SegmentSizes(gb=gb, dram=dram)


@dataclass(frozen=True)
class Traffic:
    """Data moved between DRAM and the global buffer over a layer phase.

    Attributes:
        dram_read_words: space -> data words read from DRAM (``out``: spilled partial sums
            read back) [words].
        dram_write_words: output words written to DRAM (final outputs and spills) [words].
        fill_words: words written into the buffer by DRAM fills [words].
        drain_words: words read out of the buffer for DRAM writes [words].
        transfer_words: ``(passes + 1,)`` DRAM words moved before each pass (its fetches and
            the previous pass's evictions), the last entry the final write-back [words].
        compulsory_words: each data word of the operands and outputs once [words].
        fits: every segment of the layer fits the buffer at once.
    """

    dram_read_words: dict[str, int]
    dram_write_words: int
    fill_words: int
    drain_words: int
    transfer_words: np.ndarray
    compulsory_words: int
    fits: bool

    @property
    def dram_words(self) -> int:
        """Words read and written [words]."""
        return sum(self.dram_read_words.values()) + self.dram_write_words


def _pass_refs(
    fp: Footprints, offset: dict[str, int], i: int
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """Pass ``i``'s distinct segments as sorted global keys, its inputs and filters first.

    Returns:
        The keys; how many are input and filter segments (all read); of the output segments
        after them, which the pass reads back (partial sums) and which it writes.
    """
    seg, start = fp.segments, fp.start
    part = {kind: seg[kind][start[kind][i] : start[kind][i + 1]].astype(np.int64)
            for kind in KINDS}  # fmt: skip
    psum, out = part["psum"], part["out"]
    if not len(psum):
        outs, reads, writes = out, np.zeros(len(out), bool), np.ones(len(out), bool)
    elif np.array_equal(psum, out):  # a later stage reads back what it writes
        outs, reads, writes = out, np.ones(len(out), bool), np.ones(len(out), bool)
    else:
        outs = np.union1d(psum, out)
        reads, writes = np.isin(outs, psum), np.isin(outs, out)
    keys = np.concatenate([part["ifmap"] + offset["ifmap"], part["filter"] + offset["filter"],
                           outs + offset["out"]])  # fmt: skip
    return keys, len(keys) - len(outs), reads, writes


def _eviction_ranks(dram: np.ndarray, n: int) -> tuple[np.ndarray, int, int]:
    """The order in which resident segments are evicted, as one integer each.

    A segment's rank, ``base[key] + ahead * step``, increases with, in turn: the segment
    holding data (segments of zeros first), ``ahead`` (0 when no later pass uses it, else
    ``n`` minus the next pass that does: the furthest use first), its DRAM words and its key.

    Args:
        dram: (segments,) data words of each segment [words].
        n: passes.

    Returns:
        ``base``, ``step`` and the mask that recovers a key from a rank (``rank & mask``).
    """
    bits = max(1, (len(dram) - 1).bit_length())
    words = int(dram.max(initial=0)) + 1
    if (2 * (n + 1) * words) << bits >= 2**63:
        raise OverflowError(f"{n} passes over {len(dram)} segments: eviction ranks overflow")
    base = (((dram > 0) * (n + 1) * words + dram) << bits) | np.arange(len(dram))
    return base, words << bits, (1 << bits) - 1


def traffic(fp: Footprints, sizes: SegmentSizes, hw: HardwareConfig) -> Traffic:
    """DRAM and fill traffic of a pass sequence under the compiler-managed buffer."""
    capacity = hw.global_buffer.size_kib * 1024 * 8 // hw.word_bits
    offset, base = {}, 0
    for space in SPACES:
        offset[space] = base
        base += len(sizes.gb[space])
    gb = np.concatenate([sizes.gb[s] for s in SPACES]).astype(np.int64)
    dram = np.concatenate([sizes.dram[s] for s in SPACES]).astype(np.int64)
    space_of = np.concatenate([np.full(len(sizes.gb[s]), i) for i, s in enumerate(SPACES)])
    n = len(fp)
    read = np.zeros(len(SPACES), np.int64)
    transfer = np.zeros(n + 1, np.int64)
    operands = [fp.distinct(s) + offset[s] for s in ("ifmap", "filter")]
    outs = np.union1d(fp.distinct("psum"), fp.distinct("out")) + offset["out"]
    distinct = np.concatenate([*operands, outs])
    compulsory = int(dram[distinct].sum())
    if int(gb[distinct].sum()) <= capacity:
        # everything stays: each input and filter segment is fetched by the first pass that
        # reads it, each output segment written back once at the end
        for j, space in enumerate(("ifmap", "filter")):
            first = np.full(len(sizes.gb[space]), n)
            np.minimum.at(first, fp.segments[space],
                          np.repeat(np.arange(n), np.diff(fp.start[space])))  # fmt: skip
            np.add.at(transfer, first[fp.distinct(space)], dram[operands[j]])
            read[SPACES.index(space)] = dram[operands[j]].sum()
        out_rows = fp.distinct("out") + offset["out"]
        dram_write = int(dram[out_rows].sum())
        transfer[n] += dram_write
        return Traffic(
            dram_read_words=dict(zip(SPACES, read.tolist(), strict=True)),
            dram_write_words=dram_write, fill_words=int(gb[np.concatenate(operands)].sum()),
            drain_words=int(gb[out_rows].sum()), transfer_words=transfer,
            compulsory_words=compulsory, fits=True,
        )  # fmt: skip
    # each pass's segments ranked by their next use (see _eviction_ranks), ascending; a
    # reverse scan keeps, per pass and segment, only how far ahead the next use is (the keys
    # and ranks are rebuilt pass by pass below, which keeps large layers in memory)
    base, step, mask = _eviction_ranks(dram, n)
    ahead = np.zeros(len(gb), np.int64)
    nxt = np.dtype(np.int32 if n < 2**31 else np.int64)
    aheads: list[np.ndarray] = [np.zeros(0, nxt)] * n
    for i in range(n - 1, -1, -1):
        keys = _pass_refs(fp, offset, i)[0]
        aheads[i] = ahead[keys].astype(nxt)
        ahead[keys] = n - i
    del ahead
    # per segment: resident, its rank, whether the buffer holds its only up-to-date copy, and
    # (outputs) whether its latest value was written back; ``held``: the resident segments'
    # ranks, ascending (the eviction order)
    resident = np.zeros(len(gb), bool)
    rank_of = np.zeros(len(gb), np.int64)
    dirty = np.zeros(len(gb), bool)
    on_dram = np.zeros(len(gb), bool)
    held = np.zeros(0, np.int64)
    used = fill = drain = dram_write = 0
    for i in range(n):
        keys, n_in, psum, writes = _pass_refs(fp, offset, i)
        rank = np.sort(base[keys] + aheads[i].astype(np.int64) * step)
        aheads[i] = aheads[i][:0]  # done with it
        miss = ~resident[keys]
        out_keys = keys[n_in:]
        fk = np.concatenate([keys[:n_in][miss[:n_in]],
                             out_keys[miss[n_in:] & psum & on_dram[out_keys]]])  # fmt: skip
        moved = dram[fk]
        np.add.at(read, space_of[fk], moved)
        transfer[i] += int(moved.sum())
        fill += int(gb[fk].sum())
        new = keys[miss]
        used += int(gb[new].sum())
        resident[new] = True
        rank_of[rank & mask] = rank
        held = held[rank_of[held & mask] == held]  # the segments this pass uses, ranked anew
        held = np.sort(np.concatenate([held, rank]), kind="stable")
        dirty[out_keys[writes]] = True
        on_dram[out_keys[writes]] = False
        if used > capacity:
            # evict the first in rank order until the rest fit (looking at as few as needed)
            size = min(len(held), 2 * len(keys) + 1)
            while True:
                far = held[:size] & mask
                cum = np.cumsum(gb[far])
                if cum[-1] >= used - capacity or size == len(held):
                    break
                size = min(len(held), 4 * size)
            cut = int(np.searchsorted(cum, used - capacity)) + 1
            ev, held = far[:cut], held[cut:]
            out = ev[dirty[ev]]
            moved = int(dram[out].sum())
            dram_write += moved
            drain += int(gb[out].sum())
            transfer[i + 1] += moved
            on_dram[out] = True
            dirty[out] = False
            used -= int(gb[ev].sum())
            resident[ev] = False
    last = held & mask
    last = last[dirty[last]]
    dram_write += int(dram[last].sum())
    drain += int(gb[last].sum())
    transfer[n] += int(dram[last].sum())
    return Traffic(
        dram_read_words=dict(zip(SPACES, read.tolist(), strict=True)),
        dram_write_words=dram_write, fill_words=fill, drain_words=drain,
        transfer_words=transfer, compulsory_words=compulsory, fits=False,
    )  # fmt: skip


def problem_sizes(problem: Problem, seg: int, zero_free: bool) -> SegmentSizes:
    """Segment sizes of a problem's padded operands (:func:`segment_sizes`)."""
    d = DirectConv.of(problem)
    return segment_sizes(d.in_shape, d.filter_shape, d.out_shape, problem.padded.axes, seg,
                     zero_free=zero_free)  # fmt: skip


def transfer_energy_pj(t: Traffic, hw: HardwareConfig, table: EnergyTable | None) -> float:
    """Energy of the DRAM traffic and of the buffer accesses it causes [pJ].

    Without a table, one per DRAM word (the order that moves fewest words wins).
    """
    if table is None:
        return float(t.dram_words)
    e = prices(table, hw.technology_scale)
    word_bytes = hw.word_bits / 8
    return (sum(t.dram_read_words.values()) * word_bytes * e["dram"]["read"]
            + t.dram_write_words * word_bytes * e["dram"]["write"]
            + t.fill_words * e["gbuf"]["write"] + t.drain_words * e["gbuf"]["read"])  # fmt: skip


@dataclass(frozen=True)
class Choice:
    """The mapping and loop order a layer phase runs with, and why.

    Attributes:
        mapping: the dataflow's mapping (``None``: the dataflow has no parameters).
        order: the loop order.
        traffic: its DRAM traffic.
        energy_pj: the estimated energy that chose it: network words through the buffer and
            over one hop each, plus the DRAM traffic and the buffer accesses it causes [pJ].
        cycles: the dataflow's estimate of its cycles (``None`` where it has none) [cycles].
    """

    mapping: object
    order: str
    traffic: Traffic
    energy_pj: float
    cycles: int | None

    @property
    def cost(self) -> float:
        """What the search minimises: the energy-delay product (energy alone without cycles)."""
        return self.energy_pj * (self.cycles or 1)


def choose(
    dataflow: AbstractDataflow,
    problem: Problem,
    hw: HardwareConfig,
    table: EnergyTable | None = None,
) -> Choice:
    """The mapping and loop order with the least estimated energy-delay product.

    The candidates are the mappings the dataflow's own search ranks best on estimated cycles
    (:meth:`~ecoflow.dataflows.base.AbstractDataflow.candidates`), each in every loop order it
    offers. What differs between them is the words the networks and the buffer move (the MACs
    and their scratchpad accesses are the same), the DRAM traffic, measured here on the passes'
    footprints, and the cycles. The product of energy and cycles is minimised rather than the
    energy alone: the energy table has no static power (clock tree, leakage: a third of the
    Eyeriss chip's, §5.3), so energy alone would buy any slowdown with a little less traffic.
    Without a table, DRAM words stand for the energy. Ties go to the earlier candidate and
    order.
    """
    return ranked(dataflow, problem, hw, table)[0]


def ranked(
    dataflow: AbstractDataflow,
    problem: Problem,
    hw: HardwareConfig,
    table: EnergyTable | None = None,
) -> list[Choice]:
    """Every candidate mapping in every loop order, best (least energy-delay) first.

    :func:`choose` takes the first. The estimates do not build programs, so a candidate may
    still fail to compile (a scratchpad it overflows); the next one is then the choice. A
    composite dataflow has one entry: its parts' own choices.
    """
    sizes = problem_sizes(problem, hw.segment_words, dataflow.zero_free(problem))
    parts = dataflow.parts(problem, hw) if isinstance(dataflow, CompositeDataflow) else None
    if parts is not None:
        return [_choose_parts(dataflow, problem, hw, table, parts, sizes)]
    on_chip = 0.0
    if table is not None:
        e = prices(table, hw.technology_scale)
        on_chip = e["gbuf"]["read"] + e["noc"]["hop"]
    picks: list[Choice] = []
    for mapping in dataflow.candidates(problem, hw):
        est = dataflow.estimate(problem, hw, mapping)
        cycles, words = (None, 0) if est is None else est
        for order in dataflow.orders(problem, hw, mapping):
            t = traffic(dataflow.footprints(problem, hw, order, mapping), sizes, hw)
            pj = words * on_chip + transfer_energy_pj(t, hw, table)
            picks.append(Choice(mapping, order, t, pj, cycles))
    assert picks
    return sorted(picks, key=lambda c: c.cost)  # stable: ties go to the earlier candidate


def _choose_parts(
    dataflow: CompositeDataflow,
    problem: Problem,
    hw: HardwareConfig,
    table: EnergyTable | None,
    parts: list,
    sizes: SegmentSizes,
) -> Choice:
    """A composite dataflow's choice: each part's own, the traffic of all parts together.

    The energy is the parts' network words plus the DRAM traffic of the whole sequence (parts
    share operands in the buffer); the cycles are the parts' sum.
    """
    picks = [choose(df, p, hw, table) for df, p in parts]
    mapping = tuple((c.mapping, c.order) for c in picks)
    t = traffic(dataflow.footprints(problem, hw, None, mapping), sizes, hw)
    words = sum(c.energy_pj - transfer_energy_pj(c.traffic, hw, table) for c in picks)
    cycles = None if any(c.cycles is None for c in picks) else sum(c.cycles for c in picks)
    return Choice(mapping, "default", t, words + transfer_energy_pj(t, hw, table), cycles)


def no_reuse_words(fp: Footprints, sizes: SegmentSizes) -> int:
    """DRAM words when nothing is kept between passes [words].

    Every pass fetches its segments and writes its outputs: an upper bound on :func:`traffic`.
    """
    total = 0
    for kind, space in (("ifmap", "ifmap"), ("filter", "filter"), ("psum", "out"),
                        ("out", "out")):  # fmt: skip
        total += int(sizes.dram[space][fp.segments[kind]].sum())
    return total


def bytes_per_cycle(hw: HardwareConfig) -> float:
    """DRAM bytes per accelerator clock cycle [B/cycle]."""
    return hw.dram.bandwidth_gb_per_s * 1e9 / (hw.clock_mhz * 1e6)


def transfer_cycles(words: np.ndarray, hw: HardwareConfig) -> np.ndarray:
    """Cycles of each DRAM transfer: latency plus bytes at the bandwidth (0 for none)."""
    latency = math.ceil(hw.dram.latency_ns * hw.clock_mhz / 1e3)
    moved = np.asarray(words, np.float64) * hw.word_bits / 8
    return np.where(moved > 0, latency + np.ceil(moved / bytes_per_cycle(hw)), 0).astype(np.int64)


def overlapped_cycles(compute: np.ndarray, transfers: np.ndarray) -> int:
    """Layer cycles with double-buffered DRAM: ``t_0 + sum_i max(c_i, t_(i+1))``.

    Args:
        compute: ``(passes,)`` compute cycles of each pass in loop-nest order.
        transfers: ``(passes + 1,)`` transfer cycles before each pass and after the last.
    """
    compute = np.asarray(compute, np.int64)
    return int(transfers[0] + np.maximum(compute, transfers[1:]).sum())
