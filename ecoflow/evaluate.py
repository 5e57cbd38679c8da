"""A layer phase end to end: compile with a dataflow, simulate its passes, add DRAM time.

:func:`simulate` returns a :class:`LayerResult` (cycles, MACs, utilisation, event counts per
level and action, stall cycles by cause). :func:`run_functional` runs every pass of an
exhaustive schedule with real values, stage after stage (partial sums of one stage return
through the global buffer in the next), and returns the raw output the GON wrote.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ecoflow.config import EnergyTable, HardwareConfig
from ecoflow.dataflows.base import AbstractDataflow, CompileError, Schedule
from ecoflow.dataflows.common import DirectConv
from ecoflow.energy import energy
from ecoflow.memory import (
    Traffic,
    overlapped_cycles,
    problem_sizes,
    ranked,
    traffic,
    transfer_cycles,
)
from ecoflow.sim.run import PassResult, run_passes
from ecoflow.sim.state import STALLS
from ecoflow.workloads.layer import Problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerResult:
    """One layer phase on one dataflow and hardware.

    Attributes:
        cycles: total cycles, DRAM time between passes included [cycles].
        ideal_cycles: the dataflow's lower bound [cycles].
        macs: multiplications issued, zeros included [MAC].
        zero_macs: of those, with a padding zero operand [MAC].
        utilization: ``macs / (cycles * PEs)`` [1].
        time_ms: ``cycles`` at the clock [ms].
        counts: level -> action -> events.
        stall_cycles: cause -> stalls (PE-cycles for PE causes, cycles for ``bank``, ``dram``).
        passes: passes of the layer.
        distinct_passes: passes simulated.
        mapping: mapping parameters.
        dram_bytes: bytes read from and written to DRAM [B].
        gbuf_bytes: bytes read from and written to the global buffer (GIN reads, GON writes,
            DRAM fills and write-backs) [B].
        energy_pj: ``total`` and per level (``dram gbuf spad alu noc``) [pJ]; empty when no
            energy table was given.
        power_mw: average power over ``time_ms`` [mW].
        fast_forwarded_cycles: of the distinct passes' cycles, those jumped over exactly
            rather than stepped (:mod:`ecoflow.sim.skip`) [cycles].
    """

    cycles: int
    ideal_cycles: int
    macs: int
    zero_macs: int
    utilization: float
    time_ms: float
    counts: dict[str, dict[str, float]]
    stall_cycles: dict[str, int]
    passes: int
    distinct_passes: int
    mapping: dict[str, int | str] = field(default_factory=dict)
    dram_bytes: float = 0.0
    gbuf_bytes: float = 0.0
    energy_pj: dict[str, float] = field(default_factory=dict)
    power_mw: float = 0.0
    fast_forwarded_cycles: int = 0

    def to_dict(self) -> dict:
        """The result as JSON-ready data."""
        return {
            "cycles": self.cycles,
            "ideal_cycles": self.ideal_cycles,
            "macs": self.macs,
            "zero_macs": self.zero_macs,
            "utilization": self.utilization,
            "time_ms": self.time_ms,
            "counts": self.counts,
            "stall_cycles": self.stall_cycles,
            "passes": self.passes,
            "distinct_passes": self.distinct_passes,
            "mapping": self.mapping,
            "dram_bytes": self.dram_bytes,
            "gbuf_bytes": self.gbuf_bytes,
            "energy_pj": self.energy_pj,
            "power_mw": self.power_mw,
            "fast_forwarded_cycles": self.fast_forwarded_cycles,
        }


def layer_traffic(schedule: Schedule, hw: HardwareConfig) -> Traffic:
    """DRAM and buffer traffic of a schedule's passes (:mod:`ecoflow.memory`)."""
    if schedule.footprints is None:
        raise ValueError(f"{schedule.dataflow}: the schedule lists no pass footprints")
    sizes = problem_sizes(schedule.problem, hw.segment_words, schedule.zero_free)
    return traffic(schedule.footprints, sizes, hw)


