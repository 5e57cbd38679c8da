"""Schedule helpers shared by the dataflows: operand layouts, stream ordering, IDs, widths.

:class:`DirectConv` spells out the zero-padded problem of one training phase as a plain
direct convolution over materialised operands: the padded, zero-inserted input ``(B', C', Hx,
Wx)``, the dilated filter ``(K, Cg, Rw, Sw)`` and the raw output ``(batch, K, P, Q)``, with the
flat element ids that streams carry, the structural-zero masks and the functional values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecoflow.arrays import unique, unique_first
from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    AbstractDataflow,
    Footprints,
    PassGroup,
    PassSpec,
    Schedule,
    Stream,
)
from ecoflow.workloads.layer import Axis, Problem


def _positions(axis: Axis) -> np.ndarray:
    """Index in the padded operand of each data element along one axis (may fall outside)."""
    return axis.pad[0] + np.arange(axis.size) * axis.dilation


@dataclass(frozen=True)
class DirectConv:
    """A phase as a direct convolution over padded operands.

    Attributes:
        problem: the phase.
        batch: output planes per output channel.
        K: output channels.
        Cg: reduced channels per output channel.
        groups: channel groups.
        by_batch: groups split the input batch (filter gradients of grouped layers).
        Hx, Wx: padded input extent.
        Rw, Sw: dilated filter extent.
        sh, sw: strides.
        P, Q: output extent.
    """

    problem: Problem
    batch: int
    K: int
    Cg: int
    groups: int
    by_batch: bool
    Hx: int
    Wx: int
    Rw: int
    Sw: int
    sh: int
    sw: int
    P: int
    Q: int

    @classmethod
    def of(cls, problem: Problem) -> DirectConv:
        """The direct convolution of a problem's padded form."""
        pc = problem.padded
        h, w = pc.axes
        return cls(
            problem=problem,
            batch=pc.batch,
            K=pc.out_channels,
            Cg=pc.in_channels,
            groups=pc.groups,
            by_batch=pc.group_axis == "batch",
            Hx=h.extent,
            Wx=w.extent,
            Rw=h.window,
            Sw=w.window,
            sh=h.stride,
            sw=w.stride,
            P=h.out,
            Q=w.out,
        )

    @property
    def name(self) -> str:
        """The layer's name."""
        return self.problem.layer.name

    @property
    def kg(self) -> int:
        """Output channels per group."""
        return self.K // self.groups

    @property
    def in_shape(self) -> tuple[int, int, int, int]:
        """Shape of the padded input ``(B', C', Hx, Wx)``."""
        g = self.groups
        if self.by_batch:
            return (g * self.batch, self.Cg, self.Hx, self.Wx)
        return (self.batch, g * self.Cg, self.Hx, self.Wx)

    @property
    def filter_shape(self) -> tuple[int, int, int, int]:
        """Shape of the dilated filter ``(K, Cg, Rw, Sw)``."""
        return (self.K, self.Cg, self.Rw, self.Sw)

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """Shape of the raw output ``(batch, K, P, Q)``."""
        return (self.batch, self.K, self.P, self.Q)

    @property
    def macs(self) -> int:
        """MACs of the padded problem [MAC]."""
        return self.batch * self.K * self.Cg * self.P * self.Q * self.Rw * self.Sw

    def ifmap_id(self, i, k, c, h, w):
        """Flat id of input element for output plane ``(i, k)``, channel ``c``, row/col."""
        gk = np.asarray(k) // self.kg
        if self.by_batch:
            b, ch = gk * self.batch + i, c
        else:
            b, ch = i, gk * self.Cg + c
        _, cc, hh, ww = self.in_shape
        return ((b * cc + ch) * hh + h) * ww + w

    def filter_id(self, k, c, r, s):
        """Flat id of a dilated-filter element."""
        return ((k * self.Cg + c) * self.Rw + r) * self.Sw + s

    def out_id(self, i, k, y, x):
        """Flat id of a raw-output element."""
        return ((i * self.K + k) * self.P + y) * self.Q + x

    def zero_hw(self) -> np.ndarray:
        """(Hx, Wx) True where the padded input holds a padding or inserted zero."""
        h, w = self.problem.padded.axes
        rows = np.ones(self.Hx, bool)
        cols = np.ones(self.Wx, bool)
        ph, pw = _positions(h), _positions(w)
        rows[ph[(ph >= 0) & (ph < self.Hx)]] = False
        cols[pw[(pw >= 0) & (pw < self.Wx)]] = False
        return rows[:, None] | cols[None, :]

    def zero_rs(self) -> np.ndarray:
        """(Rw, Sw) True where the dilated filter holds an inserted zero."""
        h, w = self.problem.padded.axes
        r = np.arange(self.Rw) % h.tap_dilation != 0
        s = np.arange(self.Sw) % w.tap_dilation != 0
        return r[:, None] | s[None, :]

    def values(self, lhs: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Materialise the padded operands from unpadded ones (as ``golden.operands`` lays out).

        Returns:
            The padded input ``in_shape`` and the dilated filter ``filter_shape``.
        """
        h, w = self.problem.padded.axes
        x = np.zeros(self.in_shape, np.float32)
        ph, pw = _positions(h), _positions(w)
        kh = (ph >= 0) & (ph < self.Hx)
        kw = (pw >= 0) & (pw < self.Wx)
        x[:, :, ph[kh][:, None], pw[kw][None, :]] = np.asarray(lhs)[:, :, kh][:, :, :, kw]
        f = np.zeros(self.filter_shape, np.float32)
        rr = np.arange(h.taps) * h.tap_dilation
        ss = np.arange(w.taps) * w.tap_dilation
        f[:, :, rr[:, None], ss[None, :]] = np.asarray(rhs)
        return x, f


def gin_words(phase: str, hw: HardwareConfig) -> dict[str, int]:
    """GIN words per cycle for each stream.

    Notes:
        Table 1's two GIN channels carry filters (wide) and ifmaps (narrow) in the forward pass,
        errors (wide) and filters (narrow) for input gradients, ifmaps (wide) and errors
        (narrow) for filter gradients. In the padded problems the error is the ifmap operand
        of ``igrad`` and the filter operand of ``fgrad``. Partial sums return from the global
        buffer at the GON width.
    """
    word = hw.word_bits
    wide = max(1, hw.noc.gin.wide_width_bits // word)
    narrow = max(1, hw.noc.gin.narrow_width_bits // word)
    psum = max(1, hw.noc.gon.width_bits // word)
    if phase == "forward":
        return {"ifmap": narrow, "filter": wide, "psum": psum}
    return {"ifmap": wide, "filter": narrow, "psum": psum}


class Keys:
    """Small integer IDs for hashable keys, in order of first use."""

    def __init__(self) -> None:
        self._ids: dict[Hashable, int] = {}

    def __call__(self, key: Hashable) -> int:
        """The ID of ``key`` (a new one for a new key)."""
        return self._ids.setdefault(key, len(self._ids))

    def __len__(self) -> int:
        return len(self._ids)


def first_use(elems: np.ndarray, when: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct elements and their first use (``when`` never decreases along ``elems``)."""
    e, first = unique_first(elems)
    return e, when[first]


def make_stream(
    elem: np.ndarray, row: np.ndarray, col: np.ndarray, when: np.ndarray, base: int
) -> Stream:
    """A GIN stream of distinct ``(row tag, col tag, elem)`` words ordered by first use.

    Words needed earlier go first (ties by tags and element), so the stream order agrees with
    every receiver's consumption order. Addresses are the pass's buffer offsets: ``base`` plus
    the word's position (tiles are laid out in the order they are read).
    """
    if len(elem) == 0:
        return Stream.empty()
    key = np.stack([row, col, elem])
    order = np.lexsort((elem, col, row))
    k, t = key[:, order], when[order]
    keep = np.ones(k.shape[1], bool)
    keep[1:] = np.any(k[:, 1:] != k[:, :-1], axis=0)
    # earliest use of each distinct word
    starts = np.nonzero(keep)[0]
    t_min = np.minimum.reduceat(t, starts)
    k = k[:, starts]
    order = np.lexsort((k[2], k[1], k[0], t_min))
    k = k[:, order]
    return Stream(
        elem=k[2].astype(np.int64),
        row=k[0].astype(np.int64),
        col=k[1].astype(np.int64),
        addr=base + np.arange(k.shape[1], dtype=np.int64),
    )


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for positive integers."""
    return -(-a // b)


def ideal(macs: int, hw: HardwareConfig) -> int:
    """MACs spread evenly over every PE, one per cycle [cycles]."""
    return math.ceil(macs / hw.pes)


def direct_schedule(
    dataflow: str,
    d: DirectConv,
    grouped: tuple[tuple[PassGroup, ...], np.ndarray],
    loops: tuple[tuple[str, int], ...],
    mapping: dict[str, int | str],
    footprints: Footprints,
    *,
    zero_free: bool = False,
) -> Schedule:
    """A schedule over the padded operands of ``d`` (shapes from the problem).

    Args:
        dataflow: the dataflow's id.
        d: the problem as a direct convolution.
        grouped: the groups and each pass's group (:func:`~ecoflow.dataflows.base.group_passes`).
        loops: the loop nest, outermost first.
        mapping: the mapping parameters.
        footprints: every pass's buffer rows, in loop-nest order.
        zero_free: the passes multiply no padding zero (else every product of the padded
            problem is scheduled and its zero count is the problem's).
    """
    groups, order = grouped
    return Schedule(
        dataflow=dataflow,
        problem=d.problem,
        groups=groups,
        loops=loops,
        mapping=mapping,
        operand_shapes={"ifmap": d.in_shape, "filter": d.filter_shape},
        output_shape=d.out_shape,
        zero_macs=0 if zero_free else d.problem.padded.zero_counts().zero_macs,
        order=order,
        footprints=footprints,
        zero_free=zero_free,
    )


def segment_ids(rows: np.ndarray, cols: np.ndarray, width: int, seg: int) -> np.ndarray:
    """Distinct buffer segments holding columns ``cols`` of every row of ``rows``.

    A row of ``width`` words is held in ``ceil(width / seg)`` segments of ``seg`` words; segment
    ``j`` of row ``r`` has id ``r * ceil(width / seg) + j`` (see :class:`Footprint`).
    """
    per = ceil_div(width, seg)
    js = unique(np.asarray(cols, np.int64) // seg)
    ids = distinct(np.asarray(rows, np.int64))[:, None] * per + js[None, :]
    if len(js) and (js[0] < 0 or js[-1] >= per):  # columns beyond the row: ids may collide
        return unique(ids)
    return ids.reshape(-1)


def distinct(ids: np.ndarray) -> np.ndarray:
    """The distinct values of ``ids``, sorted (``ids`` itself when it already is)."""
    if len(ids) < 2 or (ids[1:] > ids[:-1]).all():
        return ids
    return unique(ids)


def union(parts: list[np.ndarray]) -> np.ndarray:
    """The distinct ids of ``parts``, sorted."""
    return distinct(np.concatenate(parts))


def element_segments(ids: np.ndarray, width: int, seg: int) -> np.ndarray:
    """Distinct buffer segments of flat element ids (rows of ``width`` words)."""
    ids = np.asarray(ids, np.int64)
    return unique(ids // width * ceil_div(width, seg) + ids % width // seg)


class PlannedDataflow(AbstractDataflow):
    """A dataflow whose passes come from a searched mapping and a plan over it.

    Subclasses set ``shortlist`` (``(DirectConv, hardware, k) -> the k best mappings by the
    dataflow's estimate``, best first) and ``plan_class``
    (``(DirectConv, mapping, hardware)`` -> an object with ``passes()``, ``spec(pass)``,
    ``footprint(pass)`` and ``ORDERS``: loop orders by name, each a sort key over the passes,
    ``None`` for the order ``passes()`` builds).
    """

    shortlist: ClassVar[Callable]
    plan_class: ClassVar[Callable]

    def plan(self, problem: Problem, hw: HardwareConfig, mapping: object = None):
        """The plan of a problem under the given mapping, or the searched one (cached)."""
        self.check(problem, hw)
        return _plan(self, problem, hw, mapping)

    def candidates(self, problem: Problem, hw: HardwareConfig) -> list:
        """The mappings an energy search compares: the best by the dataflow's own estimate."""
        self.check(problem, hw)
        return list(_shortlist(self, problem, hw))

    def estimate(self, problem: Problem, hw: HardwareConfig, mapping: object = None):
        """``(cycles, network words)`` the plan's estimate gives a mapping (no programs)."""
        return self.plan(problem, hw, mapping).estimate()

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """The plan's loop orders that give distinct pass sequences (the first: the default)."""
        plan = self.plan(problem, hw, mapping)
        return distinct_orders({o: self.ordered_passes(plan, o) for o in plan.ORDERS})

    def ordered_passes(self, plan, order: str | None = None) -> list:
        """The plan's passes in a loop order (stages of one unit keep their order)."""
        return in_order(plan, order)

    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """The buffer rows of every pass in a loop order, without building programs.

        Remembered per plan and order, so that a search over orders and the compilation of the
        chosen one compute them once.
        """
        return plan_footprints(self.plan(problem, hw, mapping), order)

    def pass_specs(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> list[PassSpec]:
        """Every pass of the problem under the searched (or given) mapping."""
        plan = self.plan(problem, hw, mapping)
        return [plan.spec(ps) for ps in plan.passes()]

    def sample_pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """The first and the last pass under the searched mapping."""
        plan = self.plan(problem, hw)
        passes = plan.passes()
        return [plan.spec(ps) for ps in passes[:1] + passes[1:][-1:]]


def in_order(plan, order: str | None = None) -> list:
    """A plan's passes in one of its loop orders (default: the first).

    ``plan.ORDERS`` maps names to sort keys over the passes, ``None`` for the order
    ``plan.passes()`` builds.
    """
    keys = plan.ORDERS
    if order is not None and order not in keys:
        raise KeyError(f"unknown loop order {order!r}; known: {', '.join(keys)}")
    key = keys[order or next(iter(keys))]
    passes = plan.passes()
    return passes if key is None else sorted(passes, key=key)


def plan_footprints(plan, order: str | None = None) -> Footprints:
    """The footprints of a plan's passes in a loop order, remembered on the plan per order.

    A pass's footprint does not depend on the order: they are computed once, for the passes
    as ``plan.passes()`` builds them, and every order rearranges those. A search over orders
    and the compilation of the chosen one then compute them once.
    """
    order = order or next(iter(plan.ORDERS))
    if order not in plan.ORDERS:
        raise KeyError(f"unknown loop order {order!r}; known: {', '.join(plan.ORDERS)}")
    memo = plan.__dict__.setdefault("_footprints", {})
    if order not in memo:
        passes = plan.passes()
        if None not in memo:
            memo[None] = Footprints([plan.footprint(ps) for ps in passes])
        key = plan.ORDERS[order]
        memo[order] = (memo[None] if key is None else
                       memo[None].reordered(sorted(range(len(passes)),
                                                   key=lambda i: key(passes[i]))))  # fmt: skip
    return memo[order]


def distinct_orders(sequences: dict[str, list]) -> tuple[str, ...]:
    """The names of the pass sequences that differ from every earlier one."""
    kept: list[str] = []
    for name, seq in sequences.items():
        if not any(seq == sequences[k] for k in kept):
            kept.append(name)
    return tuple(kept)


SHORTLIST = 4  # mappings an energy search compares


@functools.lru_cache(maxsize=8)
def _shortlist(dataflow: PlannedDataflow, problem: Problem, hw: HardwareConfig) -> tuple:
    """The dataflow's best mappings by its estimate (the search runs once per problem)."""
    return tuple(type(dataflow).shortlist(DirectConv.of(problem), hw, SHORTLIST))


@functools.lru_cache(maxsize=16)
def _plan(dataflow: PlannedDataflow, problem: Problem, hw: HardwareConfig, mapping: object):
    """One plan per (dataflow, problem, hardware, mapping); no mapping: the estimate's best."""
    d = DirectConv.of(problem)
    return dataflow.plan_class(d, mapping or _shortlist(dataflow, problem, hw)[0], hw)
