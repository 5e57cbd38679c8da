"""Command line: ``ecoflow layers``, ``zeros``, ``simulate``, ``noc``, ``fuseconv``, and more.

Every command takes ``--format`` (``table|csv|json``; ``simulate``: ``table|json``). Bad input
ends with one line on standard error that names the file or option, the key and the reason, and
exit code 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ecoflow.config import ConfigError
from ecoflow.workloads import networks
from ecoflow.workloads.layer import LayerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Dataflows for CNN training on spatial accelerators, simulated cycle by cycle.",
)


class Format(StrEnum):
    """Output formats."""

    table = "table"
    csv = "csv"
    json = "json"


class Source(StrEnum):
    """Where layer shapes come from."""

    shipped = "shipped"
    builder = "builder"
    zoo = "zoo"


class VariantOpt(StrEnum):
    """Network variants."""

    base = "base"
    opt = "opt"


class SimFormat(StrEnum):
    """Output formats of ``simulate``."""

    table = "table"
    json = "json"


class PhaseOpt(StrEnum):
    """Training phases."""

    forward = "forward"
    igrad = "igrad"
    fgrad = "fgrad"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="output format")]
NetworkArg = Annotated[str, typer.Argument(help="network name")]
VariantArg = Annotated[VariantOpt, typer.Option(help="opt: pooling folded into stride")]
BatchArg = Annotated[int, typer.Option(help="images per batch")]
SourceArg = Annotated[Source, typer.Option(help="shipped table, builder or model zoo")]


def fail(message: str) -> NoReturn:
    """Print one line to standard error and exit with code 2."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def emit(rows: list[dict[str, object]], fmt: Format, title: str = "") -> None:
    """Print rows as a rich table, CSV or JSON."""
    if fmt is Format.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = list(rows[0]) if rows else []
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(buf.getvalue(), nl=False)
        return
    table = Table(title=title or None)
    for c in columns:
        table.add_column(c, justify="left" if isinstance(rows[0][c], str) else "right")
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    Console(width=250).print(table)


def _layers(network: str, variant: VariantOpt, batch: int, source: Source):
    if network not in networks.NETWORKS:
        fail(f"NETWORK: unknown network {network!r}; known: {', '.join(networks.NETWORKS)}")
    if batch <= 0:
        fail(f"--batch: must be positive, got {batch}")
    try:
        if source is Source.shipped:
            return networks.load(network, variant.value, batch)
        return networks.build(network, variant.value, batch, source.value)
    except KeyError as err:
        fail(f"--source: {err.args[0]}")


@app.command()
def layers(
    network: NetworkArg,
    variant: VariantArg = VariantOpt.base,
    batch: BatchArg = networks.BATCH,
    source: SourceArg = Source.shipped,
    fmt: FormatOpt = Format.table,
) -> None:
    """List the convolution layers of a network."""
    from ecoflow.workloads.layer import format_pads, format_pair

    labels = networks.PAPER_LABELS.get(network, {})
    rows = [
        {
            "network": network, "layer": layer.name, "paper_label": labels.get(layer.name, ""),
            "kind": layer.kind, "N": layer.N, "C": layer.C, "H": layer.H, "W": layer.W,
            "K": layer.K, "R": layer.R, "S": layer.S, "stride": format_pair(layer.stride),
            "padding": format_pads(layer.padding), "groups": layer.groups,
            "P": layer.P, "Q": layer.Q,
        }
        for layer in _layers(network, variant, batch, source)
    ]  # fmt: skip
    emit(rows, fmt, f"{network} ({variant.value}), batch {batch}")


@app.command()
def zeros(
    network: NetworkArg,
    variant: VariantArg = VariantOpt.base,
    batch: BatchArg = networks.BATCH,
    source: SourceArg = Source.shipped,
    fmt: FormatOpt = Format.table,
) -> None:
    """Multiplications by padding zeros of every layer and phase (§3.1, Fig. 3)."""
    from ecoflow.workloads.zeros import zero_rows

    rows = [{"network": network, **r} for r in zero_rows(_layers(network, variant, batch, source))]
    emit(rows, fmt, f"{network} ({variant.value}): zero-padded mappings, batch {batch}")


