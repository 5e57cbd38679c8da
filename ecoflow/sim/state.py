"""Static description and dynamic state of a simulated pass.

:class:`PassArrays` is a compiled :class:`~ecoflow.dataflows.base.Program` as JAX arrays
(immutable, one per pass; batched on a leading axis by :mod:`ecoflow.sim.run`); :class:`Machine`
holds the hardware's timing numbers as traced scalars; :class:`Static` holds what fixes array
shapes and loop unrolling; :class:`State` is everything that changes from cycle to cycle.

Shapes use ``PE = rows * cols`` (row-major), ``T = 2`` operands (ifmap, filter), ``S = 3`` GIN
streams (ifmap, filter, psum), ``D`` retire-pipeline slots, ``Q`` psum-queue entries, ``C`` the
largest scratchpad capacity, ``R`` psum registers and ``O`` output elements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jax import Array

from ecoflow.config import HardwareConfig

COUNTERS = (
    "mac",  # multiply-accumulates issued [MAC]
    "zero_mac",  # of those, with a padding zero operand (zero-gated) [MAC]
    "add",  # psum additions from the psum-in queue [op]
    "spad_read",  # scratchpad and psum register reads [words]
    "spad_write",  # scratchpad and psum register writes [words]
    "gin_ifmap",  # words on the ifmap GIN [words]
    "gin_filter",  # words on the filter GIN [words]
    "gin_psum",  # words on the psum GIN [words]
    "gin_delivery",  # (word, receiving PE) pairs over all GINs [words]
    "local",  # words over local links: psum hops and systolic operand hops [words]
    "gon",  # words drained over the GON to the global buffer [words]
    "queue_push",  # words pushed into psum-in or output queues [words]
)
STALLS = (
    "ifmap",  # PE waiting for an ifmap operand [PE-cycles]
    "filter",  # PE waiting for a filter operand [PE-cycles]
    "psum",  # PE waiting for a psum from below or from the global buffer [PE-cycles]
    "output",  # PE waiting for room in the destination queue [PE-cycles]
    "bank",  # a GIN word held back by a global-buffer bank conflict [cycles]
)
C_ = {name: i for i, name in enumerate(COUNTERS)}
PIPE_EMPTY, PIPE_GON, PIPE_UP = 0, 1, 2  # a retire-pipeline slot: empty, a result for the GON or up
TIMING_FIELDS = 5  # F_FLAGS .. F_FREE_F: all a timing run reads
S_ = {name: i for i, name in enumerate(STALLS)}


class PassArrays(NamedTuple):
    """A program as JAX arrays (see :class:`ecoflow.dataflows.base.Program` for the fields)."""

    ops: Array  # (L, PE, F) int32
    n_ops: Array  # (PE,) int32
    prefree: Array  # (T, PE) int32
    src_gin: Array  # (T, PE) bool
    src_left: Array  # (T, PE) bool
    src_up: Array  # (T, PE) bool
    capacity: Array  # (T,) int32
    stream_elem: Array  # (S, W) int32
    stream_row: Array  # (S, W) int32
    stream_col: Array  # (S, W) int32
    stream_bank: Array  # (S, W) int32
    stream_line: Array  # (S, W) int32
    n_words: Array  # (S,) int32
    width: Array  # (S,) int32
    bus_ids: Array  # (S, rows, I) int32
    bus_valid: Array  # (S, rows, I) bool
    pe_ids: Array  # (S, rows, cols, I) int32
    pe_valid: Array  # (S, rows, cols, I) bool
    psum_from_gin: Array  # (PE,) bool


class Machine(NamedTuple):
    """Timing numbers of the hardware (traced scalars).

    Attributes:
        latency: cycles from issue to retire (multiplier + adder stages) [cycles].
        hop: local-link and queue latency [cycles].
        queue: psum-in and output queue entries [words].
        gon_words: GON words per cycle [words/cycle].
        link_words: neighbour-link words per cycle [words/cycle].
    """

    latency: Array
    hop: Array
    queue: Array
    gon_words: Array
    link_words: Array

    @classmethod
    def from_hardware(cls, hw: HardwareConfig) -> Machine:
        """The hardware's timing numbers as traced scalars."""
        return cls(**{k: jnp.int32(v) for k, v in timing_numbers(hw).items()})


