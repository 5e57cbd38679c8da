"""Simulate every selected layer and phase of one network on one dataflow and hardware."""

import logging

from ecoflow.analysis.io import write_dataset
from ecoflow.experiments import simulate_network
from ecoflow.sim.run import persistent_cache

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
logging.info("compiled kernels cached in %s", persistent_cache())
w = snakemake.wildcards
ds = simulate_network(
    snakemake.input.layers,
    w.network,
    snakemake.params.variants,
    w.dataflow,
    snakemake.input.hardware,
    snakemake.params.layers,
    snakemake.params.phases,
)
write_dataset(ds, snakemake.output[0])
logging.info("wrote %s", snakemake.output[0])
