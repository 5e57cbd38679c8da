"""Dataflows: compilers from training problems to passes the simulator runs."""

from ecoflow.dataflows import rs, tpu, transposed  # noqa: F401  (register the dataflows)
from ecoflow.dataflows.base import REGISTRY, get

__all__ = ["REGISTRY", "get"]
