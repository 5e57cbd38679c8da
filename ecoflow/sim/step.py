"""One clock cycle of a pass: a pure function of the state, unbatched (``run.py`` vmaps it).

Every component advances once per cycle, in this order of named sub-steps; each reads the
registers as they were at the start of the cycle unless it says otherwise:

1. :func:`issue` — every PE whose next operation has its operands (words received in earlier
   cycles), its incoming psum (for an ``add``) and, if it sends, a free entry in the
   destination queue (counting results already in flight), issues it: the program counter
   advances, the words the program no longer needs are marked used, and a sending operation
   enters the retire pipeline ``latency + hop`` cycles deep. Waiting PEs are counted by the
   first missing condition (ifmap, filter, psum, output).
2. :func:`retire` — results leaving the pipeline enter the psum-in queue of the PE above or
   the PE's own output queue.
3. :func:`drain` — the GON takes up to ``gon_words`` words from the output queues, lower PE
   indices first.
4. :func:`release` — a PE frees the oldest words it no longer uses, once every neighbour it
   forwards them to has received them.
5. :func:`forward` — systolic PEs take up to ``link_words`` words from their left or upper
   neighbour (words the neighbour held at the start of the cycle), as far as they have room.
6. :func:`deliver` — each GIN stream sends up to ``width`` words in order; a word goes only if
   every PE whose IDs match its tags has room for it, and only if its global-buffer bank has not
   been opened on another line this cycle (a bank conflict ends the stream's cycle).

A pass is done when every PE has issued its last operation and no result is in flight or
queued; ``cycle`` stops counting then and the state no longer changes.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array, lax

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
    UP,
    ZERO,
)
from ecoflow.sim.state import (
    C_,
    PIPE_EMPTY,
    PIPE_GON,
    PIPE_UP,
    S_,
    Machine,
    PassArrays,
    State,
    Static,
)


def _from_prev(x: Array, k: int) -> Array:
    """``y[p] = x[p - k]`` along the first axis (zeros where ``p < k``)."""
    pad = jnp.zeros((k, *x.shape[1:]), x.dtype)
    return jnp.concatenate([pad, x[:-k]], axis=0)


def _from_next(x: Array, k: int) -> Array:
    """``y[p] = x[p + k]`` along the first axis (zeros past the end)."""
    pad = jnp.zeros((k, *x.shape[1:]), x.dtype)
    return jnp.concatenate([x[k:], pad], axis=0)


def _bump(vector: Array, index: dict[str, int], amounts: dict[str, Array]) -> Array:
    """Add the summed ``amounts`` to the named entries of a counter vector (one add)."""
    zero = jnp.int32(0)
    parts = {index[k]: jnp.sum(v, dtype=jnp.int32) for k, v in amounts.items()}
    return vector + jnp.stack([parts.get(i, zero) for i in range(len(index))])


def issue(a: PassArrays, m: Machine, s: State, st: Static) -> State:
    """Sub-step 1: issue at most one operation per PE."""
    n_len = a.ops.shape[0]
    op = a.ops[jnp.minimum(s.pc, n_len - 1), jnp.arange(st.pes)]  # (PE, F)
    flags = op[:, F_FLAGS]
    active = s.pc < a.n_ops
    is_mac = (flags & MAC) != 0
    send = (flags & SEND) != 0
    first = (flags & FIRST) != 0
    have_i = s.recv[0] >= op[:, F_NEED_I]
    have_f = s.recv[1] >= op[:, F_NEED_F]
    pin_avail = s.pin_recv - s.pin_used
    have_p = is_mac | (pin_avail > 0)
    to_up = (flags & UP) != 0
    inflight_up = jnp.sum(s.pipe == PIPE_UP, axis=1, dtype=jnp.int32)
    inflight_out = jnp.sum(s.pipe == PIPE_GON, axis=1, dtype=jnp.int32)
    room_up = _from_prev(pin_avail, st.cols) + inflight_up < m.queue
    room_out = s.gon_occ + inflight_out < m.queue
    credit = ~send | jnp.where(to_up, room_up, room_out)
    ready = active & have_i & have_f & have_p & credit

    wait = active & ~ready
    stalls = s.stalls
    stalls = _bump(
        stalls,
        S_,
        {
            "ifmap": wait & ~have_i,
            "filter": wait & have_i & ~have_f,
            "psum": wait & have_i & have_f & ~have_p,
            "output": wait & have_i & have_f & have_p,
        },
    )

    mac = ready & is_mac
    add = ready & ~is_mac
    c = s.counters
    zero = mac & ((flags & ZERO) != 0)
    # operands of a MAC (2) or the queue head of an add (1), plus the register unless it starts
    reads = jnp.where(mac, 2, 1) * ready.astype(jnp.int32) + (ready & ~first).astype(jnp.int32)
    c = _bump(
        c,
        C_,
        {"mac": mac, "zero_mac": zero, "add": add, "spad_read": reads, "spad_write": ready},
    )

    slot = jnp.arange(st.pipe, dtype=jnp.int32)[None, :] == (m.latency + m.hop - 1)
    enter = (ready & send)[:, None] & slot
    dest = jnp.where(to_up, PIPE_UP, PIPE_GON).astype(s.pipe.dtype)[:, None]
    used = jnp.where(ready[None, :], jnp.stack([op[:, F_FREE_I], op[:, F_FREE_F]]), s.used)
    s = s._replace(
        pc=s.pc + ready.astype(jnp.int32),
        used=used,
        pin_used=s.pin_used + add.astype(jnp.int32),
        pipe=jnp.where(enter, dest, s.pipe),
        counters=c,
        stalls=stalls,
    )
    if not st.functional:
        return s
    pes = jnp.arange(st.pes)
    a_val = s.spad[0, pes, op[:, F_SLOT_I]]
    b_val = s.spad[1, pes, op[:, F_SLOT_F]]
    reg_val = s.regs[pes, op[:, F_REG]]
    q_val = s.pin_ring[pes, (s.pin_used - add.astype(jnp.int32)) % m.queue]  # head before the pop
    new = jnp.where(first, jnp.float32(0), reg_val) + jnp.where(is_mac, a_val * b_val, q_val)
    regs = s.regs.at[pes, jnp.where(ready, op[:, F_REG], st.regs)].set(new, mode="drop")
    pipe_val = jnp.where(enter, new[:, None], s.pipe_val)
    to_gon = ready & send & ~to_up
    idx = jnp.where(to_gon, op[:, F_OUT], st.n_out)
    out = s.out.at[idx].set(new, mode="drop")
    written = s.written.at[idx].set(True, mode="drop")
    return s._replace(regs=regs, pipe_val=pipe_val, out=out, written=written)


def retire(a: PassArrays, m: Machine, s: State, st: Static) -> State:
    """Sub-step 2: results leave the pipeline into the psum-in queue above or the output queue."""
    exits = s.pipe[:, 0] != PIPE_EMPTY
    pipe = jnp.concatenate([s.pipe[:, 1:], jnp.zeros_like(s.pipe[:, :1])], axis=1)
    up = s.pipe[:, 0] == PIPE_UP
    arrive = _from_next(up, st.cols)
    c = _bump(s.counters, C_, {"local": up, "queue_push": exits})
    new = s._replace(
        pipe=pipe,
        pin_recv=s.pin_recv + arrive.astype(jnp.int32),
        gon_occ=s.gon_occ + (exits & ~up).astype(jnp.int32),
        counters=c,
    )
    if not st.functional:
        return new
    pes = jnp.arange(st.pes)
    val = _from_next(s.pipe_val[:, 0], st.cols)
    ring = s.pin_ring.at[pes, jnp.where(arrive, s.pin_recv % m.queue, st.queue)]
    pipe_val = jnp.concatenate([s.pipe_val[:, 1:], jnp.zeros_like(s.pipe_val[:, :1])], axis=1)
    return new._replace(pin_ring=ring.set(val, mode="drop"), pipe_val=pipe_val)


def drain(a: PassArrays, m: Machine, s: State, st: Static) -> State:
    """Sub-step 3: the GON takes up to ``gon_words`` words, lowest PE index first."""
    del a, st
    before = jnp.cumsum(s.gon_occ) - s.gon_occ
    take = jnp.clip(m.gon_words - before, 0, s.gon_occ)
    return s._replace(gon_occ=s.gon_occ - take, counters=_bump(s.counters, C_, {"gon": take}))


def release(a: PassArrays, s: State, st: Static) -> Array:
    """Sub-step 4: (T, PE) words each PE may release (used, and received by its forwardees)."""
    rel = s.used
    right_takes = _from_next(a.src_left.T, 1).T
    down_takes = _from_next(a.src_up.T, st.cols).T
    right_recv = _from_next(s.recv.T, 1).T
    down_recv = _from_next(s.recv.T, st.cols).T
    rel = jnp.where(right_takes, jnp.minimum(rel, right_recv), rel)
    return jnp.where(down_takes, jnp.minimum(rel, down_recv), rel)


def forward(a: PassArrays, m: Machine, s: State, st: Static, released: Array) -> State:
    """Sub-step 5: systolic PEs take words from their left or upper neighbour."""
    left_recv = _from_prev(s.recv.T, 1).T
    up_recv = _from_prev(s.recv.T, st.cols).T
    src = jnp.where(a.src_left, left_recv, up_recv)
    neighbour = a.src_left | a.src_up
    limit = jnp.minimum(jnp.minimum(s.recv + m.link_words, src), released + a.capacity[:, None])
    recv = jnp.where(neighbour, jnp.maximum(s.recv, limit), s.recv)
    moved = recv - s.recv
    c = _bump(s.counters, C_, {"local": moved, "spad_write": moved})
    new = s._replace(recv=recv, counters=c)
    if not st.functional:
        return new
    spad = s.spad
    pes = jnp.arange(st.pes)
    left_spad = _from_prev(jnp.moveaxis(s.spad, 1, 0), 1)
    up_spad = _from_prev(jnp.moveaxis(s.spad, 1, 0), st.cols)
    src_spad = jnp.where(a.src_left.T[:, :, None], left_spad, up_spad)  # (PE, T, C)
    for t in range(2):
        cap = a.capacity[t]
        for j in range(st.link_slots):
            idx = s.recv[t] + j
            take = idx < recv[t]
            val = src_spad[pes, t, idx % cap]
            spad = spad.at[t, pes, jnp.where(take, idx % cap, st.capacity)].set(val, mode="drop")
    return new._replace(spad=spad)


def deliver(
    a: PassArrays,
    m: Machine,
    s: State,
    st: Static,
    released: Array,
    values: Array,
    slots: Array,
) -> State:
    """Sub-step 6: each GIN stream sends up to ``width`` words to the PEs whose IDs match.

    ``values``: (S, V) flat value arrays the stream elements index (functional mode).
    ``slots``: (S,) the words a stream may send in one cycle at most, at least its ``width``
    (the slot loop's trip count; slots beyond ``width`` send nothing).
    """
    banks = jnp.arange(st.banks, dtype=jnp.int32)
    pes = jnp.arange(st.pes)
    n_w = a.stream_row.shape[1]
    held = [s.recv[0], s.recv[1], s.pin_recv]
    limit = [released[0] + a.capacity[0], released[1] + a.capacity[1], s.pin_used + m.queue]
    cap = [a.capacity[0], a.capacity[1], m.queue]
    targets = [a.src_gin[0], a.src_gin[1], a.psum_from_gin]
    ptr, c, spad, ring = s.ptr, s.counters, s.spad, s.pin_ring
    busy = jnp.zeros((st.banks,), bool)
    line_at = jnp.zeros((st.banks,), jnp.int32)
    conflicts = jnp.int32(0)
    for t, name in enumerate(("ifmap", "filter", "psum")):
        if not st.gin_streams[t]:
            continue
        bus_ids, bus_valid = a.bus_ids[t], a.bus_valid[t]
        pe_ids, pe_valid = a.pe_ids[t], a.pe_valid[t]
        full = held[t] >= limit[t]

        def slot(
            k: Array,
            carry: tuple,
            t: int = t,
            bus_ids: Array = bus_ids,
            bus_valid: Array = bus_valid,
            pe_ids: Array = pe_ids,
            pe_valid: Array = pe_valid,
        ) -> tuple:
            got_n, j, ok, busy, line_at, conflicts, full, spad, ring = carry
            jj = jnp.minimum(j, n_w - 1)
            bus = jnp.any((bus_ids == a.stream_row[t, jj]) & bus_valid, axis=-1)
            pe = jnp.any((pe_ids == a.stream_col[t, jj]) & pe_valid, axis=-1)
            to = (bus[:, None] & pe).reshape(-1) & targets[t]
            want = ok & (k < a.width[t]) & (j < a.n_words[t]) & ~jnp.any(to & full)
            hit = banks == a.stream_bank[t, jj]
            line = a.stream_line[t, jj]
            go = want & ~jnp.any(hit & busy & (line_at != line))
            conflicts = conflicts + (want & ~go).astype(jnp.int32)
            busy = busy | (hit & go)
            line_at = jnp.where(hit & go, line, line_at)
            got = to & go
            if st.functional:
                val = values[t, a.stream_elem[t, jj]]
                index = jnp.where(
                    got, (held[t] + got_n) % cap[t], st.capacity if t < 2 else st.queue
                )
                if t < 2:
                    spad = spad.at[t, pes, index].set(val, mode="drop")
                else:
                    ring = ring.at[pes, index].set(val, mode="drop")
            got_n = got_n + got.astype(jnp.int32)
            full = held[t] + got_n >= limit[t]
            return got_n, j + go.astype(jnp.int32), go, busy, line_at, conflicts, full, spad, ring

        carry = (jnp.zeros_like(held[t]), ptr[t], jnp.bool_(True), busy, line_at, conflicts,
                 full, spad, ring)  # fmt: skip
        got_n, j, _, busy, line_at, conflicts, _, spad, ring = lax.fori_loop(
            0, slots[t], slot, carry
        )
        sent = j - ptr[t]
        n_got = jnp.sum(got_n, dtype=jnp.int32)
        written = "spad_write" if t < 2 else "queue_push"
        c = _bump(c, C_, {f"gin_{name}": sent, "gin_delivery": n_got, written: n_got})
        held[t] = held[t] + got_n
        ptr = ptr.at[t].set(j)
    return s._replace(
        recv=jnp.stack(held[:2]),
        pin_recv=held[2],
        ptr=ptr,
        counters=c,
        stalls=_bump(s.stalls, S_, {"bank": conflicts}),
        spad=spad,
        pin_ring=ring,
    )


def step(a: PassArrays, m: Machine, s: State, st: Static, values: Array, slots: Array) -> State:
    """Advance one pass by one cycle (the sub-steps above, in order).

    Args:
        a: the pass.
        m: the hardware's timing numbers.
        s: the state at the start of the cycle.
        st: static shapes and switches.
        values: (S, V) operand values the GIN streams carry (functional mode; else unused).
        slots: (S,) int32, per stream, the most words it sends in one cycle, at least the
            pass's ``width`` (:func:`ecoflow.sim.run.gin_slots`; traced, so that the passes
            of every width share one compilation).
    """
    new = issue(a, m, s, st)
    new = retire(a, m, new, st)
    new = drain(a, m, new, st)
    released = release(a, new, st)
    new = forward(a, m, new, st, released)
    new = deliver(a, m, new, st, released, values, slots)
    finished = jnp.all(new.pc >= a.n_ops) & jnp.all(new.pipe == PIPE_EMPTY)
    finished = finished & jnp.all(new.gon_occ == 0)
    new = new._replace(cycle=s.cycle + 1, done=finished)
    return type(s)(*(jnp.where(s.done, old, upd) for old, upd in zip(s, new, strict=True)))
