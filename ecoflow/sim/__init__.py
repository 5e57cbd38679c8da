"""The cycle-level simulator: pass state, the pure step, the scan/vmap driver, a NumPy oracle."""
