"""Spatial-tiled output stationary (``st_os``, FuSeConv): 1-D depthwise convolutions on rows.

FuSeConv (``papers/fuseconv.txt``; V. Selvam et al., DATE 2021) replaces a depthwise ``KxK``
convolution by ``1xK`` and ``Kx1`` depthwise convolutions and runs them with ST-OS: the
independent 1-D convolutions of a layer (one per image, channel and output row of a ``1xK``
layer, or output column of a ``Kx1`` layer) are spread over the rows of the systolic array, one
per row, and the output positions of each over the columns (folded when longer than a row).
Every PE keeps one output and performs the ``K`` MACs of its window; the outputs then drain over
the output network.

How the operands move (Kung's "broadcast inputs, move weights, results stay" design). The input
elements of a row's 1-D convolution are broadcast in order on that row's bus; each PE keeps the
``K`` consecutive elements of its window and drops the others on arrival. The ``K`` weights
enter the row's first PE and move one PE to the right per cycle, so PE ``j`` meets weight ``s``
one cycle after PE ``j - 1``, exactly when its window's element ``s`` is on the bus (stride 1).
A fold of ``c`` output positions then takes ``K + c - 1`` cycles plus the pipeline. FuSeConv
describes the transposed arrangement (weights broadcast along the row, inputs moving); it has
the same wires (one bus and one neighbour link per PE per row) and the same cycles, but the
inputs' shift-in would pass words through PEs that do not use them, which the simulator's
two-entry operand registers (``pe.operand_registers``) do not hold. The per-row broadcast bus is
ST-OS's hardware addition; it is modelled by the GIN's row tags.

Every other problem (square or grouped-channel convolutions, pointwise layers, filter gradients
of grouped layers) runs as :mod:`~ecoflow.dataflows.tpu` runs it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    REGISTRY,
    AbstractDataflow,
    Footprint,
    Footprints,
    Ids,
    PassSpec,
    PeOps,
    Schedule,
    delegated,
    group_passes,
    register,
)
from ecoflow.dataflows.common import (
    DirectConv,
    ceil_div,
    direct_schedule,
    element_segments,
    ideal,
    in_order,
    make_stream,
    plan_footprints,
)
from ecoflow.dataflows.tpu import systolic_spec
from ecoflow.workloads.layer import Problem


def one_dimensional(d: DirectConv) -> str | None:
    """``"w"`` (``1xK``) or ``"h"`` (``Kx1``) for a 1-D depthwise problem, else ``None``.

    Depthwise: one reduced channel and one output channel per group, groups splitting channels.
    A ``1x1`` depthwise layer counts as ``"w"``.
    """
    if d.by_batch or d.Cg != 1 or d.kg != 1:
        return None
    if d.Rw == 1:
        return "w"
    if d.Sw == 1:
        return "h"
    return None


@dataclass(frozen=True)
class _Tile:
    line0: int
    pos0: int


class _Plan:
    """The folds of a 1-D depthwise problem: line tiles (array rows) by position tiles (columns).

    A line is one 1-D convolution: ``(image, channel, output row)`` for ``1xK`` (``axis ==
    "w"``), ``(image, channel, output column)`` for ``Kx1``; its positions are the outputs
    along the other axis.
    """

    ORDERS: ClassVar[dict[str, Callable[[_Tile], tuple] | None]] = {"line_outer": None}

    def __init__(self, d: DirectConv, hw: HardwareConfig, axis: str) -> None:
        self.d, self.hw, self.axis = d, hw, axis
        self.rows, self.cols = hw.array.rows, hw.array.cols
        self.fixed = d.P if axis == "w" else d.Q  # lines per (image, channel)
        self.length = d.Q if axis == "w" else d.P  # outputs per line
        self.taps = d.Sw if axis == "w" else d.Rw
        self.stride = d.sw if axis == "w" else d.sh
        self.lines = d.batch * d.K * self.fixed
        self.line_tiles = ceil_div(self.lines, self.rows)
        self.pos_tiles = ceil_div(self.length, self.cols)

    def passes(self) -> list[_Tile]:
        return [_Tile(lt * self.rows, pt * self.cols)
                for lt in range(self.line_tiles) for pt in range(self.pos_tiles)]  # fmt: skip

    def descriptor(self, t: _Tile) -> tuple[int, int]:
        return (min(self.rows, self.lines - t.line0), min(self.cols, self.length - t.pos0))

    def _ids(self, line: np.ndarray, pos: np.ndarray, tap: np.ndarray):
        """Input, filter and output ids and the zero mask of (line, output position, tap)."""
        d = self.d
        img, rest = np.divmod(line, d.K * self.fixed)
        ch, fixed = np.divmod(rest, self.fixed)
        if self.axis == "w":
            y, x, r, s = fixed, pos, np.zeros_like(tap), tap
        else:
            y, x, r, s = pos, fixed, tap, np.zeros_like(tap)
        h, w = y * d.sh + r, x * d.sw + s
        zero = d.zero_hw()[h, w] | d.zero_rs()[r, s]
        return (d.ifmap_id(img, ch, 0, h, w), d.filter_id(ch, 0, r, s), d.out_id(img, ch, y, x),
                zero)  # fmt: skip

    def _window(self, t: _Tile) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lines, positions, taps) broadcast to shape ``(lines, positions, taps)``."""
        nl, nx = self.descriptor(t)
        return (t.line0 + np.arange(nl)[:, None, None], t.pos0 + np.arange(nx)[None, :, None],
                np.arange(self.taps)[None, None, :])  # fmt: skip

    def footprint(self, t: _Tile) -> Footprint:
        """The segments of the tile's input windows, its lines' filters and its outputs."""
        d, seg = self.d, self.hw.segment_words
        line, pos, tap = self._window(t)
        ifm, fil, out, _ = self._ids(*np.broadcast_arrays(line, pos, tap))
        return Footprint(
            ifmap=element_segments(ifm.reshape(-1), d.Wx, seg),
            filter=element_segments(fil.reshape(-1), d.Sw, seg),
            psum=np.zeros(0, np.int64),
            out=element_segments(out.reshape(-1), d.Q, seg),
        )

    def spec(self, t: _Tile) -> PassSpec:
        hw, rows, cols = self.hw, self.rows, self.cols
        pes = rows * cols
        nl, nx = self.descriptor(t)
        line, pos, tap = np.broadcast_arrays(*self._window(t))
        ifm, fil, out, zero = self._ids(line, pos, tap)
        k = self.taps
        ops = [PeOps.empty() for _ in range(pes)]
        src = {n: np.array(["none"] * pes, dtype=object) for n in ("ifmap", "filter")}
        steps = np.arange(k)
        for i in range(nl):
            for j in range(nx):
                p = i * cols + j
                ops[p] = PeOps(mac=np.ones(k, bool), ifmap=ifm[i, j], filter=fil[i, j],
                               reg=np.zeros(k, np.int64), first=steps == 0,
                               send=steps == k - 1, zero=zero[i, j],
                               out=np.full(k, out[i, j, 0]))  # fmt: skip
                src["ifmap"][p] = "gin"
                src["filter"][p] = "gin" if j == 0 else "left"
        # inputs: each row's window elements in order of their position along the line
        at = (pos - t.pos0) * self.stride + tap  # position of the element in the row's stream
        row_tag = np.broadcast_to(np.arange(nl)[:, None, None], ifm.shape)
        ifmap = make_stream(ifm.reshape(-1), row_tag.reshape(-1), np.zeros(ifm.size, int),
                            at.reshape(-1), base=0)  # fmt: skip
        # weights: the row's K taps, once, into its first PE
        f0 = fil[:, 0, :]
        filt = make_stream(f0.reshape(-1), np.repeat(np.arange(nl), k), np.zeros(f0.size, int),
                           np.tile(steps, nl), base=len(ifmap))  # fmt: skip
        no_ids: list[list[int]] = []
        ids = {
            "ifmap": Ids([[i] for i in range(rows)], [[[0]] * cols for _ in range(rows)]),
            "filter": Ids(
                [[i] for i in range(rows)], [[[0]] + [no_ids] * (cols - 1) for _ in range(rows)]
            ),
        }
        return systolic_spec(hw, ops, {"ifmap": ifmap, "filter": filt}, ids, src)