# ---- simulate ------------------------------------------------------------------------------
SPEC_INTS = ("N", "C", "H", "W", "K", "R", "S", "groups")
SPEC_PAIRS = ("stride", "dilation")
SPEC_KEYS = (*SPEC_INTS, *SPEC_PAIRS, "padding", "kind")
SPEC_REQUIRED = ("N", "C", "H", "W", "K", "R", "S")


def _spec_int(key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        fail(f"--layer-spec: {key}: expected an integer, got {text!r}")


def parse_layer_spec(spec: str, batch: int | None = None):
    """Build a layer from ``"N=1,C=3,H=9,W=9,K=4,R=3,S=3,stride=2,padding=1"``.

    Keys: ``N C H W K R S groups`` (integers), ``stride`` and ``dilation`` (``2`` or ``2x1``,
    height by width), ``padding`` (``1``; ``1x2``: height, width symmetric; ``t:b:l:r``) and
    ``kind`` (``conv`` or ``tconv``). ``batch``, when given, sets ``N`` (which may then be left
    out). Bad input ends the command (:func:`fail`).

    Returns:
        The :class:`~ecoflow.workloads.layer.ConvLayer`, named ``spec``.
    """
    from ecoflow.workloads.layer import ConvLayer

    fields: dict[str, object] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not key:
            fail(f"--layer-spec: {item}: expected key=value")
        if key not in SPEC_KEYS:
            fail(f"--layer-spec: {key}: unknown key; known: {', '.join(SPEC_KEYS)}")
        if key in fields:
            fail(f"--layer-spec: {key}: given twice")
        if key in SPEC_INTS:
            fields[key] = _spec_int(key, value)
        elif key in SPEC_PAIRS:
            parts = value.split("x")
            if len(parts) > 2:
                fail(f"--layer-spec: {key}: expected 2 or 2x1, got {value!r}")
            fields[key] = tuple(_spec_int(key, v) for v in parts) * (3 - len(parts))
        elif key == "padding":
            if ":" in value:
                parts = value.split(":")
                if len(parts) != 4:
                    fail(f"--layer-spec: padding: expected p, hxw or t:b:l:r, got {value!r}")
                t, b, left, r = (_spec_int(key, v) for v in parts)
                fields[key] = ((t, b), (left, r))
            else:
                parts = value.split("x")
                if len(parts) > 2:
                    fail(f"--layer-spec: padding: expected p, hxw or t:b:l:r, got {value!r}")
                fields[key] = tuple(_spec_int(key, v) for v in parts) * (3 - len(parts))
        else:
            fields[key] = value
    if batch is not None:
        fields["N"] = batch
    missing = [k for k in SPEC_REQUIRED if k not in fields]
    if missing:
        fail(f"--layer-spec: {missing[0]}: missing (required: {', '.join(SPEC_REQUIRED)})")
    try:
        return ConvLayer(**fields, name="spec")  # type: ignore[arg-type]
    except LayerError as err:
        fail(f"--layer-spec: {err.key}: {err.reason}")


def _pick_layer(
    network: str | None, layer: str | None, spec: str | None, variant: VariantOpt, batch: int | None
):
    if batch is not None and batch <= 0:
        fail(f"--batch: must be positive, got {batch}")
    if spec is not None:
        if network is not None or layer is not None:
            fail("--layer-spec: cannot be combined with --network/--layer")
        return parse_layer_spec(spec, batch)
    if network is None or layer is None:
        fail("give --network and --layer, or --layer-spec")
    if network not in networks.NETWORKS:
        fail(f"--network: unknown network {network!r}; known: {', '.join(networks.NETWORKS)}")
    shipped = networks.load(network, variant.value, batch or networks.BATCH)
    for candidate in shipped:
        if candidate.name == layer:
            return candidate
    names = [candidate.name for candidate in shipped]
    more = (
        f", ... ({len(names) - 6} more; see `ecoflow layers {network}`)" if len(names) > 6 else ""
    )
    fail(
        f"--layer: unknown layer {layer!r} in {network} ({variant.value}); "
        f"known: {', '.join(names[:6])}{more}"
    )


def _dataflow_and_hardware(dataflow: str, hardware: Path):
    """The registered dataflow and the loaded hardware (a clear error for either)."""
    from ecoflow import config, dataflows

    try:
        df = dataflows.get(dataflow)
    except KeyError as err:
        fail(f"--dataflow: {err.args[0]}")
    try:
        hw = config.load_hardware(hardware)
    except ConfigError as err:
        fail(str(err))
    return df, hw


class _LazyProgress:
    """A transient progress bar on standard error that appears only after ``delay`` seconds.

    Nothing is drawn when standard error is not a terminal (so pipes and tests stay clean). The
    elapsed time counts from entering the context, not from when the bar appears.
    """

    def __init__(self, description: str, delay: float = 1.0) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(stderr=True)
        self.enabled = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("passes"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.description = description
        self.lock = threading.Lock()
        self.task = None
        self.shown = False
        self.closed = False
        self.timer = threading.Timer(delay, self._show)
        self.timer.daemon = True

    def __enter__(self) -> _LazyProgress:
        # the task exists (and its clock runs) from now; the live display starts later
        self.task = self.progress.add_task(self.description, total=None)
        if self.enabled:
            self.timer.start()
        return self

    def _show(self) -> None:
        with self.lock:
            if not self.closed:
                self.progress.start()
                self.shown = True

    def update(self, done: int, total: int) -> None:
        """Record ``done`` of ``total`` passes simulated (the progress callback)."""
        if self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.closed = True
            self.timer.cancel()
            if self.shown:
                self.progress.stop()


def _functional(layer, phase: str, schedule, hw) -> tuple[list, dict[str, object]]:
    """Run an exhaustive schedule with integer-valued random operands; compare with JAX.

    Returns:
        The pass results in ``schedule.groups`` order and the ``functional`` report.
    """
    import jax.numpy as jnp
    import numpy as np

    from ecoflow.evaluate import run_functional
    from ecoflow.workloads import golden

    rng = np.random.default_rng(0)
    x, w, dy = (
        jnp.asarray(rng.integers(-3, 4, shape).astype(np.float32))
        for shape in (layer.input_shape, layer.weight_shape, layer.output_shape)
    )
    lhs, rhs = golden.operands(layer, phase, x, w, dy)
    out, results = run_functional(schedule, hw, np.asarray(lhs), np.asarray(rhs))
    expected = np.asarray(golden.run_padded(schedule.problem.padded, lhs, rhs))
    # run_functional returns results stage by stage; put them back in group order
    order = sorted(range(len(schedule.groups)), key=lambda i: schedule.groups[i].stage)
    by_group: list = [None] * len(order)
    for j, i in enumerate(order):
        by_group[i] = results[j]
    if out.shape != expected.shape:
        report = {"checked": 0, "max_abs_error": None, "equal": False,
                  "shape": [list(out.shape), list(expected.shape)]}  # fmt: skip
        return by_group, report
    error = float(np.max(np.abs(out - expected))) if out.size else 0.0
    report = {
        "checked": int(out.size),
        "max_abs_error": error,
        "equal": bool(np.array_equal(out, expected)),
    }
    return by_group, report


def _emit_result(data: dict[str, object], fmt: SimFormat) -> None:
    if fmt is SimFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console()
    main = Table(title=f"{data['layer']} {data['phase']} on {data['dataflow']} "
                 f"({data['hardware']})", show_header=False)  # fmt: skip
    main.add_column("key")
    main.add_column("value", justify="right")
    for key in ("cycles", "ideal_cycles", "macs", "zero_macs", "utilization", "time_ms",
                "passes", "distinct_passes", "fast_forwarded_cycles"):  # fmt: skip
        value = data[key]
        main.add_row(key, f"{value:.4f}" if isinstance(value, float) else f"{value:,}")
    main.add_row("cycles / ideal", f"{data['cycles'] / max(1, data['ideal_cycles']):.3f}")
    energy = data["energy_pj"]
    main.add_row(escape(f"energy [pJ] ({data['energy_table']})"), f"{energy['total']:,.0f}")
    main.add_row(escape("  by level [pJ]"), ", ".join(
        f"{k} {v:,.0f}" for k, v in energy.items() if k != "total"))  # fmt: skip
    main.add_row(escape("power [mW]"), f"{data['power_mw']:.1f}")
    main.add_row(escape("DRAM [bytes]"), f"{data['dram_bytes']:,.0f}")
    main.add_row(escape("global buffer [bytes]"), f"{data['gbuf_bytes']:,.0f}")
    mapping = data["mapping"]
    main.add_row("mapping", ", ".join(f"{k}={v}" for k, v in mapping.items()))
    main.add_row("layer shape", " ".join(f"{k}={v}" for k, v in data["layer_shape"].items()))
    if "functional" in data:
        f = data["functional"]
        main.add_row("functional", f"checked {f['checked']:,}, max |error| "
                     f"{f['max_abs_error']}, equal: {f['equal']}")  # fmt: skip
    console.print(main)
    counts = Table(title="event counts")
    for c in ("level", "action", "count"):
        counts.add_column(c, justify="right" if c == "count" else "left")
    for level, actions in data["counts"].items():
        for action, n in actions.items():
            counts.add_row(level, action, f"{n:,.0f}")
    stalls = Table(title="stall cycles")
    stalls.add_column("cause")
    stalls.add_column("stalls", justify="right")
    for cause, n in data["stall_cycles"].items():
        stalls.add_row(cause, f"{n:,}")
    from rich.columns import Columns

    console.print(Columns([counts, stalls]))


@app.command()
def simulate(
    phase: Annotated[PhaseOpt, typer.Option(help="training phase", show_default=False)],
    dataflow: Annotated[
        str, typer.Option(help="dataflow id (rs, tpu, ecoflow, ...)", show_default=False)
    ],
    hardware: Annotated[
        Path, typer.Option(help="hardware YAML file (config/hardware/...)", show_default=False)
    ],
    network: Annotated[
        str | None, typer.Option(help="network of a shipped layer (with --layer)")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="layer name (see `ecoflow layers`)")] = None,
    layer_spec: Annotated[
        str | None,
        typer.Option(
            "--layer-spec",
            help="a layer instead of --network/--layer: "
            '"N=1,C=3,H=9,W=9,K=4,R=3,S=3,stride=2,padding=1"; also groups, dilation, '
            "kind=conv|tconv; stride/dilation 2 or 2x1; padding p, hxw or "
            "top:bottom:left:right (1:1:0:2)",
        ),
    ] = None,
    variant: VariantArg = VariantOpt.base,
    batch: Annotated[
        int | None,
        typer.Option(help=f"images per batch (shipped layers: {networks.BATCH}; sets N of a spec)"),
    ] = None,
    functional: Annotated[
        bool,
        typer.Option(
            help="also run every pass with random integer values and compare the output with "
            "JAX exactly (exit 1 if it differs); implies --exhaustive; only practical for "
            "small layers (seconds to minutes)"
        ),
    ] = False,
    exhaustive: Annotated[
        bool, typer.Option(help="simulate every pass instead of one per distinct pass")
    ] = False,
    fast_forward: Annotated[
        bool,
        typer.Option(
            help="jump exactly over the repeating periods of a pass's steady state "
            "(--no-fast-forward steps every cycle: the same counts, slower)"
        ),
    ] = True,
    fmt: Annotated[SimFormat, typer.Option("--format", "-f", help="output format")] = (
        SimFormat.table
    ),
) -> None:
    """Simulate one layer phase on a dataflow and hardware, cycle by cycle."""
    from ecoflow import config, evaluate
    from ecoflow.dataflows.base import CompileError
    from ecoflow.sim.run import SimulationError
    from ecoflow.workloads.layer import format_pads, format_pair

    conv = _pick_layer(network, layer, layer_spec, variant, batch)
    df, hw = _dataflow_and_hardware(dataflow, hardware)
    try:
        table = config.load_energy_for(hardware, hw)
    except ConfigError as err:
        fail(str(err))
    problem = conv.problem(phase.value)
    reason = df.supports(problem, hw)
    if reason is not None:
        fail(f"--dataflow: {df.id} cannot run {conv.name} {phase.value} on {hw.name}: {reason}")
    report = None
    description = f"{conv.name} {phase.value} on {df.id}"
    try:
        with _LazyProgress(description) as bar:
            if functional:
                schedule = df.compile(problem, hw, exhaustive=True)
                bar.update(0, len(schedule.groups))
                results, report = _functional(conv, phase.value, schedule, hw)
                bar.update(len(schedule.groups), len(schedule.groups))
                result = evaluate.combine(
                    schedule, results, hw, df.ideal_cycles(problem, hw), table
                )
            else:
                result = evaluate.simulate(problem, df, hw, exhaustive=exhaustive,
                                           progress=bar.update, table=table,
                                           fast_forward=fast_forward)  # fmt: skip
    except CompileError as err:
        fail(str(err))
    except SimulationError as err:
        print(f"error: simulation failed: {err}", file=sys.stderr)
        raise typer.Exit(1) from None
    shape = {
        "N": conv.N, "C": conv.C, "H": conv.H, "W": conv.W, "K": conv.K, "R": conv.R,
        "S": conv.S, "stride": format_pair(conv.stride), "padding": format_pads(conv.padding),
        "dilation": format_pair(conv.dilation), "groups": conv.groups, "kind": conv.kind,
    }  # fmt: skip
    data: dict[str, object] = {
        "layer": conv.name,
        "network": network,
        "variant": variant.value if network else None,
        "layer_shape": shape,
        "phase": phase.value,
        "dataflow": df.id,
        "hardware": hw.name,
        "hardware_file": str(hardware),
        "exhaustive": exhaustive or functional,
        "energy_table": table.name,
        **result.to_dict(),
    }
    if report is not None:
        data["functional"] = report
    _emit_result(data, fmt)
    if report is not None and not report["equal"]:
        print(
            f"error: --functional: output differs from JAX ({report['checked']} elements, "
            f"max |error| {report['max_abs_error']})",
            file=sys.stderr,
        )
        raise typer.Exit(1)


@app.command("fuseconv")
def fuseconv(
    networks_: Annotated[
        list[str] | None, typer.Argument(metavar="NETWORK...", help="networks (default: all five)")
    ] = None,
    variants: Annotated[str, typer.Option(help="comma-separated variants")] = (
        "baseline,full,half,full_50pct,half_50pct"
    ),
    hardware: Annotated[Path, typer.Option(help="systolic hardware YAML file")] = Path(
        "config/hardware/tpu_64x64.yaml"
    ),
    fmt: Annotated[SimFormat, typer.Option("--format", "-f", help="output format")] = (
        SimFormat.table
    ),
) -> None:
    """FuSeConv: latency of each network variant, speedup over the baseline, time shares."""
    import yaml

    from ecoflow import config
    from ecoflow import fuseconv as fc
    from ecoflow.workloads import fuseconv as nets

    names = networks_ or list(nets.NETWORKS)
    for name in names:
        if name not in nets.NETWORKS:
            fail(f"NETWORK: unknown network {name!r}; known: {', '.join(nets.NETWORKS)}")
    wanted = [v.strip() for v in variants.split(",") if v.strip()]
    for v in wanted:
        if v not in nets.VARIANTS:
            fail(f"--variants: unknown variant {v!r}; known: {', '.join(nets.VARIANTS)}")
    if "baseline" not in wanted:
        fail("--variants: speedups need the baseline")
    try:
        config.load_hardware(hardware)
    except ConfigError as err:
        fail(str(err))
    ref_path = Path(__file__).resolve().parents[1] / "reference" / "fuseconv.yaml"
    ref = yaml.safe_load(ref_path.read_text()) if ref_path.is_file() else None
    parts = []
    for name in names:
        with _LazyProgress(f"{name} layers") as bar:
            parts.append(fc.simulate_variants(name, hardware, wanted, progress=bar.update))
    import pandas as pd

    table = fc.summary(pd.concat(parts, ignore_index=True), ref)
    rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in table.to_dict(orient="records")]  # fmt: skip
    if fmt is SimFormat.json:
        typer.echo(json.dumps(rows, indent=2))
        return
    emit(rows, Format.table, f"FuSeConv on {hardware.stem}, batch 1 (speedups over baseline)")


