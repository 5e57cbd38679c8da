"""Network-on-chip requirements of a dataflow (§4.4, Table 1): multicast IDs and bus widths.

For one layer phase, the compiled passes say how many row IDs each X-bus and how many column
IDs each PE must hold at once (the multicast groups it belongs to, Fig. 8) and how many distinct
tags each GIN uses (the bits of an ID register). The bandwidth a phase needs to run without
waiting on a network is estimated from the same passes: each network's words over the busiest
PE's operations (one per cycle), in bits per cycle.

The IDs are read from the first and the last pass of the layer (the passes at the borders of
the maps, where the groups differ), compiled for the given hardware but not checked against its
ID registers, so that a layer's need is measured rather than refused. (Where exact receiver
groups would need more IDs than the hardware has, the EcoFlow compiler widens them to whole
windows, which need fewer; the report shows what the compiled passes use.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from ecoflow.config import HardwareConfig
from ecoflow.dataflows.base import AbstractDataflow, PassSpec
from ecoflow.workloads.layer import ConvLayer, Problem

UNLIMITED_IDS = 64


@dataclass(frozen=True)
class NocNeeds:
    """What one layer phase asks of the networks.

    Attributes:
        row_ids: most row IDs one X-bus holds (any operand GIN).
        col_ids: most column IDs one PE holds.
        row_bits, col_bits: bits of a row or column ID (distinct tags of the busiest GIN).
        gin_ifmap_bits, gin_filter_bits: words per cycle on each operand GIN, in bits.
        gon_bits: output words per cycle, in bits.
        local_bits: psums sent up per cycle, in bits (the busiest PE's).
    """

    row_ids: int
    col_ids: int
    row_bits: int
    col_bits: int
    gin_ifmap_bits: int
    gin_filter_bits: int
    gon_bits: int
    local_bits: int

    def to_dict(self) -> dict[str, int]:
        """The fields as a dict."""
        return asdict(self)


def bits(tags: int) -> int:
    """Bits that tell ``tags`` tags apart (at least one)."""
    return max(1, math.ceil(math.log2(max(tags, 1))))


def unlimited(hw: HardwareConfig) -> HardwareConfig:
    """The hardware with room for any number of multicast IDs."""
    gin = hw.noc.gin.model_copy(
        update={"row_ids_per_xbus": UNLIMITED_IDS, "column_ids_per_pe": UNLIMITED_IDS}
    )
    return hw.model_copy(update={"noc": hw.noc.model_copy(update={"gin": gin})})


def _needs(spec: PassSpec, word_bits: int) -> NocNeeds:
    busy = max(1, max(len(o) for o in spec.ops))
    row_ids = col_ids = row_bits = col_bits = 0
    for t in ("ifmap", "filter"):
        ids, stream = spec.ids[t], spec.streams.get(t)
        row_ids = max(row_ids, max(len(b) for b in ids.bus))
        col_ids = max(col_ids, max(len(c) for row in ids.pe for c in row))
        if stream is not None and len(stream):
            row_bits = max(row_bits, bits(len(set(stream.row.tolist()))))
            col_bits = max(col_bits, bits(len(set(stream.col.tolist()))))
    up = spec.send_up_ops or [spec.send_up[p] & o.send for p, o in enumerate(spec.ops)]
    gon = sum(int((o.send & ~u).sum()) for o, u in zip(spec.ops, up, strict=True))
    local = max(int((o.send & u).sum()) for o, u in zip(spec.ops, up, strict=True))

    def rate(words: int) -> int:
        return math.ceil(words * word_bits / busy)

    return NocNeeds(
        row_ids=row_ids,
        col_ids=col_ids,
        row_bits=row_bits,
        col_bits=col_bits,
        gin_ifmap_bits=rate(len(spec.streams.get("ifmap", []))),
        gin_filter_bits=rate(len(spec.streams.get("filter", []))),
        gon_bits=rate(gon),
        local_bits=rate(local),
    )


def requirements(problem: Problem, dataflow: AbstractDataflow, hw: HardwareConfig) -> NocNeeds:
    """The IDs and bandwidths one layer phase needs (the largest over its sampled passes)."""
    specs = dataflow.sample_pass_specs(problem, hw)
    needs = [_needs(s, hw.word_bits) for s in specs]
    return NocNeeds(*(max(getattr(n, f) for n in needs) for f in NocNeeds.__dataclass_fields__))


def network_table(
    layers: Sequence[ConvLayer],
    labels: dict[str, str],
    dataflow: AbstractDataflow,
    hw: HardwareConfig,
    phases: Sequence[str] = ("igrad", "fgrad"),
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, object]]:
    """Per layer and phase what the networks need, then the network maximum (last row).

    Layers of one shape are analysed once. Rows: ``layer paper_label phase runs`` and the
    fields of :class:`NocNeeds`.
    """
    rows: list[dict[str, object]] = []
    seen: dict[tuple, NocNeeds] = {}
    todo = [(layer, phase) for layer in layers for phase in phases]
    for done, (layer, phase) in enumerate(todo):
        if progress is not None:
            progress(done, len(todo))
        problem = layer.problem(phase)
        shape = (layer.replace(name=""), phase)
        needs = seen.get(shape) or requirements(problem, dataflow, hw)
        seen[shape] = needs
        runs = getattr(dataflow, "_for", lambda _: dataflow)(problem).id
        rows.append({"layer": layer.name, "paper_label": labels.get(layer.name, ""),
                     "phase": phase, "runs": runs, **needs.to_dict()})  # fmt: skip
    if rows:
        top = {k: max(int(r[k]) for r in rows) for k in NocNeeds.__dataclass_fields__}
        rows.append({"layer": "network maximum", "paper_label": "", "phase": ",".join(phases),
                     "runs": dataflow.id, **top})  # fmt: skip
    return rows
