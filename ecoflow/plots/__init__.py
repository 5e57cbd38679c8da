"""Figures: each a function of a results Dataset (never imports the simulator)."""
