"""Merge the per-job simulation Datasets into results/summary.nc."""

import logging

from ecoflow.analysis.dataset import merge_sim
from ecoflow.analysis.io import read_dataset, write_dataset

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
datasets = [read_dataset(path) for path in snakemake.input]
write_dataset(merge_sim(datasets), snakemake.output[0])
logging.info("merged %d jobs into %s", len(datasets), snakemake.output[0])
