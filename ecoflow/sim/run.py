"""The driver: ``lax.scan`` over cycles in chunks, ``vmap`` over passes, the only ``jit``.

Passes are padded to common shapes (operation and stream lengths rounded up to powers of two,
so that one compilation serves many layers: the sizes inside are traced values) and batched.
Each call of the compiled kernel advances every pass of a batch by ``chunk`` cycles; the host
loops until every pass is done, and stops with :class:`SimulationError` when a pass makes no
progress for a whole chunk (a deadlock, which a correct program never reaches). Once half of a
batch's lanes are done, the passes still running move into a batch of half the lanes or fewer
(where that saves more than a new compilation costs): a lane costs as much to step done as
running.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import filelock
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import N_FIELDS, Program
from ecoflow.sim.skip import FIELDS, INT32_MAX, fast_forward, find_period, periods_ahead
from ecoflow.sim.state import (
    COUNTERS,
    STALLS,
    TIMING_FIELDS,
    Machine,
    PassArrays,
    State,
    Static,
    batch_arrays,
    init_state,
)
from ecoflow.sim.step import step

CHUNK = 1024
PIPE = 8
HISTORY_CYCLES = 32768  # cycles of signatures a period is looked for in (periods up to half)
WARM_CHUNKS = 4  # chunks a pass runs before the first period proposal
BATCH_ELEMENTS = 256_000_000  # padded operation fields per batch (about 1 GiB of int32)


CACHE_ENV = "ECOFLOW_JAX_CACHE"  # directory of compiled kernels kept across processes ("": off)
CACHE_BYTES = 4 << 30  # the most the directory holds (least recently used kernels go first)


def persistent_cache(default: str | Path = ".cache/jax") -> Path | None:
    """Keep the compiled kernels on disk, shared by every process that calls this.

    Each batch shape (padded operations, stream words, lanes, streams used) compiles the
    kernel once per process, for seconds (3-6 s measured on 2 cores); a workflow's jobs meet
    the same shapes again and again. The directory is ``$ECOFLOW_JAX_CACHE`` if set (empty:
    no cache), else ``default``. Entries are written under a file lock (``filelock``), so
    concurrent jobs may share one directory; what is cached is XLA's executable, so results
    do not depend on it.

    Returns:
        The directory, or ``None`` when the cache is off.
    """
    where = os.environ.get(CACHE_ENV, str(default))
    if not where:
        return None
    path = Path(where).resolve()
    path.mkdir(parents=True, exist_ok=True)
    repair_cache(path)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    jax.config.update("jax_compilation_cache_max_size", CACHE_BYTES)
    return path


def repair_cache(path: Path) -> int:
    """Give each kernel in the cache that lacks its access-time file one; returns how many.

    JAX 0.10's cache writes a kernel, then its ``-atime`` file; a process killed between the
    two leaves a kernel without one. Before every later write the cache reads the access time
    of every kernel and fails on that one ("Error writing persistent compilation cache
    entry"), so no process stores a kernel again (jax-ml/jax#39880, fixed after 0.10). The
    repaired kernel gets the oldest time: it goes first when the cache is full.
    """
    done = 0
    try:
        with filelock.FileLock(path / ".lockfile", timeout=10):
            for kernel in path.glob("*-cache"):
                atime = kernel.with_name(kernel.name.removesuffix("-cache") + "-atime")
                if not atime.exists():
                    atime.write_bytes((0).to_bytes(8, "little"))
                    done += 1
    except filelock.Timeout:
        pass  # another process holds the cache: it stays as it is, and only slower
    return done


class SimulationError(RuntimeError):
    """A pass that cannot finish (deadlock or cycle limit)."""


@dataclass(frozen=True)
class PassResult:
    """What simulating one pass measured.

    Attributes:
        cycles: cycles from the first delivery to the last result drained [cycles].
        counters: event counts by name (:data:`ecoflow.sim.state.COUNTERS`).
        stalls: stall counts by cause (:data:`ecoflow.sim.state.STALLS`).
        skipped: of ``cycles``, those fast-forwarded rather than stepped [cycles].
    """

    cycles: int
    counters: dict[str, int]
    stalls: dict[str, int]
    skipped: int = 0


class _FastForward:
    """Period proposals and exact jumps for the passes of one batch (:mod:`ecoflow.sim.skip`).

    After every chunk, a running pass's signature history is searched for a period ``T``; the
    pass is then held at ``cycle + T`` (the others run on) and the two states are compared.
    When they are one period of a steady state, the pass jumps every further period its
    program repeats; when not, it waits ``2^failures`` chunks (at most 32) before the next
    proposal.
    """

    def __init__(self, programs: Sequence[Program], banks: int, chunk: int) -> None:
        self.programs = programs
        self.banks = banks
        self.chunk = chunk
        self.history: list[list[np.ndarray]] = [[] for _ in programs]
        self.pending: dict[int, dict] = {}
        self.wait = np.zeros(len(programs), np.int64)
        self.failures = np.zeros(len(programs), np.int64)
        self.skipped = [0] * len(programs)

    def update(
        self, state: State, now: State, sig: np.ndarray, stop: np.ndarray, index: np.ndarray
    ) -> tuple[State, State, np.ndarray, np.ndarray]:
        """After a chunk: check held passes, jump, propose.

        ``now``: the state on the host; ``index``: the program in each lane (-1: padding).
        Returns the state (on the device and on the host), the stops and which lanes are held.
        """
        host = {k: np.array(v) for k, v in zip(State._fields, now, strict=True)}
        stop = stop.copy()
        changed = False
        for lane, i in enumerate(index.tolist()):
            if i < 0 or host["done"][lane]:
                continue
            program = self.programs[i]
            row = {k: np.array(host[k][lane]) for k in FIELDS}
            if i in self.pending:
                if row["cycle"] < stop[lane]:
                    continue
                before = self.pending.pop(i)
                stop[lane] = INT32_MAX
                self.history[i] = []
                jump = periods_ahead(program, before, row, self.banks)
                if jump is None:
                    self.failures[i] += 1
                    self.wait[i] = 2 ** min(int(self.failures[i]), 5)
                    continue
                self.failures[i] = 0
                for k, v in fast_forward(row, jump).items():
                    host[k][lane] = v
                self.skipped[i] += jump.periods * jump.cycles
                changed = True
                continue
            s = sig[lane].astype(np.int64)
            self.history[i].append((s[:, 0] << 32) | (s[:, 1] & 0xFFFFFFFF))
            del self.history[i][: -max(1, HISTORY_CYCLES // self.chunk)]
            if self.wait[i] > 0:
                self.wait[i] -= 1
                continue
            if row["cycle"] < WARM_CHUNKS * self.chunk:
                continue
            period = find_period(np.concatenate(self.history[i]))
            if period is not None:
                self.pending[i] = row
                stop[lane] = int(row["cycle"]) + period
        held = np.isin(index, list(self.pending))
        if changed:
            now = State(*(host[k] for k in State._fields))
            state = State(*(jnp.asarray(v) for v in now))
        return state, now, stop, held


def _bucket(n: int, least: int = 256) -> int:
    """``n`` rounded up to a power of two (at least ``least``)."""
    return max(least, 1 << max(0, int(n) - 1).bit_length())


@functools.partial(jax.jit, static_argnames=("st", "chunk", "unroll"))
def _advance(
    arrays: PassArrays,
    machine: Machine,
    state: State,
    values: jax.Array,
    stop: jax.Array,
    slots: jax.Array,
    st: Static,
    chunk: int,
    unroll: int,
) -> tuple[State, jax.Array]:
    """Every pass of a batch ``chunk`` cycles on (a pass holds still from cycle ``stop``).

    Returns the states and, per pass and cycle, a signature of what moved (which PEs issued;
    the stream words, events and stalls of the cycle) for :func:`ecoflow.sim.skip.find_period`.
    """
    weights = jnp.arange(st.pes, dtype=jnp.int32) * 7919 + 1
    event_weights = jnp.arange(len(COUNTERS) + len(STALLS) + 3, dtype=jnp.int32) * 104_729 + 1

    def one(a: PassArrays, s: State, until: jax.Array) -> tuple[State, jax.Array]:
        def body(s: State, _: None) -> tuple[State, jax.Array]:
            new = step(a, machine, s, st, values, slots)
            hold = s.cycle >= until
            new = type(s)(*(jnp.where(hold, old, upd) for old, upd in zip(s, new, strict=True)))
            moved = jnp.concatenate(
                [new.counters - s.counters, new.stalls - s.stalls, new.ptr - s.ptr]
            )
            sig = jnp.stack([jnp.sum((new.pc - s.pc) * weights), jnp.sum(moved * event_weights)])
            return new, sig

        return lax.scan(body, s, None, length=chunk, unroll=unroll)

    return jax.vmap(one)(arrays, state, stop)


@functools.partial(jax.jit, static_argnames=("st",))
def _init(n_ops: jax.Array, prefree: jax.Array, st: Static) -> State:
    """The states of a batch of passes before their first cycle."""
    return jax.vmap(lambda n, f: init_state(st, n, f))(n_ops, prefree)


def gin_slots(programs: Sequence[Program]) -> np.ndarray:
    """(S,) int32: per GIN stream, the widest of the passes that send on it (0: none does)."""
    return np.max([p.width * (p.n_words > 0) for p in programs], axis=0).astype(np.int32)


def _static(
    programs: Sequence[Program], hw: HardwareConfig, functional: bool, **sizes: int
) -> Static:
    machine = Machine.from_hardware(hw)
    if int(machine.latency + machine.hop) > PIPE:
        raise SimulationError(f"latency + hop {int(machine.latency + machine.hop)} > {PIPE}")
    return Static(
        rows=programs[0].rows,
        cols=programs[0].cols,
        pipe=PIPE,
        gin_streams=tuple(bool(w > 0) for w in gin_slots(programs)),
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


SHRINK_LANE_CYCLES = 65_536  # lane-cycles worth about one new compilation of the kernel (3-6 s)
_COMPILED: set[tuple] = set()  # (lanes, *shapes) the kernel has been called with here


def _worth_shrinking(
    host: State, ops: np.ndarray, running: np.ndarray, freed: int, key: tuple
) -> bool:
    """Whether moving the running passes into ``freed`` fewer lanes saves more than it costs.

    A lane costs the same to step whether its pass runs or is done, so the saving is
    ``freed`` lanes times the cycles the batch has left, estimated from the operations its
    slowest running pass has issued so far. Where the smaller batch needs a compilation not
    yet made in this process, the saving must exceed ``SHRINK_LANE_CYCLES``. The choice
    changes only the time the simulation takes, never its results.
    """
    if key in _COMPILED:
        return True
    issued = host.pc[running].sum(1).astype(np.int64)
    if np.any(issued == 0):
        return True  # a pass that has not started: its length is unknown, assume it long
    cycles = host.cycle[running].astype(np.int64)
    left = cycles * (ops[running] - issued) / issued
    return freed * float(left.max()) > SHRINK_LANE_CYCLES


def _take(tree: tuple, lanes: np.ndarray) -> tuple:
    """The given lanes of every array of a batch.

    Taken on the host: indexing on the device compiles once per array shape, which costs
    more than the copy.
    """
    return type(tree)(*(jnp.asarray(np.asarray(x)[lanes]) for x in tree))


def _final(host: State, lane: int) -> tuple:
    """What a finished lane's pass reports: cycles, counters, stalls, outputs, written mask."""
    return (
        int(host.cycle[lane]),
        host.counters[lane].astype(np.int64).tolist(),
        host.stalls[lane].astype(np.int64).tolist(),
        np.asarray(host.out[lane]),
        np.asarray(host.written[lane]),
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
    skip: bool = True,
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
        skip: fast-forward exactly over periodic steady states (timing runs;
            :mod:`ecoflow.sim.skip`); ``False`` steps every cycle.

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
    slots = jnp.asarray(gin_slots(programs))
    results: list[PassResult] = []
    outs, masks = [], []
    for start in range(0, len(programs), per_batch):
        batch = programs[start : start + per_batch]
        # pad the batch to a power of two with empty passes (done from the start), so that
        # batches of different sizes share one compilation
        lanes = _bucket(len(batch), 1)
        stacked = batch_arrays(batch, lanes, length, words, ids, functional)
        arrays = PassArrays(**{k: jnp.asarray(v) for k, v in stacked.items()})
        ops_left = stacked["n_ops"].sum(1).astype(np.int64)  # operations of each lane's pass
        del stacked
        shape = (length, words, ids, vals.shape, st, chunk, unroll)  # with the lanes: a compilation
        state = _init(arrays.n_ops, arrays.prefree, st)
        ahead = None
        if skip and not functional:
            ahead = _FastForward(batch, st.banks, chunk)
        stop = np.full(lanes, INT32_MAX, np.int32)
        index = np.where(np.arange(lanes) < len(batch), np.arange(lanes), -1)  # lane -> pass
        final: dict[int, tuple] = {}  # pass -> its lane's final state (host)
        last = None
        while True:
            state, sig = _advance(arrays, machine, state, vals, jnp.asarray(stop), slots, st,
                                  chunk, unroll)  # fmt: skip
            _COMPILED.add((len(index), *shape))
            host = State(*jax.device_get(state))
            if host.done.all():
                break
            waiting = np.zeros(len(index), bool)
            if ahead is not None:
                state, host, stop, waiting = ahead.update(state, host, np.asarray(sig), stop,
                                                          index)  # fmt: skip
            # any event counted is progress (a deadlocked pass counts only stalls)
            mark = host.pc.sum(1) + host.ptr.sum(1) + host.counters.sum(1)
            live = ~host.done & ~waiting
            if last is not None and live.any() and np.array_equal(mark[live], last[live]):
                stuck = [start + int(index[i]) for i in np.nonzero(live)[0]]
                raise SimulationError(
                    f"passes {stuck[:5]} made no progress for {chunk} cycles (deadlock)"
                )
            last = mark
            running = np.nonzero(~host.done)[0]
            keep = _bucket(len(running), 1)
            if keep < len(index) and _worth_shrinking(host, ops_left, running, len(index) - keep,
                                                      (keep, *shape)):  # fmt: skip
                # the finished passes leave the batch, the rest run on in fewer lanes
                for lane in np.nonzero(host.done & (index >= 0))[0]:
                    final[int(index[lane])] = _final(host, lane)
                spare = np.nonzero(host.done)[0][: keep - len(running)]
                take = np.concatenate([running, spare])
                arrays, state = _take(arrays, take), _take(state, take)
                stop, ops_left = stop[take], ops_left[take]
                index = np.concatenate([index[running], np.full(len(spare), -1)])
                last = None
        for lane in np.nonzero(index >= 0)[0]:
            final[int(index[lane])] = _final(host, lane)
        for i in range(len(batch)):
            cycles, counters, stalls, out, written = final[i]
            results.append(
                PassResult(
                    cycles,
                    dict(zip(COUNTERS, counters, strict=True)),
                    dict(zip(STALLS, stalls, strict=True)),
                    0 if ahead is None else ahead.skipped[i],
                )
            )
            if functional:
                outs.append(out[:n_out])
                masks.append(written[:n_out])
        if progress is not None:
            progress(len(results))
    if functional:
        return results, np.stack(outs), np.stack(masks)
    return results, None, None
