"""A plain NumPy reference simulator of one pass: the test oracle of :mod:`ecoflow.sim.step`.

It runs one :class:`~ecoflow.dataflows.base.Program` (the unpadded NumPy arrays) on one
:class:`~ecoflow.config.HardwareConfig` with loops over PEs and stream words, and is written to
be read, not to be fast. Its state, :class:`RefState`, holds the same quantities as
:class:`ecoflow.sim.state.State`, so :func:`compare` can check the JAX step against it field by
field, cycle by cycle. Nothing here computes with JAX: the module imports only the counter and
stall names, the integer timing numbers, the pipeline depth and the error type from the JAX
modules (which import JAX).

Machine model. ``PE = rows * cols`` PEs are numbered row-major; the PE *above* PE ``p`` is
``p - cols`` and the one *below* ``p + cols``; the *left* neighbour is ``p - 1`` and the *right*
one ``p + 1`` in that flat numbering (as in the JAX step; a program only uses ``left`` off
column 0). Each PE holds, per operand (ifmap, filter), a count of the words it has received
(``recv``) and of those its program no longer needs (``used``); a received word goes to
scratchpad entry ``local index % capacity``. It also has a psum-in queue (a ring of
``queue_entries`` words: ``pin_recv`` pushed, ``pin_used`` popped), an output queue towards the
GON (``gon_occ`` words waiting), a retire pipeline (``pipe[p, d]``: a result that leaves in
``d`` cycles) and ``psum_spad_entries`` psum registers.

One cycle runs these sub-steps in order (one function each). Unless a sub-step says otherwise,
it reads the state as the previous sub-step left it, and all PEs act simultaneously (every PE
reads the values of the others from before the sub-step).

1. :func:`issue` — a PE with operations left looks at its next one. It is *ready* when it has
   received at least the ``need`` words of both operands, when (an ``add``) its psum-in queue is
   not empty, and when (a ``send``) the destination queue has room: the words queued there plus
   this PE's results in flight must be below ``queue_entries`` (the destination is the psum-in
   queue of the PE above, counted as empty when there is none, or else this PE's output queue).
   A waiting PE is charged one stall to the first missing condition of ifmap, filter, psum and
   output (room). A ready PE issues: ``pc`` advances, ``used`` becomes the operation's ``free``
   counts, an ``add`` pops its queue, and a sending operation puts its result in pipeline slot
   ``latency + hop - 1``. Counters: ``mac``/``zero_mac``/``add`` per operation; ``spad_read`` 2
   for a MAC or 1 for an add, plus 1 for the register unless the operation is ``first``;
   ``spad_write`` 1. Values: the register becomes (0 if ``first`` else the register) plus the
   product of the two scratchpad operands (MAC) or the head of the psum-in queue (add); the new
   value rides the pipeline, and a send to the GON writes it to ``out[out_id]`` at once. (A
   register or output index out of range raises :class:`IndexError` here; the JAX step drops
   such writes.)
2. :func:`retire` — every pipeline moves one slot towards 0; the result in slot 0 leaves. A PE
   that sends up pushes it into the psum-in queue of the PE above (counted as ``local``; a PE of
   row 0 that sends up loses it, as in the JAX step); otherwise it enters the PE's own output
   queue. Each result leaving counts one ``queue_push``.
3. :func:`drain` — the GON takes up to ``gon_words`` words from the output queues, emptying
   the queues of lower PE indices first (``gon`` counter).
4. :func:`release` — per operand and PE, how many words the PE may let go of: its ``used``
   count, lowered to the ``recv`` count of its right neighbour if that neighbour takes this
   operand from the left, and to the ``recv`` count of the PE below if that one takes it from
   above. Releasing only frees scratchpad room; it changes no state.
5. :func:`forward` — a PE that takes an operand from its left (else upper) neighbour copies the
   next words the neighbour had received *before this sub-step*, at most ``link_words`` of them
   and only as many as fit (``recv`` may reach ``released + capacity``). Each word moved counts
   one ``local`` and one ``spad_write``; its value is read from the neighbour's scratchpad.
6. :func:`deliver` — the streams ifmap, filter and psum, in that order, each send up to
   ``width`` words, in stream order, from ``ptr``. A word goes to every PE fed by that GIN (the
   operand's ``gin`` sources, or the psum-from-GIN PEs) whose X-bus has one of the word's row
   tags among its row IDs and which has the word's column tag among its column IDs. It is sent
   only if every such PE has room (scratchpad: ``recv - released < capacity`` with ``recv``
   counting words that arrived earlier in this sub-step and ``released`` from sub-step 4; psum
   queue: ``pin_recv - pin_used < queue_entries``), and only if its global-buffer bank has not
   been opened on another line earlier in this cycle (by any stream); the first word that is not
   sent ends the stream's turn, and a bank conflict then charges one ``bank`` stall. A word with
   no receiver still uses its slot and its bank. Counters: ``gin_<stream>`` per word sent,
   ``gin_delivery`` per (word, PE), and ``spad_write`` (operands) or ``queue_push`` (psums) per
   (word, PE).

After the sub-steps ``cycle`` grows by one and the pass is ``done`` when every PE has issued
all of its operations, no result is in flight and every output queue is empty. A state that is
already done at the start of a cycle does not change at all.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    F_FLAGS,
    F_FREE_F,
    F_FREE_I,
    F_NEED_F,
    F_NEED_I,
    F_OUT,
    F_REG,
    F_SLOT_F,
    F_SLOT_I,
    FIRST,
    MAC,
    SEND,
    STREAMS,
    UP,
    ZERO,
    Program,
)
from ecoflow.sim.run import PIPE, SimulationError
from ecoflow.sim.state import COUNTERS, PIPE_EMPTY, PIPE_GON, PIPE_UP, STALLS, timing_numbers

TIMING_FIELDS = (
    "cycle", "done", "pc", "recv", "used", "ptr", "pin_recv", "pin_used", "pipe", "gon_occ",
    "counters", "stalls",
)  # fmt: skip
VALUE_FIELDS = ("spad", "pin_ring", "pipe_val", "regs", "out", "written")
# what decides the future of a pass (a step that leaves these unchanged is a deadlock)
_PROGRESS_FIELDS = ("pc", "recv", "used", "ptr", "pin_recv", "pin_used", "pipe", "gon_occ")


@dataclass(frozen=True)
class RefMachine:
    """The hardware numbers the simulation uses (as :class:`ecoflow.sim.state.Machine`).

    Attributes:
        latency: cycles from issue to retire: multiplier plus adder stages [cycles].
        hop: local-link and queue latency [cycles].
        queue: psum-in and output queue entries [words].
        gon_words: GON words per cycle [words/cycle].
        link_words: neighbour-link words per cycle [words/cycle].
        regs: psum registers per PE [words].
        banks: global-buffer banks.
    """

    latency: int
    hop: int
    queue: int
    gon_words: int
    link_words: int
    regs: int
    banks: int

    @classmethod
    def from_hardware(cls, hw: HardwareConfig) -> RefMachine:
        """The numbers of ``hw`` (those of ``Machine.from_hardware``, plus registers and banks)."""
        machine = cls(
            **timing_numbers(hw), regs=hw.pe.psum_spad_entries, banks=hw.global_buffer.banks
        )
        if machine.latency + machine.hop > PIPE:
            raise SimulationError(f"latency + hop {machine.latency + machine.hop} > {PIPE}")
        return machine


def _spad_entries(program: Program) -> int:
    """Scratchpad entries the state stores per PE: the largest capacity, rounded up to 2^k.

    This is the padding of ``ecoflow.sim.run`` (so the arrays compare); entries at or past an
    operand's capacity stay zero.
    """
    cap = max(1, int(program.capacity.max()))
    return 1 << (cap - 1).bit_length()


@dataclass
class RefState:
    """State of one pass; the quantities of :class:`ecoflow.sim.state.State`, as NumPy arrays.

    Attributes:
        cycle: cycles elapsed until done [cycles].
        done: every PE finished and every result drained.
        pc: (PE,) next operation of each PE.
        recv: (2, PE) words received per operand (cumulative).
        used: (2, PE) words the program no longer needs per operand (cumulative).
        ptr: (3,) words sent per GIN stream.
        pin_recv: (PE,) psums pushed into the psum-in queue (cumulative).
        pin_used: (PE,) psums popped from it (cumulative).
        pipe: (PE, PIPE) results in flight (``PIPE_GON`` or ``PIPE_UP``); slot d leaves in d
            cycles.
        gon_occ: (PE,) words waiting in the output queue.
        counters: (len(COUNTERS),) event counts.
        stalls: (len(STALLS),) stall counts.
        spad: (2, PE, C) scratchpads (functional mode, else None).
        pin_ring: (PE, queue) psum-in queues as rings (functional).
        pipe_val: (PE, PIPE) values in flight (functional).
        regs: (PE, psum registers) psum registers (functional).
        out: (n_out,) outputs sent to the GON (functional).
        written: (n_out,) which outputs were written (functional).
    """

    cycle: int
    done: bool
    pc: np.ndarray
    recv: np.ndarray
    used: np.ndarray
    ptr: np.ndarray
    pin_recv: np.ndarray
    pin_used: np.ndarray
    pipe: np.ndarray
    gon_occ: np.ndarray
    counters: np.ndarray
    stalls: np.ndarray
    spad: np.ndarray | None = None
    pin_ring: np.ndarray | None = None
    pipe_val: np.ndarray | None = None
    regs: np.ndarray | None = None
    out: np.ndarray | None = None
    written: np.ndarray | None = None

    @property
    def functional(self) -> bool:
        """Whether the state carries values."""
        return self.spad is not None

    def copy(self) -> RefState:
        """A deep copy."""
        return dataclasses.replace(
            self,
            **{
                name: np.array(getattr(self, name))
                for name in TIMING_FIELDS + VALUE_FIELDS
                if isinstance(getattr(self, name), np.ndarray)
            },
        )

    def count(self, name: str, amount: int) -> None:
        """Add ``amount`` to the counter ``name``."""
        self.counters[COUNTERS.index(name)] += amount

    def stall(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the stall count ``name``."""
        self.stalls[STALLS.index(name)] += amount


