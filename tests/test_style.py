"""Code style and architecture boundaries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUFF = Path(sys.executable).with_name("ruff")
PATHS = ["ecoflow", "tests", "benchmarks", "workflow/scripts"]


def test_ruff_lint_and_format(root: Path) -> None:
    for args in (["check", *PATHS], ["format", "--check", *PATHS]):
        proc = subprocess.run([str(RUFF), *args], cwd=root, capture_output=True, text=True,
                              check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workloads_and_config_do_not_import_plotting() -> None:
    code = (
        "import sys, ecoflow.config, ecoflow.workloads.networks, ecoflow.workloads.zeros, "
        "ecoflow.analysis.dataset, ecoflow.dataflows, ecoflow.sim.run, ecoflow.sim.reference, "
        "ecoflow.evaluate; "
        "bad = [m for m in ('matplotlib', 'seaborn', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_simulator_imports_flow_one_way() -> None:
    """``dataflows`` never imports ``sim``; ``sim`` never imports ``evaluate`` or ``memory``."""
    code = (
        "import sys, ecoflow.dataflows; "
        "assert not [m for m in sys.modules if m.startswith('ecoflow.sim')]; "
        "import ecoflow.sim.run; "
        "assert 'ecoflow.evaluate' not in sys.modules and 'ecoflow.memory' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