def timing_numbers(hw: HardwareConfig) -> dict[str, int]:
    """The fields of :class:`Machine` as plain integers (shared with the NumPy reference)."""
    word = hw.word_bits
    return {
        "latency": hw.pe.multiplier_stages + hw.pe.adder_stages,
        "hop": hw.noc.local.hop_latency_cycles,
        "queue": hw.pe.queue_entries,
        "gon_words": max(1, hw.noc.gon.width_bits // word),
        "link_words": max(1, hw.noc.local.width_bits // word),
    }


@dataclass(frozen=True)
class Static:
    """What fixes shapes and unrolling (hashable; one compilation per distinct value).

    Attributes:
        rows, cols: the PE array.
        pipe: retire-pipeline slots (at least latency + hop).
        gin_streams: per stream, whether it delivers words at all (the slot loop of a
            stream that does not is left out; how many words a stream delivers in one
            cycle is traced, so batches of different widths share a compilation).
        link_slots: the most words a neighbour link moves in one cycle (unrolled).
        banks: global-buffer banks.
        functional: carry values.
        capacity: largest scratchpad capacity (functional scratchpad arrays).
        queue: psum-queue entries (functional ring arrays).
        regs: psum registers (functional).
        n_out: output elements (functional).
    """

    rows: int
    cols: int
    pipe: int
    gin_streams: tuple[bool, bool, bool]
    link_slots: int
    banks: int
    functional: bool = False
    capacity: int = 1
    queue: int = 1
    regs: int = 1
    n_out: int = 1

    @property
    def pes(self) -> int:
        """PEs of the array."""
        return self.rows * self.cols


class State(NamedTuple):
    """Dynamic state of one pass.

    Attributes:
        cycle: cycles elapsed until done [cycles].
        done: every PE finished and every result drained.
        pc: (PE,) next operation of each PE.
        recv: (T, PE) words received per operand (cumulative).
        used: (T, PE) words the program no longer needs per operand (cumulative).
        ptr: (S,) words sent per GIN stream.
        pin_recv: (PE,) psums arrived in the psum-in queue (cumulative).
        pin_used: (PE,) psums consumed from it (cumulative).
        pipe: (PE, D) results in flight to their queue (``PIPE_GON`` or ``PIPE_UP``, else
            ``PIPE_EMPTY``); slot d retires in d cycles.
        gon_occ: (PE,) words waiting in the output queue.
        counters: (len(COUNTERS),) event counts.
        stalls: (len(STALLS),) stall counts.
        spad: (T, PE, C) functional scratchpads.
        pin_ring: (PE, Q) functional psum-in queues.
        pipe_val: (PE, D) functional values in flight.
        regs: (PE, R) functional psum registers.
        out: (O,) functional outputs drained to the GON.
        written: (O,) which outputs this pass wrote.
    """

    cycle: Array
    done: Array
    pc: Array
    recv: Array
    used: Array
    ptr: Array
    pin_recv: Array
    pin_used: Array
    pipe: Array
    gon_occ: Array
    counters: Array
    stalls: Array
    spad: Array
    pin_ring: Array
    pipe_val: Array
    regs: Array
    out: Array
    written: Array


def init_state(st: Static, n_ops: Array, prefree: Array) -> State:
    """The state before the first cycle of a pass.

    Args:
        st: static shapes.
        n_ops: (PE,) operations per PE.
        prefree: (T, PE) words released before the first operation.
    """
    pes = st.pes
    f = st.functional
    zi = jnp.zeros((pes,), jnp.int32)
    return State(
        cycle=jnp.int32(0),
        done=jnp.all(n_ops == 0),
        pc=zi,
        recv=jnp.zeros((2, pes), jnp.int32),
        used=jnp.asarray(prefree, jnp.int32),
        ptr=jnp.zeros((3,), jnp.int32),
        pin_recv=zi,
        pin_used=zi,
        pipe=jnp.zeros((pes, st.pipe), jnp.int8),
        gon_occ=zi,
        counters=jnp.zeros((len(COUNTERS),), jnp.int32),
        stalls=jnp.zeros((len(STALLS),), jnp.int32),
        spad=jnp.zeros((2, pes, st.capacity if f else 0), jnp.float32),
        pin_ring=jnp.zeros((pes, st.queue if f else 0), jnp.float32),
        pipe_val=jnp.zeros((pes, st.pipe if f else 0), jnp.float32),
        regs=jnp.zeros((pes, st.regs if f else 0), jnp.float32),
        out=jnp.zeros((st.n_out if f else 0,), jnp.float32),
        written=jnp.zeros((st.n_out if f else 0,), bool),
    )


def to_arrays(
    program: object, length: int, words: int, ids: int, functional: bool = True
) -> dict[str, np.ndarray]:
    """A program's arrays padded to ``length`` operations, ``words`` stream words, ``ids`` IDs.

    The operations are laid out ``(op, PE, field)`` (PEs in step read neighbouring memory) and,
    for timing runs, only the fields up to ``F_REG`` are kept.
    """
    return {k: v[0] for k, v in batch_arrays([program], 1, length, words, ids, functional).items()}


def batch_arrays(
    programs: list, lanes: int, length: int, words: int, ids: int, functional: bool = True
) -> dict[str, np.ndarray]:
    """The programs' arrays stacked on a leading axis of ``lanes`` passes (see :func:`to_arrays`).

    Lanes past the programs are empty passes (no operations, no stream words: done from the
    start) with the first program's other arrays. Each array is written once into its place.
    """
    first = programs[0]
    fields = first.ops.shape[2] if functional else TIMING_FIELDS
    out = {}
    for name in PassArrays._fields:
        a = np.asarray(getattr(first, name))
        if name == "ops":
            shape = (length, a.shape[0], fields)
        elif name.startswith("stream_"):
            shape = (a.shape[0], words)
        elif name in ("bus_ids", "bus_valid", "pe_ids", "pe_valid"):
            shape = (*a.shape[:-1], ids)
        else:
            shape = a.shape
        out[name] = np.zeros((lanes, *shape), a.dtype)
    for i, program in enumerate(programs):
        for name in PassArrays._fields:
            a = np.asarray(getattr(program, name))
            if name == "ops":
                out[name][i, : a.shape[1]] = a[:, :, :fields].transpose(1, 0, 2)
            elif a.ndim:
                out[name][(i, *(slice(0, n) for n in a.shape))] = a
            else:
                out[name][i] = a
    for name in PassArrays._fields:
        if name not in ("ops", "n_ops", "prefree", "n_words") and not name.startswith("stream_"):
            out[name][len(programs) :] = out[name][0]
    return out
