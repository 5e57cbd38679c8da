"""Table 2: AlexNet inference on the Eyeriss chip's configuration beside the chip."""

import logging

import pandas as pd

from ecoflow import eyeriss
from ecoflow.io import atomic_write_text

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, filemode="w")
rows = eyeriss.run(snakemake.params.batch, snakemake.input.hardware,
                   progress=lambda i, n: logging.info("layer %d of %d", i + 1, n))  # fmt: skip
df = pd.DataFrame(eyeriss.table(rows))
atomic_write_text(snakemake.output.csv, df.to_csv(index=False))
atomic_write_text(snakemake.output.md, df.to_markdown(index=False) + "\n")
logging.info("wrote %s", snakemake.output.csv)
