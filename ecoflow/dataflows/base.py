"""The contract between dataflows and the simulator: passes, programs and schedules.

A dataflow compiles one training problem (a layer in one phase, as the zero-padded direct
convolution :class:`~ecoflow.workloads.layer.PaddedConv` or its zero-free form) for one
hardware into a :class:`Schedule`:

* the **loop nest** of processing passes (a pass is the simultaneous execution of 2-D
  convolutions on the array, §4.3);
* one static :class:`Program` per *distinct* pass: per-PE micro-operation sequences, the GIN
  delivery streams with their multicast tags and the psum routes. Passes that differ only in
  which elements they touch share a program and are simulated once (``count``); the exhaustive
  mode builds and simulates every instance.

A program is a set of NumPy arrays (masks, no sentinels), built from a readable description by
:func:`build_program`, which derives what the simulator needs: local receive indices, how many
words a PE must hold before an operation can issue, and how many it may release afterwards.

Machine model (what a program means, executed by :mod:`ecoflow.sim.step`):

* Each PE runs its operations in order, at most one per cycle. A ``mac`` multiplies an ifmap
  operand by a filter operand from the PE's scratchpads and accumulates into a psum register; an
  ``add`` pops one psum from the PE's psum-in queue and accumulates it. Either may ``send`` the
  register once it retires (after the multiplier and adder stages) to the PE above (local link)
  or to the global output network (GON); the destination is chosen per operation.
* Operands reach a PE from a GIN stream (tagged words; an X-bus accepts a word whose row tag is
  one of its row IDs and a PE one whose column tag is one of its column IDs) or, on systolic
  arrays, from the left or upper neighbour, which forwards every word it receives.
* A PE stores received words in order in a circular scratchpad of ``capacity`` entries and
  releases them in order; a word is delivered only when every receiver has room. A multicast
  word that a receiver never uses is dropped on arrival (released in advance: it takes no
  room).

References:
    Y.-H. Chen et al., "Eyeriss: A Spatial Architecture for Energy-Efficient Dataflow for
    Convolutional Neural Networks", ISCA 2016 (row stationary, PE sets, GIN multicast IDs).
"""

from __future__ import annotations

import abc
import dataclasses
import tempfile
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, TypeVar

import numpy as np

from ecoflow.arrays import unique, unique_first
from ecoflow.config import HardwareConfig
from ecoflow.workloads.layer import Phase, Problem

OPERANDS = ("ifmap", "filter")
STREAMS = ("ifmap", "filter", "psum")
Source = Literal["gin", "left", "up", "none"]
T = TypeVar("T")

# Fields of the packed per-operation array ``Program.ops[pe, op, field]``.
F_FLAGS, F_NEED_I, F_NEED_F, F_FREE_I, F_FREE_F, F_REG, F_SLOT_I, F_SLOT_F, F_OUT = range(9)
N_FIELDS = 9
# Bits of ``F_FLAGS``.
VALID, MAC, FIRST, SEND, ZERO, UP = 1, 2, 4, 8, 16, 32


class CompileError(ValueError):
    """A problem a dataflow cannot map onto a hardware.

    Attributes:
        layer: the layer's name.
        key: what does not fit (a capacity or feature).
        reason: why.
    """

    def __init__(self, layer: str, key: str, reason: str) -> None:
        self.layer, self.key, self.reason = layer, key, reason
        super().__init__(f"layer {layer or '<unnamed>'}: {key}: {reason}")


# ---- readable pass description -------------------------------------------------------------
@dataclass
class PeOps:
    """The operations of one PE, in issue order (all arrays of one length).

    Attributes:
        mac: True for a multiply-accumulate, False for an add of an incoming psum.
        ifmap: element id of the ifmap operand (ignored for adds).
        filter: element id of the filter operand (ignored for adds).
        reg: psum register accumulated into.
        first: the register starts from zero instead of its previous value.
        send: the register is sent (up or to the GON) when this operation retires.
        zero: the multiplication has a padding zero operand (zero-gated).
        out: output element id of a GON send (used by the functional mode).
    """

    mac: np.ndarray
    ifmap: np.ndarray
    filter: np.ndarray
    reg: np.ndarray
    first: np.ndarray
    send: np.ndarray
    zero: np.ndarray
    out: np.ndarray

    @classmethod
    def empty(cls) -> PeOps:
        """No operations."""
        z = np.zeros(0, np.int64)
        b = np.zeros(0, bool)
        return cls(b, z, z, z, b, b, b, z)

    @classmethod
    def concat(cls, parts: list[PeOps]) -> PeOps:
        """The operations of ``parts`` one after the other."""
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(cls))
        )

    def __len__(self) -> int:
        return len(self.mac)


