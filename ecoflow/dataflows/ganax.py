"""GANAX (``ganax``): row stationary that skips the zeros a transposed convolution inserts.

GANAX (A. Yazdanbakhsh et al., "GANAX: A Unified MIMD-SIMD Acceleration for Generative
Adversarial Networks", ISCA 2018; EcoFlow §6.3) is EcoFlow's comparison point for GANs. In a
zero-inserted transposed convolution, the output rows (and columns) fall into ``stride``
classes, each of which meets the data elements with one fixed subset of the filter taps; GANAX
reorders the outputs so that rows of one class run together, and each class runs one
micro-program that skips the inserted zeros.

What this module models. A problem whose input carries inserted zeros (``igrad`` of a strided
``conv``, ``forward`` of a ``tconv``) is split, per output class ``(phi_h, phi_w)``, into a
direct stride-1 convolution of the *un-inserted* input with the taps of that class (the
sub-pixel decomposition: outputs ``phi + stride m`` use taps ``t0 + stride u`` and input
elements ``m + u - lo'``). Each such sub-convolution runs on row stationary
(:mod:`~ecoflow.dataflows.rs`) on the same array, with its own mapping and loop order chosen by
the same energy-delay search, one after the other. Output classes that no tap reaches (a
``1x1`` filter with stride 2) are zeros and cost nothing. Element ids and buffer segments of
every sub-convolution are mapped back to the original problem's operands, so the functional
run writes the original output and the buffer model sees the operands they share. Everything
else (direct convolutions, and every filter gradient, whose zeros are in the dilated filter)
runs on row stationary unchanged: GANAX has no dataflow for filter gradients (§6.3).

What it simplifies. GANAX's MIMD-SIMD execution model, its decoupled access and execute units
and its instruction buffers are not modelled: a sub-convolution costs what row stationary costs
on the Eyeriss array (no extra energy for instructions, no extra area). The border zeros of a
sub-convolution (the outer padding) are multiplied and zero-gated as row stationary does;
inserted zeros are never scheduled. The buffer stores the operands without inserted zeros.

What that costs. A stride-2 transposed convolution's sub-filters have one or two taps per
row (a 3x3 filter: 2x2, 2x1, 1x2 and 1x1), so on row stationary a PE does only ``taps * q``
MACs per partial sum it adds and passes up, and a pass only ``taps * q * chain`` per psum it
reads from and writes back to the global buffer. The PEs then wait on psums: CycleGAN
gen_up1 ``forward`` (batch 1) runs its four sub-convolutions at utilisations of 0.33, 0.24,
0.30 and 0.22 on the 13x15 Eyeriss array, with psum stalls 42 to 56% of their PE-cycles,
where row stationary runs the zero-inserted 3x3 problem at 0.77: GANAX issues a quarter of
row stationary's MACs there but is only about 1.5 times faster. §6.3 reports GANAX close to
EcoFlow on generator forward passes; this model, which runs the classes one after the other
on an unchanged row-stationary array rather than on GANAX's MIMD-SIMD units, does not
reproduce that.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from ecoflow.arrays import unique
from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    F_FLAGS,
    F_OUT,
    REGISTRY,
    SEND,
    CompositeDataflow,
    Footprint,
    Footprints,
    PassGroup,
    PassSpec,
    PeOps,
    Program,
    Schedule,
    Stream,
    delegated,
    register,
)
from ecoflow.dataflows.common import DirectConv, ceil_div, ideal
from ecoflow.workloads.layer import Axis, Problem


@dataclass(frozen=True)
class _AxisClass:
    """One output class of one axis of a transposed problem.

    Attributes:
        phase: outputs ``phase + step m`` (``m < outputs``) belong to the class.
        step: the zero-insertion factor of the axis.
        t0: first filter tap the class uses; it uses ``t0 + step u`` (``u < axis.taps``).
        lo: the original padded input's leading border.
        axis: the sub-convolution's axis over the un-inserted input.
    """

    phase: int
    step: int
    t0: int
    lo: int
    axis: Axis

    def input_pos(self, j: np.ndarray, extent: int) -> np.ndarray:
        """Original padded position of the sub-convolution's padded input position ``j``."""
        return np.clip(self.lo + (j - self.axis.pad[0]) * self.step, 0, extent - 1)

    def tap_pos(self, u: np.ndarray) -> np.ndarray:
        """Original filter tap of the sub-filter's tap ``u``."""
        return self.t0 + self.step * u

    def out_pos(self, m: np.ndarray) -> np.ndarray:
        """Original output position of the sub-convolution's output ``m``."""
        return self.phase + self.step * m


