"""Render Fig. 9, 10 or 11 from the per-layer comparison table."""

import logging

import pandas as pd

from ecoflow.plots.style import save
from ecoflow.plots.training import energy_breakdown, speedup

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
table = pd.read_csv(snakemake.input[0])
figure = snakemake.params.figure
if figure == "fig11_energy":
    fig = energy_breakdown(table)
else:
    fig = speedup(table, "igrad" if figure.startswith("fig9") else "fgrad")
save(fig, snakemake.output[0])
logging.info("wrote %s", snakemake.output[0])
