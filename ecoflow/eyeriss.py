"""Validation against the Eyeriss chip (§5.3, Table 2): AlexNet inference on row stationary.

The EcoFlow paper validates its simulator by running AlexNet's five convolution layers on the
Eyeriss configuration and comparing execution time, power, global-buffer accesses and DRAM
accesses with the chip's measurements (Chen et al., JSSC 2017, at 200 MHz) and with its own
simulator's. :func:`run` does the same with ``rs`` on ``config/hardware/eyeriss_chip_12x14.yaml``:
the original AlexNet (Krizhevsky et al., 2012: 227x227 input, 96 filters in CONV1, two channel
groups in CONV2, CONV4 and CONV5, as the chip ran it), batch 4 as in the JSSC paper.

Power. The model prices what it counts (MACs, scratchpads, networks, buffer, DRAM) with the
hardware's energy table, times ``technology_scale`` (45 nm figures for the 65 nm chip: 1.4).
Components it does not count, above all the clock network (33-45% of the chip's power, §5.3),
are added as the share ``unmodelled_power_share`` of the total:
``power = modelled / (1 - share)``.

References:
    Y.-H. Chen, T. Krishna, J. Emer, V. Sze, "Eyeriss: An Energy-Efficient Reconfigurable
    Accelerator for Deep Convolutional Neural Networks", IEEE JSSC 52(1), 2017.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecoflow.config import load_energy_for, load_hardware
from ecoflow.dataflows import get
from ecoflow.evaluate import LayerResult, simulate
from ecoflow.workloads.layer import ConvLayer

HARDWARE = Path(__file__).resolve().parents[1] / "config/hardware/eyeriss_chip_12x14.yaml"
REFERENCE = Path(__file__).resolve().parents[1] / "reference/ecoflow_paper.yaml"
METRICS = ("exec_time_ms", "power_mw", "gb_access_mb", "dram_access_mb")
BATCH = 4  # Eyeriss JSSC 2017 measures AlexNet at batch 4


def alexnet_layers(batch: int = BATCH) -> list[ConvLayer]:
    """The convolution layers of the original AlexNet, as the Eyeriss chip ran them."""
    return [
        ConvLayer(N=batch, C=3, H=227, W=227, K=96, R=11, S=11, stride=4, name="CONV1"),
        ConvLayer(N=batch, C=96, H=27, W=27, K=256, R=5, S=5, padding=2, groups=2, name="CONV2"),
        ConvLayer(N=batch, C=256, H=13, W=13, K=384, R=3, S=3, padding=1, name="CONV3"),
        ConvLayer(N=batch, C=384, H=13, W=13, K=384, R=3, S=3, padding=1, groups=2, name="CONV4"),
        ConvLayer(N=batch, C=384, H=13, W=13, K=256, R=3, S=3, padding=1, groups=2, name="CONV5"),
    ]


@dataclass(frozen=True)
class Row:
    """One layer: our figures beside the chip's and the paper simulator's.

    Attributes:
        layer: ``CONV1`` .. ``CONV5``.
        batch: images simulated (the chip's figures are for 4).
        ours: metric -> value (``exec_time_ms`` [ms], ``power_mw`` [mW], ``gb_access_mb`` and
            ``dram_access_mb`` [MB = 1e6 B]).
        chip: the Eyeriss chip's measurements (Table 2).
        sasim: the EcoFlow paper's simulator (Table 2; ``None`` where it prints ``*``).
        result: the full simulation result.
    """

    layer: str
    batch: int
    ours: dict[str, float]
    chip: dict[str, float]
    sasim: dict[str, float | None]
    result: LayerResult

    def error(self, metric: str, against: str = "chip") -> float | None:
        """Relative error ``ours / theirs - 1`` of one metric."""
        theirs = (self.chip if against == "chip" else self.sasim).get(metric)
        return None if not theirs else self.ours[metric] / theirs - 1


def measured(result: LayerResult, share: float) -> dict[str, float]:
    """Table 2's metrics of one simulated layer (power with the unmodelled share added)."""
    return {
        "exec_time_ms": result.time_ms,
        "power_mw": result.power_mw / (1 - share),
        "gb_access_mb": result.gbuf_bytes / 1e6,
        "dram_access_mb": result.dram_bytes / 1e6,
    }


def run(
    batch: int = BATCH,
    hardware: Path = HARDWARE,
    progress: Callable[[int, int], None] | None = None,
) -> list[Row]:
    """Simulate the five layers and put them beside Table 2."""
    hw = load_hardware(hardware)
    table = load_energy_for(hardware, hw)
    ref = yaml.safe_load(REFERENCE.read_text())["validation_table2"]
    rs = get("rs")
    rows = []
    layers = alexnet_layers(batch)
    for i, layer in enumerate(layers):
        if progress is not None:
            progress(i, len(layers))
        result = simulate(layer.problem("forward"), rs, hw, table=table)
        name = layer.name
        rows.append(
            Row(
                layer=name,
                batch=batch,
                ours=measured(result, hw.unmodelled_power_share),
                chip={m: ref["eyeriss_chip"][m][name] for m in METRICS},
                sasim={m: ref["sasim_reported"][m].get(name) for m in METRICS},
                result=result,
            )
        )
    return rows


def table(rows: list[Row]) -> list[dict[str, object]]:
    """Table 2 as records: layer, metric, ours, chip, sasim and the relative errors."""
    out: list[dict[str, object]] = []
    for row in rows:
        for metric in METRICS:
            err_chip, err_sasim = row.error(metric, "chip"), row.error(metric, "sasim")
            out.append({
                "layer": row.layer, "batch": row.batch, "metric": metric,
                "ours": round(row.ours[metric], 3),
                "chip": row.chip[metric], "sasim": row.sasim[metric],
                "error_vs_chip": None if err_chip is None else round(err_chip, 4),
                "error_vs_sasim": None if err_sasim is None else round(err_sasim, 4),
            })  # fmt: skip
    return out
