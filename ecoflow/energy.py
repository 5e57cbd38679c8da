"""Energy: event counts times an energy table, broken down by level (Fig. 11).

A layer phase's counts (``LayerResult.counts``: level -> action -> events) meet the energy
table (``config/energy/*.yaml``: level -> action -> pJ per event) action by action; the sum over
a level is its share of the breakdown Fig. 11 and Fig. 13 draw (``dram``, ``gbuf``, ``spad``,
``alu``, ``noc``). Counts of actions the table does not price (``noc.gin``: words on the bus,
reported beside the hops they make) carry no energy of their own.

What each count means (see ``docs/nomenclature.md``):

* ``alu.mult``: multiplications with two data operands; ``alu.add``: their accumulations and the
  partial-sum additions; ``alu.zero_gated_mac``: MACs with a padding zero, clock gated;
* ``spad.read``, ``spad.write``: scratchpad and psum-register accesses [words];
* ``noc.hop``: a word moved over one link: a GIN word delivered to one PE, a psum or systolic
  operand passed to a neighbour, a result drained over the GON; ``noc.queue_push``: a word
  written into a PE's psum-in or output queue;
* ``gbuf.read``, ``gbuf.write``: global-buffer accesses [words] (GIN reads and DRAM
  write-backs; GON writes and DRAM fills);
* ``dram.read``, ``dram.write``: bytes moved [B].

The hardware's ``technology_scale`` multiplies every energy (45 nm figures for a 65 nm chip:
1.4, §5.3). Power is energy over the layer's time.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecoflow.config import EnergyTable, HardwareConfig

LEVELS = ("dram", "gbuf", "spad", "alu", "noc")  # Fig. 11's categories


def prices(table: EnergyTable, scale: float = 1.0) -> dict[str, dict[str, float]]:
    """Energy per event of every priced action, level -> action -> pJ (times ``scale``)."""
    out: dict[str, dict[str, float]] = {}
    for level in LEVELS:
        entries = getattr(table, level)
        out[level] = {
            action: getattr(entries, action).energy_pj * scale
            for action in type(entries).model_fields
        }
    return out


@dataclass(frozen=True)
class Energy:
    """Energy of one layer phase.

    Attributes:
        by_action: level -> action -> energy [pJ].
    """

    by_action: dict[str, dict[str, float]]

    @property
    def by_level(self) -> dict[str, float]:
        """Level -> energy [pJ] (Fig. 11's breakdown)."""
        return {level: sum(self.by_action[level].values()) for level in LEVELS}

    @property
    def total_pj(self) -> float:
        """Total energy [pJ]."""
        return sum(self.by_level.values())

    def power_mw(self, time_ms: float) -> float:
        """Average power over ``time_ms`` [mW] (``pJ / ms = 1e-9 W``)."""
        return self.total_pj / time_ms * 1e-6 if time_ms > 0 else 0.0

    def to_dict(self) -> dict[str, float]:
        """Total and per-level energy, JSON-ready."""
        return {"total": self.total_pj, **self.by_level}


def energy(
    counts: dict[str, dict[str, float]], table: EnergyTable, hw: HardwareConfig | None = None
) -> Energy:
    """Counts times the table, action by action (scaled by the hardware's technology factor).

    Raises:
        KeyError: a level of Fig. 11's breakdown has no counts.
    """
    scale = hw.technology_scale if hw is not None else 1.0
    by_action = {}
    for level, actions in prices(table, scale).items():
        got = counts[level]
        by_action[level] = {a: float(got.get(a, 0)) * pj for a, pj in actions.items()}
    return Energy(by_action)