def reference_init(
    program: Program,
    hw: HardwareConfig,
    values: np.ndarray | None = None,
    n_out: int = 1,
) -> RefState:
    """The state before the first cycle.

    Args:
        program: the pass.
        hw: the hardware.
        values: given, the state is functional (carries values).
        n_out: output elements (functional).
    """
    m = RefMachine.from_hardware(hw)
    pes = program.rows * program.cols
    state = RefState(
        cycle=0,
        done=bool(np.all(program.n_ops == 0)),
        pc=np.zeros(pes, np.int64),
        recv=np.zeros((2, pes), np.int64),
        used=np.asarray(program.prefree, np.int64).copy(),
        ptr=np.zeros(3, np.int64),
        pin_recv=np.zeros(pes, np.int64),
        pin_used=np.zeros(pes, np.int64),
        pipe=np.zeros((pes, PIPE), np.int8),
        gon_occ=np.zeros(pes, np.int64),
        counters=np.zeros(len(COUNTERS), np.int64),
        stalls=np.zeros(len(STALLS), np.int64),
    )
    if values is not None:
        state.spad = np.zeros((2, pes, _spad_entries(program)), np.float32)
        state.pin_ring = np.zeros((pes, m.queue), np.float32)
        state.pipe_val = np.zeros((pes, PIPE), np.float32)
        state.regs = np.zeros((pes, m.regs), np.float32)
        state.out = np.zeros(n_out, np.float32)
        state.written = np.zeros(n_out, bool)
    return state


