"""Eyeriss row stationary (``rs``), run on the zero-padded problem of every phase.

The primitive is the 1-D row convolution: PE ``(r, e)`` of a PE set keeps row ``r`` of the
filters in its filter scratchpad, receives ifmap row ``e * stride + r`` by multicast, slides an
``S``-wide window along it and produces psum row ``e``; psums of one output row are summed up
the set's column, one hop per filter row. A set is ``h`` rows (filter rows) by ``ew`` columns
(output rows).

Mapping (the Eyeriss parameters, chosen by :func:`search`):

* ``p`` filters and ``q`` channels interleaved in each PE (filter scratchpad ``p q S``, ifmap
  scratchpad ``q S``, psum scratchpad ``p``) and ``n`` images processed one after the other
  while the filter rows stay (in a filter gradient the "images" are the layer's input
  channels and the "filter" is the error, so ``n`` goes up to 256);
* filters taller than the array are **folded**: the window rows split into chunks of ``h``
  rows, whose partial sums are accumulated through the global buffer (psum GIN in, GON out);
  outputs taller than the array are **strip-mined** into strips of ``ew`` output rows;
* small sets are **replicated**: ``cols // ew`` sets side by side (different filter blocks or
  strips, sharing ifmap rows by multicast) and ``rows // h`` bands of sets stacked, of which
  ``chain`` consecutive bands accumulate different channel blocks or window chunks up one
  column (the top of one band sends its psums to the bottom of the next) and the rest hold
  different images or filters. ``inner`` orders the work over sets and bands: strips of one
  filter block side by side (sharing filter rows), or filter blocks of one strip (sharing
  ifmap rows, which matters most for 1x1 filters, where a PE reuses an ifmap word only ``p``
  times).

Every multiplication of the padded problem is scheduled exactly once, zeros included (they are
flagged and zero-gated: they cost a cycle but no multiplier energy). Multicast uses one row ID
per X-bus and one column ID per PE (Eyeriss): ifmap words are tagged ``(band key, input row)``,
filter words ``(channel block, window chunk, filter row; filter block)`` and returning psums
are unicast.

References:
    Y.-H. Chen, J. Emer, V. Sze, "Eyeriss: A Spatial Architecture for Energy-Efficient Dataflow
    for Convolutional Neural Networks", ISCA 2016. Y.-H. Chen et al., "Eyeriss: An
    Energy-Efficient Reconfigurable Accelerator for Deep Convolutional Neural Networks",
    JSSC 52(1), 2017.
"""

from __future__ import annotations

import functools
import itertools
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
    PeOps,
    Schedule,
    group_passes,
    register,
)
from ecoflow.dataflows.common import (
    DirectConv,
    Keys,
    PlannedDataflow,
    ceil_div,
    direct_schedule,
    first_use,
    gin_words,
    ideal,
    make_stream,
    segment_ids,
    union,
)
from ecoflow.workloads.layer import Problem

MAX_PE_OPS = 1 << 16  # a PE's operations per pass beyond which n > 4 is not tried (program size)


@dataclass(frozen=True)
class RsMapping:
    """Row-stationary mapping parameters.

    Attributes:
        h: PE rows per set (filter rows per window chunk).
        ew: PE columns per set (output rows per strip).
        chain: stacked bands that accumulate into one column.
        p: filters interleaved per PE.
        q: channels interleaved per PE.
        n: images per set.
        taps: filter columns per PE (wider filter rows are split into chunks of ``taps``
            columns whose partial sums meet in the global buffer, like folded rows).
        inner: which work varies fastest over the sets of a band and the bands of a column:
            ``"strips"`` (sets of one filter block side by side, sharing filter rows) or
            ``"filters"`` (sets of one strip, sharing ifmap rows by multicast).
    """

    h: int
    ew: int
    chain: int
    p: int
    q: int
    n: int
    taps: int
    inner: str = "strips"


