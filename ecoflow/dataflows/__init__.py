"""Dataflows: compilers from training problems to passes the simulator runs."""

from ecoflow.dataflows import dilated, ecoflow, ganax, rs, tpu, transposed  # noqa: F401  (register)
from ecoflow.dataflows.base import REGISTRY, get

__all__ = ["REGISTRY", "get"]
