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


# ---- simulate ---------------------------------------------------------------------------------
TINY = "N=1,C=3,H=9,W=9,K=4,R=3,S=3,stride=2,padding=1"
EYERISS = "config/hardware/eyeriss_13x15.yaml"
TPU = "config/hardware/tpu_13x15.yaml"


def _simulate(root: Path, *args: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        return runner.invoke(app, ["simulate", *args])


def test_simulate_json_keys_are_consistent(root: Path) -> None:
    result = _simulate(root, "--layer-spec", "N=1,C=4,H=6,W=6,K=4,R=3,S=3,padding=1",
                       "--phase", "forward", "--dataflow", "tpu", "--hardware", TPU,
                       "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("layer", "phase", "dataflow", "hardware", "cycles", "ideal_cycles", "macs",
                "zero_macs", "utilization", "time_ms", "counts", "stall_cycles", "passes",
                "distinct_passes", "mapping"):  # fmt: skip
        assert key in data, key
    assert (data["layer"], data["phase"], data["dataflow"]) == ("spec", "forward", "tpu")
    assert data["hardware"] == "tpu_13x15"
    assert data["cycles"] >= data["ideal_cycles"] > 0
    assert data["macs"] >= data["zero_macs"] > 0
    assert data["macs"] == 1 * 4 * 4 * 6 * 6 * 3 * 3  # padded forward: every output, every tap
    assert data["passes"] >= data["distinct_passes"] >= 1
    assert 0 < data["utilization"] <= 1
    assert set(data["counts"]) == {"alu", "spad", "noc", "gbuf", "dram"}
    assert data["counts"]["alu"]["mult"] + data["counts"]["alu"]["zero_gated_mac"] == data["macs"]
    assert all(v >= 0 for v in data["stall_cycles"].values())
    assert "functional" not in data
    # energy: the breakdown of Fig. 11 adds up; power is energy over time
    energy = data["energy_pj"]
    assert set(energy) == {"total", "dram", "gbuf", "spad", "alu", "noc"}
    assert energy["total"] == pytest.approx(sum(v for k, v in energy.items() if k != "total"))
    assert all(v > 0 for v in energy.values())
    assert data["power_mw"] == pytest.approx(energy["total"] / data["time_ms"] * 1e-6)
    assert data["energy_table"] == "horowitz_45nm_systolic"  # tpu_13x15's register-file PEs
    # the layer fits the buffer: DRAM moves each input, weight and output word once
    compulsory = (4 * 6 * 6 + 4 * 4 * 3 * 3 + 4 * 6 * 6) * 2
    assert data["dram_bytes"] == compulsory
    assert data["dram_bytes"] == sum(data["counts"]["dram"].values())
    assert data["gbuf_bytes"] == 2 * sum(data["counts"]["gbuf"].values())


def test_validate_eyeriss_reduced_batch(root: Path) -> None:
    """Table 2's comparison runs end to end (batch 1 here; the chip's batch is 4)."""
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = runner.invoke(app, ["validate", "eyeriss", "--batch", "1", "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["layer"] for r in rows[::4]] == ["CONV1", "CONV2", "CONV3", "CONV4", "CONV5"]
    by = {(r["layer"], r["metric"]): r for r in rows}
    for layer in ("CONV1", "CONV5"):
        r = by[(layer, "power_mw")]
        assert r["ours"] > 0 and r["chip"] > 0 and r["sasim"] > 0
        assert r["error_vs_chip"] == pytest.approx(r["ours"] / r["chip"] - 1, abs=1e-3)
    assert by[("CONV2", "power_mw")]["sasim"] is None  # the paper prints "*"
    # CONV1's data (227x227x3 input, 96 11x11x3 filters, 55x55x96 output, batch 1) fits
    # neither the buffer nor less than once through DRAM
    compulsory = (3 * 227 * 227 + 96 * 3 * 11 * 11 + 96 * 55 * 55) * 2 / 1e6
    assert by[("CONV1", "dram_access_mb")]["ours"] >= round(compulsory, 3)


def test_simulate_table(root: Path) -> None:
    result = _simulate(root, "--layer-spec", "N=1,C=4,H=6,W=6,K=4,R=3,S=3,padding=1",
                       "--phase", "forward", "--dataflow", "tpu", "--hardware", TPU)  # fmt: skip
    assert result.exit_code == 0, result.output
    for needle in ("cycles", "ideal_cycles", "zero_gated_mac", "stall cycles", "mapping"):
        assert needle in result.stdout


@pytest.mark.parametrize(("dataflow", "hardware"), [("rs", EYERISS), ("tpu", TPU)])
def test_simulate_functional_equal(root: Path, dataflow: str, hardware: str) -> None:
    result = _simulate(root, "--layer-spec", TINY, "--phase", "igrad", "--dataflow", dataflow,
                       "--hardware", hardware, "--functional", "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["functional"] == {"checked": 1 * 3 * 9 * 9, "max_abs_error": 0.0, "equal": True}
    assert data["exhaustive"] is True and data["passes"] == data["distinct_passes"]
    assert data["cycles"] >= data["ideal_cycles"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--layer-spec", "N=1,C=3,H=9,W=9,K=4,R=3,S=3,foo=1"), "--layer-spec: foo: unknown key"),
        (("--layer-spec", "N=1,C=x,H=9,W=9,K=4,R=3,S=3"), "--layer-spec: C: expected an integer"),
        (("--layer-spec", "N=1,C=3,H=2,W=9,K=4,R=3,S=3"), "--layer-spec: R: filter extent 3"),
        (("--layer-spec", "N=1,C=3,H=9,W=9,K=4,R=3"), "--layer-spec: S: missing"),
        (("--layer-spec", TINY, "--hardware", "does/not/exist.yaml"),
         "does/not/exist.yaml: file not found"),
        (("--layer-spec", TINY, "--dataflow", "eyeriss_v9"), "--dataflow: unknown dataflow"),
        (("--layer-spec", TINY, "--dataflow", "ecoflow"), "needs a multicast GIN"),
        (("--layer-spec", TINY, "--dataflow", "rs"), "needs a multicast GIN"),
        (("--layer-spec", TINY, "--network", "alexnet", "--layer", "conv1"),
         "cannot be combined"),
        (("--network", "alexnet", "--layer", "conv9"), "--layer: unknown layer 'conv9'"),
        (("--network", "vgg16", "--layer", "conv1"), "--network: unknown network"),
    ],
)  # fmt: skip
def test_simulate_bad_input_is_one_line_and_exit_2(root: Path, args, needle) -> None:
    defaults = {"--phase": "igrad", "--dataflow": "tpu", "--hardware": TPU}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [*args, *(x for k, v in defaults.items() if k not in given for x in (k, v))]
    result = _simulate(root, *argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_parse_layer_spec_forms() -> None:
    from ecoflow.cli import parse_layer_spec

    layer = parse_layer_spec("N=2,C=4,H=9,W=8,K=6,R=3,S=1,stride=2x1,padding=1:0:2:3,groups=2")
    assert layer.name == "spec" and (layer.N, layer.C, layer.K, layer.groups) == (2, 4, 6, 2)
    assert layer.stride == (2, 1) and layer.padding == ((1, 0), (2, 3))
    layer = parse_layer_spec("N=1,C=3,H=9,W=9,K=4,R=3,S=3,padding=1x2,dilation=2", batch=5)
    assert layer.N == 5 and layer.padding == ((1, 1), (2, 2)) and layer.dilation == (2, 2)
    assert parse_layer_spec("N=1,C=2,H=3,W=3,K=2,R=2,S=2,kind=tconv").kind == "tconv"


def test_noc_reports_ids_and_the_network_maximum() -> None:
    """``ecoflow noc`` on a tiny layer table: per-layer IDs and a network-maximum row."""
    from ecoflow.workloads import networks
    from ecoflow.workloads.layer import ConvLayer

    tiny = [
        ConvLayer(N=1, C=2, H=9, W=9, K=2, R=5, S=5, stride=1, padding=2, name="c5"),
        ConvLayer(N=1, C=2, H=9, W=9, K=2, R=3, S=3, stride=2, padding=1, name="c3"),
    ]
    old = networks.load
    networks.load = lambda *a, **k: tiny
    try:
        out = CliRunner().invoke(app, ["noc", "alexnet", "--format", "json"])
    finally:
        networks.load = old
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["layer"] for r in rows] == ["c5", "c5", "c3", "c3", "network maximum"]
    assert rows[-1]["row_ids"] == max(r["row_ids"] for r in rows[:-1]) >= 3
    assert all(r["row_ids"] >= 1 and r["col_ids"] >= 1 for r in rows)
    bad = CliRunner().invoke(app, ["noc", "alexnet", "--phases", "backward"])
    assert bad.exit_code == 2 and "--phases" in bad.output
