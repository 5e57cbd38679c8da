"""Simulator throughput: the exhaustive kernel in PE-cycles per second, and Table 5 wall times.

Two parts (``--parts kernel,layers``):

* ``kernel``: compile a mid-size problem exhaustively for each dataflow, then run all its passes
  with :func:`ecoflow.sim.run.run_passes` twice (the first call includes JAX compilation, the
  second does not) and report simulated PE-cycles per wall second (sum over passes of
  ``cycles x rows x cols`` / seconds). Batch scaling: one pass replicated B times.
* ``layers``: every Table 5 layer (``reference/ecoflow_paper.yaml``, ``cnn_layers_table5``) and
  phase on each dataflow with pass deduplication (:func:`ecoflow.evaluate.simulate`), batch 4,
  13x15 array: cycles, ideal cycles, passes, compile and total seconds. Slow (seconds to minutes
  per layer phase); the JSON is rewritten after each one, so a partial run is useful.

Usage::

    .venv/bin/python benchmarks/sim_throughput.py --parts kernel
    .venv/bin/python benchmarks/sim_throughput.py --parts layers --quick --dataflows tpu
    .venv/bin/python benchmarks/sim_throughput.py --parts layers --layers 'alexnet*/CONV1'
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
HARDWARE = {
    "rs": ROOT / "config/hardware/eyeriss_13x15.yaml",
    "tpu": ROOT / "config/hardware/tpu_13x15.yaml",
    "ecoflow": ROOT / "config/hardware/ecoflow_13x15.yaml",
    "ecoflow_igrad": ROOT / "config/hardware/ecoflow_13x15.yaml",
    "ecoflow_fgrad": ROOT / "config/hardware/ecoflow_13x15.yaml",
}
PHASES = ("forward", "igrad", "fgrad")
# A ResNet-like 3x3 layer, small enough to simulate every pass.
KERNEL_LAYER = {"N": 4, "C": 16, "H": 28, "W": 28, "K": 32, "R": 3, "S": 3, "padding": 1}
KERNEL_PHASE = "igrad"
# Table 5 network names -> network ids of ecoflow.workloads.networks.
NET_IDS = {
    "AlexNet": "alexnet",
    "ResNet-50": "resnet50",
    "ShuffleNet": "shufflenet",
    "Inception": "inception_v3",
    "Xception": "xception",
    "MobileNet": "mobilenet",
}
QUICK = ("alexnet/CONV2", "resnet50/CONV3")

console = Console()
# tables are wide: do not squeeze them into 80 columns when the output is a file or a pipe
wide = console if console.is_terminal else Console(width=200)


# ---- bookkeeping -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """Where and on what the benchmark ran."""
    import jax

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "", False
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
        "commit": commit + ("-dirty" if dirty else ""),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


class Report:
    """The JSON document, rewritten atomically whenever a measurement is added."""

    def __init__(self, path: Path, args: argparse.Namespace) -> None:
        self.path = path
        self.data: dict[str, Any] = {
            "machine": machine(),
            "args": {k: v for k, v in vars(args).items() if k != "out"},
            "kernel": {"problem": {}, "runs": [], "batch_scaling": []},
            "layers": [],
        }

    def save(self) -> None:
        from ecoflow.io import atomic_write_text

        self.data["machine"]["saved"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        atomic_write_text(self.path, json.dumps(self.data, indent=2) + "\n")


def print_rows(rows: list[dict[str, Any]], title: str, markdown: bool) -> None:
    """Print rows as a rich table or a Markdown table."""
    if not rows:
        return
    columns = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) >= 1e5 or abs(v) < 1e-2 else f"{v:.2f}"
        return "" if v is None else str(v)

    if markdown:
        print(f"\n**{title}**\n")
        print("| " + " | ".join(columns) + " |")
        print("|" + "|".join("---" for _ in columns) + "|")
        for r in rows:
            print("| " + " | ".join(cell(r.get(c)) for c in columns) + " |")
        return
    table = Table(title=title)
    for c in columns:
        table.add_column(c, justify="left" if isinstance(rows[0][c], str) else "right")
    for r in rows:
        table.add_row(*(cell(r.get(c)) for c in columns))
    wide.print(table)


# ---- part (a): the kernel ----------------------------------------------------------------------
def _vmap_width(programs: list, hw: Any) -> int:
    """Passes :func:`run_passes` advances together in one kernel call (timing mode)."""
    from ecoflow.sim.run import BATCH_ELEMENTS, _bucket
    from ecoflow.sim.state import TIMING_FIELDS

    length = _bucket(max(p.ops.shape[1] for p in programs))
    pes = hw.array.rows * hw.array.cols
    return min(len(programs), max(1, BATCH_ELEMENTS // (pes * length * TIMING_FIELDS)))


def _timed_run(programs: list, hw: Any) -> tuple[float, list[int]]:
    """Wall seconds of one :func:`run_passes` call and the cycles of each pass."""
    from ecoflow.sim.run import run_passes

    start = time.perf_counter()
    results, _, _ = run_passes(programs, hw)
    return time.perf_counter() - start, [r.cycles for r in results]


def _lane_efficiency(cycles: list[int], width: int) -> float:
    """Estimated share of the cycles the kernel steps that belong to an unfinished pass.

    The driver advances ``width`` passes together by ``CHUNK`` cycles per call until all of them
    are done, so a batch costs about ``ceil(max cycles / CHUNK) * CHUNK * passes`` pass-cycles.
    """
    from ecoflow.sim.run import CHUNK

    stepped = 0
    for i in range(0, len(cycles), width):
        batch = cycles[i : i + width]
        stepped += max(1, math.ceil(max(batch) / CHUNK)) * CHUNK * len(batch)
    return sum(cycles) / stepped if stepped else 0.0


def kernel(report: Report, dataflows: list[str], batches: list[int], markdown: bool) -> None:
    """Part (a): PE-cycles per wall second of the exhaustive kernel, cold and warm."""
    from ecoflow import dataflows as registry
    from ecoflow.config import load_hardware
    from ecoflow.workloads.layer import ConvLayer

    layer = ConvLayer(**KERNEL_LAYER, name="kernel_mid")  # type: ignore[arg-type]
    problem = layer.problem(KERNEL_PHASE)
    section = report.data["kernel"]
    section["problem"] = {**KERNEL_LAYER, "phase": KERNEL_PHASE}
    rows, scaling_rows = [], []
    for name in dataflows:
        df = registry.get(name)
        hw = load_hardware(HARDWARE[name])
        pes = hw.array.rows * hw.array.cols
        start = time.perf_counter()
        schedule = df.compile(problem, hw, exhaustive=True)
        compile_s = time.perf_counter() - start
        programs = [g.program for g in schedule.groups]
        console.print(f"[bold]{name}[/]: {len(programs)} passes compiled in {compile_s:.1f} s")
        cold_s, per_pass = _timed_run(programs, hw)
        warm_s, _ = _timed_run(programs, hw)
        cycles = sum(per_pass)
        width = _vmap_width(programs, hw)
        row = {
            "dataflow": name,
            "hardware": hw.name,
            "passes": len(programs),
            "max_ops_per_pe": max(int(p.n_ops.max()) for p in programs),
            "vmap_width": width,
            "lane_efficiency": _lane_efficiency(per_pass, width),
            "cycles": cycles,
            "pe_cycles": cycles * pes,
            "compile_s": compile_s,
            "cold_s": cold_s,
            "warm_s": warm_s,
            "cold_pe_cycles_per_s": cycles * pes / cold_s,
            "warm_pe_cycles_per_s": cycles * pes / warm_s,
        }
        rows.append(row)
        section["runs"].append(row)
        report.save()
        one = programs[0]
        for b in batches:
            replicated = [one] * b
            cold_s, per_pass = _timed_run(replicated, hw)
            warm_s, _ = _timed_run(replicated, hw)
            cycles = sum(per_pass)
            width = _vmap_width(replicated, hw)
            row = {
                "dataflow": name,
                "B": b,
                "vmap_width": width,
                "lane_efficiency": _lane_efficiency(per_pass, width),
                "cycles_per_pass": cycles // b,
                "cold_s": cold_s,
                "warm_s": warm_s,
                "warm_pe_cycles_per_s": cycles * pes / warm_s,
                "warm_passes_per_s": b / warm_s,
            }
            scaling_rows.append(row)
            section["batch_scaling"].append(row)
            report.save()
            console.print(f"  B={b}: {warm_s:.2f} s warm, {row['warm_pe_cycles_per_s']:.3g} PE-c/s")
    shape = ", ".join(f"{k}={v}" for k, v in KERNEL_LAYER.items())
    print_rows(rows, f"exhaustive kernel: {shape}, {KERNEL_PHASE}", markdown)
    print_rows(scaling_rows, "batch scaling: the first pass replicated B times", markdown)


# ---- part (b): Table 5 layers ------------------------------------------------------------------
def table5_entries() -> list[dict[str, Any]]:
    """The Table 5 layers as shipped layers: id, network, variant, layer name, paper row.

    The variant is the one whose layer has the paper's output size and stride; a row with
    ``opt_variant: true`` (AlexNet) is also run in the other variant (pooling folded into
    stride), with the id ``<network>-opt/<label>``.
    """
    from ecoflow.workloads import networks

    paper = yaml.safe_load((ROOT / "reference/ecoflow_paper.yaml").read_text())
    entries = []
    for row in paper["cnn_layers_table5"]:
        net = NET_IDS[row["net"]]
        by_label = {label: name for name, label in networks.PAPER_LABELS[net].items()}
        name = by_label[row["layer"]]
        found: dict[str, Any] = {}
        for variant in networks.VARIANTS:
            for layer in networks.load(net, variant, networks.BATCH):
                if layer.name == name:
                    found[variant] = layer
        matching = [
            v
            for v, layer in found.items()
            if [layer.P, layer.Q] == list(row["ofm"]) and layer.stride == (row["stride"],) * 2
        ]
        chosen = matching[0] if matching else "base"
        variants = [chosen]
        if row.get("opt_variant"):
            variants += [v for v in found if v != chosen]
        for variant in variants:
            if variant not in found:
                continue
            suffix = "" if variant == chosen else f"-{variant}"
            entries.append(
                {
                    "id": f"{net}{suffix}/{row['layer']}",
                    "network": net,
                    "variant": variant,
                    "layer": found[variant],
                    "paper": row,
                    "matches_paper_shape": variant in matching,
                }
            )
    return entries


class _TimedDataflow:
    """A dataflow whose ``compile`` calls are timed (everything else is delegated)."""

    def __init__(self, dataflow: Any) -> None:
        self.dataflow = dataflow
        self.compile_s = 0.0

    def compile(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.dataflow.compile(*args, **kwargs)
        finally:
            self.compile_s += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self.dataflow, name)


def select(patterns: list[str]) -> list[dict[str, Any]]:
    """The Table 5 entries whose id matches one of the globs (case-insensitive)."""
    return [
        e
        for e in table5_entries()
        if any(fnmatch.fnmatch(e["id"].lower(), p.lower()) for p in patterns)
    ]


def layers(
    report: Report,
    dataflows: list[str],
    entries: list[dict[str, Any]],
    phases: list[str],
    batch: int,
    markdown: bool,
) -> None:
    """Part (b): wall time of the Table 5 layers and phases with pass deduplication."""
    from ecoflow import dataflows as registry
    from ecoflow import evaluate
    from ecoflow.config import load_energy_for, load_hardware
    from ecoflow.dataflows.base import CompileError
    from ecoflow.sim.run import SimulationError

    rows = []
    for entry in entries:
        layer = entry["layer"].replace(N=batch)
        for name in dataflows:
            df = registry.get(name)
            hw = load_hardware(HARDWARE[name])
            table = load_energy_for(HARDWARE[name], hw)
            for phase in phases:
                problem = layer.problem(phase)
                timed = _TimedDataflow(df)
                row: dict[str, Any] = {
                    "id": entry["id"], "network": entry["network"], "variant": entry["variant"],
                    "layer": layer.name, "phase": phase, "dataflow": name, "hardware": hw.name,
                }  # fmt: skip
                start = time.perf_counter()
                try:
                    result = evaluate.simulate(problem, timed, hw, table=table)  # type: ignore[arg-type]
                except (CompileError, SimulationError) as err:
                    row |= {"error": f"{type(err).__name__}: {err}"}
                else:
                    row |= {
                        "cycles": result.cycles,
                        "ideal_cycles": result.ideal_cycles,
                        "ratio": result.cycles / max(1, result.ideal_cycles),
                        "passes": result.passes,
                        "distinct_passes": result.distinct_passes,
                        "utilization": result.utilization,
                        "energy_pj": result.energy_pj,
                        "power_mw": result.power_mw,
                        "dram_bytes": result.dram_bytes,
                        "gbuf_bytes": result.gbuf_bytes,
                        "mapping": result.mapping,
                    }
                row["compile_s"] = timed.compile_s
                row["total_s"] = time.perf_counter() - start
                row["matches_paper_shape"] = entry["matches_paper_shape"]
                rows.append(row)
                report.data["layers"].append(row)
                report.save()
                if "error" in row:
                    what = row["error"]
                else:
                    what = (
                        f"{row['cycles']:>12,} cycles ({row['ratio']:.2f}x ideal), "
                        f"{row['distinct_passes']}/{row['passes']} passes"
                    )
                print(
                    f"{entry['id']:>18} {phase:>7} {name:>3}: {what}, "
                    f"{row['compile_s']:.1f} s compile, {row['total_s']:.1f} s total",
                    flush=True,
                )
    shown = [
        {k: r.get(k) for k in ("id", "phase", "dataflow", "cycles", "ideal_cycles", "ratio",
                               "passes", "distinct_passes", "compile_s", "total_s")}
        for r in rows
    ]  # fmt: skip
    print_rows(shown, f"Table 5 layers, batch {batch}, deduplicated passes", markdown)
    failed = [r for r in rows if "error" in r]
    for r in failed:
        console.print(f"[red]{r['id']} {r['phase']} {r['dataflow']}[/]: {r['error']}")


# ---- main --------------------------------------------------------------------------------------
def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--parts", type=_csv, default=["kernel", "layers"], help="kernel,layers (default: both)"
    )
    parser.add_argument(
        "--dataflows", type=_csv, default=["rs", "tpu"], help="dataflow ids (default: rs,tpu)"
    )
    parser.add_argument(
        "--layers",
        type=_csv,
        default=["*"],
        dest="patterns",
        help="Table 5 ids to run, globs allowed: alexnet/CONV2, 'alexnet*/*', "
        "xception/CONV3 (default: all; AlexNet also as alexnet-opt/...)",
    )
    parser.add_argument("--phases", type=_csv, default=list(PHASES), help="forward,igrad,fgrad")
    parser.add_argument(
        "--quick", action="store_true", help=f"layers part: only {' and '.join(QUICK)}"
    )
    parser.add_argument("--batch", type=int, default=4, help="layers part: images (default 4)")
    parser.add_argument(
        "--batches",
        type=lambda t: [int(v) for v in _csv(t)],
        default=[1, 8, 32],
        help="kernel part: replication counts (1,8,32)",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks/results/sim_throughput.json",
        help="JSON output (rewritten after every measurement)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    for part in args.parts:
        if part not in ("kernel", "layers"):
            parser.error(f"--parts: unknown part {part!r}; known: kernel, layers")
    for name in args.dataflows:
        if name not in HARDWARE:
            known = ", ".join(HARDWARE)
            parser.error(f"--dataflows: no hardware file for {name!r}; known: {known}")
    for phase in args.phases:
        if phase not in PHASES:
            parser.error(f"--phases: unknown phase {phase!r}; known: {', '.join(PHASES)}")
    if args.quick:
        args.patterns = list(QUICK)
    entries = select(args.patterns) if "layers" in args.parts else []
    if "layers" in args.parts and not entries:
        known = ", ".join(e["id"] for e in table5_entries())
        parser.error(f"--layers: nothing matches {args.patterns}; known: {known}")
    report = Report(args.out, args)
    report.save()
    info = report.data["machine"]
    console.print(f"machine: {info['processor']}, {info['cpus']} CPUs, jax {info['jax']} on "
                  f"{', '.join(info['devices'])}; commit {info['commit']}")  # fmt: skip
    console.print(f"writing {args.out}")
    if "kernel" in args.parts:
        kernel(report, args.dataflows, args.batches, args.markdown)
    if "layers" in args.parts:
        layers(report, args.dataflows, entries, args.phases, args.batch, args.markdown)
    report.data["machine"]["finished"] = True
    report.save()
    console.print(f"wrote {args.out} ({math.ceil(args.out.stat().st_size / 1024)} KiB)")


if __name__ == "__main__":
    main()
