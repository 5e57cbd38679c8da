"""Building blocks of the zero-free (EcoFlow) dataflows: useful products, PE programs, multicast.

The EcoFlow dataflows schedule only the products of two data elements of a phase's padded
problem (never a padding or inserted zero). A mapping says which PE performs which product and
when (a *tick* of the common progress of the array, identical for every PE at the same point of
the loop nest); this module turns that into a :class:`~ecoflow.dataflows.base.PassSpec`:

* :func:`useful_pairs`: along one axis, the (output, tap) pairs whose input element is data;
* :func:`pe_programs`: per PE, the MACs in tick order, plus the ``add`` of every partial sum
  that arrives from the PE below (a label computed by several PEs of one column is accumulated
  bottom to top, §4.1.2 and §4.2.2 "expansion"), the psum register of each label (checked
  against the psum scratchpad), and per operation whether the result goes up or to the GON;
* :func:`multicast`: the GIN words of one operand with the (row, column) tags and the IDs each
  X-bus and PE must hold (§4.4, Fig. 8), one word per element per *round* and receiver group.

A label is an element of the raw output (``DirectConv.out_id``).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from ecoflow.arrays import unique, unique_first, unique_first_counts, unique_rows
from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import CompileError, Ids, PeOps, Stream
from ecoflow.dataflows.common import PlannedDataflow, ceil_div, ideal
from ecoflow.workloads.layer import Axis, Problem


def useful_pairs(axis: Axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (output, tap) pair of one axis whose input element is data (not padding).

    Returns:
        ``(out, tap, coord)``: the output index, the data-tap index (the filter position is
        ``tap * tap_dilation``) and the coordinate in the padded input (``out * stride +
        tap * tap_dilation``), sorted by output then tap.
    """
    o = np.arange(axis.out)[:, None]
    k = np.arange(axis.taps)[None, :]
    coord = o * axis.stride + k * axis.tap_dilation
    j = coord - axis.pad[0]
    ok = (j >= 0) & (j <= (axis.size - 1) * axis.dilation) & (j % axis.dilation == 0)
    oo, kk = np.nonzero(ok)
    return oo, kk, coord[oo, kk]


@dataclass
class Work:
    """The products one PE performs, in issue order (arrays of one length).

    Attributes:
        ifmap: ifmap-operand element of each product.
        filter: filter-operand element.
        label: raw-output element it accumulates into.
        tick: common progress of the array when it is due (non-decreasing).
        iround, fround: round of the ifmap and filter words: a PE receives an element once per
            round and holds it until its last use in that round.
        iaud, faud: optional audience keys of the ifmap and filter words (see
            :func:`multicast`).
    """

    ifmap: np.ndarray
    filter: np.ndarray
    label: np.ndarray
    tick: np.ndarray
    iround: np.ndarray
    fround: np.ndarray
    iaud: np.ndarray | None = None
    faud: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.label)


@dataclass
class Programs:
    """Per-PE operations and send destinations of one pass, and what they need.

    Attributes:
        ops: per PE (row-major) operations.
        up: per PE, per operation, the send goes to the PE above.
        registers: the most psum registers any PE holds at once.
        adds: psums accumulated from the PE below, over the array.
    """

    ops: list[PeOps]
    up: list[np.ndarray]
    registers: int
    adds: int


def _registers(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, int]:
    """Greedy interval colouring: a register per label, live from ``first`` to ``last``."""
    order = np.argsort(first, kind="stable")
    reg = np.zeros(len(first), np.int64)
    free: list[int] = []
    busy: list[tuple[int, int]] = []  # (last, register)
    n = 0
    for i in order:
        while busy and busy[0][0] < first[i]:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            r = heapq.heappop(free)
        else:
            r, n = n, n + 1
        reg[i] = r
        heapq.heappush(busy, (int(last[i]), r))
    return reg, n


