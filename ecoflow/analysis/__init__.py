"""Datasets, variables and netCDF input/output of results."""
