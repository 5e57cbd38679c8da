"""The command line, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecoflow.cli import app

runner = CliRunner()


def test_layers_table_and_json() -> None:
    result = runner.invoke(app, ["layers", "resnet50"])
    assert result.exit_code == 0, result.output
    assert "conv3_block1_2_conv" in result.output and "CONV3" in result.output
    rows = json.loads(
        runner.invoke(app, ["layers", "alexnet", "--variant", "opt", "-f", "json"]).output
    )
    assert rows[0]["stride"] == "8" and rows[0]["P"] == 28
    assert list(rows[0]) == ["network", "layer", "paper_label", "kind", "N", "C", "H", "W", "K",
                             "R", "S", "stride", "padding", "groups", "P", "Q"]  # fmt: skip


def test_zeros_csv() -> None:
    result = runner.invoke(app, ["zeros", "alexnet", "--variant", "opt", "--format", "csv"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert lines[0].split(",") == [
        "network", "layer", "phase", "conv_type", "macs", "zero_macs", "inner_zero_macs",
        "outer_zero_macs", "zero_fraction",
    ]  # fmt: skip
    assert len(lines) == 1 + 5 * 3


def test_check_config_ok(root: Path) -> None:
    files = sorted(str(p) for p in root.glob("config/**/*.yaml"))
    result = runner.invoke(app, ["check-config", *files, "-f", "json"])
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in json.loads(result.output)} == {"ok"}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from ecoflow.cli import main; main()", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("layers", "vgg16"), "unknown network"),
        (("layers", "alexnet", "--batch", "0"), "--batch"),
        (("check-config", "does/not/exist.yaml"), "does/not/exist.yaml: file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle) -> None:
    proc = _run(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_check_config_on_broken_copy(tmp_path: Path, root: Path) -> None:
    text = (root / "config/hardware/ecoflow_13x15.yaml").read_text()
    broken = tmp_path / "ecoflow_13x15.yaml"
    broken.write_text(text.replace("  rows: 13", "  rows: 0"))
    proc = _run("check-config", str(broken))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"error: {broken}: array.rows: Input should be greater than 0 (got 0)"
    )