def pe_programs(
    rows: int,
    cols: int,
    work: dict[int, Work],
    hw: HardwareConfig,
    layer: str,
    from_gin: dict[int, np.ndarray] | None = None,
) -> Programs:
    """Operations of every PE: its MACs in order and the adds of psums from below.

    A label computed by several PEs must stay in one column; the lowest
    sends its partial sum up when its last product retires, every PE above adds it after its own
    last product of the label (in arrival order) and the top one sends the total to the GON.
    ``from_gin`` gives, per PE at the bottom of its labels, the labels whose partial sums of an
    earlier pass return from the global buffer (psum GIN), in delivery order; the PE adds them
    in bursts of its psum-in queue spread over the pass (the i-th of every PE is due no later
    than the (i+1)-th of any, the order the stream should send them in).

    Raises:
        CompileError: a label spans columns, or a PE needs more psum registers than its
            scratchpad holds.
    """
    pes = rows * cols
    lab = [work[p].label if p in work else np.zeros(0, np.int64) for p in range(pes)]
    for p, x in (from_gin or {}).items():
        lab[p] = np.concatenate([lab[p], np.asarray(x, np.int64)])
    all_l = np.concatenate(lab) if lab else np.zeros(0, np.int64)
    all_p = np.concatenate([np.full(len(x), p) for p, x in enumerate(lab)])
    key = unique(all_l * pes + all_p)  # (label, PE) pairs, by label then PE
    pair = np.stack([key // pes, key % pes])
    labels, start, count = unique_first_counts(pair[0])
    top_pe = pair[1][start]  # lowest PE index = topmost row of the label
    bottom_pe = pair[1][start + count - 1]
    # PEs between the top and the bottom of a label without products of it relay its psum
    if np.any((bottom_pe - top_pe) % cols):
        raise CompileError(layer, "psum route", "a label spans PEs of several columns")
    latency = hw.pe.multiplier_stages + hw.pe.adder_stages + hw.noc.local.hop_latency_cycles
    ops: list[PeOps] = [PeOps.empty() for _ in range(pes)]
    up: list[np.ndarray] = [np.zeros(0, bool) for _ in range(pes)]
    # psums each PE sends up: (labels, nominal send time) in send order
    sent: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    most, adds = 0, 0
    # partial sums returning through the psum GIN: their bursts and the ticks they span
    span = max((int(w.tick.max()) + 1 for w in work.values() if len(w)), default=0)
    burst = hw.pe.queue_entries
    bursts = ceil_div(max((len(x) for x in (from_gin or {}).values()), default=0), burst)
    for p in sorted(range(pes), key=lambda q: (-(q // cols), q % cols)):
        w = work.get(p)
        below = sent.get(p + cols, (np.zeros(0, np.int64), np.zeros(0, np.int64)))
        if from_gin is not None and p in from_gin:
            if len(below[0]):
                raise CompileError(layer, "psum route", f"PE {divmod(p, cols)} takes psums "
                                   "from both the GIN and below")  # fmt: skip
            below = (np.asarray(from_gin[p], np.int64), np.zeros(len(from_gin[p]), np.int64))
        if (w is None or len(w) == 0) and len(below[0]) == 0:
            continue
        if w is None:
            w = Work(*(np.zeros(0, np.int64) for _ in range(6)))
        n_mac = len(w)
        in_lab, in_time = below
        # where each add goes: after the PE's own last product of the label and the arrival
        rev_l, rev_i = unique_first(w.label[::-1])
        last_local = n_mac - 1 - rev_i
        pos = np.searchsorted(rev_l, in_lab)
        pos = np.minimum(pos, max(len(rev_l) - 1, 0))
        if from_gin is not None and p in from_gin:
            # partial sums of an earlier pass are added while the PE computes, in bursts of a
            # psum-in queue: burst b of every PE at the same tick, (b + 1) / (bursts + 1) of
            # the pass, so the psum GIN refills the queues beside the MACs instead of making
            # every PE wait for all of them before its first product
            due = (np.arange(len(in_lab)) // burst + 1) * span // (bursts + 1)
            want = np.searchsorted(w.tick, due)
        else:
            # a psum from below is added after the PE's own last product of its label
            after = np.zeros(len(in_lab), np.int64)
            if len(rev_l):
                after = np.where(rev_l[pos] == in_lab, last_local[pos] + 1, 0)
            want = np.maximum(after, in_time + latency)
            want = np.maximum.accumulate(want) if len(want) else want  # FIFO: arrival order
        at = np.minimum(want, n_mac)
        is_mac = np.insert(np.ones(n_mac, bool), at, False)
        label = np.insert(w.label, at, in_lab)
        ifm = np.insert(w.ifmap, at, 0)
        fil = np.insert(w.filter, at, 0)
        n = len(label)
        idx = np.arange(n)
        uniq, first_i = unique_first(label)
        _, rev = unique_first(label[::-1])
        last_i = n - 1 - rev
        first = np.zeros(n, bool)
        first[first_i] = True
        send = np.zeros(n, bool)
        send[last_i] = True
        k = np.searchsorted(labels, uniq)
        goes_up = top_pe[k] != p  # the label continues in the PE above
        to_up = np.zeros(n, bool)
        to_up[last_i[goes_up]] = True
        reg_of, need = _registers(first_i, last_i)
        if need > hw.pe.psum_spad_entries:
            raise CompileError(layer, "psum_capacity", f"PE {divmod(p, cols)} holds {need} "
                               f"psums, the scratchpad has {hw.pe.psum_spad_entries}")  # fmt: skip
        most = max(most, need)
        adds += int((~is_mac).sum())
        reg = reg_of[np.searchsorted(uniq, label)]
        ops[p] = PeOps(is_mac, ifm, fil, reg, first, send, np.zeros(n, bool), label)
        up[p] = to_up
        order = np.argsort(last_i[goes_up], kind="stable")
        sent[p] = (uniq[goes_up][order], idx[last_i[goes_up]][order])
    return Programs(ops, up, most, adds)


@dataclass
class Multicast:
    """The GIN words of one operand in one pass and the IDs that route them.

    Attributes:
        stream: the words (tags and element ids), in delivery order.
        ids: the row IDs of each X-bus and column IDs of each PE.
        row_tags, col_tags: distinct row and column tags used.
    """

    stream: Stream
    ids: Ids
    row_tags: int
    col_tags: int


def multicast(
    rows: int,
    cols: int,
    pe: np.ndarray,
    elem: np.ndarray,
    rnd: np.ndarray,
    tick: np.ndarray,
    base: int = 0,
    audience: np.ndarray | None = None,
    members: dict[int, np.ndarray] | None = None,
    limits: tuple[int, int] = (1, 1),
) -> Multicast:
    """One word per (element, round, receiving rectangle), tagged so that only its users get it.

    The PEs that use an element in a round form its receiver group; the group is split into
    rectangles (rows with the same column set). A rectangle's row tag names its row set and its
    column tag its column set: an X-bus holds the row tag of every rectangle that covers its
    row, a PE the column tag of every rectangle that covers it, which delivers each word to
    exactly its rectangle. Where the IDs that takes fit ``limits``, groups that are no rectangle
    get one word each instead: a column tag that only their PEs hold, and a row tag for their
    rows or, failing that, one row tag on every X-bus (a word that travels on every X-bus
    and is taken only by its PEs). Words go in order of first use (``tick``).

    Args:
        rows: PE rows.
        cols: PE columns.
        pe: per use, the PE index.
        elem: per use, the element.
        rnd: per use, the round.
        tick: per use, when it is due.
        base: global-buffer address of the first word.
        audience: per use, a key of ``members``: the word then goes to every PE of the keys of
            its uses (a broadcast to a fixed group; PEs drop the words they do not use), which
            needs fewer IDs than exact receiver groups.
        members: key -> PE indices.
        limits: row IDs per X-bus and column IDs per PE the controllers hold (one word per
            group may use up to these, or what the rectangles use if that is more).
    """
    if len(pe) == 0:
        return Multicast(Stream.empty(), Ids.none(rows, cols), 0, 0)
    # uses by (round, element, PE), as one int64 code where it fits (a sort several times
    # faster than a lexsort of the three); the order of equal uses does not matter
    rnd, elem, pe = (np.asarray(x, np.int64) for x in (rnd, elem, pe))
    r0, e0 = int(rnd.min()), int(elem.min())
    n_elem, n_pe = int(elem.max()) - e0 + 1, rows * cols
    fits = (int(rnd.max()) - r0 + 1) * n_elem * n_pe < 1 << 62
    if fits and int(pe.min()) >= 0 and int(pe.max()) < n_pe:
        code = ((rnd - r0) * n_elem + (elem - e0)) * n_pe + pe
        order = np.argsort(code)
        code = code[order]
        ge = code // n_pe  # (round, element) code
        p = code - ge * n_pe
        new = np.ones(len(ge), bool)
        new[1:] = ge[1:] != ge[:-1]
        starts = np.nonzero(new)[0]
        first_elem = ge[starts] % n_elem + e0
    else:
        order = np.lexsort((pe, elem, rnd))
        k, p = np.stack([rnd, elem])[:, order], pe[order]
        new = np.ones(len(p), bool)
        new[1:] = np.any(k[:, 1:] != k[:, :-1], axis=0)
        starts = np.nonzero(new)[0]
        first_elem = k[1, starts]
    t = tick[order]
    t_min = np.minimum.reduceat(t, starts)
    # receiver group of each (round, element) as a bitmask over PEs
    n_words = (rows * cols + 63) // 64
    one = np.uint64(1)
    fixed = audience is not None and members is not None
    group = np.cumsum(new) - 1  # per use, its (round, element)
    if not fixed:
        # uses are sorted by PE within a group: one bit per (group, PE) pair
        pair = new.copy()
        pair[1:] |= p[1:] != p[:-1]
        at = np.nonzero(pair)[0]
        pp = p[at]
        masks = np.zeros(len(starts) * n_words, np.uint64)
        np.bitwise_or.at(masks, group[at] * n_words + pp // 64,
                         np.left_shift(one, (pp % 64).astype(np.uint64)))  # fmt: skip
        masks = masks.reshape(len(starts), n_words)
    else:
        keys = sorted(members)
        key_bits = np.zeros((len(keys), n_words), np.uint64)
        for i, key in enumerate(keys):
            for m in np.asarray(members[key]):
                key_bits[i, m // 64] |= np.left_shift(one, np.uint64(m % 64))
        kidx = np.searchsorted(keys, np.asarray(audience)[order])
        code = unique(group * len(keys) + kidx)  # distinct (group, key) pairs, by group
        g_of = code // len(keys)
        masks = np.bitwise_or.reduceat(
            key_bits[code % len(keys)], np.searchsorted(g_of, np.arange(len(starts))), axis=0
        )
    groups, group_of = unique_rows(masks)
    group_of = group_of.reshape(-1)
    member_bits = np.unpackbits(groups.astype("<u8").view(np.uint8), axis=1, bitorder="little")
    member_lists = [np.nonzero(b)[0].tolist() for b in member_bits]
    rects, bus_ids, pe_ids, row_tag, col_tag = _tag(member_lists, rows, cols, merge=None)
    if any(len(r) > 1 for r in rects):
        have = _most_ids(bus_ids, pe_ids)
        for rows_tag in ("exact", "all"):
            merged = _tag(member_lists, rows, cols, merge=rows_tag)
            need = _most_ids(merged[1], merged[2])
            if all(n <= max(h, lim) for n, h, lim in zip(need, have, limits, strict=True)):
                rects, bus_ids, pe_ids, row_tag, col_tag = merged
                break
    # the words of each (round, element): its group's rectangles, in the group's order
    per_group = np.array([len(r) for r in rects])
    first_rect = np.cumsum(per_group) - per_group
    flat = np.array([tag for r in rects for tag in r], np.int64).reshape(-1, 2)
    n_rect = per_group[group_of]
    word_group = np.repeat(np.arange(len(starts)), n_rect)
    within = np.arange(int(n_rect.sum())) - np.repeat(np.cumsum(n_rect) - n_rect, n_rect)
    rt, ct = flat[first_rect[group_of][word_group] + within].T
    el = first_elem[word_group]
    when = t_min[word_group]
    order = np.lexsort((ct, rt, el, when))
    stream = Stream(
        elem=el[order].astype(np.int64),
        row=rt[order],
        col=ct[order],
        addr=base + np.arange(len(order), dtype=np.int64),
    )
    ids = Ids(
        [sorted(b) for b in bus_ids],
        [[sorted(pe_ids[r][c]) for c in range(cols)] for r in range(rows)],
    )
    return Multicast(stream, ids, len(row_tag), len(col_tag))


def _tag(groups: list[list[int]], rows: int, cols: int, merge: str | None) -> tuple:
    """Row and column tags of each receiver group, and the IDs every X-bus and PE then holds.

    Each group is cut into rectangles (rows with the same column set), one word each; a
    rectangle's row tag names its row set and its column tag its column set. With ``merge``, a
    group that is no rectangle takes one word instead, with a column tag that only its PEs
    hold and a row tag for its rows (``"exact"``) or one row tag that every X-bus holds
    (``"all"``: the word travels on every X-bus, and only the group's PEs take it).

    Returns:
        (per group its (row tag, column tag) words, bus IDs, PE IDs, row tags, column tags)
    """
    row_tag: dict[tuple, int] = {}
    col_tag: dict[tuple, int] = {}
    bus_ids: list[set[int]] = [set() for _ in range(rows)]
    pe_ids: list[list[set[int]]] = [[set() for _ in range(cols)] for _ in range(rows)]
    rects: list[list[tuple[int, int]]] = []
    for members in groups:
        by_row: dict[int, list[int]] = {}
        for m in members:
            by_row.setdefault(m // cols, []).append(m % cols)
        by_cols: dict[tuple[int, ...], list[int]] = {}
        for r, cs in sorted(by_row.items()):
            by_cols.setdefault(tuple(cs), []).append(r)
        if merge is not None and len(by_cols) > 1:
            on = tuple(sorted(by_row)) if merge == "exact" else tuple(range(rows))
            rt = row_tag.setdefault(on, len(row_tag))
            ct = col_tag.setdefault(("group", *members), len(col_tag))
            for r in on:
                bus_ids[r].add(rt)
            for m in members:
                pe_ids[m // cols][m % cols].add(ct)
            rects.append([(rt, ct)])
            continue
        tags = []
        for cs, rs in by_cols.items():
            rt = row_tag.setdefault(tuple(rs), len(row_tag))
            ct = col_tag.setdefault(cs, len(col_tag))
            for r in rs:
                bus_ids[r].add(rt)
                for c in cs:
                    pe_ids[r][c].add(ct)
            tags.append((rt, ct))
        rects.append(tags)
    return rects, bus_ids, pe_ids, row_tag, col_tag


def _most_ids(bus_ids: list[set[int]], pe_ids: list[list[set[int]]]) -> tuple[int, int]:
    """The most row IDs one X-bus holds and the most column IDs one PE holds."""
    return max(len(b) for b in bus_ids), max(len(c) for row in pe_ids for c in row)


def id_limits(hw: HardwareConfig) -> tuple[int, int]:
    """Row IDs per X-bus and column IDs per PE of the hardware's multicast controllers."""
    return hw.noc.gin.row_ids_per_xbus, hw.noc.gin.column_ids_per_pe


def ids_fit(ids: Ids, hw: HardwareConfig) -> bool:
    """Whether the hardware's X-buses and PEs hold these multicast IDs."""
    return all(n <= lim for n, lim in zip(_most_ids(ids.bus, ids.pe), id_limits(hw), strict=True))


def id_bits(tags: int) -> int:
    """Bits of an ID register that tells ``tags`` tags apart."""
    return max(1, int(np.ceil(np.log2(max(tags, 2)))))


class ZeroFreeDataflow(PlannedDataflow):
    """A planned dataflow that multiplies only data by data (EcoFlow's, on a multicast GIN)."""

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """Refuse arrays without a multicast GIN."""
        if hw.array.interconnect != "multicast":
            return "EcoFlow needs a multicast GIN (array.interconnect: multicast)"
        return None

    def zero_free(self, problem: Problem) -> bool:
        """Only data words are read."""
        return True

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """Useful (zero-free) MACs over every PE."""
        return ideal(problem.zero_counts().useful_macs, hw)
