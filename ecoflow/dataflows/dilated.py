"""EcoFlow dilated convolution (``ecoflow_fgrad``, §4.2): filter gradients without zeros.

Compile time (§4.2.1, Fig. 7). A symbolic convolution of the ifmap with the error dilated by
the stride names, for every filter-gradient element, the products that accumulate into it:
``dW[c, k, r, s] = sum_{n, a, b} x[n, c, r + stride a - pad, s + stride b - pad] e[n, k, a, b]``
over the pairs whose ifmap element is data (no dilation zero and no border zero is ever
multiplied). :func:`symbolic` spells this out for one channel.

Mapping. Each filter-gradient element is provisionally assigned to one PE (step 2): a *unit*
computes ``q`` input channels x ``p`` filters of one tap ``(r, s)`` (its psums stay in the psum
scratchpad for the whole reduction). **Expansion** spreads a unit over ``e`` PEs of one column,
each taking a share of the error rows; their partial sums go up the column and the top PE
writes the gradient (Fig. 7: PE07 passes its partial sum to PE03). Units fill the array tap
after tap; a reduction too long for one pass is cut into stages whose partial sums return from
the global buffer (psum GIN) to the bottom PE of each unit, which adds them in bursts while it
computes the stage's products. The filter gradient of a transposed layer has an input dilated
by the stride, so each tap row meets data in one error row of every ``stride``: error rows go
in groups of that many, each unit computes its one row of a group at the same time as the
others (one round of ifmap words per group), and stages hold whole groups.

Runtime (§4.2.2). Error elements are broadcast, one per cycle and filter, to every PE that uses
them (all taps of the filters' units); ifmap elements are multicast to the PEs whose taps need
them (step 3: a PE belongs to several receive groups, the IDs of §4.4). Every PE performs one
MAC per cycle into its ``p q`` registers.
"""

from __future__ import annotations

import copy
import functools
import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecoflow.arrays import unique
from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    CompileError,
    Footprint,
    Ids,
    PassSpec,
    Schedule,
    Stream,
    build_program,
    group_passes,
    register,
)
from ecoflow.dataflows.common import (
    DirectConv,
    ceil_div,
    direct_schedule,
    gin_words,
    make_stream,
    segment_ids,
    union,
)
from ecoflow.dataflows.zerofree import (
    Work,
    ZeroFreeDataflow,
    id_limits,
    multicast,
    pe_programs,
)
from ecoflow.workloads.layer import Axis, Problem

OPS_PER_PASS = 12288  # products per PE and pass before a stage boundary (at most) [ops]
PROBES = 24  # mappings the search builds a probe of before it settles for those that fit


@dataclass(frozen=True)
class SymbolicDilated:
    """The compile steps of §4.2.1 for one channel (the walk-through of Fig. 7).

    Attributes:
        products: per filter-gradient element ``(r, s)`` (step 1), the ``(ifmap, error)``
            element pairs it accumulates, in execution order (error row-major).
        pe: per filter-gradient element, its PE (step 2: one element per PE, row-major).
        groups: per PE, the ifmap elements it receives (step 3: its receive groups).
    """

    products: dict[tuple[int, int], tuple[tuple[tuple[int, int], tuple[int, int]], ...]]
    pe: dict[tuple[int, int], int]
    groups: dict[int, tuple[tuple[int, int], ...]]


def symbolic(ifmap: tuple[int, int], filt: tuple[int, int], stride: int, pad: int = 0):
    """The steps of §4.2.1 for an ifmap ``ifmap``, a filter ``filt`` and a stride."""
    (h, w), (r_n, s_n) = ifmap, filt
    e_h = (h + 2 * pad - r_n) // stride + 1
    e_w = (w + 2 * pad - s_n) // stride + 1
    products, pe, groups = {}, {}, {}
    for r in range(r_n):
        for s in range(s_n):
            pairs = []
            for a in range(e_h):
                for b in range(e_w):
                    y, x = r + stride * a - pad, s + stride * b - pad
                    if 0 <= y < h and 0 <= x < w:
                        pairs.append(((y, x), (a, b)))
            products[(r, s)] = tuple(pairs)
            pe[(r, s)] = r * s_n + s
            groups[r * s_n + s] = tuple(sorted({i for i, _ in pairs}))
    return SymbolicDilated(products, pe, groups)


