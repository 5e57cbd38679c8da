"""Render Fig. 3 from the zero-analysis Dataset."""

import logging

from ecoflow.analysis.io import read_dataset
from ecoflow.plots.fig3 import fig3
from ecoflow.plots.style import save

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
ds = read_dataset(snakemake.input[0])
ds = ds.sel(network=snakemake.params.networks, variant=snakemake.params.variants)
save(fig3(ds), snakemake.output[0])
logging.info("wrote %s", snakemake.output[0])