# ---- sub-steps (each mutates ``s``, the state being built for the end of the cycle) ---------
def issue(program: Program, m: RefMachine, s: RefState) -> None:
    """Sub-step 1: each PE issues its next operation if it can (else a stall is charged)."""
    before = s.copy()  # every PE sees the queues of the others as they were
    cols = program.cols
    for p in range(program.rows * cols):
        if before.pc[p] >= program.n_ops[p]:
            continue  # finished
        op = program.ops[p, before.pc[p]]
        flags = int(op[F_FLAGS])
        is_mac = bool(flags & MAC)
        first = bool(flags & FIRST)
        send = bool(flags & SEND)

        have_i = before.recv[0, p] >= op[F_NEED_I]
        have_f = before.recv[1, p] >= op[F_NEED_F]
        have_p = is_mac or before.pin_recv[p] - before.pin_used[p] > 0
        up = bool(flags & UP)
        in_flight = int((before.pipe[p] == (PIPE_UP if up else PIPE_GON)).sum())
        if not send:
            room = True
        elif up:
            above = p - cols
            queued = before.pin_recv[above] - before.pin_used[above] if above >= 0 else 0
            room = queued + in_flight < m.queue
        else:
            room = before.gon_occ[p] + in_flight < m.queue

        if not have_i:
            s.stall("ifmap")
            continue
        if not have_f:
            s.stall("filter")
            continue
        if not have_p:
            s.stall("psum")
            continue
        if not room:
            s.stall("output")
            continue

        s.count("mac" if is_mac else "add", 1)
        if is_mac and flags & ZERO:
            s.count("zero_mac", 1)
        s.count("spad_read", (2 if is_mac else 1) + (0 if first else 1))
        s.count("spad_write", 1)
        s.pc[p] += 1
        s.used[0, p] = op[F_FREE_I]
        s.used[1, p] = op[F_FREE_F]
        if not is_mac:
            s.pin_used[p] += 1
        slot = m.latency + m.hop - 1
        if send:
            s.pipe[p, slot] = PIPE_UP if up else PIPE_GON

        if not s.functional:
            continue
        reg = int(op[F_REG])
        if not 0 <= reg < m.regs:
            raise IndexError(f"PE {p} accumulates into register {reg} of {m.regs}")
        if is_mac:
            operand = s.spad[0, p, op[F_SLOT_I]] * s.spad[1, p, op[F_SLOT_F]]
        else:
            operand = before.pin_ring[p, before.pin_used[p] % m.queue]  # the queue's head
        start = np.float32(0.0) if first else s.regs[p, reg]
        value = np.float32(start + operand)
        s.regs[p, reg] = value
        if send:
            s.pipe_val[p, slot] = value
            if not up:
                o = int(op[F_OUT])
                if not 0 <= o < len(s.out):
                    raise IndexError(f"PE {p} sends output {o} of {len(s.out)}")
                s.out[o] = value
                s.written[o] = True


