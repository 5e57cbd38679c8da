"""The store of simulated layer phases: a resumed job writes the same bytes; any change misses."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from pathlib import Path

import pytest

from ecoflow import experiments, resultcache
from ecoflow.analysis.io import write_dataset
from ecoflow.config import load_energy_for, load_hardware
from ecoflow.experiments import simulate_network
from ecoflow.resultcache import ResultCache
from ecoflow.workloads.layer import ConvLayer
from ecoflow.workloads.networks import COLUMNS, rows

LAYERS = [
    ConvLayer(N=1, C=3, H=6, W=6, K=4, R=3, S=3, padding=1, name="conv1"),
    ConvLayer(N=1, C=4, H=6, W=6, K=4, R=3, S=3, stride=(2, 2), padding=1, name="conv2"),
    ConvLayer(N=1, C=3, H=6, W=6, K=4, R=3, S=3, padding=1, name="conv3"),  # conv1's shape
]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows("alexnet", "base", LAYERS):
        writer.writerow(row | {"paper_label": ""})
    path = tmp_path / "alexnet.csv"
    path.write_text(buf.getvalue())
    return path


def test_a_resumed_job_writes_the_same_bytes(table: Path, tmp_path: Path, root: Path,
                                             monkeypatch) -> None:  # fmt: skip
    """A job that stopped after some layer phases simulates only the others, and its Dataset
    is byte for byte the one of a job without a store."""
    hw = root / "config" / "hardware" / "ecoflow_13x15.yaml"
    store = ResultCache(tmp_path / "store")
    cold = simulate_network(table, "alexnet", ["base"], "ecoflow", hw, cache=False)
    assert not store.root.exists()
    simulate_network(table, "alexnet", ["base"], "ecoflow", hw, cache=store)
    entries = sorted(store.root.rglob("*.json"))
    assert len(entries) == 6  # conv3 has conv1's shape: two layers in three phases
    for lost in entries[::2]:  # the job was killed before these were stored
        lost.unlink()
    calls = []
    real = experiments.simulate
    monkeypatch.setattr(experiments, "simulate", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setenv(resultcache.ENV, str(store.root))  # found through the environment
    resumed = simulate_network(table, "alexnet", ["base"], "ecoflow", hw)
    assert len(calls) == 3
    assert len(list(store.root.rglob("*.json"))) == 6
    a, b = write_dataset(cold, tmp_path / "cold.nc"), write_dataset(resumed, tmp_path / "b.nc")
    assert a.read_bytes() == b.read_bytes()
    calls.clear()
    simulate_network(table, "alexnet", ["base"], "ecoflow", hw)
    assert calls == []


def test_any_input_of_a_result_changes_its_key(root: Path, monkeypatch) -> None:
    path = root / "config" / "hardware" / "ecoflow_13x15.yaml"
    hw = load_hardware(path)
    table = load_energy_for(path, hw)
    problem = LAYERS[0].problem("fgrad")
    key = ResultCache.key(problem, "ecoflow", hw, table)
    assert ResultCache.key(LAYERS[2].problem("fgrad"), "ecoflow", hw, table) == key  # a name
    pe = hw.pe.model_copy(update={"ifmap_spad_entries": 74})
    wider = dataclasses.replace(LAYERS[0], K=5).problem("fgrad")
    others = [
        ResultCache.key(LAYERS[0].problem("igrad"), "ecoflow", hw, table),
        ResultCache.key(wider, "ecoflow", hw, table),
        ResultCache.key(problem, "rs", hw, table),
        ResultCache.key(problem, "ecoflow", hw.model_copy(update={"pe": pe}), table),
        ResultCache.key(problem, "ecoflow", hw, table.model_copy(update={"name": "other"})),
    ]
    monkeypatch.setattr(resultcache, "code_digest", lambda: "another version of the code")
    others.append(ResultCache.key(problem, "ecoflow", hw, table))
    assert len({key, *others}) == len(others) + 1


def test_an_unreadable_entry_is_a_miss(tmp_path: Path, caplog) -> None:
    store = ResultCache(tmp_path)
    store.path("ab" * 32).parent.mkdir(parents=True)
    store.path("ab" * 32).write_text('{"result": {"cycles": ')  # cut short
    with caplog.at_level(logging.WARNING):
        assert store.get("ab" * 32) is None
    assert "unreadable cached result" in caplog.text
    assert store.get("cd" * 32) is None


def test_source_digest_ignores_documentation_only(tmp_path: Path) -> None:
    """Docstrings and comments do not change the digest; code and data files do."""
    code = tmp_path / "pkg" / "mod.py"
    code.parent.mkdir()
    data = code.with_name("table.csv")
    data.write_text("a,b\n1,2\n")

    def digest(text: str) -> str:
        code.write_text(text)
        return resultcache.source_digest(code.parent)

    base = digest('"""Module."""\n\ndef f(x):\n    """Twice."""\n    return 2 * x  # twice\n')
    assert digest('"""Other."""\n\ndef f(x):\n    return 2 * x  # two times x\n') == base
    assert digest('"""Module."""\n\ndef f(x):\n    return 3 * x\n') != base
    assert digest('def f(x):\n    """Twice."""\n    return 2 * x\n\nLABEL = "twice"\n') != base
    code.write_text('"""Module."""\n\ndef f(x):\n    """Twice."""\n    return 2 * x  # twice\n')
    data.write_text("a,b\n1,3\n")
    assert resultcache.source_digest(code.parent) != base
