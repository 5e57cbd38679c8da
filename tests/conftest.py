"""Test configuration: strict JAX promotion, deterministic hypothesis, shared kernels, paths."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import pytest
import yaml
from hypothesis import HealthCheck, settings

from ecoflow.sim.run import CACHE_ENV, persistent_cache

os.environ.setdefault("KERAS_BACKEND", "numpy")
os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
# tests simulate; they never take results a workflow run kept (ecoflow.resultcache)
os.environ.pop("ECOFLOW_RESULT_CACHE", None)
jax.config.update("jax_numpy_dtype_promotion", "strict")

ROOT = Path(__file__).resolve().parents[1]
# The suite's time is mostly kernel compilation: the test processes (pytest-xdist workers) and
# the workflow jobs they start share one compilation cache. It holds XLA's executables only;
# no result depends on it.
os.environ.setdefault(CACHE_ENV, str(ROOT / ".cache" / "jax-tests"))
persistent_cache()

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def paper() -> dict:
    """Published numbers of the EcoFlow paper (reference/ecoflow_paper.yaml)."""
    return yaml.safe_load((ROOT / "reference" / "ecoflow_paper.yaml").read_text())
