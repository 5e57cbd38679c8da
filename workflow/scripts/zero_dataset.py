"""Merge the zero analyses of all networks into one netCDF Dataset."""

import logging

from ecoflow.analysis.io import zero_dataset_from_files

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
zero_dataset_from_files(
    snakemake.params.networks, snakemake.input.layers, snakemake.input.zeros, snakemake.output[0]
)
logging.info("merged %d networks", len(snakemake.params.networks))
