"""Render Fig. 12 (GAN layer speedups over rs) or Fig. 13 (their energy by level)."""

import logging

import pandas as pd

from ecoflow.plots.style import save
from ecoflow.plots.training import energy_breakdown, gan_speedup

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
table = pd.read_csv(snakemake.input[0])
if snakemake.params.figure == "fig13_gan_energy":
    fig = energy_breakdown(
        table,
        phases=("forward", "igrad", "fgrad"),
        flows=("tpu", "rs", "ecoflow"),
        normalise=False,
        title="Fig. 13: energy by level of the GAN layers (Table 7)",
    )
else:
    fig = gan_speedup(table)
save(fig, snakemake.output[0])
logging.info("wrote %s", snakemake.output[0])
