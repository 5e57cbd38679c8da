"""Memory hierarchy: what the passes of a layer move between DRAM and the global buffer.

Within a pass the simulator models the global buffer cycle by cycle (GIN reads, GON writes,
bank conflicts). This module follows the data *between* passes, in loop-nest order.

Rows. The buffer holds operands in rows, the unit its DMA engine moves: a row of the padded
input ``(B', C', Hx)``, of the dilated filter ``(K, Cg, Rw)`` and of the raw output ``(batch,
K, P)``. Every dataflow's plan lists, for each pass, the rows it reads (``ifmap``, ``filter``,
and ``psum``: output rows whose partial sums an earlier stage left) and the output rows it
writes (:class:`Footprint`). A row's size in the buffer is what the dataflow reads: the padded
row (``Wx`` words, zeros included: an inference accelerator stores the zero-inserted operand)
for ``rs`` and ``tpu``, its data words for the zero-free dataflows. DRAM holds only data: a
row moves its data words (``W`` of an input row, ``S`` of a filter row, ``Q`` of an output
row); rows of inserted or border zeros move nothing (the DMA engine writes the zeros as it
fills the buffer).

Management. The buffer is managed by the compiler, which knows the whole pass sequence: a row
is fetched when a pass needs it and is not resident, and when the rows exceed the capacity the
row whose next use lies furthest ahead is evicted (Belady's MIN, the best any static schedule
can do with one buffer). An evicted output row with a later use is written to DRAM and read
back when needed (a spilled partial sum); every output row is written once more at the end or
when it is evicted for good. A pass whose own rows exceed the capacity streams the excess
(fetched, used, evicted). When every row of the layer fits, each data word crosses DRAM once:
the compulsory traffic.

Time. DRAM transfers are double buffered: the rows pass ``i + 1`` fetches (and what pass ``i``
evicts) move while pass ``i`` computes, so a pass starts after the longer of the previous
pass's compute and its own transfer; the first transfer and the final write-back are exposed.

References:
    L. A. Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
    Systems Journal 5(2), 1966. A. Parashar et al., "Timeloop: A Systematic Approach to DNN
    Accelerator Evaluation", ISPASS 2019 (buffer tiles and compulsory traffic).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import Footprints
from ecoflow.workloads.layer import Axis

SPACES = ("ifmap", "filter", "out")  # row id spaces


@dataclass(frozen=True)
class RowSizes:
    """Words of each row in the global buffer and in DRAM, per row id space.

    Attributes:
        gb: space -> (rows,) words a row takes in the buffer.
        dram: space -> (rows,) data words it moves to or from DRAM.
    """

    gb: dict[str, np.ndarray]
    dram: dict[str, np.ndarray]


def _data_mask(axis: Axis) -> np.ndarray:
    """(extent,) True where the padded input holds a data element."""
    j = np.arange(axis.extent) - axis.pad[0]
    return (j >= 0) & (j <= (axis.size - 1) * axis.dilation) & (j % axis.dilation == 0)


def row_sizes(
    in_shape: tuple[int, ...],
    filter_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    axes: tuple[Axis, Axis],
    *,
    zero_free: bool,
) -> RowSizes:
    """Buffer and DRAM words of every row of a problem's padded operands.

    Args:
        in_shape: ``(B', C', Hx, Wx)`` of the padded input.
        filter_shape: ``(K, Cg, Rw, Sw)`` of the dilated filter.
        out_shape: ``(batch, K, P, Q)`` of the raw output.
        axes: the padded problem's (height, width) axes.
        zero_free: the dataflow stores only data words (else whole padded rows).
    """
    hz, wz = axes
    b, c, hx, wx = in_shape
    k, cg, rw, sw = filter_shape
    data_h = _data_mask(hz)
    w_data = int(_data_mask(wz).sum())
    tap_h = np.arange(rw) % hz.tap_dilation == 0
    n_if, n_f = b * c * hx, k * cg * rw
    if_dram = np.tile(np.where(data_h, w_data, 0), b * c)
    f_dram = np.tile(np.where(tap_h, wz.taps, 0), k * cg)
    out_rows = math.prod(out_shape[:3])
    q = out_shape[3]
    return RowSizes(
        gb={
            "ifmap": if_dram if zero_free else np.full(n_if, wx),
            "filter": f_dram if zero_free else np.full(n_f, sw),
            "out": np.full(out_rows, q),
        },
        dram={"ifmap": if_dram, "filter": f_dram, "out": np.full(out_rows, q)},
    )


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
        fits: every row of the layer fits the buffer at once.
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


def _refs(fp: Footprints, offset: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row reference in pass order: (pass, global key, is_write), reads before writes."""
    passes, keys, writes = [], [], []
    n = len(fp)
    for kind, space, is_write in (("ifmap", "ifmap", False), ("filter", "filter", False),
                                  ("psum", "out", False), ("out", "out", True)):  # fmt: skip
        counts = np.diff(fp.start[kind])
        passes.append(np.repeat(np.arange(n), counts))
        keys.append(fp.rows[kind] + offset[space])
        writes.append(np.full(len(fp.rows[kind]), is_write))
    p, k, w = (np.concatenate(x) for x in (passes, keys, writes))
    order = np.lexsort((w, p))  # stable: reads of a pass before its writes
    return p[order], k[order], w[order]