@dataclass
class Stream:
    """Words of one GIN stream in delivery order.

    Attributes:
        elem: element id of each word (index into the operand's flat value array).
        row: row tag (matched against the X-bus row IDs).
        col: column tag (matched against the PE column IDs).
        addr: global-buffer word address (selects bank and line).
    """

    elem: np.ndarray
    row: np.ndarray
    col: np.ndarray
    addr: np.ndarray

    @classmethod
    def empty(cls) -> Stream:
        """No words."""
        z = np.zeros(0, np.int64)
        return cls(z, z, z, z)

    def __len__(self) -> int:
        return len(self.elem)


@dataclass
class Ids:
    """Multicast IDs of one GIN: per X-bus row IDs and per PE column IDs (lists of ints)."""

    bus: list[list[int]]
    pe: list[list[list[int]]]

    @classmethod
    def single(cls, bus: np.ndarray, pe: np.ndarray) -> Ids:
        """One ID per X-bus (``bus``: (rows,)) and per PE (``pe``: (rows, cols))."""
        return cls([[int(b)] for b in bus], [[[int(c)] for c in row] for row in pe])

    @classmethod
    def none(cls, rows: int, cols: int) -> Ids:
        """No IDs on any X-bus or PE (a stream nobody receives)."""
        return cls([[] for _ in range(rows)], [[[] for _ in range(cols)] for _ in range(rows)])


@dataclass
class PassSpec:
    """A readable description of one pass, the input of :func:`build_program`.

    Attributes:
        rows, cols: the PE array.
        ops: per PE (row-major, ``rows * cols``) operations.
        streams: GIN streams by name (``ifmap``, ``filter``, ``psum``).
        ids: multicast IDs of each GIN.
        source: per operand (``ifmap``, ``filter``) and PE, where words come from.
        capacity: scratchpad (or operand register) entries per operand.
        width: GIN words per cycle per stream.
        send_up: per PE, sends go to the PE above (else to the GON).
        psum_from_gin: per PE, the psum-in queue is fed by the psum GIN (else from below).
        send_up_ops: per PE, per operation, the send goes up (overrides ``send_up`` for dataflows
            whose PEs send some results up and others to the GON).
    """

    rows: int
    cols: int
    ops: list[PeOps]
    streams: dict[str, Stream]
    ids: dict[str, Ids]
    source: dict[str, np.ndarray]
    capacity: dict[str, int]
    width: dict[str, int]
    send_up: np.ndarray
    psum_from_gin: np.ndarray
    send_up_ops: list[np.ndarray] | None = None


