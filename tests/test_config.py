"""Configuration files: the shipped ones validate, broken ones get one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ecoflow import config
from ecoflow.config import ConfigError

SHIPPED = sorted(Path(__file__).resolve().parents[1].glob("config/**/*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_validate(path: Path) -> None:
    config.load(path)


def test_hardware_defaults_are_table3() -> None:
    hw = config.load_hardware(
        Path(__file__).resolve().parents[1] / "config/hardware/ecoflow_13x15.yaml"
    )
    assert (hw.array.rows, hw.array.cols, hw.clock_mhz) == (13, 15, 200)
    assert (hw.pe.ifmap_spad_entries, hw.pe.filter_spad_entries, hw.pe.psum_spad_entries) == (
        75,
        224,
        24,
    )
    assert (hw.global_buffer.size_kib, hw.global_buffer.banks) == (108, 27)
    assert (hw.noc.gin.wide_width_bits, hw.noc.gin.narrow_width_bits) == (80, 32)
    assert config.HardwareConfig(name="x").noc.gin.wide_width_bits == 64  # Eyeriss default


def test_committed_schemas_are_current(root: Path) -> None:
    for name, text in config.render_schemas().items():
        assert (root / "workflow" / "schemas" / name).read_text() == text, name
        assert json.loads(text)["$schema"]


def _broken(tmp_path: Path, source: str, edit) -> Path:
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / source).read_text())
    edit(data)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("source", "edit", "key", "reason"),
    [
        ("config/hardware/eyeriss_13x15.yaml", lambda d: d["pe"].update(psum_spad_entry=3),
         "pe.psum_spad_entry", "did you mean 'psum_spad_entries'"),
        ("config/hardware/eyeriss_13x15.yaml", lambda d: d.update(clock_ghz=d.pop("clock_mhz")),
         "clock_ghz", "wrong unit"),
        ("config/hardware/eyeriss_13x15.yaml",
         lambda d: d["global_buffer"].update(size_kib="108KB"),
         "global_buffer.size_kib", "number"),
        ("config/hardware/eyeriss_13x15.yaml", lambda d: d["array"].update(rows=-13),
         "array.rows", "greater than 0"),
        ("config/hardware/eyeriss_13x15.yaml", lambda d: d["noc"]["gin"].update(wide_width_bits=0),
         "noc.gin.wide_width_bits", "greater than 0"),
        ("config/energy/horowitz_45nm.yaml", lambda d: d["alu"].pop("mult"),
         "alu.mult", "missing"),
        ("config/config.yaml", lambda d: d.update(networks=["vgg"]),
         "networks", "unknown network"),
        ("config/config.yaml", lambda d: d["gan"].update(runs=d["gan"]["runs"][2:]),
         "gan", "both must run"),
    ],
)  # fmt: skip
def test_broken_files_name_file_key_and_reason(tmp_path, source, edit, key, reason) -> None:
    path = _broken(tmp_path, source, edit)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert err.value.key == key
    assert reason in err.value.reason
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_layer_that_does_not_fit_its_input(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "layers": [
        {"name": "ok", "C": 3, "H": 8, "W": 8, "K": 4, "R": 3, "S": 3},
        {"name": "big", "C": 3, "H": 4, "W": 4, "K": 4, "R": 7, "S": 3, "padding": 1},
    ]}))  # fmt: skip
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert err.value.key == "layers.1.R"
    assert "larger than the padded input" in err.value.reason


def test_missing_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        config.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("array: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(bad)
    odd = tmp_path / "odd.yaml"
    odd.write_text("colour: blue\n")
    with pytest.raises(ConfigError, match="cannot tell the kind of file"):
        config.load(odd)
