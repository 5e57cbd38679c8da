"""The workflow, end to end on the tiny .test configuration, in a temporary copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SNAKEMAKE = Path(sys.executable).with_name("snakemake")
OUTPUTS = [
    "results/layers/alexnet.csv",
    "results/zeros/mobilenet.csv",
    "results/zeros.nc",
    "figures/fig3_zero_fraction.png",
    "figures/fig3_zero_fraction.pdf",
]


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    cmd = [str(SNAKEMAKE), "--cores", "2", "--configfile", ".test/config/config.yaml", *args]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, check=False)


def _copy(root: Path, target: Path) -> None:
    """The files a workflow run reads: the workflow, its configs and the environment file."""
    for part in ("workflow", "config", ".test"):
        shutil.copytree(root / part, target / part)
    shutil.copy(root / "environment.yml", target / "environment.yml")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, root: Path) -> Path:
    work = tmp_path_factory.mktemp("workflow")
    _copy(root, work)
    proc = _snakemake(work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work


@pytest.mark.slow
def test_outputs_exist_and_dataset_has_units(workdir: Path) -> None:
    from ecoflow.analysis.io import read_dataset

    for out in OUTPUTS:
        assert (workdir / out).stat().st_size > 0, out
    ds = read_dataset(workdir / "results/zeros.nc")
    assert set(ds.dims) == {"network", "variant", "layer", "phase"}
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
    assert float(ds["zero_fraction"].sel(network="alexnet", variant="opt", layer="conv1",
                                         phase="igrad")) > 0.9  # fmt: skip


@pytest.mark.slow
def test_second_run_is_a_no_op_and_byte_identical(workdir: Path) -> None:
    before = {out: (workdir / out).read_bytes() for out in OUTPUTS}
    proc = _snakemake(workdir, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr
    for out in ("results/zeros.nc", "figures/fig3_zero_fraction.pdf"):
        (workdir / out).unlink()
    assert _snakemake(workdir).returncode == 0
    for out, data in before.items():
        assert (workdir / out).read_bytes() == data, out


@pytest.mark.slow
def test_lint_and_format(root: Path) -> None:
    proc = subprocess.run([str(SNAKEMAKE), "--lint", "--cores", "1"], cwd=root,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run([str(snakefmt), "--check", "workflow"], cwd=root, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_invalid_config_is_rejected(tmp_path: Path, root: Path) -> None:
    _copy(root, tmp_path)
    cfg = tmp_path / ".test/config/config.yaml"
    cfg.write_text(cfg.read_text().replace("batch: 1", "batch: -1"))
    proc = _snakemake(tmp_path, "-n")
    assert proc.returncode != 0
    assert "batch" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
