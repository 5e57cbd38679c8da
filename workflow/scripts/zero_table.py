"""Zero analysis of every layer and phase of one network."""

import logging

from ecoflow.workloads.zeros import zero_table_csv

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
zero_table_csv(snakemake.input[0], snakemake.output[0])
logging.info("zero analysis of %s written", snakemake.wildcards.network)
