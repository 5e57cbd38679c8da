"""The EcoFlow accelerator's dataflow (``ecoflow``): row stationary plus zero-free gradients.

EcoFlow does not change direct convolutions (§4, §6.1: it runs them as Eyeriss does), so the
forward pass of a ``conv`` layer runs on :mod:`~ecoflow.dataflows.rs`. Transposed
convolutions (the input gradient of a ``conv`` layer, the forward pass of a ``tconv`` layer)
run on :mod:`~ecoflow.dataflows.transposed` and dilated ones (filter gradients) on
:mod:`~ecoflow.dataflows.dilated`, except a filter gradient whose padded problem multiplies no
zero (a 1x1 layer at stride 1 without padding): that is a direct convolution, and row
stationary runs it. The input gradient of a ``tconv`` layer is a direct strided
convolution of the error and runs on row stationary.
"""

from __future__ import annotations

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import (
    REGISTRY,
    AbstractDataflow,
    Footprints,
    PassSpec,
    Schedule,
    delegated,
    register,
)
from ecoflow.workloads.layer import Problem


def delegate(problem: Problem) -> str:
    """The dataflow EcoFlow runs a problem with."""
    kind, phase = problem.layer.kind, problem.phase
    if phase == "fgrad":
        # a filter gradient without a zero to skip (1x1, stride 1, no padding) is a direct
        # convolution of the input with the error: row stationary runs it
        return "ecoflow_fgrad" if problem.padded.zero_counts().zero_macs else "rs"
    if (kind == "conv") == (phase == "forward"):
        return "rs"
    return "ecoflow_igrad"


@register
class Ecoflow(AbstractDataflow):
    """Row stationary for direct convolutions, EcoFlow's zero-free mappings for the others."""

    id = "ecoflow"
    description = "EcoFlow: row stationary forward, zero-free transposed and dilated (§4)"

    def _for(self, problem: Problem) -> AbstractDataflow:
        return REGISTRY[delegate(problem)]

    def supports(self, problem: Problem, hw: HardwareConfig) -> str | None:
        """What the delegated dataflow refuses."""
        return self._for(problem).supports(problem, hw)

    def ideal_cycles(self, problem: Problem, hw: HardwareConfig) -> int:
        """The delegated dataflow's bound."""
        return self._for(problem).ideal_cycles(problem, hw)

    def pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """The delegated dataflow's passes."""
        return self._for(problem).pass_specs(problem, hw)

    def zero_free(self, problem: Problem) -> bool:
        """Whether the delegated dataflow reads only data words."""
        return self._for(problem).zero_free(problem)

    def candidates(self, problem: Problem, hw: HardwareConfig) -> list:
        """The delegated dataflow's candidate mappings."""
        return self._for(problem).candidates(problem, hw)

    def estimate(self, problem: Problem, hw: HardwareConfig, mapping: object = None):
        """The delegated dataflow's estimate."""
        return self._for(problem).estimate(problem, hw, mapping)

    def orders(
        self, problem: Problem, hw: HardwareConfig, mapping: object = None
    ) -> tuple[str, ...]:
        """The delegated dataflow's loop orders."""
        return self._for(problem).orders(problem, hw, mapping)

    def footprints(
        self,
        problem: Problem,
        hw: HardwareConfig,
        order: str | None = None,
        mapping: object = None,
    ) -> Footprints:
        """The delegated dataflow's pass footprints."""
        return self._for(problem).footprints(problem, hw, order, mapping)

    def sample_pass_specs(self, problem: Problem, hw: HardwareConfig) -> list[PassSpec]:
        """The delegated dataflow's first and last passes."""
        return self._for(problem).sample_pass_specs(problem, hw)

    def compile(
        self,
        problem: Problem,
        hw: HardwareConfig,
        *,
        exhaustive: bool = False,
        mapping: object = None,
        order: str | None = None,
    ) -> Schedule:
        """Compile with the delegated dataflow (named in the mapping as ``runs``)."""
        inner = self._for(problem)
        schedule = inner.compile(problem, hw, exhaustive=exhaustive, mapping=mapping, order=order)
        return delegated(schedule, self.id, inner.id)
