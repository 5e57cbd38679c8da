"""The multicast IDs and bus widths each layer needs (§4.4, Table 1), per network."""

import logging
from pathlib import Path

import pandas as pd

from ecoflow.config import load_hardware
from ecoflow.dataflows import get
from ecoflow.experiments import select
from ecoflow.io import atomic_write_text
from ecoflow.noc import network_table
from ecoflow.workloads import networks

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
hw = load_hardware(snakemake.input.hardware)
frames = []
for network, path in zip(snakemake.params.networks, snakemake.input.layers, strict=True):
    table = networks.parse_table(Path(path).read_text(), path)
    layers = [layer for _, layer, _ in select(table, ["base"], snakemake.params.layers)]
    rows = network_table(layers, networks.PAPER_LABELS.get(network, {}), get("ecoflow"), hw)
    frames.append(pd.DataFrame(rows).assign(network=network))
    logging.info("%s: %d rows", network, len(rows))
df = pd.concat(frames, ignore_index=True)
df = df[["network", *[c for c in df.columns if c != "network"]]]
atomic_write_text(snakemake.output.csv, df.to_csv(index=False))
atomic_write_text(snakemake.output.md, df.to_markdown(index=False) + "\n")