def axis_classes(axis: Axis) -> list[_AxisClass]:
    """The output classes of one axis with at least one output and one tap.

    Raises:
        ValueError: the axis also dilates its taps or strides its window.
    """
    if axis.tap_dilation != 1 or axis.stride != 1:
        raise ValueError("a transposed axis with dilated taps or a stride is not decomposed")
    d, lo = axis.dilation, axis.pad[0]
    out = []
    for phase in range(d):
        outputs = len(range(phase, axis.out, d))
        t0 = (lo - phase) % d
        taps = len(range(t0, axis.taps, d))
        if outputs == 0 or taps == 0:
            continue
        first = (phase + t0 - lo) // d  # data element under the class's first output and tap
        extent = outputs + taps - 1
        sub = Axis(size=axis.size, dilation=1, pad=(-first, extent + first - axis.size),
                   taps=taps, tap_dilation=1, stride=1)  # fmt: skip
        out.append(_AxisClass(phase, d, t0, lo, sub))
    return out


@dataclass(frozen=True)
class Part:
    """One sub-convolution of a decomposed problem and how its ids map back.

    Attributes:
        problem: the sub-convolution (a direct convolution over the un-inserted input).
        h, w: its output classes.
        whole: the original problem as a direct convolution.
    """

    problem: Problem
    h: _AxisClass
    w: _AxisClass
    whole: DirectConv

    @functools.cached_property
    def sub(self) -> DirectConv:
        """The sub-convolution as a direct convolution."""
        return DirectConv.of(self.problem)

    def ifmap_ids(self, ids: np.ndarray) -> np.ndarray:
        """Original padded-input ids of sub-input ids."""
        s, o = self.sub, self.whole
        plane, rest = np.divmod(np.asarray(ids, np.int64), s.Hx * s.Wx)
        y, x = np.divmod(rest, s.Wx)
        return ((plane * o.Hx + self.h.input_pos(y, o.Hx)) * o.Wx
                + self.w.input_pos(x, o.Wx))  # fmt: skip

    def filter_ids(self, ids: np.ndarray) -> np.ndarray:
        """Original filter ids of sub-filter ids."""
        s, o = self.sub, self.whole
        kc, rest = np.divmod(np.asarray(ids, np.int64), s.Rw * s.Sw)
        u, v = np.divmod(rest, s.Sw)
        return (kc * o.Rw + self.h.tap_pos(u)) * o.Sw + self.w.tap_pos(v)

    def out_ids(self, ids: np.ndarray) -> np.ndarray:
        """Original raw-output ids of sub-output ids."""
        s, o = self.sub, self.whole
        ik, rest = np.divmod(np.asarray(ids, np.int64), s.P * s.Q)
        m, n = np.divmod(rest, s.Q)
        return (ik * o.P + self.h.out_pos(m)) * o.Q + self.w.out_pos(n)

    def segments(self, kind: str, ids: np.ndarray, seg: int) -> np.ndarray:
        """Original buffer segments holding the words of sub-segments ``ids`` (sorted)."""
        s, o = self.sub, self.whole
        if kind == "ifmap":
            rows, width, rows_o, width_o = s.Hx, s.Wx, o.Hx, o.Wx
            row_map = functools.partial(self.h.input_pos, extent=o.Hx)
            col_map = functools.partial(self.w.input_pos, extent=o.Wx)
        elif kind == "filter":
            rows, width, rows_o, width_o = s.Rw, s.Sw, o.Rw, o.Sw
            row_map, col_map = self.h.tap_pos, self.w.tap_pos
        else:
            rows, width, rows_o, width_o = s.P, s.Q, o.P, o.Q
            row_map, col_map = self.h.out_pos, self.w.out_pos
        ids = np.asarray(ids, np.int64)
        if len(ids) == 0:
            return ids
        per, per_o = ceil_div(width, seg), ceil_div(width_o, seg)
        row, j = np.divmod(ids, per)
        plane, y = np.divmod(row, rows)
        row_o = plane * rows_o + row_map(y)
        first = col_map(j * seg) // seg
        last = col_map(np.minimum(j * seg + seg, width) - 1) // seg
        span = int((last - first).max()) + 1
        cols = first[:, None] + np.arange(span)[None, :]
        keep = cols <= last[:, None]
        return unique((row_o[:, None] * per_o + cols)[keep])


