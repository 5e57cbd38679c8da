"""Whole networks on one dataflow and hardware: every selected layer and training phase.

:func:`simulate_network` reads a network's layer table (``results/layers/{network}.csv`` in the
workflow, or the shipped one), simulates each selected layer in each phase with
:func:`ecoflow.evaluate.simulate` (mapping and loop order of least estimated energy-delay
product, energy from the hardware's table) and returns the results as one Dataset
(:func:`ecoflow.analysis.dataset.sim_dataset`). Layers of one shape (ResNet's repeated blocks,
the same layer in both variants) are simulated once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import xarray as xr

from ecoflow.analysis.dataset import sim_dataset
from ecoflow.config import load_energy_for, load_hardware
from ecoflow.dataflows import get
from ecoflow.evaluate import LayerResult, simulate
from ecoflow.resultcache import ResultCache
from ecoflow.workloads import networks
from ecoflow.workloads.layer import ConvLayer

log = logging.getLogger(__name__)


def select(
    table: dict[str, list[tuple[ConvLayer, str]]],
    variants: Sequence[str],
    which: str | Sequence[str],
) -> list[tuple[str, ConvLayer, str]]:
    """The ``(variant, layer, paper label)`` rows to simulate.

    Args:
        table: a parsed layer table (:func:`ecoflow.workloads.networks.parse_table`).
        variants: variants to keep.
        which: ``all``, ``paper`` (layers with a paper label) or layer names.
    """
    rows = []
    for variant in variants:
        for layer, label in table.get(variant, []):
            if (
                which == "all"
                or (which == "paper" and label)
                or (not isinstance(which, str) and layer.name in which)
            ):
                rows.append((variant, layer, label))
    return rows


def simulate_network(
    layer_table: str | Path,
    network: str,
    variants: Sequence[str],
    dataflow: str,
    hardware_file: str | Path,
    which: str | Sequence[str] = "all",
    phases: Sequence[str] = ("forward", "igrad", "fgrad"),
    progress: Callable[[int, int], None] | None = None,
    cache: ResultCache | Literal[False] | None = None,
) -> xr.Dataset:
    """Simulate the selected layers of a network in each phase; the results as a Dataset.

    ``cache``: where layer phases already simulated are taken from and new ones kept
    (:mod:`ecoflow.resultcache`); ``None``: the store named by ``ECOFLOW_RESULT_CACHE``, if
    set; ``False``: none.

    Raises:
        CompileError: a layer the dataflow cannot map (the message names it).
        ValueError: nothing selected.
    """
    text = Path(layer_table).read_text()
    rows = select(networks.parse_table(text, str(layer_table)), variants, which)
    if not rows:
        raise ValueError(f"{layer_table}: no layer of {network} selected by {which!r}")
    hw = load_hardware(hardware_file)
    table = load_energy_for(hardware_file, hw)
    df = get(dataflow)
    store = ResultCache.from_env() if cache is None else cache or None  # False: none
    done: dict[tuple[ConvLayer, str], LayerResult] = {}
    records = []
    todo = [(v, layer, label, phase) for v, layer, label in rows for phase in phases]
    for i, (variant, layer, label, phase) in enumerate(todo):
        key = (layer.replace(name=""), phase)
        if key not in done:
            problem = layer.problem(phase)
            digest = store.key(problem, dataflow, hw, table) if store else ""
            found = store.get(digest) if store else None
            if found is not None:
                done[key] = found
                log.info("%s %s %s %s: %d cycles, stored in %s (%d/%d)", network, variant,
                         layer.name, phase, found.cycles, store.path(digest), i + 1,
                         len(todo))  # fmt: skip
            else:
                start = time.perf_counter()
                done[key] = simulate(problem, df, hw, table=table)
                seconds = time.perf_counter() - start
                log.info("%s %s %s %s: %d cycles in %.1f s (%d/%d)", network, variant,
                         layer.name, phase, done[key].cycles, seconds, i + 1,
                         len(todo))  # fmt: skip
                if store:
                    store.put(digest, done[key], f"{network} {layer.name} {phase} {dataflow} "
                              f"{hw.name}")  # fmt: skip
        if progress is not None:
            progress(i + 1, len(todo))
        records.append((variant, layer, label, phase, done[key]))
    provenance = {
        "hardware_file": Path(hardware_file).name,
        "hardware_sha256": hashlib.sha256(Path(hardware_file).read_bytes()).hexdigest(),
        "energy_table": table.name,
        "layer_table_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    return sim_dataset(network, dataflow, hw.name, records, provenance)
