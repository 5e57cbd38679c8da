"""The driver: ``lax.scan`` over cycles in chunks, ``vmap`` over passes, the only ``jit``.

Passes are padded to common shapes (operation and stream lengths rounded up to powers of two,
so that one compilation serves many layers: the sizes inside are traced values) and batched.
Each call of the compiled kernel advances every pass of a batch by ``chunk`` cycles; the host
loops until every pass is done, and stops with :class:`SimulationError` when a pass makes no
progress for a whole chunk (a deadlock, which a correct program never reaches).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import N_FIELDS, Program
from ecoflow.sim.state import (
    COUNTERS,
    STALLS,
    TIMING_FIELDS,
    Machine,
    PassArrays,
    State,
    Static,
    init_state,
    to_arrays,
)
from ecoflow.sim.step import step

CHUNK = 1024
PIPE = 8
BATCH_ELEMENTS = 256_000_000  # padded operation fields per batch (about 1 GiB of int32)


class SimulationError(RuntimeError):
    """A pass that cannot finish (deadlock or cycle limit)."""


@dataclass(frozen=True)
class PassResult:
    """What simulating one pass measured.

    Attributes:
        cycles: cycles from the first delivery to the last result drained [cycles].
        counters: event counts by name (:data:`ecoflow.sim.state.COUNTERS`).
        stalls: stall counts by cause (:data:`ecoflow.sim.state.STALLS`).
    """

    cycles: int
    counters: dict[str, int]
    stalls: dict[str, int]


def _bucket(n: int, least: int = 256) -> int:
    """``n`` rounded up to a power of two (at least ``least``)."""
    return max(least, 1 << max(0, int(n) - 1).bit_length())


@functools.partial(jax.jit, static_argnames=("st", "chunk", "unroll"))
def _advance(
    arrays: PassArrays,
    machine: Machine,
    state: State,
    values: jax.Array,
    st: Static,
    chunk: int,
    unroll: int,
) -> State:
    def one(a: PassArrays, s: State) -> State:
        def body(s: State, _: None) -> tuple[State, None]:
            return step(a, machine, s, st, values), None

        s, _ = lax.scan(body, s, None, length=chunk, unroll=unroll)
        return s

    return jax.vmap(one)(arrays, state)


def _static(
    programs: Sequence[Program], hw: HardwareConfig, functional: bool, **sizes: int
) -> Static:
    machine = Machine.from_hardware(hw)
    if int(machine.latency + machine.hop) > PIPE:
        raise SimulationError(f"latency + hop {int(machine.latency + machine.hop)} > {PIPE}")
    active = np.max([p.width * (p.n_words > 0) for p in programs], axis=0)
    widths = tuple(int(w) for w in active)
    return Static(
        rows=programs[0].rows,
        cols=programs[0].cols,
        pipe=PIPE,
        gin_slots=widths,
        link_slots=int(machine.link_words)
        if any(p.src_left.any() or p.src_up.any() for p in programs)
        else 1,
        banks=hw.global_buffer.banks,
        functional=functional,
        capacity=_bucket(max(int(p.capacity.max()) for p in programs), 1) if functional else 1,
        queue=hw.pe.queue_entries if functional else 1,
        regs=hw.pe.psum_spad_entries if functional else 1,
        **sizes,
    )


def run_passes(
    programs: Sequence[Program],
    hw: HardwareConfig,
    *,
    values: np.ndarray | None = None,
    n_out: int = 1,
    chunk: int | None = None,
    unroll: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[PassResult], np.ndarray | None, np.ndarray | None]:
    """Simulate passes (independent of each other) to completion.

    Args:
        programs: the passes.
        hw: the hardware (timing numbers and shapes).
        values: (3, V) ifmap, filter and psum-in values the streams index; given, the run is
            functional.
        n_out: output elements the GON sends index (functional).
        chunk: cycles per kernel call (default: 256 for short passes, else 1024).
        unroll: scan unrolling.
        progress: called with the number of passes finished so far.

    Returns:
        Per pass, its result; in functional mode also (pass, n_out) outputs and written masks.
    """
    if not programs:
        return [], None, None
    functional = values is not None
    if chunk is None:
        chunk = 256 if max(int(p.n_ops.max()) for p in programs) < 2048 else CHUNK
    machine = Machine.from_hardware(hw)
    length = _bucket(max(p.ops.shape[1] for p in programs))
    words = _bucket(max(p.stream_row.shape[1] for p in programs))
    ids = max(p.bus_ids.shape[-1] for p in programs)
    pes = programs[0].rows * programs[0].cols
    fields = N_FIELDS if functional else TIMING_FIELDS
    per_batch = max(1, BATCH_ELEMENTS // (pes * length * fields))
    vals = jnp.zeros((3, 1), jnp.float32)
    if functional:
        vals = jnp.zeros((3, _bucket(values.shape[1])), jnp.float32)
        vals = vals.at[:, : values.shape[1]].set(jnp.asarray(values, jnp.float32))
    st = _static(
        programs,
        hw,
        functional,
        n_out=_bucket(n_out) if functional else 1,
    )
    results: list[PassResult] = []
    outs, masks = [], []
    for start in range(0, len(programs), per_batch):
        batch = programs[start : start + per_batch]
        padded = [to_arrays(p, length, words, ids, functional) for p in batch]
        # pad the batch to a power of two with empty passes (done from the start), so that
        # batches of different sizes share one compilation
        empty = dict(
            padded[0],
            n_ops=np.zeros_like(padded[0]["n_ops"]),
            prefree=np.zeros_like(padded[0]["prefree"]),
        )
        empty["n_words"] = np.zeros_like(empty["n_words"])
        padded += [empty] * (_bucket(len(batch), 1) - len(batch))
        arrays = PassArrays(**{k: jnp.asarray(np.stack([d[k] for d in padded])) for k in padded[0]})
        state = jax.vmap(lambda n, f: init_state(st, n, f))(arrays.n_ops, arrays.prefree)
        last = None
        while True:
            state = _advance(arrays, machine, state, vals, st, chunk, unroll)
            done = np.asarray(state.done)
            if done.all():
                break
            mark = np.asarray(
                state.pc.sum(1) + state.ptr.sum(1) + state.pin_recv.sum(1) + state.recv.sum((1, 2))
            )
            if last is not None and np.array_equal(mark[~done], last[~done]):
                stuck = [start + int(i) for i in np.nonzero(~done)[0]]
                raise SimulationError(
                    f"passes {stuck[:5]} made no progress for {chunk} cycles (deadlock)"
                )
            last = mark
        cycles = np.asarray(state.cycle, np.int64)
        counters = np.asarray(state.counters, np.int64)
        stalls = np.asarray(state.stalls, np.int64)
        for i in range(len(batch)):
            results.append(
                PassResult(
                    int(cycles[i]),
                    dict(zip(COUNTERS, counters[i].tolist(), strict=True)),
                    dict(zip(STALLS, stalls[i].tolist(), strict=True)),
                )
            )
        if functional:
            outs.append(np.asarray(state.out)[: len(batch), :n_out])
            masks.append(np.asarray(state.written)[: len(batch), :n_out])
        if progress is not None:
            progress(len(results))
    if functional:
        return results, np.concatenate(outs), np.concatenate(masks)
    return results, None, None
