"""Dataflows: compilers from training problems to passes the simulator runs."""

from ecoflow.dataflows import (  # noqa: F401  (register)
    dilated,
    ecoflow,
    ganax,
    rs,
    st_os,
    tpu,
    transposed,
)
from ecoflow.dataflows.base import REGISTRY, get

__all__ = ["REGISTRY", "get"]