@app.command("noc")
def noc(
    network: NetworkArg,
    variant: VariantArg = VariantOpt.base,
    batch: BatchArg = networks.BATCH,
    hardware: Annotated[Path, typer.Option(help="hardware YAML file")] = Path(
        "config/hardware/ecoflow_13x15.yaml"
    ),
    dataflow: Annotated[str, typer.Option(help="dataflow id")] = "ecoflow",
    phases: Annotated[str, typer.Option(help="comma-separated phases")] = "igrad,fgrad",
    fmt: FormatOpt = Format.table,
) -> None:
    """Multicast IDs and bus widths each layer needs (§4.4, Table 1), and the network maximum."""
    from ecoflow import noc as nocs
    from ecoflow.dataflows.base import CompileError
    from ecoflow.workloads.layer import PHASES

    wanted = [p.strip() for p in phases.split(",") if p.strip()]
    for p in wanted:
        if p not in PHASES:
            fail(f"--phases: unknown phase {p!r}; known: {', '.join(PHASES)}")
    df, hw = _dataflow_and_hardware(dataflow, hardware)
    layers = _layers(network, variant, batch, Source.shipped)
    labels = networks.PAPER_LABELS.get(network, {})
    try:
        with _LazyProgress(f"{network} NoC needs") as bar:
            rows = nocs.network_table(layers, labels, df, hw, wanted, progress=bar.update)
    except CompileError as err:
        fail(str(err))
    if not rows:
        fail(f"--phases: nothing to report for {network}")
    top = rows[-1]
    gin = hw.noc.gin
    fits = top["row_ids"] <= gin.row_ids_per_xbus and top["col_ids"] <= gin.column_ids_per_pe
    title = (
        f"{network} ({variant.value}), batch {batch}, {hw.name}: {top['row_ids']} row IDs of "
        f"{top['row_bits']} bits per X-bus, {top['col_ids']} column IDs of {top['col_bits']} "
        f"bits per PE (the hardware has {gin.row_ids_per_xbus} and {gin.column_ids_per_pe}"
        f"{'' if fits else ': too few'})"
    )
    emit(rows, fmt, title)