@functools.lru_cache(maxsize=4)
def _plan(d: DirectConv, hw: HardwareConfig, axis: str) -> _Plan:
    return _Plan(d, hw, axis)


@register
class SpatialTiledOS(AbstractDataflow):
    """ST-OS for 1-D depthwise convolutions; everything else as ``tpu``."""

    id = "st_os"
    description = "FuSeConv ST-OS: 1-D depthwise convolutions one per array row, else tpu"

    @property
    def _tpu(self) -> AbstractDataflow:
        return REGISTRY["tpu"]

    @staticmethod
    def _axis(problem: Problem) -> str | None:
        return one_dimensional(DirectConv.of(problem))

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """Every problem runs (as ``tpu`` where it is not 1-D depthwise)."""
        return None

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """Padded MACs over every PE."""
        return ideal(DirectConv.of(problem).macs, hw)

    def candidates(self, problem: Problem, hw: HardwareConfig) -> list:
        """No mapping parameters."""
        return [None]

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """One loop order (lines outside positions); ``tpu``'s for the other problems."""
        if self._axis(problem) is None:
            return self._tpu.orders(problem, hw, mapping)
        return tuple(_Plan.ORDERS)

    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """The buffer segments of every fold, without building programs."""
        axis = self._axis(problem)
        if axis is None:
            return self._tpu.footprints(problem, hw, order, mapping)
        return plan_footprints(_plan(DirectConv.of(problem), hw, axis), order)

    def pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """Every fold."""
        axis = self._axis(problem)
        if axis is None:
            return self._tpu.pass_specs(problem, hw)
        plan = _plan(DirectConv.of(problem), hw, axis)
        return [plan.spec(t) for t in plan.passes()]

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: object = None,
        order: str | None = None,
    ) -> Schedule:
        """The distinct folds (or every one), or ``tpu``'s schedule for the other problems."""
        axis = self._axis(problem)
        if axis is None:
            inner = self._tpu.compile(problem, hw, exhaustive=exhaustive, mapping=mapping,
                                      order=order)  # fmt: skip
            return delegated(inner, self.id, "tpu")
        if mapping is not None:
            raise ValueError("st_os has no mapping parameters")
        d = DirectConv.of(problem)
        plan = _plan(d, hw, axis)
        tiles = in_order(plan, order)
        grouped = group_passes(tiles, plan.descriptor, plan.spec, hw, d.name,
                               exhaustive=exhaustive)  # fmt: skip
        return direct_schedule(
            self.id,
            d,
            grouped,
            (("line_tile", plan.line_tiles), ("pos_tile", plan.pos_tiles)),
            {
                "runs": "st_os",
                "axis": axis,
                "lines": plan.lines,
                "length": plan.length,
                "taps": plan.taps,
                "order": order or next(iter(_Plan.ORDERS)),
            },
            self.footprints(problem, hw, order),
        )