def decompose(problem: Problem) -> list[Part] | None:
    """The sub-convolutions GANAX runs a problem as; ``None`` when it runs it whole.

    Only problems whose input carries inserted zeros and whose filter does not, in the
    ``forward`` or ``igrad`` phase, are decomposed.
    """
    pc = problem.padded
    h, w = pc.axes
    if problem.phase == "fgrad" or (h.dilation == 1 and w.dilation == 1):
        return None
    if any(a.tap_dilation != 1 or a.stride != 1 for a in (h, w)):
        return None
    whole = DirectConv.of(problem)
    parts = []
    for ch in axis_classes(h):
        for cw in axis_classes(w):
            padded = dataclasses.replace(pc, axes=(ch.axis, cw.axis))
            parts.append(Part(Problem(problem.layer, problem.phase, padded), ch, cw, whole))
    return parts


def _remap_program(program: Program, part: Part) -> Program:
    """A sub-convolution's program with element ids of the original operands."""
    elem = program.stream_elem.astype(np.int64)
    n = program.n_words
    for i, remap in enumerate((part.ifmap_ids, part.filter_ids, part.out_ids)):
        elem[i, : n[i]] = remap(elem[i, : n[i]])
    ops = program.ops.copy()
    sends = (ops[:, :, F_FLAGS] & SEND) > 0
    out = np.where(sends, part.out_ids(ops[:, :, F_OUT]), 0)
    if max(elem.max(initial=0), out.max(initial=0)) >= 2**31:
        raise OverflowError(f"{part.problem.layer.name}: element ids beyond int32")
    ops[:, :, F_OUT] = out
    return dataclasses.replace(program, stream_elem=elem.astype(np.int32), ops=ops)


def _remap_spec(spec: PassSpec, part: Part) -> PassSpec:
    """A sub-convolution's readable pass with element ids of the original operands."""
    ops = [PeOps(o.mac, part.ifmap_ids(o.ifmap), part.filter_ids(o.filter), o.reg, o.first,
                 o.send, o.zero, part.out_ids(o.out)) for o in spec.ops]  # fmt: skip
    remap = {"ifmap": part.ifmap_ids, "filter": part.filter_ids, "psum": part.out_ids}
    streams = {t: Stream(remap[t](s.elem), s.row, s.col, s.addr) for t, s in spec.streams.items()}
    return dataclasses.replace(spec, ops=ops, streams=streams)


def _remap_footprints(fp: Footprints, part: Part, seg: int) -> list[Footprint]:
    """A sub-convolution's pass footprints as segments of the original operands."""
    out = []
    for i in range(len(fp)):
        f = fp.of(i)
        out.append(Footprint(
            ifmap=part.segments("ifmap", f.ifmap, seg),
            filter=part.segments("filter", f.filter, seg),
            psum=part.segments("out", f.psum, seg),
            out=part.segments("out", f.out, seg),
        ))  # fmt: skip
    return out


