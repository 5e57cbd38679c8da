"""Dataflows: compilers from training problems to passes the simulator runs."""

from ecoflow.dataflows import rs, tpu  # noqa: E402, F401  (register the dataflows)
from ecoflow.dataflows.base import REGISTRY, get  # noqa: E402

__all__ = ["REGISTRY", "get"]
