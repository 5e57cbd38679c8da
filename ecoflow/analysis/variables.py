"""The registry of result variables: name -> units and long name (one place for both)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """A result variable."""

    units: str
    long_name: str


VARIABLES: dict[str, Variable] = {
    "macs": Variable("MAC", "multiplications of the zero-padded mapping"),
    "zero_macs": Variable("MAC", "multiplications with a padding zero operand"),
    "inner_zero_macs": Variable("MAC", "multiplications by an inserted (inner) zero"),
    "outer_zero_macs": Variable("MAC", "multiplications by a border (outer) zero"),
    "zero_fraction": Variable("1", "share of multiplications by padding zeros"),
}


def attrs(name: str) -> dict[str, str]:
    """NetCDF attributes of a variable."""
    var = VARIABLES[name]
    return {"units": var.units, "long_name": var.long_name}


def label(name: str) -> str:
    """Axis label ``long name [units]``."""
    var = VARIABLES[name]
    return f"{var.long_name} [{var.units}]"
