"""Zero analysis of training (§3.1, Fig. 3): multiplications by padding zeros per layer, phase."""

from __future__ import annotations

from collections.abc import Iterable

from ecoflow.workloads.layer import PHASES, ConvLayer

ZERO_COLUMNS = (
    "layer", "phase", "conv_type", "macs", "zero_macs", "inner_zero_macs", "outer_zero_macs",
    "zero_fraction",
)  # fmt: skip


def zero_rows(layers: Iterable[ConvLayer]) -> list[dict[str, object]]:
    """One row per layer and phase with the zero analysis of its zero-padded mapping.

    Columns: ``layer``, ``phase``, ``conv_type`` (``direct``/``transposed``/``dilated`` in the
    zero-free form), ``macs`` [MAC], ``zero_macs``, ``inner_zero_macs``, ``outer_zero_macs`` [MAC]
    and ``zero_fraction`` [1].
    """
    out = []
    for layer in layers:
        for phase in PHASES:
            problem = layer.problem(phase)
            z = problem.zero_counts()
            out.append({
                "layer": layer.name, "phase": phase, "conv_type": problem.zero_free.conv_type,
                "macs": z.macs, "zero_macs": z.zero_macs, "inner_zero_macs": z.inner_zero_macs,
                "outer_zero_macs": z.outer_zero_macs, "zero_fraction": round(z.zero_fraction, 6),
            })  # fmt: skip
    return out


def zero_table_csv(layer_csv: str, out_csv: str) -> None:
    """Zero analysis of every variant, layer and phase of a layer table, written as CSV."""
    import csv
    import io
    from pathlib import Path

    from ecoflow.io import atomic_write_text
    from ecoflow.workloads.networks import parse_table

    tables = parse_table(Path(layer_csv).read_text(), str(layer_csv))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=("variant", *ZERO_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for variant, entries in tables.items():
        for row in zero_rows(layer for layer, _ in entries):
            writer.writerow({"variant": variant, **row})
    atomic_write_text(out_csv, buf.getvalue())
