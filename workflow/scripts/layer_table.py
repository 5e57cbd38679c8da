"""Write the layer table of one network (both variants)."""

import logging

from ecoflow.io import atomic_write_text
from ecoflow.workloads import networks

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
network = snakemake.wildcards.network
source = snakemake.params.source
logging.info("layers of %s from the %s", network, source)
text = networks.table_csv(network, batch=snakemake.params.batch, source=source)
atomic_write_text(snakemake.output[0], text)
logging.info("%d layers written", text.count("\n") - 1)