@register
class Ganax(CompositeDataflow):
    """Row stationary without the inserted zeros of transposed convolutions (GANAX)."""

    id = "ganax"
    description = "GANAX: row stationary, transposed convolutions without inserted zeros (§6.3)"

    @property
    def _rs(self):
        return REGISTRY["rs"]

    def parts(self, problem: Problem, hw: HardwareConfig) -> list[tuple[object, Problem]] | None:
        """The (dataflow, sub-problem) pairs of a decomposed problem, else ``None``."""
        parts = decompose(problem)
        return None if parts is None else [(self._rs, p.problem) for p in parts]

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """What row stationary refuses."""
        return self._rs.supports(problem, hw)

    def zero_free(self, problem: Problem) -> bool:
        """Decomposed problems read no inserted zero (the buffer stores none)."""
        return decompose(problem) is not None

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """The MACs it schedules (border zeros of the sub-convolutions included) over every PE."""
        parts = decompose(problem)
        if parts is None:
            return self._rs.ideal_cycles(problem, hw)
        return ideal(sum(p.sub.macs for p in parts), hw)

    def scheduled_macs(self, problem: Problem) -> int:
        """MACs the schedule issues, zero-gated ones included [MAC]."""
        parts = decompose(problem)
        if parts is None:
            return problem.padded.zero_counts().macs
        return sum(p.sub.macs for p in parts)

    # ---- undecomposed problems: row stationary's search; decomposed: one choice per part ----
    def candidates(self, problem: Problem, hw: HardwareConfig) -> list:
        """Row stationary's candidates (undecomposed); one per-part choice otherwise."""
        if decompose(problem) is None:
            return self._rs.candidates(problem, hw)
        return [None]

    def estimate(self, problem: Problem, hw: HardwareConfig, mapping: object = None):
        """Row stationary's estimate, summed over the parts."""
        parts = decompose(problem)
        if parts is None:
            return self._rs.estimate(problem, hw, mapping)
        picks = self._picks(parts, mapping)
        ests = [self._rs.estimate(p.problem, hw, m) for p, (m, _) in zip(parts, picks, strict=True)]
        return sum(e[0] for e in ests), sum(e[1] for e in ests)

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """Row stationary's loop orders (undecomposed); the parts' own otherwise."""
        if decompose(problem) is None:
            return self._rs.orders(problem, hw, mapping)
        return ("default",)

    @staticmethod
    def _picks(parts: list[Part], mapping: object) -> tuple:
        """Per part ``(mapping, order)``: the given ones, or the defaults."""
        if mapping is None:
            return tuple((None, None) for _ in parts)
        if len(mapping) != len(parts):
            raise ValueError(f"{len(mapping)} part mappings for {len(parts)} parts")
        return tuple(mapping)

    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """Row stationary's footprints, the parts' one after the other in original segments."""
        parts = decompose(problem)
        if parts is None:
            return self._rs.footprints(problem, hw, order, mapping)
        seg = hw.segment_words
        passes: list[Footprint] = []
        for p, (m, o) in zip(parts, self._picks(parts, mapping), strict=True):
            passes += _remap_footprints(self._rs.footprints(p.problem, hw, o, m), p, seg)
        return Footprints(passes)

    def pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """Every pass, the parts' one after the other, ids of the original operands."""
        parts = decompose(problem)
        if parts is None:
            return self._rs.pass_specs(problem, hw)
        return [_remap_spec(s, p) for p in parts for s in self._rs.pass_specs(p.problem, hw)]

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: object = None,
        order: str | None = None,
    ) -> Schedule:
        """Row stationary, whole or one part after the other.

        ``mapping``: for a decomposed problem, per part ``(rs mapping, loop order)`` (what
        :func:`ecoflow.memory.choose` picks); ``None`` takes row stationary's defaults.
        """
        parts = decompose(problem)
        if parts is None:
            inner = self._rs.compile(problem, hw, exhaustive=exhaustive, mapping=mapping,
                                     order=order)  # fmt: skip
            return delegated(inner, self.id, "rs")
        seg = hw.segment_words
        groups: list[PassGroup] = []
        orders, passes = [], []
        zero_macs = 0
        first: dict = {}
        for p, (m, o) in zip(parts, self._picks(parts, mapping), strict=True):
            s = self._rs.compile(p.problem, hw, exhaustive=exhaustive, mapping=m, order=o)
            orders.append(s.order + len(groups))
            groups += [dataclasses.replace(g, program=_remap_program(g.program, p))
                       for g in s.groups]  # fmt: skip
            assert s.footprints is not None
            passes += _remap_footprints(s.footprints, p, seg)
            zero_macs += s.zero_macs
            first = first or s.mapping
        whole = parts[0].whole
        return Schedule(
            dataflow=self.id,
            problem=problem,
            groups=tuple(groups),
            loops=(("subconv", len(parts)),),
            mapping={
                "runs": "rs",
                "subconvs": len(parts),
                "order": order or "default",
                **{f"first_{k}": v for k, v in first.items() if k != "order"},
            },
            operand_shapes={"ifmap": whole.in_shape, "filter": whole.filter_shape},
            output_shape=whole.out_shape,
            zero_macs=zero_macs,
            order=np.concatenate(orders),
            footprints=Footprints(passes),
            zero_free=True,
        )