def combine(
    schedule: Schedule,
    results: list[PassResult],
    hw: HardwareConfig,
    ideal_cycles: int,
    table: EnergyTable | None = None,
    mem: Traffic | None = None,
) -> LayerResult:
    """Totals of a schedule from the results of its distinct passes.

    Every pass takes its group's cycles; DRAM transfers overlap the previous pass
    (:func:`ecoflow.memory.overlapped_cycles`). With an energy table, the energy of the counts
    (:func:`ecoflow.energy.energy`) and the power. ``mem``: the schedule's traffic, when already
    computed.
    """
    mem = mem or layer_traffic(schedule, hw)
    total = dict.fromkeys(results[0].counters, 0) if results else {}
    stalls = dict.fromkeys(STALLS, 0)
    for g, r in zip(schedule.groups, results, strict=True):
        for k, v in r.counters.items():
            total[k] += g.count * v
        for k, v in r.stalls.items():
            stalls[k] += g.count * v
    compute = np.array([r.cycles for r in results], np.int64)[schedule.order]
    cycles = overlapped_cycles(compute, transfer_cycles(mem.transfer_words, hw))
    stalls["dram"] = int(cycles - compute.sum())
    macs = total.get("mac", 0)
    zero = schedule.zero_macs
    gin = total.get("gin_ifmap", 0) + total.get("gin_filter", 0) + total.get("gin_psum", 0)
    word_bytes = hw.word_bits / 8
    gon = total.get("gon", 0)
    counts = {
        "alu": {"mult": macs - zero, "add": macs - zero + total.get("add", 0),
                "zero_gated_mac": zero},
        "spad": {"read": total.get("spad_read", 0), "write": total.get("spad_write", 0)},
        "noc": {
            "hop": total.get("gin_delivery", 0) + total.get("local", 0) + gon,
            "queue_push": total.get("queue_push", 0),
            "gin": gin,
            "gin_delivery": total.get("gin_delivery", 0),
            "local": total.get("local", 0),
            "gon": gon,
        },
        "gbuf": {"read": gin + mem.drain_words, "write": gon + mem.fill_words},
        "dram": {"read": sum(mem.dram_read_words.values()) * word_bytes,
                 "write": mem.dram_write_words * word_bytes},
    }  # fmt: skip
    time_ms = cycles / (hw.clock_mhz * 1e3)
    spent = None if table is None else energy(counts, table, hw)
    return LayerResult(
        cycles=int(cycles),
        ideal_cycles=ideal_cycles,
        macs=int(macs),
        zero_macs=int(zero),
        utilization=macs / (cycles * hw.pes) if cycles else 0.0,
        time_ms=time_ms,
        counts=counts,
        stall_cycles={k: int(v) for k, v in stalls.items()},
        passes=schedule.passes,
        distinct_passes=len(schedule.groups),
        mapping=dict(schedule.mapping),
        dram_bytes=sum(counts["dram"].values()),
        gbuf_bytes=sum(counts["gbuf"].values()) * word_bytes,
        energy_pj={} if spent is None else spent.to_dict(),
        power_mw=0.0 if spent is None else spent.power_mw(time_ms),
        fast_forwarded_cycles=sum(r.skipped for r in results),
    )


def simulate(
    problem: Problem,
    dataflow: AbstractDataflow,
    hw: HardwareConfig,
    *,
    exhaustive: bool = False,
    progress: Callable[[int, int], None] | None = None,
    table: EnergyTable | None = None,
    fast_forward: bool = True,
) -> LayerResult:
    """Compile and simulate one problem (timing mode), with its energy when given a table.

    The mapping and loop order are chosen by :func:`ecoflow.memory.choose` (energy-delay); where
    that mapping overflows a scratchpad once its programs are built, the next of
    :func:`ecoflow.memory.ranked` that fits.
    ``fast_forward=False`` steps every cycle of every pass (same results, slower).
    """
    tried: list[object] = []  # mappings that overflowed a scratchpad (in any loop order)
    last: CompileError | None = None
    for pick in ranked(dataflow, problem, hw, table):
        if pick.mapping in tried:
            continue
        try:
            schedule = dataflow.compile(
                problem, hw, exhaustive=exhaustive, mapping=pick.mapping, order=pick.order
            )
            break
        except CompileError as err:
            # the estimates build no programs: a mapping may overflow a scratchpad or need
            # more multicast IDs than the controllers hold in a pass the search did not build
            if not (err.key.endswith("_capacity") or err.key.startswith("noc.gin")):
                raise
            tried.append(pick.mapping)
            last = err
            log.info("%s: mapping %s does not fit (%s); trying the next best", err.layer,
                     pick.mapping, err.reason)  # fmt: skip
    else:  # every mapping overflowed
        assert last is not None
        raise last
    n = len(schedule.groups)
    results, _, _ = run_passes(
        [g.program for g in schedule.groups],
        hw,
        progress=None if progress is None else (lambda done: progress(done, n)),
        skip=fast_forward,
    )
    return combine(schedule, results, hw, dataflow.ideal_cycles(problem, hw), table, pick.traffic)


def run_functional(
    schedule: Schedule, hw: HardwareConfig, lhs: np.ndarray, rhs: np.ndarray
) -> tuple[np.ndarray, list[PassResult]]:
    """Run every pass of an exhaustive schedule with values, stage by stage.

    Args:
        schedule: compiled with ``exhaustive=True``.
        hw: the hardware.
        lhs: the phase's unpadded input operand (``golden.operands``).
        rhs: the phase's unpadded filter operand.

    Returns:
        The raw output ``schedule.output_shape`` and the pass results.
    """
    d = DirectConv.of(schedule.problem)
    x, f = d.values(lhs, rhs)
    n_out = math.prod(schedule.output_shape)
    size = max(x.size, f.size, n_out)
    out = np.zeros(n_out, np.float32)
    results: list[PassResult] = []
    for stage in sorted({g.stage for g in schedule.groups}):
        groups = [g for g in schedule.groups if g.stage == stage]
        values = np.zeros((3, size), np.float32)
        values[0, : x.size] = x.ravel()
        values[1, : f.size] = f.ravel()
        values[2, :n_out] = out
        res, outs, masks = run_passes([g.program for g in groups], hw, values=values, n_out=n_out)
        assert outs is not None and masks is not None
        if np.any(masks.sum(0) > 1):
            raise RuntimeError("two passes of one stage wrote the same output")
        out = np.where(masks.any(0), (outs * masks).sum(0), out).astype(np.float32)
        results.extend(res)
    return out.reshape(schedule.output_shape), results
