"""One table and one figure: every reproduced number beside the paper's, with the ratio."""

import logging

import pandas as pd
import yaml

from ecoflow.analysis.io import read_dataset
from ecoflow.analysis.paper import comparison
from ecoflow.io import atomic_write_text
from ecoflow.plots.style import save
from ecoflow.plots.training import paper_comparison

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
i = snakemake.input
with open(i.reference) as f:
    ref = yaml.safe_load(f)
table = comparison(
    ref,
    layers=pd.read_csv(i.layers),
    e2e=pd.read_csv(i.table6),
    table2=pd.read_csv(i.table2),
    noc=pd.read_csv(i.noc, keep_default_na=False),
    zeros=read_dataset(i.zeros),
    gan_layers=pd.read_csv(i.gan_layers) if hasattr(i, "gan_layers") else None,
    table8=pd.read_csv(i.table8) if hasattr(i, "table8") else None,
)
atomic_write_text(snakemake.output.csv, table.to_csv(index=False, float_format="%.4g"))
atomic_write_text(snakemake.output.md, table.to_markdown(index=False, floatfmt=".3g") + "\n")
for path in snakemake.output.figure:
    save(paper_comparison(table), path)
logging.info("%d quantities compared", len(table))