# ---- compiled program ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Program:
    """One pass as the simulator runs it (NumPy arrays; ``PE = rows * cols``, row-major).

    Attributes:
        ops: (PE, op, field) packed operations, fields ``F_*`` (flags, cumulative ifmap/filter
            words needed before issue and released after it, psum register, local scratchpad
            indices of the operands, output element id).
        n_ops: (PE,) operations per PE.
        prefree: (operand, PE) words released before the first operation (leading multicast
            words the PE drops).
        src_gin, src_left, src_up: (operand, PE) where each operand's words come from.
        capacity: (operand,) scratchpad entries [words].
        stream_elem, stream_row, stream_col, stream_bank, stream_line: (stream, word) GIN words.
        n_words: (stream,) words per stream.
        width: (stream,) GIN words per cycle.
        bus_ids, bus_valid: (stream, row, id) X-bus row IDs and their mask.
        pe_ids, pe_valid: (stream, row, col, id) PE column IDs and their mask.
        send_up: (PE,) the PE sends at least one result up (each operation's ``UP`` flag says
            where its own result goes).
        psum_from_gin: (PE,) psum-in fed by the psum GIN.
    """

    rows: int
    cols: int
    ops: np.ndarray
    n_ops: np.ndarray
    prefree: np.ndarray
    src_gin: np.ndarray
    src_left: np.ndarray
    src_up: np.ndarray
    capacity: np.ndarray
    stream_elem: np.ndarray
    stream_row: np.ndarray
    stream_col: np.ndarray
    stream_bank: np.ndarray
    stream_line: np.ndarray
    n_words: np.ndarray
    width: np.ndarray
    bus_ids: np.ndarray
    bus_valid: np.ndarray
    pe_ids: np.ndarray
    pe_valid: np.ndarray
    send_up: np.ndarray
    psum_from_gin: np.ndarray

    ARRAYS: ClassVar[tuple[str, ...]] = (
        "ops", "n_ops", "prefree", "src_gin", "src_left", "src_up", "capacity", "stream_elem",
        "stream_row", "stream_col", "stream_bank", "stream_line", "n_words", "width",
        "bus_ids", "bus_valid", "pe_ids", "pe_valid", "send_up", "psum_from_gin",
    )  # fmt: skip

    @property
    def macs(self) -> int:
        """MAC operations of the pass [MAC]."""
        f = self.ops[:, :, F_FLAGS]
        return int((((f & VALID) > 0) & ((f & MAC) > 0)).sum())

    @property
    def zero_macs(self) -> int:
        """MAC operations with a padding zero operand [MAC]."""
        f = self.ops[:, :, F_FLAGS]
        return int((((f & MAC) > 0) & ((f & ZERO) > 0)).sum())


def _local_sequences(spec: PassSpec, name: str) -> list[np.ndarray]:
    """Per PE, the element ids it receives from stream ``name`` in order (GIN PEs only)."""
    stream, ids = spec.streams.get(name, Stream.empty()), spec.ids.get(name)
    if ids is None:
        return [np.zeros(0, np.int64)] * (spec.rows * spec.cols)
    col_masks: dict[tuple[int, ...], np.ndarray] = {}
    out = []
    for r in range(spec.rows):
        bus = np.isin(stream.row, ids.bus[r])
        for c in range(spec.cols):
            key = tuple(ids.pe[r][c])
            if key not in col_masks:
                col_masks[key] = np.isin(stream.col, key)
            out.append(stream.elem[bus & col_masks[key]])
    return out


