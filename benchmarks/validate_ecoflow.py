"""Sweep §4.1's validation space through EcoFlow's compilers and a symbolic check.

Every combination of square input (3x3 to 224x224), square filter (1x1 to 15x15, no larger
than the input) and stride (1 to 4) is a one-image, one-channel, one-filter ``conv`` layer; its
input gradient (``ecoflow_igrad``) and filter gradient (``ecoflow_fgrad``) are compiled on the
13x15 EcoFlow array, with ID registers sized for the largest case (a 15x15 filter at stride 1
needs more than the five IDs of §4.4, exactly as §4.4's equation says), and checked
symbolically (:func:`ecoflow.validation.check_symbolic`): the scheduled products are exactly
the useful ones, each accumulates into its output, every output reaches the global buffer, and
every pass builds. ``--sample N`` checks a random subset (seeded);
``--functional`` also simulates the smaller ones with values and compares them with JAX.

Usage::

    .venv/bin/python benchmarks/validate_ecoflow.py --sample 200
    .venv/bin/python benchmarks/validate_ecoflow.py --all          # every combination (hours)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = range(3, 225)
FILTERS = range(1, 16)
STRIDES = range(1, 5)
PHASES = ("igrad", "fgrad")


def space() -> list[tuple[int, int, int]]:
    """Every (input, filter, stride) of the sweep."""
    return [(h, r, s) for h in SIZES for r in FILTERS if r <= h for s in STRIDES]


def run(cases: list[tuple[int, int, int]], functional_limit: int = 0) -> list[dict]:
    """Check each case in both phases; returns one row per (case, phase)."""
    from ecoflow.config import load_hardware
    from ecoflow.dataflows import get
    from ecoflow.noc import unlimited
    from ecoflow.validation import check_symbolic
    from ecoflow.workloads.layer import ConvLayer

    hw = unlimited(load_hardware(ROOT / "config/hardware/ecoflow_13x15.yaml"))
    rows = []
    for h, r, s in cases:
        layer = ConvLayer(N=1, C=1, H=h, W=h, K=1, R=r, S=r, stride=s, name=f"h{h}r{r}s{s}")
        for phase in PHASES:
            start = time.perf_counter()
            try:
                check = check_symbolic(layer.problem(phase), get("ecoflow"), hw)
                row = {"ok": check.ok, "products": check.products, "why": check.problem}
            except Exception as err:  # a compile error is a failed case, reported as such
                row = {"ok": False, "products": 0, "why": f"{type(err).__name__}: {err}"}
            if row["ok"] and h <= functional_limit:
                from tests.dataflows.test_conformance import check_functional

                try:
                    check_functional(layer, "ecoflow", hw, phases=(phase,))
                except AssertionError as err:
                    row = {"ok": False, "products": row["products"], "why": str(err)[:200]}
            rows.append({"input": h, "filter": r, "stride": s, "phase": phase, **row,
                         "seconds": round(time.perf_counter() - start, 3)})  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=100, help="random cases (default 100)")
    parser.add_argument("--all", action="store_true", help="every case of the sweep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--functional", type=int, default=0, metavar="H",
                        help="also simulate cases with inputs up to HxH with values")  # fmt: skip
    parser.add_argument("--out", type=Path, help="write the rows as JSON")
    args = parser.parse_args(argv)
    cases = space()
    if not args.all:
        cases = sorted(random.Random(args.seed).sample(cases, min(args.sample, len(cases))))
    start = time.perf_counter()
    rows = run(cases, args.functional)
    passed = sum(r["ok"] for r in rows)
    for r in rows:
        if not r["ok"]:
            print(f"FAIL input {r['input']} filter {r['filter']} stride {r['stride']} "
                  f"{r['phase']}: {r['why']}")  # fmt: skip
    print(f"{passed} of {len(rows)} checks passed ({len(cases)} of {len(space())} cases, "
          f"both phases) in {time.perf_counter() - start:.0f} s")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