@dataclass(frozen=True)
class _Job:
    """What one column of bands computes: images, group, and per set slot (filter block, strip)."""

    group: int
    images: range
    slots: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Pass:
    jobs: tuple[_Job, ...]
    stage: int


class _Plan:
    """The passes of a problem under one mapping."""

    # loop orders over columns of sets (stages stay innermost): filter blocks outside strips
    # (as built), strips outside filter blocks, or images innermost
    ORDERS: ClassVar[dict[str, Callable[[_Pass], tuple] | None]] = {
        "filters_outer": None,
        "strips_outer": lambda ps: (ps.jobs[0].group, ps.jobs[0].slots[0][1],
                                    ps.jobs[0].images.start, ps.jobs[0].slots[0][0], ps.stage),
        "images_inner": lambda ps: (ps.jobs[0].group, ps.jobs[0].slots[0][0],
                                    ps.jobs[0].slots[0][1], ps.jobs[0].images.start, ps.stage),
    }  # fmt: skip

    def __init__(self, d: DirectConv, m: RsMapping, hw: HardwareConfig) -> None:
        self.d, self.m, self.hw = d, m, hw
        if m.inner not in ("strips", "filters"):
            raise CompileError(d.name, "mapping.inner", f"'strips' or 'filters', not {m.inner!r}")
        rows, cols = hw.array.rows, hw.array.cols
        self.bands = rows // m.h
        self.groups_v = self.bands // m.chain
        self.slots_u = cols // m.ew
        self.n_rc = ceil_div(d.Rw, m.h)
        self.n_cb = ceil_div(d.Cg, m.q)
        self.n_sc = ceil_div(d.Sw, m.taps)
        self.red = self.n_rc * self.n_cb * self.n_sc
        self.stages = ceil_div(self.red, m.chain)
        self.n_kb = ceil_div(d.kg, m.p)
        self.n_es = ceil_div(d.P, m.ew)
        self.n_ib = ceil_div(d.batch, m.n)
        # the set slots of every job, flattened: per (group, image block) the work items
        # (filter block, strip) in the mapping's order, ``slots_u`` consecutive items per job
        per = self.n_kb * self.n_es
        w = np.arange(per)
        kb, es = (w // self.n_es, w % self.n_es) if m.inner == "strips" else (
            w % self.n_kb, w // self.n_kb)  # fmt: skip
        self.jobs_per_block = ceil_div(per, self.slots_u)
        blocks = d.groups * self.n_ib
        self.item_kb = np.tile(kb, blocks)
        self.item_es = np.tile(es, blocks)
        self.item_block = np.repeat(np.arange(blocks), per)
        self.item_job = self.item_block * self.jobs_per_block + np.tile(w // self.slots_u, blocks)
        self.n_jobs = blocks * self.jobs_per_block
        self.n_columns = ceil_div(self.n_jobs, self.groups_v)

    @functools.cached_property
    def jobs(self) -> list[_Job]:
        """Every job, in order (``groups_v`` consecutive jobs share a column of passes)."""
        d, m = self.d, self.m
        jobs = []
        for block in range(d.groups * self.n_ib):
            g, ib = divmod(block, self.n_ib)
            images = range(ib * m.n, min(d.batch, (ib + 1) * m.n))
            at = slice(block * self.n_kb * self.n_es, (block + 1) * self.n_kb * self.n_es)
            work = list(zip(self.item_kb[at].tolist(), self.item_es[at].tolist(), strict=True))
            for j in range(0, len(work), self.slots_u):
                jobs.append(_Job(g, images, tuple(work[j : j + self.slots_u])))
        return jobs

    @functools.cached_property
    def columns(self) -> list[tuple[_Job, ...]]:
        """The jobs of each column of passes."""
        jobs, v = self.jobs, self.groups_v
        return [tuple(jobs[j : j + v]) for j in range(0, len(jobs), v)]

    def passes(self) -> list[_Pass]:
        return [_Pass(col, s) for col in self.columns for s in range(self.stages)]

    def filters(self, job: _Job, kb: int) -> range:
        d, p = self.d, self.m.p
        return range(job.group * d.kg + kb * p, job.group * d.kg + min(d.kg, (kb + 1) * p))

    def step(self, stage: int, ch: int) -> tuple[range, int, range] | None:
        """Channels, window-row chunk and filter columns of chained band ``ch`` (None: idle)."""
        step = stage * self.m.chain + ch
        if step >= self.red:
            return None
        rest, sc = divmod(step, self.n_sc)
        cb, rc = divmod(rest, self.n_rc)
        taps = range(sc * self.m.taps, min(self.d.Sw, (sc + 1) * self.m.taps))
        return range(cb * self.m.q, min(self.d.Cg, (cb + 1) * self.m.q)), rc, taps

    def descriptor(self, ps: _Pass) -> tuple:
        """Everything about a pass that shapes its program (not which elements it touches)."""
        out = []
        for job in ps.jobs:
            slots = tuple(
                (len(self.filters(job, kb)), min(self.m.ew, self.d.P - es * self.m.ew))
                for kb, es in job.slots
            )
            chain = []
            for ch in range(self.m.chain):
                st = self.step(ps.stage, ch)
                chain.append(
                    None
                    if st is None
                    else (len(st[0]), min(self.m.h, self.d.Rw - st[1] * self.m.h), len(st[2]))
                )
            out.append((len(job.images), slots, tuple(chain)))
        return (tuple(out), ps.stage > 0, ps.stage == self.stages - 1)

    def footprint(self, ps: _Pass) -> Footprint:
        """The buffer segments a pass reads and writes (what :meth:`spec` streams).

        A job's slots read the input rows of every output row they compute and the filter
        rows of every filter: the union over slots is taken on rows, once per job.
        """
        d, m, seg = self.d, self.m, self.hw.segment_words
        ifm, fil, out = [], [], []
        x = np.arange(d.Q) * d.sw
        steps = [self.step(ps.stage, ch) for ch in range(m.chain)]
        for job in ps.jobs:
            images = np.asarray(job.images)
            kb, es = np.array(job.slots).T
            # (slot, filter) and (slot, output row) of each slot, where they exist
            ks = job.group * d.kg + kb[:, None] * m.p + np.arange(m.p)
            k_in = ks < (job.group + 1) * d.kg
            ys = es[:, None] * m.ew + np.arange(m.ew)
            y_in = ys < d.P
            planes = images[:, None, None] * d.K + ks[None]  # (image, slot, filter)
            rows = planes[..., None] * d.P + ys[None, :, None, :]
            at = np.broadcast_to(k_in[None, :, :, None] & y_in[None, :, None, :], rows.shape)
            out.append(segment_ids(rows[at], np.arange(d.Q), d.Q, seg))
            ks, ys = ks[k_in], ys[y_in]
            for st in steps:
                if st is None:
                    continue
                chans, rc, taps = st
                r = np.arange(rc * m.h, min(d.Rw, (rc + 1) * m.h))
                c = np.asarray(chans)
                h = unique(ys[:, None] * d.sh + r[None, :])
                rows = d.ifmap_id(images[:, None, None], job.group * d.kg, c[None, :, None],
                                  h[None, None, :], 0).reshape(-1) // d.Wx  # fmt: skip
                cols = (x[:, None] + np.asarray(taps)[None, :]).reshape(-1)
                ifm.append(segment_ids(rows, cols, d.Wx, seg))
                rows = d.filter_id(ks[:, None, None], c[None, :, None], r[None, None, :], 0)
                fil.append(segment_ids(rows.reshape(-1) // d.Sw, np.asarray(taps), d.Sw, seg))
        out_segs = union(out)
        return Footprint(
            ifmap=union(ifm),
            filter=union(fil),
            psum=out_segs if ps.stage > 0 else out_segs[:0],
            out=out_segs,
        )

    # ---- one pass -------------------------------------------------------------------------
    def spec(self, ps: _Pass) -> PassSpec:
        d, m, hw = self.d, self.m, self.hw
        rows, cols = hw.array.rows, hw.array.cols
        pes = rows * cols
        zero_hw, zero_rs = d.zero_hw(), d.zero_rs()
        ops = [PeOps.empty() for _ in range(pes)]
        send_up = np.zeros(pes, bool)
        from_gin = np.zeros(pes, bool)
        # multicast keys
        if_bus, f_bus, f_pe = Keys(), Keys(), Keys()
        ifmap_bus_ids: list[list[int]] = [[] for _ in range(rows)]
        filter_bus_ids: list[list[int]] = [[] for _ in range(rows)]
        ifmap_pe = [[[] for _ in range(cols)] for _ in range(rows)]
        filter_pe = [[[] for _ in range(cols)] for _ in range(rows)]
        words = {"ifmap": [], "filter": [], "psum": []}

        for j, job in enumerate(ps.jobs):
            for ch in range(m.chain):
                st = self.step(ps.stage, ch)
                if st is None:
                    continue
                chans, rc, taps = st
                band = j * m.chain + (m.chain - 1 - ch)
                for rl in range(m.h):
                    row = band * m.h + m.h - 1 - rl
                    r = rc * m.h + rl
                    if r >= d.Rw:
                        continue
                    ifmap_bus_ids[row] = [
                        if_bus((job.group, job.images.start, chans.start, rc, taps.start))
                    ]
                    filter_bus_ids[row] = [f_bus((chans.start, rc, rl, taps.start))]

        for j, job in enumerate(ps.jobs):
            for u, (kb, es) in enumerate(job.slots):
                filt = self.filters(job, kb)
                for el in range(m.ew):
                    y = es * m.ew + el
                    if y >= d.P:
                        continue
                    col = u * m.ew + el
                    # the column of chained bands, bottom to top: (physical row, chans, r)
                    path = []
                    for ch in range(m.chain):
                        st = self.step(ps.stage, ch)
                        band = j * m.chain + (m.chain - 1 - ch)
                        for rl in range(m.h):
                            row = band * m.h + m.h - 1 - rl
                            r = None if st is None else st[1] * m.h + rl
                            active = st is not None and r < d.Rw
                            path.append((row, st if active else None, r))
                    act = [i for i, (_, c, _) in enumerate(path) if c is not None]
                    path = path[act[0] : act[-1] + 1]
                    for pos, (row, work, r) in enumerate(path):
                        p_idx = row * cols + col
                        has_in = pos > 0 or ps.stage > 0
                        top = pos == len(path) - 1
                        send_up[p_idx] = not top
                        from_gin[p_idx] = pos == 0 and ps.stage > 0
                        if work is None:
                            ops[p_idx] = self._relay(job.images, filt, y)
                            continue
                        chans, _, taps = work
                        o, when = self._pe_ops(
                            job.images, filt, chans, taps, r, y, has_in, zero_hw, zero_rs
                        )
                        ops[p_idx] = o
                        ifmap_pe[row][col] = [int(y * d.sh + r)]
                        filter_pe[row][col] = [f_pe((job.group, kb))]
                        mac = o.mac
                        e, w = first_use(o.ifmap[mac], when[mac])
                        words["ifmap"].append((e, ifmap_bus_ids[row][0], y * d.sh + r, w))
                        e, w = first_use(o.filter[mac], when[mac])
                        words["filter"].append(
                            (e, filter_bus_ids[row][0], filter_pe[row][col][0], w)
                        )
                        if from_gin[p_idx]:
                            add = ~mac
                            words["psum"].append((o.out[add], row, col, when[add]))
        streams = {}
        base = 0
        for t in ("ifmap", "filter", "psum"):
            if words[t]:
                cat = [
                    np.concatenate(
                        [np.broadcast_to(np.asarray(w[i]), w[0].shape) for w in words[t]]
                    )
                    for i in range(4)
                ]
                streams[t] = make_stream(cat[0], cat[1], cat[2], cat[3], base)
                base += len(streams[t].elem)
        psum_ids = Ids(
            [[r] for r in range(rows)], [[[c] for c in range(cols)] for _ in range(rows)]
        )
        widths = gin_words(d.problem.phase, hw)
        return PassSpec(
            rows=rows,
            cols=cols,
            ops=ops,
            streams=streams,
            ids={
                "ifmap": Ids(ifmap_bus_ids, ifmap_pe),
                "filter": Ids(filter_bus_ids, filter_pe),
                "psum": psum_ids,
            },
            source={t: np.array(["gin"] * pes) for t in ("ifmap", "filter")},
            capacity={"ifmap": hw.pe.ifmap_spad_entries, "filter": hw.pe.filter_spad_entries},
            width=widths,
            send_up=send_up,
            psum_from_gin=from_gin,
        )

    def _pe_ops(
        self,
        images: range,
        filt: range,
        chans: range,
        taps: range,
        r: int,
        y: int,
        has_in: bool,
        zero_hw: np.ndarray,
        zero_rs: np.ndarray,
    ) -> tuple[PeOps, np.ndarray]:
        """One PE's row convolutions: per image and output column, S x q x p MACs then p adds."""
        d = self.d
        n, q, p, s_w = len(images), len(chans), len(filt), len(taps)
        i, x, s, c, f = np.meshgrid(
            np.asarray(images), np.arange(d.Q), np.asarray(taps), np.asarray(chans),
            np.arange(p), indexing="ij",
        )  # fmt: skip
        k = filt.start + f
        h = y * d.sh + r
        w = x * d.sw + s
        per = s_w * q * p
        shape = (n, d.Q, per)
        mac = {
            "ifmap": d.ifmap_id(i, k, c, h, w).reshape(shape),
            "filter": d.filter_id(k, c, r, s).reshape(shape),
            "reg": f.reshape(shape),
            "first": ((s == taps.start) & (c == chans.start)).reshape(shape),
            "send": (((s == taps.stop - 1) & (c == chans.stop - 1)) & (not has_in)).reshape(shape),
            "zero": (zero_hw[h, w] | zero_rs[r, s]).reshape(shape),
            "out": d.out_id(i, k, y, x).reshape(shape),
        }
        ia, xa, fa = np.meshgrid(np.asarray(images), np.arange(d.Q), np.arange(p), indexing="ij")
        a = p if has_in else 0
        add = {
            "ifmap": np.zeros((n, d.Q, a), np.int64),
            "filter": np.zeros((n, d.Q, a), np.int64),
            "reg": fa[:, :, :a],
            "first": np.zeros((n, d.Q, a), bool),
            "send": np.ones((n, d.Q, a), bool),
            "zero": np.zeros((n, d.Q, a), bool),
            "out": d.out_id(ia, filt.start + fa, y, xa)[:, :, :a],
        }
        cat = {key: np.concatenate([mac[key], add[key]], axis=2).reshape(-1) for key in mac}
        is_mac = np.concatenate(
            [np.ones((n, d.Q, per), bool), np.zeros((n, d.Q, a), bool)], axis=2
        ).reshape(-1)
        o = PeOps(is_mac, cat["ifmap"], cat["filter"], cat["reg"], cat["first"], cat["send"],
                  cat["zero"], cat["out"])  # fmt: skip
        # Stream order follows the set's common progress (image, output column, tap), not each
        # PE's operation count: PEs of one multicast group then always wait for words that
        # precede any word another receiver is still holding back (no circular wait).
        tick = (np.arange(n)[:, None, None] * d.Q + np.arange(d.Q)[None, :, None]) * (d.Sw + 1)
        when = np.concatenate(
            [np.broadcast_to(tick + s.reshape(shape), shape),
             np.broadcast_to(tick + d.Sw, (n, d.Q, a))], axis=2,
        ).reshape(-1)  # fmt: skip
        return o, when

    def _relay(self, images: range, filt: range, y: int) -> PeOps:
        """An idle PE between two chained ones: add each incoming psum and pass it up."""
        d = self.d
        ia, xa, fa = (a.reshape(-1) for a in np.meshgrid(
            np.asarray(images), np.arange(d.Q), np.arange(len(filt)), indexing="ij"))  # fmt: skip
        z = np.zeros(len(ia), np.int64)
        b = np.zeros(len(ia), bool)
        return PeOps(b, z, z, fa, ~b, ~b, b, d.out_id(ia, filt.start + fa, y, xa))

    # ---- estimates for the search ---------------------------------------------------------
    def estimate(self) -> tuple[int, int]:
        """(cycles, GIN and GON words) of the plan from its passes' shapes (no programs).

        A pass takes at least its busiest PE's operations (whose first image waits for the
        pass's filter rows) and each network's words over its width; the estimate is the sum
        over passes of the largest of these. Jobs of one column that share images and a strip
        share its ifmap rows (one multicast word); jobs that share a filter block share its
        filter rows.
        """
        d, m = self.d, self.m
        widths = gin_words(d.problem.phase, self.hw)
        n_cols = self.n_columns
        col = self.item_job // self.groups_v
        block = self.item_block
        images = np.minimum(m.n, d.batch - (np.arange(d.groups * self.n_ib) % self.n_ib) * m.n)
        n_f = np.minimum(m.p, d.kg - self.item_kb * m.p)
        n_y = np.minimum(m.ew, d.P - self.item_es * m.ew)
        first_block = (np.arange(n_cols) * self.groups_v) // self.jobs_per_block
        n = images[first_block]
        outs = np.bincount(col, weights=images[block] * d.Q * n_f * n_y, minlength=n_cols)
        # distinct (group, filter block) and (group, image block, strip) per column
        g = block // self.n_ib
        n_filters = d.groups * self.n_kb
        filt = unique(col * n_filters + g * self.n_kb + self.item_kb, nearly_sorted=True)
        n_kb = np.bincount(filt // n_filters, minlength=n_cols)
        n_strips = d.groups * self.n_ib * self.n_es
        strips = unique(col * n_strips + block * self.n_es + self.item_es, nearly_sorted=True)
        strip_images = np.bincount(
            strips // n_strips, weights=images[(strips % n_strips) // self.n_es], minlength=n_cols
        )
        qs = np.zeros((self.stages, m.chain), np.int64)
        for stage in range(self.stages):
            for ch in range(m.chain):
                st = self.step(stage, ch)
                qs[stage, ch] = 0 if st is None else len(st[0])
        p = min(m.p, d.kg)
        q_max = qs.max(axis=1)[None, :]
        q_sum = qs.sum(axis=1)[None, :]
        taps = min(m.taps, d.Sw)
        per_image = d.Q * (taps * q_max * p + p)
        busy = n[:, None] * per_image
        h_rows = (min(m.ew, d.P) - 1) * d.sh + m.h
        if_words = strip_images.astype(np.int64)[:, None] * q_sum * h_rows * d.Wx
        f_words = q_sum * m.h * taps * p * n_kb[:, None]
        outs = outs.astype(np.int64)
        psum_in = np.where(np.arange(self.stages)[None, :] > 0, outs[:, None], 0)
        # a pass starts with empty scratchpads: each PE's first image waits for its filter rows,
        # which stream in filter-column order to every PE of the pass
        fill = np.maximum(0, f_words // widths["filter"] - per_image)
        cost = np.maximum.reduce([
            busy + fill,
            if_words // widths["ifmap"],
            f_words // widths["filter"],
            np.broadcast_to(outs[:, None] // widths["psum"], busy.shape),
            psum_in // widths["psum"],
        ])  # fmt: skip
        words = if_words.sum() + f_words.sum() + outs.sum() * self.stages + psum_in.sum()
        return int(cost.sum()), int(words)


def shortlist(d: DirectConv, hw: HardwareConfig, k: int = 1) -> list[RsMapping]:
    """The ``k`` mappings with the fewest estimated cycles (then fewest GIN words), best first.

    Candidates respect the scratchpads: ``q taps <= ifmap``, ``p q taps <= filter``, ``p <= psum``.

    Raises:
        CompileError: no mapping fits the scratchpads.
    """
    pe = hw.pe
    rows, cols = hw.array.rows, hw.array.cols
    n_rc = ceil_div(d.Rw, rows)
    h = ceil_div(d.Rw, n_rc)
    n_es = ceil_div(d.P, cols)
    ew = ceil_div(d.P, n_es)
    fit = min(pe.ifmap_spad_entries, pe.filter_spad_entries)
    taps = ceil_div(d.Sw, ceil_div(d.Sw, fit))  # filter rows wider than a scratchpad: chunks
    ranked: list[tuple[tuple[int, int], RsMapping]] = []
    bands = rows // h
    qs = sorted({q for q in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64) if q <= d.Cg} | {d.Cg}
                if d.Cg <= 64 else {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64})  # fmt: skip
    ps = sorted({p for p in (1, 2, 4, 8, 12, 16, 24, 32) if p <= d.kg} | {min(d.kg, 32)})
    # images per set: a filter row stays in its scratchpad while n input planes stream past it
    # (in filter gradients the planes are the layer's input channels, often hundreds)
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64, 128, 256) if n < d.batch] + [min(d.batch, 256)]
    for q in qs:
        if q * taps > pe.ifmap_spad_entries:
            continue
        for p in ps:
            if p > pe.psum_spad_entries or p * q * taps > pe.filter_spad_entries:
                continue
            # the two orders differ only with several filter blocks and several strips
            inners = ("strips", "filters") if d.kg > p and d.P > ew else ("strips",)
            for n, inner in itertools.product(ns, inners):
                if n > 4 and n * d.Q * (taps * q * p + p) > MAX_PE_OPS:
                    break
                for chain in range(1, bands + 1):
                    if chain > ceil_div(d.Cg, q) * n_rc * ceil_div(d.Sw, taps):
                        break
                    m = RsMapping(h, ew, chain, p, q, n, taps, inner)
                    ranked.append((_Plan(d, m, hw).estimate(), m))
    if not ranked:
        raise CompileError(d.name, "pe", "no row-stationary mapping fits the scratchpads")
    ranked.sort(key=lambda cm: cm[0])
    return [m for _, m in ranked[:k]]


@register
class RowStationary(PlannedDataflow):
    """Eyeriss row stationary on the zero-padded problems."""

    shortlist = staticmethod(shortlist)
    plan_class = _Plan
    id = "rs"
    description = "Eyeriss row stationary (zero-padded igrad/fgrad)"

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """Refuse arrays without a multicast GIN."""
        if hw.array.interconnect != "multicast":
            return "row stationary needs a multicast GIN (array.interconnect: multicast)"
        return None

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """Padded MACs over every PE."""
        return ideal(DirectConv.of(problem).macs, hw)

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: RsMapping | None = None,
        order: str | None = None,
    ) -> Schedule:
        """Search a mapping (unless given); build the distinct passes (or every one) in order.

        ``order`` names a loop order of :meth:`orders` (default: the first).
        """
        plan = self.plan(problem, hw, mapping)
        d, m = plan.d, plan.m
        passes = self.ordered_passes(plan, order)
        grouped = group_passes(
            passes, plan.descriptor, plan.spec, hw, d.name,
            exhaustive=exhaustive, stage=lambda ps: ps.stage,
        )  # fmt: skip
        n_cols = len(plan.columns)
        return direct_schedule(
            self.id,
            d,
            grouped,
            (("column", n_cols), ("stage", plan.stages)),
            {
                "h": m.h,
                "ew": m.ew,
                "chain": m.chain,
                "p": m.p,
                "q": m.q,
                "n": m.n,
                "taps": m.taps,
                "inner": m.inner,
                "bands": plan.bands,
                "sets_per_band": plan.slots_u,
                "order": order or next(iter(plan.ORDERS)),
            },
            self.footprints(problem, hw, order, mapping),
        )