def build_program(spec: PassSpec, hw: HardwareConfig, layer: str = "") -> Program:
    """Turn a readable pass into the simulator's arrays and check it can run.

    Raises:
        CompileError: an operand is not delivered to the PE that uses it, a PE receives an
            element twice, or a scratchpad would have to hold more than its capacity.
    """
    rows, cols, pes = spec.rows, spec.cols, spec.rows * spec.cols
    lengths = [len(o) for o in spec.ops]
    n_max = max(1, max(lengths))
    ops = np.zeros((pes, n_max, N_FIELDS), np.int32)
    up_ops = [
        np.asarray(spec.send_up_ops[p], bool) & o.send
        if spec.send_up_ops is not None
        else np.full(len(o), bool(spec.send_up[p])) & o.send
        for p, o in enumerate(spec.ops)
    ]
    send_up = np.array([u.any() for u in up_ops], bool).reshape(rows, cols)
    from_gin = np.asarray(spec.psum_from_gin, bool).reshape(rows, cols)
    if send_up[0].any():
        raise CompileError(layer, "psum route", "a PE of the top row sends up")
    if (from_gin[:-1] & send_up[1:]).any():
        raise CompileError(layer, "psum route", "a PE takes psums from both the GIN and below")
    for t in OPERANDS:
        src = np.asarray(spec.source[t]).reshape(rows, cols)
        if (src[:, 0] == "left").any() or (src[0] == "up").any():
            raise CompileError(layer, f"{t} source", "an edge PE takes words from outside")
    gin_seq = {t: _local_sequences(spec, t) for t in OPERANDS}
    prefree = np.zeros((len(OPERANDS), pes), np.int32)
    seqs: dict[str, list[np.ndarray]] = {t: [np.zeros(0, np.int64)] * pes for t in OPERANDS}
    for t in OPERANDS:
        src = spec.source[t]
        for p in range(pes):
            if src[p] == "gin":
                seqs[t][p] = gin_seq[t][p]
            elif src[p] == "left":
                seqs[t][p] = seqs[t][p - 1]
            elif src[p] == "up":
                seqs[t][p] = seqs[t][p - cols]
    for p, o in enumerate(spec.ops):
        n = len(o)
        if n == 0:
            # an idle PE that a GIN still feeds (its IDs match) drops every word on arrival
            for i, t in enumerate(OPERANDS):
                if spec.source[t][p] == "gin":
                    prefree[i, p] = len(seqs[t][p])
            continue
        flags = VALID | np.where(o.mac, MAC, 0) | np.where(o.first, FIRST, 0)
        flags = flags | np.where(o.send, SEND, 0) | np.where(o.zero & o.mac, ZERO, 0)
        flags = flags | np.where(up_ops[p], UP, 0)
        block = np.zeros((N_FIELDS, n), np.int64)  # filled field by field, stored once
        block[F_FLAGS] = flags
        block[F_REG] = o.reg
        block[F_OUT] = np.where(o.send, o.out, 0)
        for t, f_need, f_free, f_slot in (
            ("ifmap", F_NEED_I, F_FREE_I, F_SLOT_I),
            ("filter", F_NEED_F, F_FREE_F, F_SLOT_F),
        ):
            seq = seqs[t][p]
            elems = getattr(o, t)
            order = np.argsort(seq)
            ranked_seq = seq[order]
            if np.any(ranked_seq[1:] == ranked_seq[:-1]):
                raise CompileError(layer, f"{t} stream", f"PE {divmod(p, cols)} receives an "
                                   "element twice in one pass")  # fmt: skip
            pos = np.searchsorted(ranked_seq, elems)
            pos = np.minimum(pos, max(len(seq) - 1, 0))
            found = len(seq) > 0
            local = order[pos] if found else np.zeros(n, np.int64)
            ok = (~o.mac | (seq[local] == elems)) if found else ~o.mac
            if not np.all(ok):
                raise CompileError(layer, f"{t} stream", f"PE {divmod(p, cols)} uses an "
                                   "element it never receives")  # fmt: skip
            local = np.where(o.mac, local, -1)
            need = np.maximum.accumulate(local + 1)
            gin = spec.source[t][p] == "gin"
            last_use = np.full(len(seq), -1, np.int64)
            used_at = np.nonzero(o.mac)[0][::-1]
            words, latest = unique_first(local[o.mac][::-1])
            last_use[words] = used_at[latest]
            held_until = np.maximum.accumulate(last_use) if len(seq) else last_use
            free = np.searchsorted(held_until, np.arange(n), side="right")
            free = np.minimum(free, need)  # a used word is released once it has arrived
            # multicast words a PE never uses are dropped on arrival: released in advance
            # (words after its last use are released by its last operation; another receiver
            # uses them, so the pass does not end before they are delivered)
            kept = np.append(np.where(last_use >= 0, np.arange(len(seq)), len(seq)), len(seq))
            nxt = np.minimum.accumulate(kept[::-1])[::-1]
            if gin:
                free = nxt[free]
                prefree[OPERANDS.index(t), p] = nxt[0]
            before = np.concatenate([[prefree[OPERANDS.index(t), p]], free[:-1]])
            if np.any(need - before > spec.capacity[t]):
                raise CompileError(layer, f"{t}_capacity", f"PE {divmod(p, cols)} must hold "
                                   f"{int(np.max(need - before))} words, the scratchpad has "
                                   f"{spec.capacity[t]}")  # fmt: skip
            block[f_need] = need
            block[f_free] = np.where(np.arange(n) == n - 1, len(seq), free)
            block[f_slot] = np.maximum(local, 0) % spec.capacity[t]
        ops[p, :n] = block.T
    for p, o in enumerate(spec.ops):
        adds = int((~o.mac).sum())
        if adds and not spec.psum_from_gin[p] and p + cols >= pes:
            raise CompileError(layer, "psum route", f"PE {divmod(p, cols)} adds psums but has "
                               "no PE below")  # fmt: skip

    line_words = max(1, hw.global_buffer.bank_width_bits // hw.word_bits)
    n_words = np.array([len(spec.streams.get(t, Stream.empty())) for t in STREAMS], np.int32)
    w_max = max(1, int(n_words.max()))

    def stream_array(attr: str) -> np.ndarray:
        a = np.zeros((len(STREAMS), w_max), np.int32)
        for i, t in enumerate(STREAMS):
            s = spec.streams.get(t, Stream.empty())
            a[i, : len(s)] = getattr(s, attr)
        return a

    addr = stream_array("addr")
    n_ids = max(hw.noc.gin.row_ids_per_xbus, hw.noc.gin.column_ids_per_pe)
    bus_ids = np.zeros((len(STREAMS), rows, n_ids), np.int32)
    bus_valid = np.zeros_like(bus_ids, bool)
    pe_ids = np.zeros((len(STREAMS), rows, cols, n_ids), np.int32)
    pe_valid = np.zeros_like(pe_ids, bool)
    for i, t in enumerate(STREAMS):
        ids = spec.ids.get(t)
        if ids is None:
            continue
        for r in range(rows):
            if len(ids.bus[r]) > hw.noc.gin.row_ids_per_xbus:
                raise CompileError(layer, "noc.gin.row_ids_per_xbus", f"{t} X-bus {r} needs "
                                   f"{len(ids.bus[r])} row IDs, the hardware has "
                                   f"{hw.noc.gin.row_ids_per_xbus}")  # fmt: skip
            bus_ids[i, r, : len(ids.bus[r])] = ids.bus[r]
            bus_valid[i, r, : len(ids.bus[r])] = True
            for c in range(cols):
                got = ids.pe[r][c]
                if len(got) > hw.noc.gin.column_ids_per_pe:
                    raise CompileError(layer, "noc.gin.column_ids_per_pe", f"{t} PE {(r, c)} "
                                       f"needs {len(got)} column IDs, the hardware has "
                                       f"{hw.noc.gin.column_ids_per_pe}")  # fmt: skip
                pe_ids[i, r, c, : len(got)] = got
                pe_valid[i, r, c, : len(got)] = True
    src = {t: np.asarray(spec.source[t]) for t in OPERANDS}
    return Program(
        rows=rows,
        cols=cols,
        ops=ops,
        n_ops=np.array(lengths, np.int32),
        prefree=prefree,
        src_gin=np.stack([src[t] == "gin" for t in OPERANDS]),
        src_left=np.stack([src[t] == "left" for t in OPERANDS]),
        src_up=np.stack([src[t] == "up" for t in OPERANDS]),
        capacity=np.array([spec.capacity[t] for t in OPERANDS], np.int32),
        stream_elem=stream_array("elem"),
        stream_row=stream_array("row"),
        stream_col=stream_array("col"),
        stream_bank=((addr // line_words) % hw.global_buffer.banks).astype(np.int32),
        stream_line=(addr // line_words).astype(np.int32),
        n_words=n_words,
        width=np.array([max(1, spec.width.get(t, 1)) for t in STREAMS], np.int32),
        bus_ids=bus_ids,
        bus_valid=bus_valid,
        pe_ids=pe_ids,
        pe_valid=pe_valid,
        send_up=send_up.reshape(-1),
        psum_from_gin=np.asarray(spec.psum_from_gin, bool),
    )


KINDS = ("ifmap", "filter", "psum", "out")  # footprint kinds; psum and out are output rows


@dataclass(frozen=True)
class Footprint:
    """The global-buffer segments one pass touches.

    The buffer holds each row of an operand (the padded input ``(B', C', Hx, Wx)``, the dilated
    filter ``(K, Cg, Rw, Sw)``, the raw output ``(batch, K, P, Q)``) in segments of
    ``hw.segment_words`` words (one DRAM burst): segment ``j`` of row ``r`` of a row of width
    ``w`` has id ``r ceil(w / seg) + j``, with row ids ``(b C' + c) Hx + h``, ``(k Cg + c) Rw +
    r`` and ``(i K + k) P + y``.

    Attributes:
        ifmap: input segments it reads.
        filter: filter segments it reads.
        psum: output segments whose partial sums it reads back.
        out: output segments it writes (partial or final sums).
    """

    ifmap: np.ndarray
    filter: np.ndarray
    psum: np.ndarray
    out: np.ndarray


def _pack(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids of each part, sorted and concatenated, and the ``(parts + 1,)`` offsets.

    Parts that are already strictly increasing (what the plans build) are kept as they are.
    """
    start = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
    if not parts:
        return np.zeros(0, np.int64), start
    flat = np.concatenate(parts)
    rising = flat[1:] > flat[:-1]
    joins = start[1:-1][(start[1:-1] > 0) & (start[1:-1] < len(flat))]
    rising[joins - 1] = True  # where one part ends and the next begins
    if rising.all():
        return flat, start
    for i in unique(np.searchsorted(start, np.nonzero(~rising)[0] + 1, side="right") - 1):
        parts[i] = unique(parts[i])
    return _pack(parts)


def _narrow(ids: np.ndarray) -> np.ndarray:
    """``ids`` as int32 when they fit (large layers hold hundreds of millions of them)."""
    if ids.dtype == np.int32 or (len(ids) and int(ids.max()) >= 2**31):
        return ids
    return ids.astype(np.int32)


class Footprints:
    """The footprints of every pass of a schedule, in loop-nest order, packed per kind.

    Segment ids are stored as int32 where they fit; :meth:`of` returns them as int64.

    Attributes:
        segments: kind -> concatenated distinct segment ids of every pass.
        start: kind -> ``(passes + 1,)`` offsets: pass ``i`` has
            ``segments[start[i]:start[i+1]]``.
    """

    def __init__(self, passes: Sequence[Footprint]) -> None:
        self.segments: dict[str, np.ndarray] = {}
        self.start: dict[str, np.ndarray] = {}
        for kind in KINDS:
            parts = [np.asarray(getattr(f, kind), np.int64) for f in passes]
            flat, self.start[kind] = _pack(parts)
            self.segments[kind] = _narrow(flat)
        self._distinct: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.start["ifmap"]) - 1

    def reordered(self, order: Sequence[int]) -> Footprints:
        """The same footprints with pass ``j`` the ``order[j]``-th of these."""
        out = object.__new__(Footprints)
        out.segments, out.start = {}, {}
        for kind in KINDS:
            seg, start = self.segments[kind], self.start[kind]
            parts = [seg[start[i] : start[i + 1]] for i in order]
            out.segments[kind] = np.concatenate(parts) if parts else seg[:0]
            out.start[kind] = np.concatenate([[0], np.cumsum([len(p) for p in parts])])
        out._distinct = self._distinct  # the same segments
        return out

    def distinct(self, kind: str) -> np.ndarray:
        """The distinct segments of ``kind`` that any pass touches, sorted."""
        if kind not in self._distinct:
            seg = self.segments[kind]
            seen = np.zeros(int(seg.max(initial=-1)) + 1, bool)
            seen[seg] = True
            self._distinct[kind] = np.nonzero(seen)[0]
        return self._distinct[kind]

    def of(self, i: int) -> Footprint:
        """The footprint of pass ``i``."""
        return Footprint(**{
            k: self.segments[k][self.start[k][i] : self.start[k][i + 1]].astype(np.int64)
            for k in KINDS
        })  # fmt: skip


# ---- schedules -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PassGroup:
    """Passes with one program (identical timing), simulated once and counted.

    Attributes:
        program: the pass.
        count: how many passes of the layer it stands for.
        stage: reduction step of the loop nest (passes of one stage are independent).
    """

    program: Program
    count: int
    stage: int = 0


@dataclass(frozen=True)
class Schedule:
    """A compiled problem.

    Attributes:
        dataflow: the dataflow's id.
        problem: the problem compiled.
        groups: the distinct passes (or, exhaustive, every pass with count 1).
        loops: the loop nest, outermost first, as ``(name, trip count)``.
        mapping: the mapping parameters chosen (for reports).
        operand_shapes: shapes of the flat value arrays the streams index (functional mode).
        output_shape: shape of the raw output the GON sends index.
        zero_macs: MACs with a padding zero operand over every pass (exact: every product of
            the padded problem is scheduled once) [MAC].
        order: ``(passes,)`` the group of each pass, in loop-nest order.
        footprints: the global-buffer rows each pass touches, in loop-nest order.
        zero_free: the passes read only data words (the buffer stores no padding zeros).
    """

    dataflow: str
    problem: Problem
    groups: tuple[PassGroup, ...]
    loops: tuple[tuple[str, int], ...]
    mapping: dict[str, int | str] = field(default_factory=dict)
    operand_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    output_shape: tuple[int, ...] = ()
    zero_macs: int = 0
    order: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), compare=False)
    footprints: Footprints | None = field(default=None, compare=False)
    zero_free: bool = False

    @property
    def passes(self) -> int:
        """Passes of the layer."""
        return sum(g.count for g in self.groups)

    @property
    def macs(self) -> int:
        """MAC operations the schedule issues [MAC]."""
        return sum(g.count * g.program.macs for g in self.groups)


def delegated(schedule: Schedule, dataflow: str, runs: str) -> Schedule:
    """Another dataflow's schedule under ``dataflow``'s name, the mapping naming it as ``runs``."""
    return dataclasses.replace(schedule, dataflow=dataflow,
                               mapping={"runs": runs, **schedule.mapping})  # fmt: skip


def group_passes(
    passes: Sequence[T],
    descriptor: Callable[[T], Hashable],
    build: Callable[[T], PassSpec],
    hw: HardwareConfig,
    layer: str,
    *,
    exhaustive: bool,
    stage: Callable[[T], int] = lambda _: 0,
) -> tuple[tuple[PassGroup, ...], np.ndarray]:
    """Programs of every pass (``exhaustive``) or of one pass per distinct descriptor, counted.

    Args:
        passes: the passes in loop-nest order.
        descriptor: what shapes a pass's program (passes with equal descriptors time alike).
        build: the readable form of a pass.
        hw: the hardware.
        layer: the layer's name (for errors).
        exhaustive: build every pass.
        stage: the reduction stage of a pass.

    Returns:
        The groups and, per pass in the given order, the index of its group.
    """
    keep = _Resident()
    if exhaustive:
        groups = tuple(PassGroup(keep(build_program(build(p), hw, layer)), 1, stage(p))
                       for p in passes)  # fmt: skip
        return groups, np.arange(len(passes), dtype=np.int64)
    first: dict[Hashable, T] = {}
    count: dict[Hashable, int] = {}
    index: dict[Hashable, int] = {}
    order = np.zeros(len(passes), np.int64)
    for i, p in enumerate(passes):
        key = descriptor(p)
        first.setdefault(key, p)
        count[key] = count.get(key, 0) + 1
        order[i] = index.setdefault(key, len(index))
    groups = tuple(
        PassGroup(keep(build_program(build(p), hw, layer)), count[key], stage(p))
        for key, p in first.items()
    )
    return groups, order


RESIDENT_OPS_BYTES = 2 << 30  # operation arrays one compile keeps in memory [bytes]


class _Resident:
    """Keeps the operation arrays of one compile's programs within ``RESIDENT_OPS_BYTES``.

    A layer phase may have hundreds of distinct passes of 12,288 operations on 195 PEs (86 MB
    each): the arrays past the budget go to unlinked temporary files that the kernel pages in
    when the simulator reads them (and drops under memory pressure) instead of filling memory.
    """

    def __init__(self) -> None:
        self.bytes = 0

    def __call__(self, program: Program) -> Program:
        size = program.ops.nbytes
        if self.bytes + size <= RESIDENT_OPS_BYTES:
            self.bytes += size
            return program
        return dataclasses.replace(program, ops=paged(program.ops))


def paged(a: np.ndarray) -> np.ndarray:
    """A read-only copy of an array backed by an unlinked temporary file."""
    with tempfile.TemporaryFile(prefix="ecoflow-") as f:
        a.tofile(f)
        f.flush()
        return np.memmap(f, dtype=a.dtype, mode="r", shape=a.shape)


class AbstractDataflow(abc.ABC):
    """A dataflow: which problems it runs, how it compiles them, and its ideal cycle count."""

    id: ClassVar[str]
    description: ClassVar[str]

    @abc.abstractmethod
    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """``None`` when the dataflow can run the problem on the hardware, else the reason."""

    @abc.abstractmethod
    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: object = None,
        order: str | None = None,
    ) -> Schedule:
        """Compile a problem into passes (distinct ones, or every one when ``exhaustive``).

        ``mapping``: one of :meth:`candidates` (default: the dataflow's own choice); ``order``:
        one of :meth:`orders` (default: the first).
        """

    @abc.abstractmethod
    def pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """Every pass of the problem in its readable form (what ``compile`` builds from)."""

    def zero_free(self, problem: Problem) -> bool:
        """Whether the passes read only data words (the buffer then stores no padding zeros)."""
        return False

    def candidates(self, problem: Problem, hw: HardwareConfig) -> list:
        """Mappings ``compile`` accepts (``mapping=``) for an energy search to compare.

        ``[None]`` for a dataflow without mapping parameters.
        """
        return [None]

    def estimate(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[int, int] | None:
        """``(cycles, network words)`` of a mapping from its shape, or ``None`` if unknown."""
        return None

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """Names of the loop orders ``compile`` accepts (``order=``); the first is the default."""
        return ("default",)

    @abc.abstractmethod
    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """The global-buffer segments of every pass, in a loop order (no programs built)."""

    def sample_pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """The first and the last pass (what reports of network needs look at)."""
        specs = self.pass_specs(problem, hw)
        return specs[:1] + specs[1:][-1:]

    @abc.abstractmethod
    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """Lower bound on the cycles: the MACs it schedules spread over every PE [cycles]."""

    def check(self, problem: Problem, hw: HardwareConfig) -> None:
        """Raise :class:`CompileError` when :meth:`supports` refuses the problem."""
        reason = self.supports(problem, hw)
        if reason is not None:
            raise CompileError(problem.layer.name, self.id, reason)


class CompositeDataflow(AbstractDataflow):
    """A dataflow that runs some problems as several sub-problems on other dataflows.

    :func:`ecoflow.memory.choose` then chooses each part's mapping and loop order on its own
    and passes ``compile`` and ``footprints`` the tuple of ``(mapping, order)`` per part.
    """

    @abc.abstractmethod
    def parts(
        self, problem: Problem, hw: HardwareConfig
    ) -> list[tuple[AbstractDataflow, Problem]] | None:
        """The ``(dataflow, sub-problem)`` pairs a problem runs as; ``None``: it runs whole."""


REGISTRY: dict[str, AbstractDataflow] = {}


def register(cls: type[AbstractDataflow]) -> type[AbstractDataflow]:
    """Class decorator adding a dataflow to :data:`REGISTRY` under its ``id``."""
    REGISTRY[cls.id] = cls()
    return cls


def get(name: str) -> AbstractDataflow:
    """The registered dataflow called ``name``."""
    import ecoflow.dataflows  # noqa: F401  (registers the shipped dataflows)

    if name not in REGISTRY:
        raise KeyError(f"unknown dataflow {name!r}; known: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


__all__ = [
    "OPERANDS",
    "STREAMS",
    "AbstractDataflow",
    "CompileError",
    "CompositeDataflow",
    "Footprint",
    "Footprints",
    "Ids",
    "PassGroup",
    "PassSpec",
    "PeOps",
    "Phase",
    "Program",
    "Schedule",
    "Stream",
    "build_program",
    "delegated",
    "get",
    "register",
]  # fmt: skip
