"""Memory hierarchy between passes: DRAM traffic and the time it adds to a layer.

Within a pass the simulator models the global buffer cycle by cycle (GIN reads, GON writes,
bank conflicts). Between passes data moves between DRAM and the global buffer, double
buffered: pass ``i + 1``'s operands load while pass ``i`` computes, so a pass takes the longer
of its compute and its DRAM transfer, and the first load is exposed.

DRAM traffic model: when the layer's operands and outputs (the padded operands as the
accelerator stores them) fit the global buffer, each word crosses DRAM once. Otherwise each
pass reloads what its GIN streams carry (no reuse between passes in the buffer) and writes its
outputs once, which bounds the traffic from above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import Schedule


@dataclass(frozen=True)
class PassTraffic:
    """DRAM bytes one pass of a group moves, and the cycles they take.

    Attributes:
        dram_bytes: bytes read and written [B].
        dram_cycles: cycles at the configured bandwidth, plus the access latency [cycles].
    """

    dram_bytes: float
    dram_cycles: int


def bytes_per_cycle(hw: HardwareConfig) -> float:
    """DRAM bytes per accelerator clock cycle [B/cycle]."""
    return hw.dram.bandwidth_gb_per_s * 1e9 / (hw.clock_mhz * 1e6)


def _elements(shape: tuple[int, ...]) -> int:
    return math.prod(shape) if shape else 0


def pass_traffic(schedule: Schedule, hw: HardwareConfig) -> list[PassTraffic]:
    """DRAM traffic of one pass of each group of the schedule."""
    word_bytes = hw.word_bits / 8
    total_words = sum(_elements(s) for s in schedule.operand_shapes.values())
    total_words += _elements(schedule.output_shape)
    fits = total_words * word_bytes <= hw.global_buffer.size_kib * 1024
    latency = math.ceil(hw.dram.latency_ns * hw.clock_mhz / 1e3)
    bpc = bytes_per_cycle(hw)
    out = []
    passes = max(1, schedule.passes)
    for g in schedule.groups:
        if fits:
            moved = total_words * word_bytes / passes
        else:
            prog = g.program
            moved = float(prog.n_words[:2].sum() + prog.n_words[2]) * word_bytes
            moved += _elements(schedule.output_shape) * word_bytes / passes
        out.append(PassTraffic(moved, latency + math.ceil(moved / bpc)))
    return out
