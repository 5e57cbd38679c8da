"""Render Fig. 12 (GAN layer speedups over rs) or Fig. 13 (their energy by level)."""

import logging

import pandas as pd

from ecoflow.plots.style import save
from ecoflow.plots.training import gan_energy, gan_speedup

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
table = pd.read_csv(snakemake.input[0])
figures = {"fig13_gan_energy": gan_energy, "fig12_gan_speedup": gan_speedup}
fig = figures[snakemake.params.figure](table)
save(fig, snakemake.output[0])
logging.info("wrote %s", snakemake.output[0])