def retire(program: Program, m: RefMachine, s: RefState) -> None:
    """Sub-step 2: the pipelines advance; results in slot 0 enter their queue."""
    cols = program.cols
    for p in range(program.rows * cols):
        if s.pipe[p, 0] == PIPE_EMPTY:
            continue
        s.count("queue_push", 1)
        if s.pipe[p, 0] == PIPE_GON:
            s.gon_occ[p] += 1
            continue
        s.count("local", 1)
        above = p - cols
        if above < 0:
            continue  # a row-0 PE sending up: the result leaves the array (JAX step likewise)
        if s.functional:
            s.pin_ring[above, s.pin_recv[above] % m.queue] = s.pipe_val[p, 0]
        s.pin_recv[above] += 1  # only PE ``above + cols`` pushes here
    s.pipe[:, :-1] = s.pipe[:, 1:].copy()
    s.pipe[:, -1] = PIPE_EMPTY
    if s.functional:
        s.pipe_val[:, :-1] = s.pipe_val[:, 1:].copy()
        s.pipe_val[:, -1] = 0.0


def drain(program: Program, m: RefMachine, s: RefState) -> None:
    """Sub-step 3: the GON takes up to ``gon_words`` words, lowest PE index first."""
    budget = m.gon_words
    for p in range(program.rows * program.cols):
        take = min(budget, int(s.gon_occ[p]))
        s.gon_occ[p] -= take
        budget -= take
        s.count("gon", take)


