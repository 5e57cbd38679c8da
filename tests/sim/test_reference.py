"""The JAX cycle step against the NumPy reference simulator, state by state.

:func:`assert_same_trajectory` is the shared helper: any test (for example of the programs the
dataflow compilers build) can call it with a program, a hardware and optionally values.
"""

from __future__ import annotations

import dataclasses
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as hs

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    CompileError,
    Ids,
    PassSpec,
    PeOps,
    Program,
    Stream,
    build_program,
)
from ecoflow.sim.reference import (
    TIMING_FIELDS,
    VALUE_FIELDS,
    RefMachine,
    RefState,
    compare,
    is_stuck,
    reference_init,
    reference_run,
    reference_step,
)
from ecoflow.sim.run import SimulationError, _bucket, _static, gin_slots, run_passes
from ecoflow.sim.state import (
    COUNTERS,
    STALLS,
    Machine,
    PassArrays,
    State,
    Static,
    init_state,
    to_arrays,
)
from ecoflow.sim.step import step

HW = HardwareConfig(name="t")


# =============================================================================================
# Shared helper: call from any test to check the JAX step against the reference, cycle by cycle.
# =============================================================================================
# The JAX step adds bool to int32 arrays (ecoflow/sim/step.py: issue lines 100, 107, 109, 120,
# retire 141, 142, deliver 235, 245, 249), which the strict promotion of tests/conftest.py
# rejects; run it with standard promotion until it casts (see test_step_under_strict_promotion).
PROMOTION = "strict"
_JIT_STEP = jax.jit(step, static_argnums=3)


def _step(
    a: PassArrays, m: Machine, s: State, st: Static, values: jax.Array, slots: jax.Array
) -> State:
    with jax.numpy_dtype_promotion(PROMOTION):
        return _JIT_STEP(a, m, s, st, values, slots)


def jax_setup(
    program: Program,
    hw: HardwareConfig,
    values: np.ndarray | None = None,
    n_out: int = 1,
    *,
    length: int | None = None,
    words: int | None = None,
    static: dict | None = None,
    slots: tuple[int, int, int] | None = None,
) -> tuple[PassArrays, Machine, State, Static, jax.Array, jax.Array]:
    """What ``run_passes`` builds for one pass, unbatched: arrays, machine, state, static,
    values and GIN slots.

    ``length``/``words`` override the padded operation/stream lengths, ``static`` replaces
    fields of the :class:`Static` and ``slots`` the GIN slots per cycle (padding that must not
    change the result; fixing them lets many small passes share one compilation).
    """
    ids = program.bus_ids.shape[-1]
    padded = to_arrays(
        program,
        length or _bucket(program.ops.shape[1]),
        words or _bucket(program.stream_row.shape[1]),
        ids,
    )
    arrays = PassArrays(**{k: jnp.asarray(v) for k, v in padded.items()})
    functional = values is not None
    vals = jnp.asarray(values, jnp.float32) if functional else jnp.zeros((3, 1), jnp.float32)
    st = _static([program], hw, functional, n_out=n_out if functional else 1)
    if static:
        st = dataclasses.replace(st, **static)
    state = init_state(st, arrays.n_ops, arrays.prefree)
    slots = jnp.asarray(gin_slots([program]) if slots is None else slots, jnp.int32)
    return arrays, Machine.from_hardware(hw), state, st, vals, slots


def _unpad(js: State, ref: RefState) -> State:
    """``js`` with its scratchpads and psum rings cut to the reference's entries.

    A :class:`Static` may pad them (``capacity``, ``queue`` larger than the pass needs); the
    padding must stay zero.
    """
    if not ref.functional:
        return js
    cut = {}
    for name in ("spad", "pin_ring"):
        a, n = np.asarray(getattr(js, name)), getattr(ref, name).shape[-1]
        if a.shape[-1] > n and not a[..., n:].any():
            cut[name] = a[..., :n]
    return js._replace(**cut)


def _check(js: State, ref: RefState, when: str) -> None:
    js = _unpad(js, ref)
    differ = compare(js, ref)
    if differ:
        lines = [f"JAX step and reference differ {when}:"]
        for name in differ:
            lines.append(f"  {name}: jax={np.asarray(getattr(js, name)).tolist()}")
            lines.append(f"  {' ' * len(name)}  ref={np.asarray(getattr(ref, name)).tolist()}")
        pytest.fail("\n".join(lines))


