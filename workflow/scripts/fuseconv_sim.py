"""Simulate every layer of every variant of one FuSeConv network (batch 1, forward)."""

import logging

from ecoflow.fuseconv import simulate_variants
from ecoflow.io import atomic_write_text
from ecoflow.sim.run import persistent_cache

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
logging.info("compiled kernels cached in %s", persistent_cache())
table = simulate_variants(
    snakemake.wildcards.fnet, snakemake.input.hardware, snakemake.params.variants
)
atomic_write_text(snakemake.output[0], table.to_csv(index=False, float_format="%.6g"))
logging.info("wrote %s", snakemake.output[0])