def release(program: Program, s: RefState) -> np.ndarray:
    """Sub-step 4: (2, PE) words each PE may release (used, and received by its forwardees)."""
    pes, cols = program.rows * program.cols, program.cols
    released = np.zeros((2, pes), np.int64)
    for t in range(2):
        for p in range(pes):
            r = int(s.used[t, p])
            right, below = p + 1, p + cols
            if right < pes and program.src_left[t, right]:
                r = min(r, int(s.recv[t, right]))
            if below < pes and program.src_up[t, below]:
                r = min(r, int(s.recv[t, below]))
            released[t, p] = r
    return released


def forward(program: Program, m: RefMachine, s: RefState, released: np.ndarray) -> None:
    """Sub-step 5: systolic PEs copy words their left or upper neighbour had received."""
    before = s.copy()  # a word moves at most one hop per cycle
    pes, cols = program.rows * program.cols, program.cols
    for t in range(2):
        cap = int(program.capacity[t])
        for p in range(pes):
            if program.src_left[t, p]:
                src = p - 1
            elif program.src_up[t, p]:
                src = p - cols
            else:
                continue
            have = int(before.recv[t, p])
            offered = int(before.recv[t, src]) if src >= 0 else 0
            room = int(released[t, p]) + cap
            new = max(have, min(have + m.link_words, offered, room))
            for idx in range(have, new):
                if s.functional:
                    s.spad[t, p, idx % cap] = before.spad[t, src, idx % cap]
            s.recv[t, p] = new
            s.count("local", new - have)
            s.count("spad_write", new - have)


def _receivers(program: Program, t: int, word: int) -> list[int]:
    """PEs fed by GIN ``t`` whose IDs match the tags of its word ``word``."""
    cols = program.cols
    row, col = program.stream_row[t, word], program.stream_col[t, word]
    fed = program.src_gin[t] if t < 2 else program.psum_from_gin
    out = []
    for r in range(program.rows):
        bus_ok = any(
            program.bus_valid[t, r, i] and program.bus_ids[t, r, i] == row
            for i in range(program.bus_ids.shape[-1])
        )
        for c in range(cols):
            pe_ok = any(
                program.pe_valid[t, r, c, i] and program.pe_ids[t, r, c, i] == col
                for i in range(program.pe_ids.shape[-1])
            )
            if bus_ok and pe_ok and fed[r * cols + c]:
                out.append(r * cols + c)
    return out


def deliver(
    program: Program,
    m: RefMachine,
    s: RefState,
    released: np.ndarray,
    values: np.ndarray | None,
) -> None:
    """Sub-step 6: the GIN streams send words in order to every matching PE with room."""
    pin_used = s.pin_used.copy()
    open_line: dict[int, int] = {}  # bank -> line opened this cycle (shared by the streams)
    for t, name in enumerate(STREAMS):
        conflict = False
        for _ in range(int(program.width[t])):
            j = int(s.ptr[t])
            if j >= program.n_words[t]:
                break
            to = _receivers(program, t, j)
            if t < 2:
                cap = int(program.capacity[t])
                full = [s.recv[t, p] - released[t, p] >= cap for p in to]
            else:
                full = [s.pin_recv[p] - pin_used[p] >= m.queue for p in to]
            if any(full):
                break
            bank, line = int(program.stream_bank[t, j]), int(program.stream_line[t, j])
            if bank in open_line and open_line[bank] != line:
                conflict = True
                break
            open_line[bank] = line
            for p in to:
                if t < 2:
                    if s.functional:
                        value = values[t, program.stream_elem[t, j]]
                        s.spad[t, p, s.recv[t, p] % int(program.capacity[t])] = value
                    s.recv[t, p] += 1
                    s.count("spad_write", 1)
                else:
                    if s.functional:
                        value = values[t, program.stream_elem[t, j]]
                        s.pin_ring[p, s.pin_recv[p] % m.queue] = value
                    s.pin_recv[p] += 1
                    s.count("queue_push", 1)
            s.ptr[t] += 1
            s.count(f"gin_{name}", 1)
            s.count("gin_delivery", len(to))
        if conflict:
            s.stall("bank")


