"""netCDF input/output (h5netcdf), atomic and byte-stable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xarray as xr

from ecoflow.analysis.dataset import zero_dataset
from ecoflow.io import temporary_sibling


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a Dataset to netCDF through a temporary file.

    Encodings a Dataset inherited from the files it was read from are dropped (a merged
    coordinate would otherwise keep the first file's string width).
    """
    tmp = temporary_sibling(path)
    try:
        ds.drop_encoding().to_netcdf(tmp, engine="h5netcdf")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return Path(path)


def read_dataset(path: str | Path) -> xr.Dataset:
    """Read a Dataset fully into memory (the file is closed on return)."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def zero_dataset_from_files(
    networks: Sequence[str], layer_csvs: Sequence[str], zero_csvs: Sequence[str], out: str | Path
) -> Path:
    """Merge per-network layer and zero tables into one netCDF file."""
    tables = {
        n: (pd.read_csv(lc, keep_default_na=False), pd.read_csv(zc))
        for n, lc, zc in zip(networks, layer_csvs, zero_csvs, strict=True)
    }
    return write_dataset(zero_dataset(tables), out)
