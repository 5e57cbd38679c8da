"""The FuSeConv table (ours beside the published speedups) and its figure."""

import logging

import pandas as pd
import yaml

from ecoflow.fuseconv import summary
from ecoflow.io import atomic_write_text
from ecoflow.plots.fuseconv import speedups
from ecoflow.plots.style import save

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
with open(snakemake.input.reference) as f:
    ref = yaml.safe_load(f)
layers = pd.concat([pd.read_csv(p) for p in snakemake.input.layers], ignore_index=True)
table = summary(layers, ref)
atomic_write_text(snakemake.output.csv, table.to_csv(index=False, float_format="%.6g"))
atomic_write_text(snakemake.output.md, table.to_markdown(index=False, floatfmt=".3g") + "\n")
for path in snakemake.output.figure:
    save(speedups(table), path)
logging.info("%d variants", len(table))