def assert_same_trajectory(
    program: Program,
    hw: HardwareConfig,
    values: np.ndarray | None = None,
    n_out: int = 1,
    *,
    length: int | None = None,
    words: int | None = None,
    static: dict | None = None,
    slots: tuple[int, int, int] | None = None,
    max_cycles: int = 10_000,
    allow_deadlock: bool = False,
    extra_cycles: int = 2,
) -> RefState:
    """Step the JAX simulator and the reference together; fail at the first state that differs.

    Functional when ``values`` ((3, V) ifmap, filter and psum values) is given. Compares the
    initial state, the state after every cycle until done, and ``extra_cycles`` more (a done
    state must not change). A deadlock (a cycle that changes nothing) fails the test unless
    ``allow_deadlock``; then the states are compared up to it. ``length``, ``words``,
    ``static`` and ``slots`` are passed to :func:`jax_setup` (scratchpads and psum rings that
    ``static`` pads are compared on the reference's entries, the rest must stay zero).

    Returns:
        The last reference state.
    """
    arrays, machine, js, st, vals, gin = jax_setup(
        program, hw, values, n_out, length=length, words=words, static=static, slots=slots
    )
    ref = reference_init(program, hw, values, n_out)
    _check(js, ref, "in the initial state")
    extra = extra_cycles
    while True:
        if ref.done:
            if extra == 0:
                return ref
            extra -= 1
        if ref.cycle >= max_cycles:
            pytest.fail(f"pass not done after {max_cycles} cycles")
        new = reference_step(program, hw, ref, values)
        js = _step(arrays, machine, js, st, vals, gin)
        _check(js, new, f"after cycle {ref.cycle}")
        if is_stuck(ref, new):
            if allow_deadlock:
                return new
            pytest.fail(f"deadlock in cycle {ref.cycle}")
        ref = new


# =============================================================================================
# Hand-built passes
# =============================================================================================
def _ops(mac, ifmap, filt, reg, first, send, zero=None, out=None) -> PeOps:  # type: ignore[no-untyped-def]
    n = len(mac)
    z = np.zeros(n, np.int64)
    return PeOps(
        np.asarray(mac, bool),
        np.asarray(ifmap, np.int64),
        np.asarray(filt, np.int64),
        np.asarray(reg, np.int64),
        np.asarray(first, bool),
        np.asarray(send, bool),
        np.zeros(n, bool) if zero is None else np.asarray(zero, bool),
        z if out is None else np.asarray(out, np.int64),
    )


def example_2x1() -> tuple[Program, np.ndarray]:
    """Two PEs in a column: a 1-D convolution of 8 ifmap words by 2 taps per row, psums up."""
    rows, cols = 2, 1
    pes = []
    for r, top in ((0, True), (1, False)):
        parts = []
        for q in range(3):
            a, f = r * 4 + q, r * 2
            parts.append(_ops([1, 1], [a, a + 1], [f, f + 1], [0, 0], [1, 0], [0, not top]))
            if top:
                parts.append(_ops([0], [0], [0], [0], [0], [1], out=[q]))
        pes.append(PeOps.concat(parts))
    ifm = Stream(np.arange(8), np.zeros(8, int), np.array([0] * 4 + [1] * 4), np.arange(8))
    fil = Stream(np.arange(4), np.array([0, 0, 1, 1]), np.zeros(4, int), 100 + np.arange(4))
    spec = PassSpec(
        rows,
        cols,
        pes,
        {"ifmap": ifm, "filter": fil},
        {
            "ifmap": Ids.single(np.array([0, 0]), np.array([[0], [1]])),
            "filter": Ids.single(np.array([0, 1]), np.zeros((2, 1), int)),
        },
        {"ifmap": np.array(["gin", "gin"]), "filter": np.array(["gin", "gin"])},
        {"ifmap": 3, "filter": 4},
        {"ifmap": 1, "filter": 4},
        np.array([False, True]),
        np.array([False, False]),
    )
    vals = np.zeros((3, 8), np.float32)
    vals[0] = np.arange(8) + 1
    vals[1, :4] = [1, 2, 3, 4]
    return build_program(spec, HW), vals


