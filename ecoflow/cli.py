"""Command line: ``ecoflow layers``, ``ecoflow zeros``, ``ecoflow check-config``.

Every command takes ``--format table|csv|json``. Bad input ends with one line on standard error
that names the file or option, the key and the reason, and exit code 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
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