@dataclass(frozen=True)
class DilatedMapping:
    """Mapping parameters of ``ecoflow_fgrad``.

    Attributes:
        e: PEs per unit (expansion over error rows).
        p: filters per PE.
        q: input channels per PE.
        inner: which units of a pass lie next to each other: ``"filters"`` (the filter blocks
            and taps of one channel block, sharing ifmap words) or ``"channels"`` (the channel
            blocks of one filter block and tap, sharing error words: what a 1x1 filter, with a
            single tap, needs to reuse its errors).
    """

    e: int
    p: int
    q: int
    inner: str = "filters"


@dataclass(frozen=True)
class _Unit:
    group: int
    chans: range  # input channels (the padded problem's output planes)
    filters: range  # filters within the group
    r: int
    s: int


@dataclass(frozen=True)
class _Pass:
    units: tuple[_Unit, ...]
    stage: int


def _valid(axis: Axis) -> np.ndarray:
    """(out, tap) True where the padded-input element is data."""
    o = np.arange(axis.out)[:, None]
    k = np.arange(axis.taps)[None, :]
    j = o * axis.stride + k * axis.tap_dilation - axis.pad[0]
    return (j >= 0) & (j <= (axis.size - 1) * axis.dilation) & (j % axis.dilation == 0)


class _Plan:
    """The passes of a problem under one mapping."""

    # loop orders: each batch of units through its stages (as built), or stage by stage
    ORDERS: ClassVar[dict[str, Callable[[_Pass], int] | None]] = {
        "units_outer": None,
        "stages_outer": lambda ps: ps.stage,
    }

    def __init__(self, d: DirectConv, m: DilatedMapping, hw: HardwareConfig) -> None:
        self.d, self.m, self.hw = d, m, hw
        if m.inner not in ("filters", "channels"):
            raise CompileError(d.name, "mapping.inner", f"'filters' or 'channels', not {m.inner!r}")
        self.hz, self.wz = d.problem.padded.axes
        self.slots_v = hw.array.rows // m.e
        self.slots = self.slots_v * hw.array.cols
        # the units in order (group, channel block, filter block, tap row, tap column) as
        # columns: group, first channel, channels, first filter, filters, r, s
        if m.inner == "filters":
            g, c0, k0, r, s = np.meshgrid(
                np.arange(d.groups), np.arange(0, d.batch, m.q), np.arange(0, d.kg, m.p),
                np.arange(d.P), np.arange(d.Q), indexing="ij",
            )  # fmt: skip
        else:
            g, k0, r, s, c0 = np.meshgrid(
                np.arange(d.groups), np.arange(0, d.kg, m.p), np.arange(d.P), np.arange(d.Q),
                np.arange(0, d.batch, m.q), indexing="ij",
            )  # fmt: skip
        c0, k0 = c0.reshape(-1), k0.reshape(-1)
        self.columns = (
            g.reshape(-1),
            c0,
            np.minimum(d.batch - c0, m.q),
            k0,
            np.minimum(d.kg - k0, m.p),
            r.reshape(-1),
            s.reshape(-1),
        )
        self.n_units = len(c0)
        self.n_batches = ceil_div(self.n_units, self.slots)
        self.vh, self.vw = _valid(self.hz), _valid(self.wz)
        # the reduction: (image, error row) steps, cut into stages of whole parts
        self.red = [(n, a) for n in range(d.Cg) for a in range(self.hz.taps)]
        # a PE's products per error row: the error columns that meet data for its tap column
        per_step = max(1, int(self.vw.sum(axis=1).max())) * min(m.p, d.kg) * min(m.q, d.batch)
        # an input dilated by the stride (a transposed layer's filter gradient) has data in one
        # error row of every `period` for each tap row: a part of whole periods gives every tap
        # row as many products, and holds OPS_PER_PASS products per PE (not OPS_PER_PASS
        # error columns, of which a PE would multiply one in `period` squared)
        self.period = self.hz.dilation // math.gcd(self.hz.dilation, self.hz.tap_dilation)
        part = self.period * max(1, OPS_PER_PASS // per_step)
        self.stage_len = part * m.e
        self.stages = ceil_div(len(self.red), self.stage_len)
        # error rows that are valid for the same filter rows time alike
        _, self.row_class = np.unique(self.vh.T, axis=0, return_inverse=True)
        self.row_class = self.row_class.reshape(-1)

    @functools.cached_property
    def batches(self) -> list[tuple[_Unit, ...]]:
        """The units of each pass (``slots`` at a time)."""
        rows = zip(*(c.tolist() for c in self.columns), strict=True)
        units = [_Unit(int(g), range(c0, c0 + cl), range(k0, k0 + kl), int(r), int(s))
                 for g, c0, cl, k0, kl, r, s in rows]  # fmt: skip
        return [tuple(units[j : j + self.slots]) for j in range(0, len(units), self.slots)]

    def passes(self) -> list[_Pass]:
        return [_Pass(b, s) for b in self.batches for s in range(self.stages)]

    def steps(self, stage: int, part: int) -> list[tuple[int, int]]:
        """The (image, error row) steps of one part of a unit in one stage."""
        chunk = self.red[stage * self.stage_len : (stage + 1) * self.stage_len]
        size = ceil_div(len(chunk), self.m.e)
        return chunk[part * size : (part + 1) * size]

    def descriptor(self, ps: _Pass) -> tuple:
        """Unit shapes and taps, and the stage's steps (which border rows they cross)."""
        units = tuple((len(u.chans), len(u.filters), u.r, u.s) for u in ps.units)
        parts = tuple(
            tuple(int(self.row_class[a]) for _, a in self.steps(ps.stage, e))
            for e in range(self.m.e)
        )
        return (units, parts, ps.stage > 0, ps.stage == self.stages - 1)

    def work(self, ps: _Pass) -> dict[int, Work]:
        m, cols = self.m, self.hw.array.cols
        out: dict[int, Work] = {}
        for j, u in enumerate(ps.units):
            sv, col = divmod(j, cols)
            for e in range(m.e):
                steps = self.steps(ps.stage, e)
                if not steps:
                    continue
                row = sv * m.e + e
                out[row * cols + col] = self._products(u, steps)
        return out

    def footprint(self, ps: _Pass) -> Footprint:
        """The buffer segments a pass reads (ifmap, error, partial sums) and writes.

        Units of one tap and block shape read and write alike but for their channel and filter
        offsets: each such class is one array expression (a pass holds up to ``slots`` units).
        """
        d, hz, wz, seg = self.d, self.hz, self.wz, self.hw.segment_words
        steps = np.array([st for e in range(self.m.e) for st in self.steps(ps.stage, e)],
                         np.int64).reshape(-1, 2)  # fmt: skip
        # columns: group, first channel, channels, first filter, filters, r, s
        units = np.array([(u.group, u.chans.start, len(u.chans), u.filters.start,
                           len(u.filters), u.r, u.s) for u in ps.units], np.int64)  # fmt: skip
        # rows by tap column: units of one column read and write the same columns
        ifm: dict[int, list[np.ndarray]] = {}
        fil: dict[int, list[np.ndarray]] = {}
        out: dict[int, list[np.ndarray]] = {}
        classes: dict[tuple[int, int, int, int], list[int]] = {}
        for j, (cl, kl, r, s) in enumerate(units[:, [2, 4, 5, 6]].tolist()):
            classes.setdefault((r, s, cl, kl), []).append(j)
        for (r, s, cl, kl), js in classes.items():
            us = units[js]
            c = us[:, 1, None] + np.arange(cl)  # (units, channels)
            kk = (us[:, 0] * d.kg + us[:, 3])[:, None] + np.arange(kl)  # (units, filters)
            data = steps[self.vh[r, steps[:, 1]]] if self.vw[s].any() else steps[:0]
            if len(data):
                n, a = data[:, 0], data[:, 1]
                h = r * hz.stride + a * hz.tap_dilation
                rows = d.ifmap_id(c[:, :, None], kk[:, :1, None], n, h, 0)
                ifm.setdefault(s, []).append(rows.reshape(-1) // d.Wx)
                rows = d.filter_id(kk[:, :, None], n, a * hz.tap_dilation, 0)
                fil.setdefault(s, []).append(rows.reshape(-1) // d.Sw)
            if len(data) or ps.stage > 0:  # later stages add the partial sums they read back
                rows = d.out_id(c[:, :, None], kk[:, None, :], r, 0).reshape(-1) // d.Q
                out.setdefault(s, []).append(rows)
        empty = np.zeros(0, np.int64)

        def segments(rows: dict[int, list[np.ndarray]], cols: Callable[[int], np.ndarray],
                     width: int) -> np.ndarray:  # fmt: skip
            """The segments of each tap column's rows (``cols(s)``: the columns of tap ``s``)."""
            parts = [segment_ids(np.concatenate(r), cols(s), width, seg) for s, r in rows.items()]
            return union(parts) if parts else empty

        td = wz.tap_dilation
        out_segs = segments(out, lambda s: np.array([s]), d.Q)
        return Footprint(
            ifmap=segments(ifm, lambda s: s * wz.stride + np.nonzero(self.vw[s])[0] * td, d.Wx),
            filter=segments(fil, lambda s: np.nonzero(self.vw[s])[0] * td, d.Sw),
            psum=out_segs if ps.stage > 0 else out_segs[:0],
            out=out_segs,
        )

    def _products(self, u: _Unit, steps: list[tuple[int, int]]) -> Work:
        d, hz, wz = self.d, self.hz, self.wz
        st = np.array(steps)
        # error rows in groups of `period`: each tap row meets data in one row of a group, so
        # every unit computes one row per group and all progress together (ranked by error
        # row alone, the tap rows that miss a row would wait for those that meet it); the
        # ifmap words of a group are one round
        group = st[:, 0] * ceil_div(hz.taps, self.period) + st[:, 1] // self.period
        rank = np.unique(group, return_inverse=True)[1].reshape(-1)
        t, b, c, k = np.meshgrid(
            np.arange(len(st)), np.arange(wz.taps), np.asarray(u.chans),
            np.asarray(u.filters), indexing="ij",
        )  # fmt: skip
        t, b, c, k = (x.reshape(-1) for x in (t, b, c, k))
        n, a, g, t = st[t, 0], st[t, 1], group[t], rank[t]
        keep = self.vh[u.r, a] & self.vw[u.s, b]
        t, b, c, k, n, a, g = (x[keep] for x in (t, b, c, k, n, a, g))
        kk = u.group * d.kg + k
        h = u.r * hz.stride + a * hz.tap_dilation
        w = u.s * wz.stride + b * wz.tap_dilation
        # common progress (the same scale in every unit, whatever its block sizes)
        tick = ((t * wz.taps + b) * self.m.q + (c - u.chans.start)) * self.m.p
        tick = tick + (k - u.filters.start)
        return Work(
            ifmap=d.ifmap_id(c, kk, n, h, w),
            filter=d.filter_id(kk, n, a * hz.tap_dilation, b * wz.tap_dilation),
            label=d.out_id(c, kk, u.r, u.s),
            tick=tick,
            iround=g,
            fround=np.zeros(len(tick), np.int64),
        )

    def spec(self, ps: _Pass) -> PassSpec:
        d, hw, m = self.d, self.hw, self.m
        rows, cols = hw.array.rows, hw.array.cols
        work = self.work(ps)
        from_gin: dict[int, np.ndarray] = {}
        if ps.stage > 0:
            for j, u in enumerate(ps.units):
                sv, col = divmod(j, cols)
                bottom = [sv * m.e + e for e in range(m.e) if self.steps(ps.stage, e)][-1]
                c, k = np.meshgrid(np.asarray(u.chans), np.asarray(u.filters), indexing="ij")
                labels = d.out_id(c.reshape(-1), u.group * d.kg + k.reshape(-1), u.r, u.s)
                from_gin[bottom * cols + col] = labels
        progs = pe_programs(rows, cols, work, hw, d.name, from_gin)
        pes = np.concatenate([np.full(len(w), p) for p, w in work.items()])
        cat = {f: np.concatenate([getattr(w, f) for w in work.values()]) for f in
               ("ifmap", "filter", "tick", "iround", "fround")}  # fmt: skip
        ifm = multicast(rows, cols, pes, cat["ifmap"], cat["iround"], cat["tick"],
                        limits=id_limits(hw))  # fmt: skip
        # errors are broadcast to every PE of the units of their filters (and error rows)
        key = np.zeros(rows * cols, np.int64)  # per PE, its audience
        members: dict[int, list[int]] = {}
        for j, u in enumerate(ps.units):
            sv, col = divmod(j, cols)
            for e in range(m.e):
                pe = (sv * m.e + e) * cols + col
                key[pe] = hash((u.group, u.filters.start, e)) & 0x7FFFFFFF
                members.setdefault(int(key[pe]), []).append(pe)
        audience = key[pes]
        fil = multicast(rows, cols, pes, cat["filter"], cat["fround"], cat["tick"],
                        base=len(ifm.stream), audience=audience,
                        members={k: np.array(v) for k, v in members.items()},
                        limits=id_limits(hw))  # fmt: skip
        streams = {"ifmap": ifm.stream, "filter": fil.stream}
        psum_from_gin = np.zeros(rows * cols, bool)
        if from_gin:
            words = []
            for p in from_gin:
                o = progs.ops[p]
                # the i-th partial sum of every PE before the (i+1)-th of any (pe_programs
                # adds them at the same ticks in every PE)
                when = np.arange(int((~o.mac).sum()))
                row, col = np.full(len(when), p // cols), np.full(len(when), p % cols)
                words.append((o.out[~o.mac], row, col, when))
                psum_from_gin[p] = True
            cat4 = [np.concatenate([w[i] for w in words]) for i in range(4)]
            streams["psum"] = make_stream(*cat4, base=len(ifm.stream) + len(fil.stream))
        else:
            streams["psum"] = Stream.empty()
        psum_ids = Ids(
            [[r] for r in range(rows)], [[[c] for c in range(cols)] for _ in range(rows)]
        )
        return PassSpec(
            rows=rows,
            cols=cols,
            ops=progs.ops,
            streams=streams,
            ids={"ifmap": ifm.ids, "filter": fil.ids, "psum": psum_ids},
            source={t: np.array(["gin"] * (rows * cols)) for t in ("ifmap", "filter")},
            capacity={"ifmap": hw.pe.ifmap_spad_entries, "filter": hw.pe.filter_spad_entries},
            width=gin_words(d.problem.phase, hw),
            send_up=np.zeros(rows * cols, bool),
            psum_from_gin=psum_from_gin,
            send_up_ops=progs.up,
        )

    @property
    def probe(self) -> float:
        """GIN words per ifmap element, from one reduction step of the first pass built.

        The units of a pass that share an ifmap row do not always form a rectangle of the
        array (a tap's units start where the previous tap's end), so an element may take one
        word per rectangle of its receivers where their IDs do not fit the controllers. One
        step (an image and an error row per part) has the same receiver groups as every other
        step in the interior of the input, and its program holds as many ifmap words at once
        (each step is a round of its own). Raises the :class:`CompileError` of a step that
        overflows a scratchpad or needs more IDs than the hardware has. Built once per
        (problem, mapping, hardware): the search and the energy ranking both ask for it.
        """
        return _probe(self.d, self.m, self.hw)

    def _probe(self) -> float:
        # the steps from the error row that meets data for the most filter rows
        start = self.red.index((0, int(np.argmax(self.vh.sum(axis=0)))))
        red = self.red[start : start + self.m.e]
        red = red if len(red) == self.m.e else self.red[-self.m.e :]
        thin = copy.copy(self)
        thin.red, thin.stage_len, thin.stages = red, len(red), 1
        spec = thin.spec(_Pass(self.batches[0], 0))
        build_program(spec, self.hw, self.d.name)
        words = spec.streams["ifmap"]
        return len(words) / len(unique(words.elem)) if len(words) else 1.0

    def estimate(self, refined: bool = True) -> tuple[int, int]:
        """(cycles, words) of the plan from its passes' shapes.

        A pass takes the longest of its busiest PE's products, its error words, its ifmap
        words and its partial sums, each over its GIN width. Products and ifmap words count
        data only: an error row meets data rows of the input only where ``vh`` says so and an
        error column data columns where ``vw`` does (a dilated input, the filter gradient of a
        transposed layer, has data in one row and column out of ``dilation``). ``refined``:
        the ifmap elements take the words per element of :attr:`probe` (``False``: one each,
        what the mapping search ranks by before it builds the probes of the best).
        """
        d, m, hw = self.d, self.m, self.hw
        copies = self.probe if refined else 1.0
        widths = gin_words(d.problem.phase, hw)
        total, words = 0, 0
        steps_of = [max(len(self.steps(s, e)) for e in range(m.e)) for s in range(self.stages)]
        g, c0, cl, k0, kl, r, s_col = self.columns
        batch = np.arange(self.n_units) // self.slots
        starts = np.arange(0, self.n_units, self.slots)
        p = np.maximum.reduceat(kl, starts)
        q = np.maximum.reduceat(cl, starts)
        outs = np.add.reduceat(kl * cl, starts)

        def distinct(*cols: np.ndarray) -> tuple[np.ndarray, int]:
            """Distinct (batch, ``cols``) keys, sorted, and the batch digit's radix."""
            key, per = batch.astype(np.int64), 1
            for c in cols:
                size = int(c.max()) + 1
                key, per = key * size + c, per * size
            return unique(key, bound=len(starts) * per), per

        # block indices, not first elements, as digits: keys stay below a dense bound
        kb_keys, kb_per = distinct(g, k0 // m.p)
        kblocks = np.bincount(kb_keys // kb_per, minlength=len(starts))
        # ifmap row groups (group, channel block, unit row): the unit row is the last digit
        rows_keys, rows_per = distinct(g, c0 // m.q, r)
        rows_batch, rows_r = rows_keys // rows_per, rows_keys % (int(r.max()) + 1)
        data_cols = self.vw.sum(axis=1)  # per unit column: error columns that meet data
        row_words = min(self.wz.size, self.wz.extent)  # data columns of an ifmap row
        for s in range(self.stages):
            steps = steps_of[s]
            # per part and unit row: the error rows of the stage that meet data
            data_rows = np.stack([
                self.vh[:, [a for _, a in self.steps(s, e)]].sum(axis=1) for e in range(m.e)
            ])  # fmt: skip
            busy = np.maximum.reduceat(data_rows.max(axis=0)[r] * data_cols[s_col] * kl * cl,
                                       starts)  # fmt: skip
            e_words = kblocks * m.e * p * steps * self.wz.taps
            per_row = data_rows.sum(axis=0)[rows_r]
            i_words = np.bincount(rows_batch, weights=per_row, minlength=len(starts))
            i_words = np.rint(i_words * copies).astype(np.int64) * q * row_words
            cost = np.maximum.reduce([busy, e_words // widths["filter"],
                                      i_words // widths["ifmap"],
                                      outs // widths["psum"]])  # fmt: skip
            total += int(cost.sum()) + len(starts) * m.e * 4
            words += int((e_words + i_words + outs * (2 if s else 1)).sum())
        return total, words


@functools.lru_cache(maxsize=64)
def _probe(d: DirectConv, m: DilatedMapping, hw: HardwareConfig) -> float:
    """:attr:`_Plan.probe`, cached (a probe that raises is not)."""
    return _Plan(d, m, hw)._probe()


def shortlist(d: DirectConv, hw: HardwareConfig, k: int = 1) -> list[DilatedMapping]:
    """The ``k`` mappings with the fewest estimated cycles (then network words), best first."""
    ranked: list[tuple[tuple[int, int], int]] = []  # (estimate, index in mappings)
    # mappings, not plans: a plan holds its units (a few MB to tens of MB on large layers),
    # and the search weighs hundreds of mappings
    mappings: list[DilatedMapping] = []
    es = sorted({e for e in (1, 2, 3, 4, 6, 13) if e <= hw.array.rows})
    ps = sorted({p for p in (1, 2, 3, 4, 6, 8, 12, 24) if p <= d.kg} | {1})
    qs = sorted({q for q in (1, 2, 3, 4, 6, 8, 12, 24) if q <= d.batch} | {1})
    for e, p, q, inner in itertools.product(es, ps, qs, ("filters", "channels")):
        if p * q > hw.pe.psum_spad_entries:
            continue
        if e > d.Cg * d.problem.padded.axes[0].taps:
            continue
        if inner == "channels" and q >= d.batch:
            continue  # one channel block: the same units as "filters"
        mappings.append(DilatedMapping(e, p, q, inner))
        ranked.append((_Plan(d, mappings[-1], hw).estimate(refined=False), len(ranked)))
    if not ranked:
        raise CompileError(d.name, "pe.psum_spad_entries", "no dilated mapping fits")
    # best first on the rough estimate; a mapping's probe only adds words, so the first k
    # whose refined estimate is still the least are the k best (a probe that fails to build
    # drops its mapping). After PROBES probes (and one that builds), the best of those
    # probed make up the rest.
    heapq.heapify(ranked)
    found: list[int] = []
    probed: dict[int, tuple[int, int]] = {}  # index -> refined estimate
    last: CompileError | None = None
    tries = 0
    while ranked and len(found) < k and (tries < PROBES or not probed):
        _, i = heapq.heappop(ranked)
        if i in probed:
            found.append(i)
            continue
        tries += 1
        try:
            probed[i] = _Plan(d, mappings[i], hw).estimate()
        except CompileError as err:
            last = err
            continue
        heapq.heappush(ranked, (probed[i], i))
    found += sorted(set(probed) - set(found), key=lambda i: (probed[i], i))[: k - len(found)]
    if not found:
        assert last is not None
        raise last
    return [mappings[i] for i in found]


@register
class EcoflowDilated(ZeroFreeDataflow):
    """EcoFlow's zero-free dilated convolution (filter gradients)."""

    shortlist = staticmethod(shortlist)
    plan_class = _Plan
    id = "ecoflow_fgrad"
    description = "EcoFlow dilated convolution without zeros (§4.2)"

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: DilatedMapping | None = None,
        order: str | None = None,
    ) -> Schedule:
        """Search a mapping (unless given); build the distinct passes (or every one) in order.

        ``order`` names a loop order of :meth:`orders` (default: the first).
        """
        plan = self.plan(problem, hw, mapping)
        d, m = plan.d, plan.m
        passes = self.ordered_passes(plan, order)
        grouped = group_passes(passes, plan.descriptor, plan.spec, hw, d.name,
                               exhaustive=exhaustive, stage=lambda ps: ps.stage)  # fmt: skip
        return direct_schedule(
            self.id,
            d,
            grouped,
            (("units", plan.n_batches), ("stage", plan.stages)),
            {
                "e": m.e,
                "p": m.p,
                "q": m.q,
                "inner": m.inner,
                "units_per_pass": plan.slots,
                "order": order or next(iter(plan.ORDERS)),
            },
            self.footprints(problem, hw, order, mapping),
            zero_free=True,
        )