def systolic(
    hw: HardwareConfig,
    rows: int = 2,
    cols: int = 3,
    k: int = 4,
    capacity: int = 2,
    widths: tuple[int, int] = (2, 3),
) -> tuple[Program, np.ndarray, np.ndarray]:
    """Output-stationary ``rows x cols`` systolic pass: PE (r, c) sums A[r, :] * B[:, c].

    Ifmaps (A rows) enter at column 0 and move right, filters (B columns) enter at row 0 and
    move down. Returns the program, the values and the expected outputs.
    """
    pes = []
    for r in range(rows):
        for c in range(cols):
            kk = np.arange(k)
            pes.append(
                _ops(
                    np.ones(k),
                    r * k + kk,
                    kk * cols + c,
                    np.zeros(k),
                    kk == 0,
                    kk == k - 1,
                    out=np.full(k, r * cols + c),
                )
            )
    # ifmap word A[r, k] has row tag r (X-bus r has row ID r; every PE column ID 0)
    a_elem = np.array([r * k + j for j in range(k) for r in range(rows)])
    ifm = Stream(a_elem, a_elem // k, np.zeros_like(a_elem), a_elem)
    # filter word B[k, c] has column tag c (every X-bus row ID 0; PE (r, c) column ID c)
    b_elem = np.arange(k * cols)
    fil = Stream(b_elem, np.zeros_like(b_elem), b_elem % cols, 500 + b_elem)
    grid = np.arange(rows * cols).reshape(rows, cols)
    spec = PassSpec(
        rows,
        cols,
        pes,
        {"ifmap": ifm, "filter": fil},
        {
            "ifmap": Ids.single(np.arange(rows), np.zeros((rows, cols), int)),
            "filter": Ids.single(np.zeros(rows, int), np.tile(np.arange(cols), (rows, 1))),
        },
        {
            "ifmap": np.where((grid % cols) == 0, "gin", "left").ravel(),
            "filter": np.where(grid < cols, "gin", "up").ravel(),
        },
        {"ifmap": capacity, "filter": capacity},
        {"ifmap": widths[0], "filter": widths[1]},
        np.zeros(rows * cols, bool),
        np.zeros(rows * cols, bool),
    )
    a = (np.arange(rows * k).reshape(rows, k) % 5 + 1).astype(np.float32)
    b = (np.arange(k * cols).reshape(k, cols) % 3 - 1).astype(np.float32)
    vals = np.zeros((3, max(a.size, b.size)), np.float32)
    vals[0, : a.size] = a.ravel()
    vals[1, : b.size] = b.ravel()
    return build_program(spec, hw), vals, (a @ b).ravel()


@pytest.mark.parametrize("functional", [False, True])
def test_example_2x1(functional: bool) -> None:
    program, vals = example_2x1()
    final = assert_same_trajectory(program, HW, vals if functional else None, n_out=3)
    assert final.cycle == 20
    assert final.counters.sum() > 0
    if functional:
        np.testing.assert_array_equal(final.out, [44, 54, 64])


@pytest.mark.parametrize(
    ("functional", "local_bits", "capacity"), [(False, 64, 2), (True, 64, 2), (True, 16, 1)]
)
def test_systolic_2x3(functional: bool, local_bits: int, capacity: int) -> None:
    hw = HardwareConfig(name="t", noc={"local": {"width_bits": local_bits}})
    program, vals, expected = systolic(hw, capacity=capacity)
    final = assert_same_trajectory(program, hw, vals if functional else None, n_out=6)
    assert final.counters[COUNTERS.index("local")] > 0  # operands moved between neighbours
    if functional:
        np.testing.assert_array_equal(final.out, expected)
        assert final.written.all()


# =============================================================================================
# Random RS-like passes (row stationary 1-D convolutions)
# =============================================================================================
MAX_ROWS, MAX_COLS, MAX_TAPS, MAX_OUTS, MAX_WIDTH, MAX_QUEUE, MAX_BANKS = 3, 3, 3, 4, 3, 8, 32
# One padding for every random pass, so that only the array shape (rows, cols) compiles anew.
PAD = {
    "length": _bucket(MAX_OUTS * (MAX_TAPS + 1)),
    "words": _bucket((MAX_ROWS + MAX_COLS - 1) * (MAX_OUTS + MAX_TAPS - 1)),
    "static": {
        "gin_streams": (True, True, True),
        "capacity": 8,
        "queue": MAX_QUEUE,
        "banks": MAX_BANKS,
    },
    "slots": (MAX_WIDTH, MAX_WIDTH, MAX_WIDTH),  # more than a pass's widths: the extra send nothing
}
N_VALUES, N_OUT = 32, MAX_COLS * MAX_OUTS


def _interleave(rng: random.Random, seqs: list[list[int]], keys: list[list] | None) -> list:
    """One order of ``(seq, pos)`` keeping each sequence in order.

    With ``keys`` (non-decreasing along each sequence): sorted by key, ties in random order
    of sequence (use order); else a random merge.
    """
    if keys is not None:
        prio = {(i, k): rng.random() for i, ks in enumerate(keys) for k in ks}
        words = [(i, j) for i, s in enumerate(seqs) for j in range(len(s))]
        return sorted(words, key=lambda w: (keys[w[0]][w[1]], prio[w[0], keys[w[0]][w[1]]], w[1]))
    left = [list(range(len(s))) for s in seqs]
    out = []
    while any(left):
        i = rng.choice([i for i, x in enumerate(left) if x])
        out.append((i, left[i].pop(0)))
    return out


def rs_pass(
    hw: HardwareConfig,
    rows: int,
    cols: int,
    taps: int,
    outs: int,
    widths: tuple[int, int, int],
    psum_in: bool,
    use_order: bool,
    slack: tuple[int, int],
    bases: tuple[int, int, int],
    seed: int,
) -> tuple[Program, np.ndarray, np.ndarray]:
    """A row-stationary pass: PE (r, c) convolves ifmap row r + c with filter row r.

    Row 0 accumulates the psums from below and sends output row c to the GON; with
    ``psum_in`` the bottom row also adds an incoming psum row from the psum GIN. Scratchpads
    are as small as :func:`build_program` allows, plus ``slack``. Returns the program, the
    values and the expected outputs.
    """
    rng = random.Random(seed)
    wi = outs + taps - 1  # ifmap row width
    n_if = rows + cols - 1
    pes = []
    for r in range(rows):
        for c in range(cols):
            h = r + c
            adds = r < rows - 1 or psum_in
            parts = []
            for q in range(outs):
                s = np.arange(taps)
                last_mac_sends = not adds
                parts.append(
                    _ops(
                        np.ones(taps),
                        h * wi + q + s,
                        r * taps + s,
                        np.full(taps, q % 3),
                        s == 0,
                        (s == taps - 1) & last_mac_sends,
                        zero=[rng.random() < 0.2 for _ in s],
                        out=np.full(taps, c * outs + q),
                    )
                )
                if adds:
                    parts.append(_ops([0], [0], [0], [q % 3], [0], [1], out=[c * outs + q]))
            pes.append(PeOps.concat(parts))

    # streams: ifmap row h (column tag h, PE (r, c) has column ID r + c), filter row r (row
    # tag r, X-bus r has row ID r), psum row c (column tag c, fed to the bottom row only)
    if_seqs = [[h * wi + x for x in range(wi)] for h in range(n_if)]
    # in use order: by the (output, tap) of a lock-step schedule that first needs the word
    if_keys = [[(max(0, x - taps + 1), min(x, taps - 1)) for x in range(wi)] for _ in range(n_if)]
    fi_seqs = [[r * taps + s for s in range(taps)] for r in range(rows)]
    ps_seqs = [[c * outs + q for q in range(outs)] for c in range(cols)] if psum_in else []
    ps_keys = [list(range(outs)) for _ in ps_seqs]

    def stream(seqs: list[list[int]], keys: list[list[int]], tag: str, base: int) -> Stream:
        order = _interleave(rng, seqs, keys if use_order else None)
        elem = np.array([seqs[i][j] for i, j in order], np.int64)
        which = np.array([i for i, _ in order], np.int64)
        zeros = np.zeros_like(elem)
        row, col = (which, zeros) if tag == "row" else (zeros, which)
        return Stream(elem, row, col, base + elem)

    streams = {
        "ifmap": stream(if_seqs, if_keys, "col", bases[0]),
        "filter": stream(fi_seqs, [list(range(taps)) for _ in fi_seqs], "row", 100 + bases[1]),
    }
    ids = {
        "ifmap": Ids.single(np.zeros(rows, int), np.add.outer(np.arange(rows), np.arange(cols))),
        "filter": Ids.single(np.arange(rows), np.zeros((rows, cols), int)),
    }
    if psum_in:
        streams["psum"] = stream(ps_seqs, ps_keys, "col", 200 + bases[2])
        ids["psum"] = Ids.single(np.zeros(rows, int), np.tile(np.arange(cols), (rows, 1)))
    send_up = np.repeat(np.arange(rows) > 0, cols)
    psum_from_gin = np.repeat(np.arange(rows) == rows - 1, cols) & psum_in
    gin = np.array(["gin"] * (rows * cols))

    def build(cap_i: int, cap_f: int) -> Program:
        spec = PassSpec(
            rows,
            cols,
            pes,
            streams,
            ids,
            {"ifmap": gin, "filter": gin},
            {"ifmap": cap_i, "filter": cap_f},
            dict(zip(("ifmap", "filter", "psum"), widths, strict=True)),
            send_up,
            psum_from_gin,
        )
        return build_program(spec, hw)

    def smallest(key: str, build_with: object) -> int:
        for cap in range(1, 64):
            try:
                build_with(cap)  # type: ignore[operator]
            except CompileError as err:
                if err.key != key:
                    raise
                continue
            return cap
        raise AssertionError(key)

    cap_i = smallest("ifmap_capacity", lambda cap: build(cap, 64)) + slack[0]
    cap_f = smallest("filter_capacity", lambda cap: build(cap_i, cap)) + slack[1]
    program = build(cap_i, cap_f)

    vrng = np.random.default_rng(seed)
    ifmap = vrng.integers(-3, 4, (n_if, wi)).astype(np.float32)
    filt = vrng.integers(-3, 4, (rows, taps)).astype(np.float32)
    psum = vrng.integers(-3, 4, (cols, outs)).astype(np.float32)
    vals = np.zeros((3, N_VALUES), np.float32)
    vals[0, : ifmap.size] = ifmap.ravel()
    vals[1, : filt.size] = filt.ravel()
    vals[2, : psum.size] = psum.ravel()
    expected = np.zeros((cols, outs), np.float32)
    for c in range(cols):
        for r in range(rows):
            expected[c] += np.correlate(ifmap[r + c], filt[r], mode="valid")
        if psum_in:
            expected[c] += psum[c]
    return program, vals, expected.ravel()


@hs.composite
def rs_cases(draw: hs.DrawFn) -> dict:
    mult = draw(hs.integers(1, 3))
    adder = draw(hs.integers(1, 2))
    hop = draw(hs.integers(1, 8 - mult - adder))
    hw = HardwareConfig(
        name="rand",
        pe={
            "multiplier_stages": mult,
            "adder_stages": adder,
            "queue_entries": draw(hs.integers(1, MAX_QUEUE)),
        },
        noc={
            "gon": {"width_bits": draw(hs.sampled_from([16, 32, 64]))},
            "local": {"hop_latency_cycles": hop},
        },
        global_buffer={
            "banks": draw(hs.sampled_from([1, 2, 3, 27])),
            "bank_width_bits": draw(hs.sampled_from([16, 32, 64])),
        },
    )
    return {
        "hw": hw,
        "rows": draw(hs.integers(1, MAX_ROWS)),
        "cols": draw(hs.integers(1, MAX_COLS)),
        "taps": draw(hs.integers(1, MAX_TAPS)),
        "outs": draw(hs.integers(1, MAX_OUTS)),
        "widths": tuple(draw(hs.integers(1, MAX_WIDTH)) for _ in range(3)),
        "psum_in": draw(hs.booleans()),
        "use_order": draw(hs.booleans()),
        "slack": (draw(hs.integers(0, 1)), draw(hs.integers(0, 1))),
        "bases": tuple(draw(hs.integers(0, 40)) for _ in range(3)),
        "seed": draw(hs.integers(0, 2**16)),
    }


@settings(max_examples=40)
@given(rs_cases())
def test_random_rs_passes(case: dict) -> None:
    program, vals, expected = rs_pass(**case)
    final = assert_same_trajectory(
        program, case["hw"], vals, N_OUT, allow_deadlock=not case["use_order"], **PAD
    )
    event("done" if final.done else "deadlock")
    for name in ("bank", "psum", "output"):
        event(f"{name} stalls: {bool(final.stalls[STALLS.index(name)])}")
    if final.done:
        n = len(expected)
        np.testing.assert_array_equal(final.out[:n], expected)
        assert final.written[:n].all() and not final.written[n:].any()


# =============================================================================================
# The reference on its own
# =============================================================================================
def test_machine_numbers_match_jax() -> None:
    hw = HardwareConfig(name="t", noc={"gon": {"width_bits": 32}, "local": {"width_bits": 16}})
    ref = RefMachine.from_hardware(hw)
    jm = Machine.from_hardware(hw)
    assert {k: int(v) for k, v in jm._asdict().items()} == {k: getattr(ref, k) for k in jm._fields}


def test_final_state_matches_run_passes() -> None:
    program, vals = example_2x1()
    with jax.numpy_dtype_promotion(PROMOTION):
        (res,), out, written = run_passes([program], HW, values=vals, n_out=3, chunk=8, unroll=1)
    final, states = reference_run(program, HW, vals, n_out=3, trajectory=True)
    assert res.cycles == final.cycle == len(states) - 1
    assert res.counters == {k: int(v) for k, v in zip(res.counters, final.counters, strict=True)}
    assert res.stalls == {k: int(v) for k, v in zip(res.stalls, final.stalls, strict=True)}
    np.testing.assert_array_equal(out[0], final.out)
    np.testing.assert_array_equal(written[0], final.written)


def test_step_returns_a_new_state() -> None:
    program, vals = example_2x1()
    s0 = reference_init(program, HW, vals, n_out=3)
    snapshot = s0.copy()
    s1 = reference_step(program, HW, s0, vals)
    assert s1.cycle == 1
    for name in TIMING_FIELDS + VALUE_FIELDS:
        np.testing.assert_array_equal(getattr(s0, name), getattr(snapshot, name))


def test_empty_pass_is_done_and_frozen() -> None:
    program, _ = example_2x1()
    empty = dataclasses.replace(program, n_ops=np.zeros_like(program.n_ops))
    final, states = reference_run(empty, HW, trajectory=True)
    assert final.done and final.cycle == 0 and len(states) == 1
    after = reference_step(empty, HW, final)
    assert compare(after, final) == []
    assert_same_trajectory(empty, HW)


def test_deadlock_and_cycle_limit_raise() -> None:
    program, _ = example_2x1()
    starved = dataclasses.replace(program, n_words=np.zeros_like(program.n_words))
    with pytest.raises(SimulationError, match="deadlock"):
        reference_run(starved, HW)
    assert_same_trajectory(starved, HW, allow_deadlock=True)
    with pytest.raises(SimulationError, match="after 5 cycles"):
        reference_run(program, HW, max_cycles=5)


def test_compare_names_differing_fields() -> None:
    program, vals = example_2x1()
    a = reference_init(program, HW, vals, n_out=3)
    b = a.copy()
    b.pc[1] += 1
    b.out[0] = 7.0
    assert compare(a, b) == ["pc", "out"]
    assert compare(a, a.copy()) == []


def test_step_under_strict_promotion() -> None:
    program, vals = example_2x1()
    arrays, machine, js, st, v, slots = jax_setup(program, HW, vals, n_out=3)
    with jax.numpy_dtype_promotion("strict"):
        jax.jit(step, static_argnums=3)(arrays, machine, js, st, v, slots)


def test_idle_pe_drops_the_broadcast_words_it_is_fed() -> None:
    """A PE without operations whose IDs match a broadcast must not fill up and block it.

    PE 0 uses ten ifmap and ten filter words through two-entry scratchpads; PE 1 has no work but
    the same IDs. Its words are dropped on arrival, so the pass ends (it used to deadlock once
    PE 1 held two words).
    """
    n = 10
    k = np.arange(n)
    work = PeOps(mac=np.ones(n, bool), ifmap=k, filter=k, reg=np.zeros(n, np.int64),
                 first=k == 0, send=k == n - 1, zero=np.zeros(n, bool),
                 out=np.zeros(n, np.int64))  # fmt: skip
    z = np.zeros(n, np.int64)
    spec = PassSpec(
        rows=1,
        cols=2,
        ops=[work, PeOps.empty()],
        streams={"ifmap": Stream(k, z, z, k), "filter": Stream(k, z, z, n + k)},
        ids={t: Ids([[0]], [[[0], [0]]]) for t in ("ifmap", "filter")},
        source={t: np.array(["gin", "gin"], dtype=object) for t in ("ifmap", "filter")},
        capacity={"ifmap": 2, "filter": 2},
        width={"ifmap": 1, "filter": 1},
        send_up=np.zeros(2, bool),
        psum_from_gin=np.zeros(2, bool),
    )
    program = build_program(spec, HW)
    assert list(program.prefree[:, 1]) == [n, n]
    final = assert_same_trajectory(program, HW)
    assert final.done
    (result,), _, _ = run_passes([program], HW)
    assert result.cycles == final.cycle
