"""Workloads: layers, training phases, zero analysis, networks and the model zoo."""
