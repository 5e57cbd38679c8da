"""The registry of result variables: name -> units and long name (one place for both)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """A result variable."""

    units: str
    long_name: str


VARIABLES: dict[str, Variable] = {
    "macs": Variable(
        "MAC", "multiplications scheduled (of the zero-padded mapping for padded dataflows)"
    ),
    "zero_macs": Variable("MAC", "multiplications with a padding zero operand"),
    "inner_zero_macs": Variable("MAC", "multiplications by an inserted (inner) zero"),
    "outer_zero_macs": Variable("MAC", "multiplications by a border (outer) zero"),
    "zero_fraction": Variable("1", "share of multiplications by padding zeros"),
    "cycles": Variable("cycles", "execution time, DRAM time between passes included"),
    "ideal_cycles": Variable("cycles", "scheduled MACs spread over every PE"),
    "time_ms": Variable("ms", "execution time"),
    "utilization": Variable("1", "MACs over cycles times PEs"),
    "power_mw": Variable("mW", "average power"),
    "dram_bytes": Variable("B", "bytes read from and written to DRAM"),
    "gbuf_bytes": Variable("B", "bytes read from and written to the global buffer"),
    "passes": Variable("1", "processing passes"),
    "energy_pj": Variable("pJ", "energy"),
    "counts": Variable("1", "events (words, operations; DRAM in bytes)"),
    "stall_cycles": Variable("cycles", "stalls (PE-cycles for PE causes)"),
    "speedup": Variable("1", "speedup over tpu"),
    "energy_saving": Variable("1", "energy saving over tpu"),
}


def attrs(name: str) -> dict[str, str]:
    """NetCDF attributes of a variable."""
    var = VARIABLES[name]
    return {"units": var.units, "long_name": var.long_name}


def label(name: str) -> str:
    """Axis label ``long name [units]``."""
    var = VARIABLES[name]
    return f"{var.long_name} [{var.units}]"