def _next_use(p: np.ndarray, k: np.ndarray) -> np.ndarray:
    """For each reference, the pass of the next reference to the same row (``inf``: none)."""
    order = np.lexsort((p, k))
    nxt = np.full(len(p), np.inf)
    same = k[order][1:] == k[order][:-1]
    nxt[order[:-1][same]] = p[order][1:][same]
    return nxt


def traffic(fp: Footprints, sizes: RowSizes, hw: HardwareConfig) -> Traffic:
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
    p, k, w = _refs(fp, offset)
    read = np.zeros(len(SPACES), np.int64)
    transfer = np.zeros(n + 1, np.int64)
    distinct = np.unique(k)
    written = np.zeros(len(gb), bool)
    written[k[w]] = True
    compulsory = int(dram[distinct].sum())
    fits = int(gb[distinct].sum()) <= capacity
    if fits:  # every row stays: the first reference of a row fetches it (unless it writes it)
        first = np.zeros(len(k), bool)
        first[np.unique(k, return_index=True)[1]] = True
        fetch = first & ~w
        np.add.at(read, space_of[k[fetch]], dram[k[fetch]])
        np.add.at(transfer, p[fetch], dram[k[fetch]])
        fill = int(gb[k[fetch]].sum())
        out_rows = np.nonzero(written)[0]
        dram_write = int(dram[out_rows].sum())
        transfer[n] += dram_write
        return Traffic(
            dram_read_words=dict(zip(SPACES, read.tolist(), strict=True)),
            dram_write_words=dram_write, fill_words=fill,
            drain_words=int(gb[out_rows].sum()), transfer_words=transfer,
            compulsory_words=compulsory, fits=True,
        )  # fmt: skip
    nxt = _next_use(p, k)
    resident: dict[int, float] = {}
    dirty: set[int] = set()
    on_dram: set[int] = set()  # output rows whose latest value was written back
    heap: list[tuple[float, int]] = []
    used = fill = drain = dram_write = 0
    bounds = np.searchsorted(p, np.arange(n + 1))
    kl, wl, nl = k.tolist(), w.tolist(), nxt.tolist()
    gbl, dl, sl = gb.tolist(), dram.tolist(), space_of.tolist()
    for i in range(n):
        for j in range(bounds[i], bounds[i + 1]):
            key, nu = kl[j], nl[j]
            if key not in resident:
                used += gbl[key]
                if not wl[j] and (sl[key] != 2 or key in on_dram):
                    read[sl[key]] += dl[key]
                    transfer[i] += dl[key]
                    fill += gbl[key]
            resident[key] = nu
            heapq.heappush(heap, (-nu, key))
            if wl[j]:
                dirty.add(key)
                on_dram.discard(key)
        while used > capacity and heap:
            neg, key = heapq.heappop(heap)
            if resident.get(key) != -neg:
                continue  # stale entry
            del resident[key]
            used -= gbl[key]
            if key in dirty:
                dirty.discard(key)
                on_dram.add(key)
                dram_write += dl[key]
                drain += gbl[key]
                transfer[i + 1] += dl[key]
    for key in dirty:
        dram_write += dl[key]
        drain += gbl[key]
        transfer[n] += dl[key]
    return Traffic(
        dram_read_words=dict(zip(SPACES, read.tolist(), strict=True)),
        dram_write_words=dram_write, fill_words=fill, drain_words=drain,
        transfer_words=transfer, compulsory_words=compulsory, fits=False,
    )  # fmt: skip


def no_reuse_words(fp: Footprints, sizes: RowSizes) -> int:
    """DRAM words when nothing is kept between passes [words].

    Every pass fetches its rows and writes its outputs: an upper bound on :func:`traffic`.
    """
    total = 0
    for kind, space in (("ifmap", "ifmap"), ("filter", "filter"), ("psum", "out"),
                        ("out", "out")):  # fmt: skip
        total += int(sizes.dram[space][fp.rows[kind]].sum())
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
