"""The Table 7 layers normalised to rs (Figs. 12-13) and Table 8 (end-to-end GAN training)."""

import logging

from ecoflow.analysis.compare import by_run, end_to_end, layer_table, paper_layers
from ecoflow.analysis.io import read_dataset
from ecoflow.io import atomic_write_text

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
ds = by_run(read_dataset(snakemake.input[0]), snakemake.params.runs)
table = layer_table(ds, paper_layers(ds), baseline="rs")
atomic_write_text(snakemake.output.layers, table.to_csv(index=False, float_format="%.6g"))
e2e = end_to_end(ds)
atomic_write_text(snakemake.output.table8_csv, e2e.to_csv(index=False, float_format="%.6g"))
atomic_write_text(snakemake.output.table8_md, e2e.to_markdown(index=False, floatfmt=".3g") + "\n")
logging.info("%d layer rows, %d end-to-end rows", len(table), len(e2e))
