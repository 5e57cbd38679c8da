"""Fast-forward over the periodic steady state of a pass, exactly (timing runs).

Most of a long pass is a loop: the same operations on new words, one period after another.
The simulator does not have to step through every period to know what it does. If the state
at cycle ``t + T`` is the state at ``t`` *shifted* (every cumulative counter advanced, every
relative quantity the same) and the program and streams the machine reads over the next
periods repeat with the same shifts, then by induction the state after ``k`` more periods is the
state at ``t + T`` shifted ``k`` more times, and the event counts grow by ``k`` times those of
one period.

What a cycle reads, and why the shift commutes with it (``step.py``):

- *cumulative counts* (``pc``, ``recv``, ``used``, ``ptr``, ``pin_recv``, ``pin_used``,
  ``counters``, ``stalls``, ``cycle``) are compared only with each other or with the program's
  cumulative fields. They advance by a per-PE (per-stream) amount ``Δ``; ``recv`` and ``used``
  of a PE (and ``pin_recv``, ``pin_used``) must advance alike, and so must the counts of two
  PEs a systolic link compares (``forward``, ``release``).
- *absolute state* (``pipe``, ``gon_occ``) must be equal.
- *operations*: a PE at ``pc`` reads operation ``pc``. Over the periods skipped, operation
  ``x + Δpc`` must equal operation ``x`` with its word counts shifted by the PE's ``Δrecv``
  (flags equal), and stay below ``n_ops``. A PE that issued nothing in the period must receive
  nothing either (it reads one operation throughout).
- *stream words*: a stream at ``ptr`` reads up to ``width`` words from there. Word ``j +
  Δptr`` must equal word ``j`` in row and column tags, with its buffer line shifted by a
  constant and its bank rotated by one ``β`` (mod the banks) common to every stream, and stay
  below ``n_words``. Bank conflicts compare banks and lines of different streams: streams whose
  lines shift differently must read disjoint line ranges. A stream that sent nothing but has
  words left reads one word throughout (no shift).

:func:`find_period` proposes a period from a per-cycle signature of the run (which PEs issued,
how many words and events moved); :func:`periods_ahead` checks two states one period apart
against everything above and says how many more periods the program allows;
:func:`fast_forward` applies them. A proposal that fails costs one period of waiting, never a
wrong count: results equal those of stepping every cycle (``tests/sim/test_skip.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecoflow.dataflows.base import F_FLAGS, F_FREE_F, F_FREE_I, F_NEED_F, F_NEED_I, Program

CUMULATIVE = ("pc", "recv", "used", "ptr", "pin_recv", "pin_used", "counters", "stalls")
EQUAL = ("pipe", "gon_occ")
FIELDS = ("cycle", "done", *CUMULATIVE, *EQUAL)  # the state a timing run's jump reads and writes
PROBE = 32  # cycles a proposed period must repeat at the end of the history before checking it
INT32_MAX = np.iinfo(np.int32).max


def find_period(sig: np.ndarray, least: int = 512) -> int | None:
    """The shortest period the end of a signature history repeats with, or ``None``.

    Args:
        sig: ``(cycles,)`` int64 per-cycle signatures, oldest first.
        least: cycles of history the period must repeat over (at least one period).

    Returns:
        ``T`` with ``sig[c] == sig[c - T]`` for the last ``max(T, min(least, n - T))``
        cycles, or ``None`` when none fits in the history.
    """
    n = len(sig)
    if n < 2 * PROBE:
        return None
    periods = np.arange(1, n // 2 + 1)
    probe = sig[n - PROBE :]
    idx = (n - PROBE - periods)[:, None] + np.arange(PROBE)[None, :]
    close = periods[np.all(sig[idx] == probe[None, :], axis=1)]
    for t in close:
        span = max(int(t), min(least, n - int(t)))
        if np.array_equal(sig[n - span :], sig[n - span - t : n - t]):
            return int(t)
    return None


@dataclass(frozen=True)
class Skip:
    """Periods a pass can jump, and what one period adds.

    Attributes:
        periods: further periods that repeat the checked one exactly.
        cycles: cycles of one period [cycles].
        delta: name -> what one period adds to each cumulative field of the state.
    """

    periods: int
    cycles: int
    delta: dict[str, np.ndarray]


def _ops_periods(program: Program, pc: np.ndarray, dpc: np.ndarray, dw: np.ndarray) -> int:
    """Further periods each moving PE's operations repeat over (the least over PEs).

    ``dw``: ``(2, PE)`` ifmap and filter words a PE receives per period. Period ``m`` (0: the
    checked one) reads operations ``pc + m dpc .. pc + (m + 1) dpc``; it repeats period 0 when
    operation ``x + dpc`` equals operation ``x`` shifted for the first ``m dpc + 1``
    operations from ``pc``, all below ``n_ops``.
    """
    fields = [F_FLAGS, F_NEED_I, F_NEED_F, F_FREE_I, F_FREE_F]  # what a timing run reads
    best = INT32_MAX
    for p in np.nonzero(dpc > 0)[0]:
        x0, d = int(pc[p]), int(dpc[p])
        # no need to look past the operations the least so far allows
        end = min(int(program.n_ops[p]) - d, x0 + (best + 1) * d + 1)
        if end <= x0:
            return 0
        ops = program.ops[p, x0 : end + d][:, fields]
        shift = np.array([0, dw[0, p], dw[1, p], dw[0, p], dw[1, p]], np.int64)
        same = np.all(ops[d:] - ops[: end - x0].astype(np.int64) == shift, axis=1)
        length = int(same.argmin()) if not same.all() else len(same)
        best = min(best, (length - 1) // d)
    return best


def _stream_periods(
    program: Program, ptr: np.ndarray, dptr: np.ndarray, banks: int
) -> tuple[int, list[tuple[int, int, int]]]:
    """Further periods the streams repeat over, and per stream with words left its shifts.

    Word ``j + dptr`` must carry word ``j``'s tags, its line shifted by a constant and its bank
    rotated by a constant (mod ``banks``). Returns the periods and, per stream with words
    left, ``(stream, line shift, bank rotation)``.
    """
    periods, shifts = INT32_MAX, []
    for t in range(len(program.n_words)):
        n = int(program.n_words[t])
        if dptr[t] == 0:
            if ptr[t] < n:
                shifts.append((t, 0, 0))  # a waiting stream reads the same word every period
            continue
        j = np.arange(int(ptr[t]), n - int(dptr[t]))
        k = j + int(dptr[t])
        lines = program.stream_line[t, k].astype(np.int64) - program.stream_line[t, j]
        rotate = (program.stream_bank[t, k].astype(np.int64) - program.stream_bank[t, j]) % banks
        shift = (int(lines[0]), int(rotate[0])) if len(j) else (0, 0)
        ok = (
            (program.stream_row[t, k] == program.stream_row[t, j])
            & (program.stream_col[t, k] == program.stream_col[t, j])
            & (lines == shift[0])
            & (rotate == shift[1])
        )
        length = int(ok.argmin()) if not ok.all() else len(ok)
        shifts.append((t, *shift))
        # period m (0: the checked one) reads words ptr + m dptr .. ptr + (m + 1) dptr +
        # width - 1: it repeats period 0 when the first m dptr + width words repeat
        periods = min(periods, (length - int(program.width[t])) // int(dptr[t]))
    return periods, shifts


def _lines_apart(
    program: Program, ptr: np.ndarray, dptr: np.ndarray, shifts: list, periods: int
) -> bool:
    """Streams whose lines shift differently read disjoint line ranges over the periods.

    A bank conflict needs the same bank and another line; two streams' words on one line
    would meet in one period and not in another if their lines moved apart.
    """
    spans = {}
    for t, line, _ in shifts:
        end = min(int(program.n_words[t]),
                  int(ptr[t]) + (periods + 1) * int(dptr[t]) + int(program.width[t]))  # fmt: skip
        seen = program.stream_line[t, int(ptr[t]) : max(end, int(ptr[t]) + 1)]
        spans[t] = (line, int(seen.min()), int(seen.max()))
    for t1, (s1, lo1, hi1) in spans.items():
        for t2, (s2, lo2, hi2) in spans.items():
            if t1 < t2 and s1 != s2 and lo1 <= hi2 and lo2 <= hi1:
                return False
    return True


def periods_ahead(program: Program, a: dict, b: dict, banks: int) -> Skip | None:
    """How many further periods repeat the one from state ``a`` to state ``b``, exactly.

    Args:
        program: the pass.
        a: its state (field -> NumPy array of the one pass) at the start of the period.
        b: its state one period later.
        banks: global-buffer banks.

    Returns:
        The skip, or ``None`` when the two states are not one period of a steady state.
    """
    cycles = int(b["cycle"]) - int(a["cycle"])
    if cycles <= 0 or bool(a["done"]) or bool(b["done"]):
        return None
    for name in EQUAL:
        if not np.array_equal(a[name], b[name]):
            return None
    delta = {n: np.asarray(b[n], np.int64) - np.asarray(a[n], np.int64) for n in CUMULATIVE}
    dw = delta["recv"]
    if not (np.array_equal(dw, delta["used"]) and np.array_equal(delta["pin_recv"],
                                                                  delta["pin_used"])):  # fmt: skip
        return None
    dpc = delta["pc"]
    if dpc.sum() == 0 or np.any(dpc < 0):
        return None
    idle = dpc == 0
    if np.any(dw[:, idle] != 0) or np.any(delta["pin_recv"][idle] != 0):
        return None
    cols = program.cols
    for t in range(2):
        for src, step in ((program.src_left[t], 1), (program.src_up[t], cols)):
            p = np.nonzero(src)[0]
            nb = p - step
            other = np.where(nb >= 0, dw[t, np.maximum(nb, 0)], 0)
            if np.any(dw[t, p] != other):
                return None
    ptr = np.asarray(a["ptr"])
    periods, shifts = _stream_periods(program, ptr, delta["ptr"], banks)
    if len({rotate for _, _, rotate in shifts}) > 1:
        return None
    # periods after the checked one (a to b) that repeat it: b can jump that many
    periods = min(periods, _ops_periods(program, np.asarray(a["pc"]), dpc, dw))
    if periods < 1 or not _lines_apart(program, ptr, delta["ptr"], shifts, periods):
        return None
    return Skip(periods=periods, cycles=cycles, delta=delta)


def fast_forward(b: dict, skip: Skip) -> dict:
    """State ``b`` advanced by ``skip.periods`` periods.

    Raises:
        OverflowError: a count would leave int32.
    """
    k = skip.periods
    new = dict(b)
    for name, d in skip.delta.items():
        value = np.asarray(b[name], np.int64) + k * d
        if np.any(value > INT32_MAX):
            raise OverflowError(f"state field {name} passes int32 after fast-forward")
        new[name] = value.astype(np.asarray(b[name]).dtype)
    cycle = int(b["cycle"]) + k * skip.cycles
    if cycle > INT32_MAX:
        raise OverflowError("cycle count passes int32 after fast-forward")
    new["cycle"] = np.asarray(cycle, np.asarray(b["cycle"]).dtype)
    return new
