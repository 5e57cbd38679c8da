"""EcoFlow transposed convolution (``ecoflow_igrad``, §4.1): input gradients without zeros.

Compile time (§4.1.1, Fig. 5). The products a transposed convolution needs are the outer
product of the rotated filter and the error (step 2): every (weight, error element) pair whose
output lies inside the input gradient, and nothing multiplied by an inserted or border zero.
Their labels (step 3) are the output elements they accumulate into. :func:`symbolic` spells
these steps out for one channel; the compiler applies the same mapping to whole layers.

Mapping. Output positions are cut into blocks of ``stride`` rows and columns (one block holds
every output phase, so it uses every filter tap once per channel) and the blocks are dealt
cyclically to the PE *units* of a set: block ``b`` goes to unit ``b mod n``. This is the
circular shift of step 4: with one error element per unit, a product ``w[r, s] e[a, b]``
lands ``floor(s / stride)`` units to the right of error element ``(a, b)``, and every product
of one label lands in one unit. Blocks beyond a multiple of the unit count wrap around into the
first round, as the circular shift does, so a left-edge block (early taps only) and a
right-edge block (late taps only) share a unit and the units stay equally loaded.

* **Grouping**: an error map larger than the set gives each unit several blocks, processed one
  round after another (a round is a pass).
* **Expansion**: a unit is ``e`` PEs of one column; the reduced channels (the layer's output
  channels) are split among them and the partial sums go up the column, the top PE sending the
  total to the global buffer (§4.1.2: accumulated locally, passed up when a label's last
  product is done).
* **Sets** (Algorithm 1, §4.3): the array holds several sets side by side and stacked; each
  runs a job of ``n`` images and ``p`` output channels; sets with the same channels share the
  weight broadcast and sets with the same images share the error multicast.

Runtime (§4.1.2). Weights are broadcast in the same order to every PE of the sets that use them
(each PE multiplies each weight by its own error elements, one product per cycle); error
elements are multicast to the PEs that use them (a PE subscribes to several groups: the IDs of
§4.4); partial sums accumulate in the psum scratchpad. When outputs have too many phases for
the psum scratchpad (large strides), a round covers a range of output phases at a time.

Deviation from the printed example: Fig. 5 keeps error rows on PE rows and accumulates the
labels of neighbouring error rows up the column; this compiler applies the circular shift to
rows as well as columns (so a label never spans PE rows of one unit unless expanded), which
keeps the psum registers per PE bounded for every layer. §4.4 sizes the row IDs with the same
equation as the column IDs, which is what this 2-D shift needs.
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
    PassSpec,
    Schedule,
    build_program,
    group_passes,
    register,
)
from ecoflow.dataflows.common import (
    DirectConv,
    ceil_div,
    direct_schedule,
    gin_words,
    segment_ids,
)
from ecoflow.dataflows.zerofree import (
    Work,
    ZeroFreeDataflow,
    id_limits,
    ids_fit,
    multicast,
    pe_programs,
    useful_pairs,
)
from ecoflow.workloads.layer import Axis, Problem


# ---- the symbolic steps of §4.1.1 ------------------------------------------------------------
@dataclass(frozen=True)
class SymbolicTransposed:
    """The compile steps of §4.1.1 for one channel (the walk-through of Fig. 5).

    Attributes:
        weights: names of the rotated filter's elements in execution order (``w{r}{s}``,
            column-major: ``w00, w10, w20, w01, ...``) (step 1).
        errors: names of the error elements, row-major (step 1).
        product: (weights, errors) the outer product's labels: the output ``(y, x)`` each
            product accumulates into, or ``None`` where it falls outside the output (steps 2-3).
        shift: per weight, the columns its products move right, ``floor(w_idx / (S stride))``.
        pe: (weights, errors) the PE ``(row, col)`` that runs each product (step 4).
        groups: per PE, the error elements it receives (its multicast groups).
    """

    weights: tuple[str, ...]
    errors: tuple[str, ...]
    product: tuple[tuple[tuple[int, int] | None, ...], ...]
    shift: tuple[int, ...]
    pe: tuple[tuple[tuple[int, int], ...], ...]
    groups: dict[tuple[int, int], tuple[str, ...]]


def symbolic(error: tuple[int, int], filt: tuple[int, int], stride: int, pad: int = 0):
    """The steps of §4.1.1 for an error map ``error``, a filter ``filt`` and a stride.

    ``w[r][s] * e[a][b]`` contributes to output ``(a stride + r - pad, b stride + s - pad)``
    (a transposed convolution of the error with the rotated filter). One error element per PE,
    ``(a, b)`` on PE ``(a, b)``; the product moves ``floor(w_idx / (S stride))`` PEs to the right,
    circularly (``w_idx = s R + r``).
    """
    (pe_h, pe_w), (r_n, s_n) = error, filt
    out_h = (pe_h - 1) * stride + r_n - 2 * pad
    out_w = (pe_w - 1) * stride + s_n - 2 * pad
    weights = tuple(f"w{r}{s}" for s in range(s_n) for r in range(r_n))
    errors = tuple(f"e{a}{b}" for a in range(pe_h) for b in range(pe_w))
    product, pe_of, shift = [], [], []
    for idx in range(r_n * s_n):
        s, r = divmod(idx, r_n)
        sh = idx // (s_n * stride)
        shift.append(sh)
        row, where = [], []
        for a in range(pe_h):
            for b in range(pe_w):
                y, x = a * stride + r - pad, b * stride + s - pad
                row.append((y, x) if 0 <= y < out_h and 0 <= x < out_w else None)
                where.append((a, (b + sh) % pe_w))
        product.append(tuple(row))
        pe_of.append(tuple(where))
    groups: dict[tuple[int, int], set[int]] = {}
    for row in pe_of:
        for j, at in enumerate(row):
            groups.setdefault(at, set()).add(j)
    return SymbolicTransposed(
        weights=weights,
        errors=errors,
        product=tuple(product),
        shift=tuple(shift),
        pe=tuple(pe_of),
        groups={k: tuple(errors[j] for j in sorted(v)) for k, v in sorted(groups.items())},
    )


# ---- the per-axis deal of output blocks --------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AxisDeal:
    """Output blocks of one axis dealt to ``units`` units over ``rounds`` rounds.

    Attributes:
        block: outputs per block.
        units: units along the axis.
        rounds: rounds (blocks past ``units * rounds`` wrap into the first rounds).
        outs: per (unit, round), the outputs it computes (sorted).
        taps: per output, its data taps and their padded-input coordinates.
        windows: the distinct sets of units one input coordinate feeds (borders ignored).
        window_of: per padded-input coordinate, its window's index.
    """

    block: int
    units: int
    rounds: int
    outs: dict[tuple[int, int], np.ndarray]
    taps: list[tuple[np.ndarray, np.ndarray]]
    windows: tuple[tuple[int, ...], ...]
    window_of: np.ndarray

    @classmethod
    @functools.lru_cache(maxsize=256)
    def of(cls, axis: Axis, block: int, units: int) -> AxisDeal:
        """Deal the outputs of ``axis`` in blocks of ``block`` to ``units`` units."""
        n_blocks = ceil_div(axis.out, block)
        units = min(units, n_blocks)
        rounds = max(1, n_blocks // units)
        o, k, coord = useful_pairs(axis)
        taps = [(k[o == y], coord[o == y]) for y in range(axis.out)]
        outs: dict[tuple[int, int], list[int]] = {}
        for y in range(axis.out):
            b = y // block
            outs.setdefault((b % units, (b // units) % rounds), []).append(y)
        # the units an input coordinate feeds, ignoring the borders (its full window)
        windows: dict[tuple[int, ...], int] = {}
        window_of = np.zeros(axis.extent, np.int64)
        for c in range(axis.extent):
            ys = [(c - k * axis.tap_dilation) // axis.stride for k in range(axis.taps)
                  if (c - k * axis.tap_dilation) % axis.stride == 0]  # fmt: skip
            win = tuple(sorted({(y // block) % units for y in ys}))
            window_of[c] = windows.setdefault(win, len(windows))
        return cls(
            block, units, rounds, {key: np.array(v) for key, v in outs.items()}, taps,
            tuple(windows), window_of,
        )  # fmt: skip

    @functools.cache  # noqa: B019  (deals are cached themselves and few)
    def work(self, unit: int, rnd: int, phases: range | None = None) -> tuple[int, int]:
        """(outputs, products) of one unit in one round, over outputs whose phase is in range."""
        ys = self.outs.get((unit, rnd), np.zeros(0, int))
        if phases is not None:
            ys = ys[np.isin(ys % self.block, np.asarray(phases))]
        return len(ys), sum(len(self.taps[y][0]) for y in ys)

    @functools.cache  # noqa: B019
    def coords(self, unit: int, rnd: int, phases: range | None = None) -> int:
        """Distinct input coordinates one unit reads in one round (error elements it holds)."""
        ys = self.outs.get((unit, rnd), np.zeros(0, int))
        if phases is not None:
            ys = ys[np.isin(ys % self.block, np.asarray(phases))]
        return len({c for y in ys for c in self.taps[y][1].tolist()})

    @functools.cache  # noqa: B019
    def coords_all(self, rnd: int, phases: range | None = None) -> int:
        """Distinct input coordinates all units read in one round (multicast words)."""
        return len({
            c for u in range(self.units) for y in self.outs.get((u, rnd), [])
            if phases is None or y % self.block in phases for c in self.taps[y][1].tolist()
        })  # fmt: skip

    @functools.cache  # noqa: B019
    def taps_used(self, rnd: int, phases: range | None = None) -> int:
        """Distinct taps the units use in one round (over outputs whose phase is in range)."""
        used = set()
        for u in range(self.units):
            for y in self.outs.get((u, rnd), []):
                if phases is None or y % self.block in phases:
                    used.update(self.taps[y][0].tolist())
        return len(used)


def _block(axis: Axis) -> int:
    """Outputs per block: the input dilation over the window stride (the output phases)."""
    if axis.dilation % axis.stride == 0:
        return max(1, axis.dilation // axis.stride)
    return 1


# candidate mappings built before the search gives up: the estimate only approximates the
# scratchpads, and on CycleGAN gen_out igrad (7x7, 3 to 64 channels, 224x224) its best
# mappings with shared strips overflow the ifmap scratchpad (107 words of 75)
TRIES = 64


@dataclass(frozen=True)
class TransposedMapping:
    """Mapping parameters of ``ecoflow_igrad``.

    Attributes:
        nr, nc: units per set along output rows and columns.
        e: PEs per unit (expansion: the reduced channels are split among them).
        p: output channels per PE.
        n: images per PE.
        phases: output-row phases per round (all of them unless registers are short).
        phases_w: output-column phases per round (0: all).
        share: an error word serves every unit whose window holds it (multicast across filter
            rows; the units hold it until their own row comes); else it is sent again for each
            filter row (more GIN words, fewer held).
    """

    nr: int
    nc: int
    e: int
    p: int
    n: int
    phases: int
    phases_w: int = 0
    share: bool = True


@dataclass(frozen=True)
class _Job:
    group: int
    images: range
    channels: range


@dataclass(frozen=True)
class _Pass:
    jobs: tuple[_Job, ...]
    rh: int
    rw: int
    phases: range
    phases_w: range


class _Plan:
    """The passes of a problem under one mapping."""

    # loop orders: jobs (image and channel blocks) outside rounds (as built), or rounds outside
    ORDERS: ClassVar[dict[str, Callable[[_Pass], tuple] | None]] = {
        "jobs_outer": None,
        "rounds_outer": lambda ps: (ps.rh, ps.rw, ps.phases.start, ps.phases_w.start),
    }

    def __init__(self, d: DirectConv, m: TransposedMapping, hw: HardwareConfig) -> None:
        self.d, self.m, self.hw = d, m, hw
        h, w = d.problem.padded.axes
        self.h = AxisDeal.of(h, _block(h), m.nr)
        self.w = AxisDeal.of(w, _block(w), m.nc)
        self.set_rows = self.h.units * m.e
        self.v_sets = hw.array.rows // self.set_rows
        self.h_sets = hw.array.cols // self.w.units
        self.q = ceil_div(d.Cg, m.e)
        jobs = [
            _Job(g, range(i, min(d.batch, i + m.n)), range(c, min(d.kg, c + m.p)))
            for g in range(d.groups)
            for c in range(0, d.kg, m.p)
            for i in range(0, d.batch, m.n)
        ]
        per = self.v_sets * self.h_sets
        self.batches = [tuple(jobs[j : j + per]) for j in range(0, len(jobs), per)]
        pw = m.phases_w or self.w.block
        self.phase_groups = [
            (range(a, min(self.h.block, a + m.phases)), range(b, min(self.w.block, b + pw)))
            for a in range(0, self.h.block, m.phases)
            for b in range(0, self.w.block, pw)
        ]

    def passes(self) -> list[_Pass]:
        return [
            _Pass(b, rh, rw, ph, pw)
            for b in self.batches
            for rh in range(self.h.rounds)
            for rw in range(self.w.rounds)
            for ph, pw in self.phase_groups
            if any(self.h.work(u, rh, ph)[1] for u in range(self.h.units))
            and any(self.w.work(u, rw, pw)[1] for u in range(self.w.units))
        ]

    def descriptor(self, ps: _Pass) -> tuple:
        """What shapes a pass's program: job sizes, and each unit's outputs relative to blocks."""
        shape = tuple((len(j.images), len(j.channels)) for j in ps.jobs)
        rel = []
        for deal, rnd in ((self.h, ps.rh), (self.w, ps.rw)):
            units = []
            for u in range(deal.units):
                ys = deal.outs.get((u, rnd), np.zeros(0, int))
                units.append(tuple((int(y % deal.block), tuple(deal.taps[y][0])) for y in ys))
            rel.append(tuple(units))
        phases = (ps.phases.start, len(ps.phases), ps.phases_w.start, len(ps.phases_w))
        return (shape, tuple(rel), phases)

    def work(self, ps: _Pass) -> dict[int, Work]:
        """The products of every PE of a pass, in tick order."""
        d, m, hw = self.d, self.m, self.hw
        cols = hw.array.cols
        hz, wz = d.problem.padded.axes
        out: dict[int, Work] = {}
        for j, job in enumerate(ps.jobs):
            sv, sh = divmod(j, self.h_sets)
            for uh in range(self.h.units):
                ys = self.h.outs.get((uh, ps.rh), np.zeros(0, int))
                ys = ys[np.isin(ys % self.h.block, np.asarray(ps.phases))]
                if len(ys) == 0:
                    continue
                hy = np.concatenate([np.full(len(self.h.taps[y][0]), y) for y in ys])
                hk = np.concatenate([self.h.taps[y][0] for y in ys])
                hc = np.concatenate([self.h.taps[y][1] for y in ys])
                for uw in range(self.w.units):
                    xs = self.w.outs.get((uw, ps.rw), np.zeros(0, int))
                    xs = xs[np.isin(xs % self.w.block, np.asarray(ps.phases_w))]
                    if len(xs) == 0:
                        continue
                    wx = np.concatenate([np.full(len(self.w.taps[x][0]), x) for x in xs])
                    wk = np.concatenate([self.w.taps[x][0] for x in xs])
                    wc = np.concatenate([self.w.taps[x][1] for x in xs])
                    for e in range(m.e):
                        chans = range(e * self.q, min(d.Cg, (e + 1) * self.q))
                        if len(chans) == 0:
                            continue
                        row = sv * self.set_rows + uh * m.e + e
                        col = sh * self.w.units + uw
                        w = self._products(job, chans, (hy, hk, hc), (wx, wk, wc), hz, wz)
                        # unshared strips: a word of one filter row serves one unit row
                        hid = (self.h.window_of[hc][w.iaud // (1 << 20)] if m.share
                               else np.full(len(w), uh))  # fmt: skip
                        key = (j * m.e + e) * len(self._h_windows)
                        w.iaud = (key + hid) * len(self.w.windows) + self.w.window_of[wc][
                            w.iaud % (1 << 20)
                        ]
                        w.faud = np.full(len(w), self._fkey(job, e))
                        out[row * cols + col] = w
        return out

    @functools.cached_property
    def _h_windows(self) -> tuple[tuple[int, ...], ...]:
        """The unit rows an error word serves: its window, or one unit row (strips unshared)."""
        if self.m.share:
            return self.h.windows
        return tuple((u,) for u in range(self.h.units))

    def footprint(self, ps: _Pass) -> Footprint:
        """The buffer segments a pass reads (error and weights) and writes (outputs)."""
        d, seg = self.d, self.hw.segment_words
        hz, wz = d.problem.padded.axes
        ys, hk, hc = self._rows(self.h, ps.rh, ps.phases, self.w, ps.rw, ps.phases_w)
        xs, wk, wc = self._rows(self.w, ps.rw, ps.phases_w, self.h, ps.rh, ps.phases)
        c = np.arange(d.Cg)
        # every job reads and writes the same columns: rows of all jobs, then their segments
        ifm, fil, out = [], [], []
        for job in ps.jobs:
            kk = job.group * d.kg + np.asarray(job.channels)
            i = np.asarray(job.images)
            rows = d.ifmap_id(i[:, None, None], kk[0], c[None, :, None], hc[None, None, :], 0)
            ifm.append(rows.reshape(-1) // d.Wx)
            rows = d.filter_id(kk[:, None, None], c[None, :, None],
                               hk[None, None, :] * hz.tap_dilation, 0)  # fmt: skip
            fil.append(rows.reshape(-1) // d.Sw)
            rows = d.out_id(i[:, None, None], kk[None, :, None], ys[None, None, :], 0)
            out.append(rows.reshape(-1) // d.Q)
        return Footprint(
            ifmap=segment_ids(np.concatenate(ifm), wc, d.Wx, seg),
            filter=segment_ids(np.concatenate(fil), wk * wz.tap_dilation, d.Sw, seg),
            psum=np.zeros(0, np.int64),
            out=segment_ids(np.concatenate(out), xs, d.Q, seg),
        )

    @functools.cache  # noqa: B019  (one plan, few rounds)
    def _rows(self, deal: AxisDeal, rnd: int, phases: range, other: AxisDeal, o_rnd: int,
              o_phases: range):  # fmt: skip
        """Along one axis: a round's outputs with products, their data taps, input coordinates.

        Sorted; nothing when the other axis has no outputs in its round.
        """
        empty = np.zeros(0, np.int64)

        def outputs(dl: AxisDeal, r: int, ph: range) -> np.ndarray:
            ys = np.concatenate([dl.outs.get((u, r), empty) for u in range(dl.units)])
            ys = ys[np.isin(ys % dl.block, np.asarray(ph))]
            return np.array([y for y in ys.tolist() if len(dl.taps[y][0])], np.int64)

        ys = outputs(deal, rnd, phases) if len(outputs(other, o_rnd, o_phases)) else empty
        taps = [deal.taps[y] for y in ys]
        tk = unique(np.concatenate([t[0] for t in taps] or [empty]))
        tc = unique(np.concatenate([t[1] for t in taps] or [empty]))
        return ys, tk, tc

    def _products(self, job, chans, hs, ws, hz: Axis, wz: Axis) -> Work:
        """One PE's products: for each reduced channel, tap, output channel and image."""
        d = self.d
        hy, hk, hc = hs
        wx, wk, wc = ws
        a, b, c, k, i = np.meshgrid(
            np.arange(len(hy)), np.arange(len(wx)), np.asarray(chans),
            np.asarray(job.channels), np.asarray(job.images), indexing="ij",
        )  # fmt: skip
        a, b, c, k, i = (x.reshape(-1) for x in (a, b, c, k, i))
        kk = job.group * d.kg + k
        tap_h, tap_w = hk[a], wk[b]
        # common progress: channel, then tap (row, column), then output channel, then image
        # common progress (the same scale in every set, whatever its job's sizes)
        tick = (((c - chans.start) * hz.taps + tap_h) * wz.taps + tap_w) * self.m.p
        tick = (tick + (k - job.channels.start)) * self.m.n + (i - job.images.start)
        order = np.lexsort((wx[b], hy[a], tick))
        ifm = d.ifmap_id(i, kk, c, hc[a], wc[b])
        fil = d.filter_id(kk, c, tap_h * hz.tap_dilation, tap_w * wz.tap_dilation)
        lab = d.out_id(i, kk, hy[a], wx[b])
        zero = np.zeros(len(order), np.int64)
        rnd = zero if self.m.share else tap_h[order]
        w = Work(ifm[order], fil[order], lab[order], tick[order], rnd, zero)
        w.iaud = (a[order] << 20) + b[order]  # which (row, column) taps: keyed by the caller
        return w

    def _fkey(self, job: _Job, e: int) -> int:
        """Audience of a weight: every PE of part ``e`` of the sets with the job's channels."""
        return (job.group * self.d.kg + job.channels.start) * self.m.e + e

    def audiences(self, ps: _Pass) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """PEs of each error-word and weight audience key of a pass.

        An error element goes to the units whose output windows cover it (clipped at the
        borders or not: a unit whose window is clipped drops it), a weight to every PE of the
        same part of the sets that run its channels. Without shared strips an error word is
        sent once per filter row, and the word of one filter row serves one unit row.
        """
        m, cols = self.m, self.hw.array.cols
        ifm: dict[int, np.ndarray] = {}
        fil: dict[int, list[int]] = {}
        for j, job in enumerate(ps.jobs):
            sv, sh = divmod(j, self.h_sets)
            for e in range(m.e):
                key = (j * m.e + e) * len(self._h_windows)
                for hid, rows_w in enumerate(self._h_windows):
                    for wid, cols_w in enumerate(self.w.windows):
                        pes = [(sv * self.set_rows + uh * m.e + e) * cols + sh * self.w.units + uw
                               for uh in rows_w for uw in cols_w]  # fmt: skip
                        ifm[(key + hid) * len(self.w.windows) + wid] = np.array(pes)
                f = self._fkey(job, e)
                fil.setdefault(f, []).extend(
                    (sv * self.set_rows + uh * m.e + e) * cols + sh * self.w.units + uw
                    for uh in range(self.h.units)
                    for uw in range(self.w.units)
                )
        return ifm, {k: np.array(v) for k, v in fil.items()}

    def spec(self, ps: _Pass) -> PassSpec:
        """The pass in readable form."""
        d, hw = self.d, self.hw
        rows, cols = hw.array.rows, hw.array.cols
        work = self.work(ps)
        progs = pe_programs(rows, cols, work, hw, d.name)
        pes = np.concatenate([np.full(len(w), p) for p, w in work.items()])
        cat = {f: np.concatenate([getattr(w, f) for w in work.values()]) for f in
               ("ifmap", "filter", "tick", "iround", "fround")}  # fmt: skip
        i_members, f_members = self.audiences(ps)
        i_aud = np.concatenate([w.iaud for w in work.values()])
        f_aud = np.concatenate([w.faud for w in work.values()])
        # exact receiver groups, unless the controllers lack the IDs: then each error word
        # goes to the units of its whole window, and those outside the border drop it
        ifm = multicast(rows, cols, pes, cat["ifmap"], cat["iround"], cat["tick"],
                        limits=id_limits(hw))  # fmt: skip
        if not ids_fit(ifm.ids, hw):
            ifm = multicast(rows, cols, pes, cat["ifmap"], cat["iround"], cat["tick"],
                            audience=i_aud, members=i_members, limits=id_limits(hw))  # fmt: skip
        fil = multicast(rows, cols, pes, cat["filter"], cat["fround"], cat["tick"],
                        base=len(ifm.stream), audience=f_aud, members=f_members,
                        limits=id_limits(hw))  # fmt: skip
        return PassSpec(
            rows=rows,
            cols=cols,
            ops=progs.ops,
            streams={"ifmap": ifm.stream, "filter": fil.stream},
            ids={"ifmap": ifm.ids, "filter": fil.ids},
            source={t: np.array(["gin"] * (rows * cols)) for t in ("ifmap", "filter")},
            capacity={"ifmap": hw.pe.ifmap_spad_entries, "filter": hw.pe.filter_spad_entries},
            width=gin_words(d.problem.phase, hw),
            send_up=np.zeros(rows * cols, bool),
            psum_from_gin=np.zeros(rows * cols, bool),
            send_up_ops=progs.up,
        )

    # ---- estimate for the search ----------------------------------------------------------
    def estimate(self) -> tuple[int, int] | None:
        """(cycles, words) of the plan, or None when a PE would need too many psum registers.

        A pass takes at least its busiest PE's products and each network's words over its
        width; the estimate sums the largest of these over the passes.
        """
        d, m, hw = self.d, self.m, self.hw
        widths = gin_words(d.problem.phase, hw)
        # per batch of jobs (one pass per round): images, channels, distinct weight and
        # error blocks, jobs
        n, p, f_blocks, e_blocks, jobs = (x[None, None, :] for x in np.array([
            (max(len(j.images) for j in b), max(len(j.channels) for j in b),
             len({(j.group, j.channels.start) for j in b}),
             len({(j.group, j.images.start) for j in b}), len(b))
            for b in self.batches
        ], np.int64).T)  # fmt: skip
        total, words = 0, 0
        for ph, pw in self.phase_groups:
            # (round, 1, 1) and (1, round, 1) per axis, (1, 1, batch) per batch
            rh = np.array([self._round(self.h, r, ph) for r in range(self.h.rounds)], np.int64)
            rw = np.array([self._round(self.w, r, pw) for r in range(self.w.rounds)], np.int64)
            lab_h, prod_h, out_h, held_h, taps_h, all_h = (c[:, None, None] for c in rh.T)
            lab_w, prod_w, out_w, held_w, taps_w, all_w = (c[None, :, None] for c in rw.T)
            if np.any(lab_h * lab_w * m.p * m.n > hw.pe.psum_spad_entries):
                return None
            # error elements held at once: the unit's window (shared words arrive when the
            # first unit needs them), or a window row per output row of the unit
            held = held_w * (held_h if m.share else lab_h)
            if np.any(held * m.n > hw.pe.ifmap_spad_entries):
                return None
            busy = prod_h * prod_w * self.q * p * n
            f_words = f_blocks * d.Cg * taps_h * taps_w * p
            e_words = e_blocks * n * d.Cg * all_h * all_w * (1 if m.share else taps_h)
            o_words = out_h * out_w * jobs * p * n
            cost = np.maximum.reduce([busy, f_words // widths["filter"],
                                      e_words // widths["ifmap"],
                                      o_words // widths["psum"]])  # fmt: skip
            total += int(cost.sum()) + cost.size * m.e * 4
            words += int((f_words + e_words + o_words).sum())
        return total, words

    @staticmethod
    def _round(deal: AxisDeal, rnd: int, phases: range) -> tuple[int, ...]:
        """One axis of a round, for the estimate.

        Returns:
            The most outputs and products of one unit, the outputs of all units, the most input
            coordinates one unit holds, the taps used, the input coordinates of all units.
        """
        work = [deal.work(u, rnd, phases) for u in range(deal.units)]
        return (max(a[0] for a in work), max(a[1] for a in work), sum(a[0] for a in work),
                max(deal.coords(u, rnd, phases) for u in range(deal.units)),
                deal.taps_used(rnd, phases), deal.coords_all(rnd, phases))  # fmt: skip


def shortlist(d: DirectConv, hw: HardwareConfig, k: int = 1) -> list[TransposedMapping]:
    """The ``k`` mappings that fit the PEs with the fewest estimated cycles, best first.

    Ties in cycles go to fewer network words.
    """
    rows, cols = hw.array.rows, hw.array.cols
    h, w = d.problem.padded.axes
    nbh = ceil_div(h.out, _block(h))
    nbw = ceil_div(w.out, _block(w))
    ranked: list[tuple[tuple[int, int], TransposedMapping]] = []
    es = sorted({e for e in (1, 2, 3, 4, 6, 8, 13) if e <= min(rows, d.Cg)})
    for e in es:
        nrs = sorted({min(nbh, rows // e // k) for k in (1, 2, 3, 4)} - {0})
        ncs = sorted({min(nbw, cols // k) for k in (1, 2, 3, 4, 5)} - {0})
        for nr, nc in itertools.product(nrs, ncs):
            for p in sorted({p for p in (1, 2, 3, 4, 6, 8) if p <= d.kg}):
                for n in sorted({n for n in (1, 2, 4) if n <= d.batch}):
                    bh, bw = _block(h), _block(w)
                    # split output-row phases first, then (one row phase) column phases
                    split = [(ph, bw) for ph in sorted({bh, ceil_div(bh, 2), ceil_div(bh, 4), 1})]
                    split += [(1, pw) for pw in sorted({ceil_div(bw, 2), ceil_div(bw, 4), 1})]
                    for phases, phases_w in dict.fromkeys(split):
                        for share in (True, False):
                            m = TransposedMapping(nr, nc, e, p, n, phases, phases_w, share)
                            cost = _Plan(d, m, hw).estimate()
                            if cost is not None:
                                ranked.append((cost, m))
    ranked.sort(key=lambda cm: cm[0])
    # the estimate bounds registers but only approximates the scratchpads and the multicast
    # IDs: the best candidates are built (first and last pass) until one fits. Mappings that
    # fit the scratchpads but not the IDs are kept aside: when no candidate fits both, the
    # compile reports the IDs the hardware lacks
    last: CompileError | None = None
    found: list[TransposedMapping] = []
    short_of_ids: list[TransposedMapping] = []
    for _, m in ranked[: TRIES + k - 1]:
        plan = _Plan(d, m, hw)
        passes = plan.passes()
        fits_ids = True
        try:
            for ps in passes[:1] + passes[1:][-1:]:
                spec = plan.spec(ps)
                build_program(spec, unlimited_ids(hw), d.name)
                fits_ids = fits_ids and all(ids_fit(i, hw) for i in spec.ids.values())
        except CompileError as err:
            last = err
            continue
        if not fits_ids:
            short_of_ids.append(m)
            continue
        found.append(m)
        if len(found) == k:
            break
    if found or short_of_ids:
        return found or short_of_ids[:k]
    if last is not None:
        raise last
    raise CompileError(d.name, "pe.psum_spad_entries",
                       "no transposed mapping fits the psum scratchpad")  # fmt: skip


def unlimited_ids(hw: HardwareConfig) -> HardwareConfig:
    """The hardware with room for any number of multicast IDs (IDs are checked later)."""
    gin = hw.noc.gin.model_copy(update={"row_ids_per_xbus": 64, "column_ids_per_pe": 64})
    return hw.model_copy(update={"noc": hw.noc.model_copy(update={"gin": gin})})


@register
class EcoflowTransposed(ZeroFreeDataflow):
    """EcoFlow's zero-free transposed convolution (input gradients, ``tconv`` forward)."""

    shortlist = staticmethod(shortlist)
    plan_class = _Plan
    id = "ecoflow_igrad"
    description = "EcoFlow transposed convolution without zeros (§4.1)"

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: TransposedMapping | None = None,
        order: str | None = None,
    ) -> Schedule:
        """Search a mapping (unless given); build the distinct passes (or every one) in order.

        ``order`` names a loop order of :meth:`orders` (default: the first).
        """
        plan = self.plan(problem, hw, mapping)
        d, m = plan.d, plan.m
        passes = self.ordered_passes(plan, order)
        grouped = group_passes(passes, plan.descriptor, plan.spec, hw, d.name,
                               exhaustive=exhaustive)  # fmt: skip
        return direct_schedule(
            self.id,
            d,
            grouped,
            (("jobs", len(plan.batches)), ("rounds", plan.h.rounds * plan.w.rounds),
             ("phase_groups", len(plan.phase_groups))),
            {"nr": plan.h.units, "nc": plan.w.units, "e": m.e, "p": m.p, "n": m.n,
             "phases": m.phases, "phases_w": m.phases_w or plan.w.block,
             "share": int(m.share),
             "sets": plan.v_sets * plan.h_sets, "order": order or next(iter(plan.ORDERS))},
            self.footprints(problem, hw, order, mapping),
            zero_free=True,
        )  # fmt: skip
