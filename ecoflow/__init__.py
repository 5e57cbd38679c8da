"""ecoflow: dataflows for CNN training on spatial accelerators, simulated cycle by cycle."""

__version__ = "0.1.0"