def _finished(program: Program, s: RefState) -> bool:
    idle = not (s.pipe != PIPE_EMPTY).any() and np.all(s.gon_occ == 0)
    return bool(np.all(s.pc >= program.n_ops) and idle)


def reference_step(
    program: Program, hw: HardwareConfig, state: RefState, values: np.ndarray | None = None
) -> RefState:
    """Advance one pass by one cycle; returns a new state (``state`` is not changed).

    Args:
        program: the pass (unpadded).
        hw: the hardware.
        state: the state at the start of the cycle.
        values: (3, V) ifmap, filter and psum values the stream elements index (functional).
    """
    s = state.copy()
    if state.done:
        return s
    if s.functional and values is None:
        raise ValueError("a functional state needs values")
    vals = None if values is None else np.asarray(values, np.float32)
    m = RefMachine.from_hardware(hw)
    issue(program, m, s)
    retire(program, m, s)
    drain(program, m, s)
    released = release(program, s)
    forward(program, m, s, released)
    deliver(program, m, s, released, vals)
    s.cycle += 1
    s.done = _finished(program, s)
    return s


def is_stuck(before: RefState, after: RefState) -> bool:
    """Whether a step from ``before`` to ``after`` is a deadlock.

    The step changed nothing that decides what happens next (the step is deterministic in
    these fields; counters, stalls and values do not feed back), yet the pass is not done.
    """
    return not after.done and all(
        np.array_equal(getattr(before, f), getattr(after, f)) for f in _PROGRESS_FIELDS
    )


def reference_run(
    program: Program,
    hw: HardwareConfig,
    values: np.ndarray | None = None,
    n_out: int = 1,
    max_cycles: int = 100_000,
    trajectory: bool = False,
) -> tuple[RefState, list[RefState]]:
    """Run a pass to completion.

    Args:
        program: the pass.
        hw: the hardware.
        values: (3, V) operand values (functional mode when given).
        n_out: output elements (functional).
        max_cycles: give up after this many cycles.
        trajectory: also return every state, from the initial one to the final one.

    Returns:
        The final state and the trajectory (empty unless ``trajectory``).

    Raises:
        SimulationError: a cycle changes nothing that decides the future (a deadlock) or the pass
            is not done after ``max_cycles`` cycles.
    """
    state = reference_init(program, hw, values, n_out)
    states = [state] if trajectory else []
    while not state.done:
        if state.cycle >= max_cycles:
            raise SimulationError(f"pass not done after {max_cycles} cycles")
        new = reference_step(program, hw, state, values)
        if is_stuck(state, new):
            raise SimulationError(f"no progress in cycle {state.cycle} (deadlock)")
        state = new
        if trajectory:
            states.append(state)
    return state, states


def compare(jax_state: object, ref_state: RefState, rtol: float = 0.0) -> list[str]:
    """Names of the fields where a (unbatched) JAX state and a reference state differ.

    Timing fields are compared exactly; the value fields too (unless ``rtol`` > 0), and only
    when the reference state is functional.
    """
    names = TIMING_FIELDS + (VALUE_FIELDS if ref_state.functional else ())
    differ = []
    for name in names:
        a = np.asarray(getattr(jax_state, name))
        b = np.asarray(getattr(ref_state, name))
        if a.shape != b.shape:
            differ.append(name)
        elif name in VALUE_FIELDS and a.dtype.kind == "f" and rtol > 0:
            if not np.allclose(a, b, rtol=rtol, atol=0.0):
                differ.append(name)
        elif not np.array_equal(a, b):
            differ.append(name)
    return differ


__all__ = [
    "TIMING_FIELDS",
    "VALUE_FIELDS",
    "RefMachine",
    "RefState",
    "compare",
    "deliver",
    "drain",
    "forward",
    "is_stuck",
    "issue",
    "reference_init",
    "reference_run",
    "reference_step",
    "release",
    "retire",
]
