"""Energy: counts times the table, the Fig. 11 breakdown, power, and the shipped tables."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecoflow.config import EnergyTable, load_energy, load_energy_for, load_hardware
from ecoflow.energy import LEVELS, energy, prices

TABLES = ("config/energy/horowitz_45nm.yaml", "config/energy/eyeriss_normalized.yaml",
          "config/energy/horowitz_45nm_int16.yaml",
          "config/energy/horowitz_45nm_systolic.yaml")  # fmt: skip


def _actions(table: EnergyTable) -> dict[str, list[str]]:
    return {level: list(p) for level, p in prices(table).items()}


@st.composite
def counts(draw: st.DrawFn, table: EnergyTable) -> dict[str, dict[str, float]]:
    out = {}
    for level, actions in _actions(table).items():
        out[level] = {a: draw(st.integers(0, 10**12)) for a in actions}
        out[level]["unpriced"] = draw(st.integers(0, 10**6))  # reported, not priced
    return out


@pytest.mark.parametrize("path", TABLES)
@settings(max_examples=30)
@given(data=st.data())
def test_energy_is_counts_dot_table(path: str, data) -> None:
    table = load_energy(path)
    c = data.draw(counts(table))
    e = energy(c, table)
    expected = 0.0
    for level, actions in _actions(table).items():
        entries = getattr(table, level)
        level_sum = sum(c[level][a] * getattr(entries, a).energy_pj for a in actions)
        assert math.isclose(e.by_level[level], level_sum, rel_tol=1e-12, abs_tol=1e-9)
        expected += level_sum
    assert math.isclose(e.total_pj, expected, rel_tol=1e-12, abs_tol=1e-9)
    assert set(e.by_level) == set(LEVELS)


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=10)
@given(data=st.data())
def test_doubling_a_level_doubles_only_its_category(level: str, data) -> None:
    table = load_energy(TABLES[0])
    c = data.draw(counts(table))
    entries = getattr(table, level)
    doubled = entries.model_copy(update={
        a: getattr(entries, a).model_copy(update={"energy_pj": 2 * getattr(entries, a).energy_pj})
        for a in type(entries).model_fields
    })  # fmt: skip
    base, twice = energy(c, table), energy(c, table.model_copy(update={level: doubled}))
    for other in LEVELS:
        factor = 2 if other == level else 1
        assert math.isclose(twice.by_level[other], factor * base.by_level[other], rel_tol=1e-12)


def test_technology_scale_and_power() -> None:
    hw = load_hardware("config/hardware/eyeriss_chip_12x14.yaml")
    table = load_energy_for("config/hardware/eyeriss_chip_12x14.yaml", hw)
    assert table.name == "horowitz_45nm_int16"
    c = {level: dict.fromkeys(a, 1000) for level, a in _actions(table).items()}
    scaled, plain = energy(c, table, hw), energy(c, table)
    assert math.isclose(scaled.total_pj, 1.4 * plain.total_pj)
    # 1e9 pJ over 1 ms is 1 W
    one = energy({lv: {"read": 0} for lv in LEVELS} | {"dram": {"read": 1e9 / 76.9}},
                 load_energy(TABLES[0]))  # fmt: skip
    assert math.isclose(one.power_mw(1.0), 1000.0)


def test_drampower_ddr4_1866_per_byte() -> None:
    """The DRAM figures follow from the DRAMPower memspec numbers quoted in the file."""
    table = load_energy(TABLES[0])
    t_burst = 4 / 933e6  # BL8 on a double data rate bus: 4 clocks at 933 MHz
    read = (157.5 - 39.5) * 1e-3 * 1.2 * t_burst / 8 * 1e12
    write = (135.0 - 39.5) * 1e-3 * 1.2 * t_burst / 8 * 1e12
    tck = 1 / 933e6
    act = 1.2 * (56.25e-3 * 45 * tck - 39.5e-3 * 32 * tck - 33.75e-3 * 13 * tck) / 1024 * 1e12
    assert table.dram.read.energy_pj == pytest.approx(read + act, abs=0.05)
    assert table.dram.write.energy_pj == pytest.approx(write + act, abs=0.05)


def test_missing_energy_table_is_a_clear_error(tmp_path) -> None:
    from ecoflow.config import ConfigError

    hw_dir = tmp_path / "hardware"
    hw_dir.mkdir()
    f = hw_dir / "x.yaml"
    f.write_text("name: x\nenergy_table: nowhere\n")
    hw = load_hardware(f)
    with pytest.raises(ConfigError, match=r"energy_table: no energy table 'nowhere'"):
        load_energy_for(f, hw)


@pytest.mark.parametrize(("variant", "differs"), [("int16", "alu"), ("systolic", "spad")])
def test_table_variants_differ_only_where_they_say(variant: str, differs: str) -> None:
    base = prices(load_energy(TABLES[0]))
    other = prices(load_energy(f"config/energy/horowitz_45nm_{variant}.yaml"))
    for level in LEVELS:
        assert (base[level] != other[level]) == (level == differs), level
