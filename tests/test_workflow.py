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
    "results/sim/mobilenet/eyeriss_13x15/rs.nc",
    "results/sim/mobilenet/ecoflow_13x15/ecoflow.nc",
    "results/summary.nc",
    "results/tables/layers.csv",
    "results/tables/table6_end_to_end.md",
    "figures/fig9_igrad_speedup.png",
    "figures/fig10_fgrad_speedup.pdf",
    "figures/fig11_energy.png",
    "results/tables/table2_eyeriss.md",
    "results/tables/noc_ids.md",
    "results/tables/paper_comparison.md",
    "figures/paper_comparison.png",
]


def _snakemake(workdir: Path, *args: str, cores: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "SOURCE_DATE_EPOCH": "0"}
    cmd = [str(SNAKEMAKE), *args, "--cores", str(cores), "--configfile",
           ".test/config/config.yaml"]  # fmt: skip
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, check=False)


def _copy(root: Path, target: Path) -> None:
    """The files a workflow run reads: the workflow, its configs and the environment file."""
    for part in ("workflow", "config", ".test", "reference"):
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
def test_summary_has_every_variable_with_units(workdir: Path) -> None:
    from ecoflow.analysis.dataset import SIM_DIMS
    from ecoflow.analysis.io import read_dataset

    ds = read_dataset(workdir / "results/summary.nc")
    assert set(SIM_DIMS) | {"level", "action", "stall_cause"} <= set(ds.dims)
    for name in ("cycles", "time_ms", "macs", "zero_macs", "utilization", "counts",
                 "energy_pj", "power_mw", "dram_bytes", "gbuf_bytes", "stall_cycles"):  # fmt: skip
        assert ds[name].attrs["units"] and ds[name].attrs["long_name"], name
    for coord in ("C", "H", "W", "K", "R", "S", "P", "Q", "paper_label"):
        assert coord in ds.coords, coord
    assert set(ds["dataflow"].values) == {"rs", "tpu", "ecoflow"}
    where = {"network": "mobilenet", "variant": "base", "layer": "conv_dw_12", "phase": "igrad",
             "dataflow": "ecoflow", "hardware": "ecoflow_13x15"}  # fmt: skip
    cycles = ds["cycles"].sel(where)
    assert float(cycles) > 0
    assert "wall" not in str(ds.attrs) and "date" not in str(ds.attrs).lower()


@pytest.mark.slow
def test_editing_a_hardware_file_replans_only_its_jobs(workdir: Path) -> None:
    hw = workdir / "config/hardware/tpu_13x15.yaml"
    original = hw.read_text()
    hw.write_text(original + "# edited\n")  # Snakemake ignores a new mtime on equal content
    try:
        plan = _snakemake(workdir, "-n")
        text = plan.stdout + plan.stderr
        assert plan.returncode == 0, text
        # one simulation job, tpu's; then what merges and plots it; nothing upstream
        assert text.count("rule simulate:") == 1
        assert "output: results/sim/mobilenet/tpu_13x15/tpu.nc" in text
        assert "rule summary:" in text
        assert "rule layer_table:" not in text and "rule fig3:" not in text
    finally:
        hw.write_text(original)
    assert _snakemake(workdir).returncode == 0  # back to the original results


@pytest.mark.slow
def test_second_run_is_a_no_op_and_one_core_rebuilds_it_byte_identical(workdir: Path) -> None:
    proc = _snakemake(workdir, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr
    compared = [*OUTPUTS, "results/tables/table6_end_to_end.csv", "figures/fig11_energy.pdf"]
    before = {out: (workdir / out).read_bytes() for out in compared}
    # the jobs kept their layer phases (ecoflow.resultcache); away with them too, so that the
    # run on one core simulates again
    assert any((workdir / ".cache" / "results").rglob("*.json"))
    # every output away, and the workflow again on one core: the same bytes as on two
    for part in ("results", "figures", "logs", ".cache/results"):
        shutil.rmtree(workdir / part)
    proc = _snakemake(workdir, cores=1)
    assert proc.returncode == 0, proc.stderr[-3000:]
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