validate_app = typer.Typer(
    no_args_is_help=True, help="Compare the simulator with published measurements."
)
app.add_typer(validate_app, name="validate")


@validate_app.command("eyeriss")
def validate_eyeriss(
    batch: Annotated[int, typer.Option(help="images per batch (the chip: 4)")] = 4,
    hardware: Annotated[Path, typer.Option(help="hardware YAML file")] = Path(
        "config/hardware/eyeriss_chip_12x14.yaml"
    ),
    fmt: FormatOpt = Format.table,
) -> None:
    """AlexNet inference on row stationary beside the Eyeriss chip (Table 2, §5.3)."""
    from ecoflow import eyeriss
    from ecoflow.dataflows.base import CompileError

    if batch <= 0:
        fail(f"--batch: must be positive, got {batch}")
    if not hardware.is_file():
        fail(f"--hardware: {hardware}: no such file")
    try:
        with _LazyProgress("AlexNet on the Eyeriss chip") as bar:
            rows = eyeriss.run(batch, hardware, progress=bar.update)
    except CompileError as err:
        fail(str(err))
    out = eyeriss.table(rows)
    title = (f"AlexNet inference, batch {batch}, rs on {hardware.stem} beside Table 2 "
             "(chip: Eyeriss JSSC 2017; sasim: the EcoFlow paper's simulator; errors: ours / "
             "theirs - 1)")  # fmt: skip
    if fmt is Format.table:
        out = [{k: ("" if v is None else v) for k, v in r.items()} for r in out]
    emit(out, fmt, title)


@app.command("check-config")
def check_config(
    files: Annotated[
        list[Path], typer.Argument(help="YAML files (hardware, energy, experiment, network)")
    ],
    fmt: FormatOpt = Format.table,
) -> None:
    """Validate configuration files; print what each one is."""
    from ecoflow import config

    rows = []
    for path in files:
        try:
            model = config.load(path)
        except ConfigError as err:
            fail(str(err))
        rows.append(
            {
                "file": str(path),
                "kind": type(model).__name__,
                "name": getattr(model, "name", ""),
                "status": "ok",
            }
        )
    emit(rows, fmt, "configuration")


@app.command("write-schemas")
def write_schemas(
    directory: Annotated[Path, typer.Argument(help="target directory")] = Path("workflow/schemas"),
) -> None:
    """Regenerate the JSON Schemas of the configuration models."""
    from ecoflow import config

    for path in config.write_schemas(directory):
        typer.echo(str(path))


def main() -> None:  # pragma: no cover - console entry
    """Run the CLI, turning validation errors into one-line messages."""
    try:
        app()
    except (ConfigError, LayerError) as err:
        fail(str(err))


if __name__ == "__main__":  # pragma: no cover
    main()
