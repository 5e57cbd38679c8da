"""TPU-like output-stationary systolic array (``tpu``) on im2col-lowered problems.

Each phase's zero-padded problem is lowered to a matrix product ``out[m, n] = sum_kk A[m, kk]
B[kk, n]`` with ``m`` the output pixels (image, row, column), ``kk`` the window positions
(channel, filter row, filter column) and ``n`` the output channels of one group. A pass is a
``rows x cols`` tile of the output: PE ``(i, j)`` keeps ``out[m0 + i, n0 + j]`` in its psum
register and performs ``K_red`` MACs. Row ``i`` of ``A`` enters the left edge and moves right
one PE per cycle, column ``j`` of ``B`` enters the top edge and moves down; both are fed skewed
(word ``kk`` of row ``i`` is issued at ``kk + i``) so that matching operands meet. Finished
outputs drain over the output network to the global buffer. Zeros of the padded problem are
multiplied like any other operand (zero-gated).

Systolic PEs are modelled as elastic pipeline stages: each operand register has a skid entry
(``pe.operand_registers`` words), which sustains one word per cycle per link as a lock-step
array does. The left edge takes the ifmap operand at the narrow GIN width (one word per row
per cycle), the top edge the filter operand at the wide width (one per column), in every phase:
the edges are fixed by the array, not by the data type. Grouped layers run group by group (a
depthwise layer uses one column).

References:
    N. P. Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
    ISCA 2017. A. Samajdar et al., "A Systematic Methodology for Characterizing Scalability of
    DNN Accelerators using SCALE-Sim", ISPASS 2020 (output-stationary timing).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecoflow.arrays import unique
from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    AbstractDataflow,
    Footprint,
    Footprints,
    Ids,
    PassSpec,
    PeOps,
    Schedule,
    Stream,
    group_passes,
    register,
)
from ecoflow.dataflows.common import (
    DirectConv,
    ceil_div,
    direct_schedule,
    distinct,
    distinct_orders,
    ideal,
    in_order,
    make_stream,
    plan_footprints,
    segment_ids,
    union,
)
from ecoflow.workloads.layer import Problem


@dataclass(frozen=True)
class _Tile:
    group: int
    m0: int
    n0: int


class _Plan:
    # loop orders: output-pixel tiles outside filter tiles (as built), or filter tiles outside
    ORDERS: ClassVar[dict[str, Callable[[_Tile], tuple] | None]] = {
        "m_outer": None,
        "n_outer": lambda t: (t.group, t.n0, t.m0),
    }

    def __init__(self, d: DirectConv, hw: HardwareConfig) -> None:
        self.d, self.hw = d, hw
        self.rows, self.cols = hw.array.rows, hw.array.cols
        self.M = d.batch * d.P * d.Q
        self.kred = d.Cg * d.Rw * d.Sw
        self.m_tiles = ceil_div(self.M, self.rows)
        self.n_tiles = ceil_div(d.kg, self.cols)
        # segments of a pixel tile and of a filter tile of group 0, each computed once
        self._pixels = functools.cache(self._pixel_segments)
        self._filters = functools.cache(self._filter_segments)

    def passes(self) -> list[_Tile]:
        """The tiles as built (group, pixel tile, filter tile)."""
        return self.tiles()

    def tiles(self) -> list[_Tile]:
        return list(self._tiles)

    @functools.cached_property
    def _tiles(self) -> tuple[_Tile, ...]:
        return tuple(
            _Tile(g, mt * self.rows, nt * self.cols)
            for g in range(self.d.groups)
            for mt in range(self.m_tiles)
            for nt in range(self.n_tiles)
        )

    def descriptor(self, t: _Tile) -> tuple[int, int]:
        return (min(self.rows, self.M - t.m0), min(self.cols, self.d.kg - t.n0))

    def footprint(self, t: _Tile) -> Footprint:
        """The buffer segments a tile reads (its ``A`` rows' windows, ``B`` columns) and writes.

        The ``A`` rows depend only on the pixel tile and the ``B`` columns only on the filter
        tile, and a group's are those of group 0 moved by the group's rows: each is computed
        once and shared by the tiles that read it.
        """
        d, seg = self.d, self.hw.segment_words
        lines, ifmap = self._pixels(t.m0)
        _, nj = self.descriptor(t)
        k = t.group * d.kg + t.n0 + np.arange(nj)
        # a group's rows: those of group 0 moved by the rows of the groups before it
        in_rows = (d.ifmap_id(0, t.group * d.kg, 0, 0, 0) - d.ifmap_id(0, 0, 0, 0, 0)) // d.Wx
        filter_rows = t.group * d.kg * d.Cg * d.Rw
        # output segments of filter k: those of filter 0 moved by k planes
        return Footprint(
            ifmap=ifmap + in_rows * ceil_div(d.Wx, seg),
            filter=self._filters(t.n0) + filter_rows * ceil_div(d.Sw, seg),
            psum=np.zeros(0, np.int64),
            out=distinct((k[:, None] * d.P * ceil_div(d.Q, seg) + lines[None, :]).reshape(-1)),
        )

    def _pixel_segments(self, m0: int) -> tuple[np.ndarray, np.ndarray]:
        """Output segments of filter 0 and input segments of group 0 of the pixel tile at ``m0``."""
        d, seg = self.d, self.hw.segment_words
        mi = min(self.rows, self.M - m0)
        img, rest = np.divmod(m0 + np.arange(mi), d.P * d.Q)
        y, x = np.divmod(rest, d.Q)
        c, r, s = np.arange(d.Cg), np.arange(d.Rw), np.arange(d.Sw)
        ifm, out = [], []
        # pixels of one output row read the same input rows, over their own window columns
        line = img * d.P + y
        for ln in unique(line):
            at = line == ln
            i, yy, xs = int(img[at][0]), int(y[at][0]), x[at]
            rows = d.ifmap_id(i, 0, c[:, None], yy * d.sh + r[None, :], 0).reshape(-1)
            cols = (xs[:, None] * d.sw + s[None, :]).reshape(-1)
            ifm.append(segment_ids(rows // d.Wx, cols, d.Wx, seg))
            out.append(segment_ids(np.array([d.out_id(i, 0, yy, 0) // d.Q]), xs, d.Q, seg))
        return union(out), union(ifm)

    def _filter_segments(self, n0: int) -> np.ndarray:
        """Filter segments of group 0 of the filter tile at ``n0``."""
        d, seg = self.d, self.hw.segment_words
        k = n0 + np.arange(min(self.cols, d.kg - n0))
        c, r, s = np.arange(d.Cg), np.arange(d.Rw), np.arange(d.Sw)
        fil = d.filter_id(k[:, None, None], c[None, :, None], r[None, None, :], 0).reshape(-1)
        return segment_ids(fil // d.Sw, s, d.Sw, seg)

    def spec(self, t: _Tile) -> PassSpec:
        d, hw, rows, cols = self.d, self.hw, self.rows, self.cols
        pes = rows * cols
        mi, nj = self.descriptor(t)
        zero_hw, zero_rs = d.zero_hw(), d.zero_rs()
        c, r, s = (a.reshape(-1) for a in np.meshgrid(
            np.arange(d.Cg), np.arange(d.Rw), np.arange(d.Sw), indexing="ij"))  # fmt: skip
        kk = np.arange(self.kred)
        ops = [PeOps.empty() for _ in range(pes)]
        src = {t_: np.array(["none"] * pes, dtype=object) for t_ in ("ifmap", "filter")}
        a_words, b_words = [], []
        k_of = t.group * d.kg + t.n0 + np.arange(nj)
        for i in range(mi):
            img, rest = divmod(t.m0 + i, d.P * d.Q)
            y, x = divmod(rest, d.Q)
            h, w = y * d.sh + r, x * d.sw + s
            a_elem = d.ifmap_id(img, k_of[0], c, h, w)
            a_words.append((a_elem, np.full(self.kred, i), np.zeros(self.kred, int), kk + i))
            for j in range(nj):
                k = k_of[j]
                p = i * cols + j
                first = kk == 0
                last = kk == self.kred - 1
                ops[p] = PeOps(
                    mac=np.ones(self.kred, bool),
                    ifmap=a_elem,
                    filter=d.filter_id(k, c, r, s),
                    reg=np.zeros(self.kred, np.int64),
                    first=first,
                    send=last,
                    zero=zero_hw[h, w] | zero_rs[r, s],
                    out=np.full(self.kred, d.out_id(img, k, y, x)),
                )
                src["ifmap"][p] = "gin" if j == 0 else "left"
                src["filter"][p] = "gin" if i == 0 else "up"
        for j in range(nj):
            b_elem = d.filter_id(k_of[j], c, r, s)
            b_words.append((b_elem, np.zeros(self.kred, int), np.full(self.kred, j), kk + j))
        streams = {}
        a = [np.concatenate(x) for x in zip(*a_words, strict=True)]
        streams["ifmap"] = make_stream(*a, base=0)
        b = [np.concatenate(x) for x in zip(*b_words, strict=True)]
        streams["filter"] = make_stream(*b, base=len(streams["ifmap"].elem))
        ids = {
            "ifmap": Ids([[i] for i in range(rows)], [[[0]] * cols for _ in range(rows)]),
            "filter": Ids([[0]] * rows, [[[j] for j in range(cols)] for _ in range(rows)]),
        }
        return systolic_spec(hw, ops, streams, ids, src)


def systolic_spec(
    hw: HardwareConfig,
    ops: list[PeOps],
    streams: dict[str, Stream],
    ids: dict[str, Ids],
    source: dict[str, np.ndarray],
) -> PassSpec:
    """A pass on the systolic array (shared by ``tpu`` and ``st_os``).

    Operand registers stand for scratchpads, the ifmap stream runs at the narrow GIN width and
    the filter stream at the wide one, and outputs stay in place (no psum routes).
    """
    rows, cols = hw.array.rows, hw.array.cols
    word = hw.word_bits
    return PassSpec(
        rows=rows,
        cols=cols,
        ops=ops,
        streams=streams,
        ids=ids,
        source=source,
        capacity={"ifmap": hw.pe.operand_registers, "filter": hw.pe.operand_registers},
        width={
            "ifmap": max(1, hw.noc.gin.narrow_width_bits // word),
            "filter": max(1, hw.noc.gin.wide_width_bits // word),
        },
        send_up=np.zeros(rows * cols, bool),
        psum_from_gin=np.zeros(rows * cols, bool),
    )


@register
class Systolic(AbstractDataflow):
    """Output-stationary systolic array on the im2col-lowered, zero-padded problems."""

    id = "tpu"
    description = "TPU-like output-stationary systolic array (im2col, zero-padded igrad/fgrad)"

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """Every problem runs (grouped layers group by group)."""
        return None

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """Padded MACs over every PE."""
        return ideal(DirectConv.of(problem).macs, hw)

    def pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """Every output tile of the problem."""
        self.check(problem, hw)
        plan = _Plan(DirectConv.of(problem), hw)
        return [plan.spec(t) for t in plan.tiles()]

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """The loop orders over tiles giving distinct sequences (the first is the default)."""
        plan = _plan(DirectConv.of(problem), hw)
        return distinct_orders({o: in_order(plan, o) for o in _Plan.ORDERS})

    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """The buffer rows of every tile in a loop order, without building programs."""
        self.check(problem, hw)
        return plan_footprints(_plan(DirectConv.of(problem), hw), order)

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: object = None,
        order: str | None = None,
    ) -> Schedule:
        """Build the distinct output tiles (or every one) in a loop order (no mapping)."""
        if mapping is not None:
            raise ValueError("tpu has no mapping parameters")
        self.check(problem, hw)
        d = DirectConv.of(problem)
        plan = _plan(d, hw)
        tiles = in_order(plan, order)
        grouped = group_passes(tiles, plan.descriptor, plan.spec, hw, d.name,
                               exhaustive=exhaustive)  # fmt: skip
        return direct_schedule(
            self.id,
            d,
            grouped,
            (("group", d.groups), ("m_tile", plan.m_tiles), ("n_tile", plan.n_tiles)),
            {
                "M": plan.M,
                "K_red": plan.kred,
                "N": d.kg,
                "m_tiles": plan.m_tiles,
                "n_tiles": plan.n_tiles,
                "order": order or next(iter(_Plan.ORDERS)),
            },
            self.footprints(problem, hw, order),
        )


@functools.lru_cache(maxsize=4)
def _plan(d: DirectConv, hw: HardwareConfig) -> _Plan:
    """One plan per problem and hardware (its footprints are remembered on it)."""
    return _Plan(d, hw)


def unlimited_pass_cycles(rows_used: int, cols_used: int, k_red: int, hw: HardwareConfig) -> int:
    """Cycles of one tile when networks and global-buffer banks never limit.

    Notes:
        Word ``kk`` of row ``i`` reaches PE ``(i, j)`` at cycle ``kk + i + j`` (fed skewed, one
        hop per cycle), so PE ``(i, j)`` issues MAC ``kk`` at ``kk + i + j + 1`` and the last PE
        retires its result ``latency + hop`` cycles after its last issue:
        ``T = k_red + rows_used + cols_used - 2 + multiplier + adder + hop``. This holds when a row
        is longer than the operand registers (``k_red > operand_registers``); shorter rows fit
        the registers at once and start without skew.
    """
    if k_red <= hw.pe.operand_registers:
        raise ValueError("the closed form needs k_red > pe.operand_registers")
    latency = hw.pe.multiplier_stages + hw.pe.adder_stages + hw.noc.local.hop_latency_cycles
    return k_red + rows_used + cols_used - 2 + latency
