"""Typed, frozen configuration: hardware, energy tables, experiments and user layer tables.

Every YAML file is validated once, here, against a pydantic model with ``extra="forbid"``; units
are part of the key names (``clock_mhz``, ``size_kib``, ``width_bits``). A file that does not
validate raises :class:`ConfigError`, whose one-line message names the file, the key path and the
reason. The JSON Schemas in ``workflow/schemas/`` are generated from these models
(:func:`write_schemas`).

The defaults are the base accelerator of the EcoFlow paper (Table 3) with the Eyeriss networks on
chip (Table 1); the shipped files under ``config/`` repeat every number with its source.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecoflow.workloads.fuseconv import NETWORKS as FUSECONV_NETWORKS
from ecoflow.workloads.layer import ConvLayer, LayerError
from ecoflow.workloads.networks import NETWORKS

PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", min_length=1)]


class ConfigError(ValueError):
    """A configuration file that cannot be used.

    Attributes:
        file: the file.
        key: dotted key path inside the file (empty for the whole file).
        reason: what is wrong.
    """

    def __init__(self, file: str | Path, key: str, reason: str) -> None:
        self.file, self.key, self.reason = str(file), key, reason
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {reason}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- hardware -----------------------------------------------------------------------------
class ArrayConfig(_Model):
    """The PE array."""

    rows: PosInt = Field(13, description="PE rows (Table 3: 13)")
    cols: PosInt = Field(15, description="PE columns (Table 3: 15)")
    interconnect: Literal["multicast", "systolic"] = Field(
        "multicast",
        description="multicast: Eyeriss-style GIN/GON and local links; systolic: operands "
        "move between neighbour PEs only (TPU)",
    )


class PEConfig(_Model):
    """One processing element."""

    ifmap_spad_entries: PosInt = Field(75, description="ifmap scratchpad [16-bit words]")
    filter_spad_entries: PosInt = Field(224, description="filter scratchpad [16-bit words]")
    psum_spad_entries: PosInt = Field(24, description="psum scratchpad [16-bit words]")
    spad_latency_cycles: PosInt = Field(1, description="scratchpad access latency [cycles]")
    multiplier_stages: PosInt = Field(2, description="multiplier pipeline depth [cycles]")
    adder_stages: PosInt = Field(1, description="accumulator pipeline depth [cycles]")
    queue_entries: PosInt = Field(8, description="input/output queue depth [words]")
    operand_registers: PosInt = Field(
        2,
        description="systolic operand buffer per input [words]: a register and its skid entry "
        "sustain one word per cycle per link",
    )
    zero_gating: bool = Field(True, description="a zero operand costs its cycle, not its energy")


class GinConfig(_Model):
    """Global input network: one Y-bus of X-buses with multicast tags (§4.4, Fig. 8)."""

    wide_width_bits: PosInt = Field(
        64,
        description="first GIN channel [bits/cycle]: filters (forward), errors (igrad), "
        "ifmaps (fgrad)",
    )
    narrow_width_bits: PosInt = Field(
        16,
        description="second GIN channel [bits/cycle]: ifmaps (forward), filters (igrad), "
        "errors (fgrad)",
    )
    row_ids_per_xbus: PosInt = Field(1, description="multicast row IDs per X-bus")
    column_ids_per_pe: PosInt = Field(1, description="multicast column IDs per PE controller")
    hop_latency_cycles: PosInt = Field(1, description="latency of one hop [cycles]")


class LinkConfig(_Model):
    """A point-to-point or output network."""

    width_bits: PosInt = Field(64, description="bus width [bits/cycle]")
    hop_latency_cycles: PosInt = Field(1, description="latency of one hop [cycles]")


class NocConfig(_Model):
    """Networks on chip (Table 1)."""

    gin: GinConfig = GinConfig()
    gon: LinkConfig = LinkConfig()
    local: LinkConfig = LinkConfig()


class GlobalBufferConfig(_Model):
    """On-chip global buffer."""

    size_kib: PosFloat = Field(108, description="capacity [KiB] (Table 3: 108 KiB)")
    banks: PosInt = Field(27, description="independent banks (Table 3: 27)")
    bank_width_bits: PosInt = Field(64, description="one access per bank per cycle [bits]")


class DramConfig(_Model):
    """Off-chip memory."""

    kind: str = Field("DDR4-1866", description="device, for reports")
    bandwidth_gb_per_s: PosFloat = Field(
        14.93, description="peak bandwidth [GB/s]: 1866 MT/s x 64-bit channel"
    )
    latency_ns: NonNegFloat = Field(
        27.9, description="access latency [ns]: tRCD + CL = 13 + 13 cycles at 933 MHz"
    )
    size_gib: PosFloat = Field(4, description="capacity [GiB] (Table 3: 4 GB)")
    burst_bytes: PosInt = Field(
        64,
        description="bytes of one burst, the unit the buffer moves [B]: DDR4 BL8 x 64-bit "
        "channel = 64 B",
    )


class HardwareConfig(_Model):
    """An accelerator: PE array, PEs, networks on chip, memories and the energy table to use."""

    name: Name
    description: str = ""
    clock_mhz: PosFloat = Field(200, description="clock [MHz] (Table 3: 200 MHz)")
    word_bits: PosInt = Field(16, description="datapath word [bits] (bfloat16 training)")
    array: ArrayConfig = ArrayConfig()
    pe: PEConfig = PEConfig()
    noc: NocConfig = NocConfig()
    global_buffer: GlobalBufferConfig = GlobalBufferConfig()
    dram: DramConfig = DramConfig()
    energy_table: Name = Field("horowitz_45nm", description="file stem under config/energy/")
    technology_scale: PosFloat = Field(
        1.0, description="multiplier on every energy of the table (65 nm vs 45 nm: 1.4)"
    )
    unmodelled_power_share: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.0,
        description="share of total power from components the model omits (clock tree), "
        "added for chip validation only",
    )

    @property
    def pes(self) -> int:
        """Number of PEs."""
        return self.array.rows * self.array.cols

    @property
    def segment_words(self) -> int:
        """Words of one DRAM burst: the unit in which the global buffer holds rows [words]."""
        return max(1, self.dram.burst_bytes * 8 // self.word_bits)


# ---- energy -------------------------------------------------------------------------------
class EnergyEntry(_Model):
    """One energy figure with where it comes from."""

    energy_pj: NonNegFloat = Field(description="energy per action [pJ]")
    source: str = Field(min_length=1, description="derivation of the number")


class AluEnergy(_Model):
    """Arithmetic, per 16-bit operation."""

    mult: EnergyEntry
    add: EnergyEntry
    zero_gated_mac: EnergyEntry


class SpadEnergy(_Model):
    """PE scratchpads, per word."""

    read: EnergyEntry
    write: EnergyEntry


class NocEnergy(_Model):
    """Networks on chip, per word and hop."""

    hop: EnergyEntry
    queue_push: EnergyEntry


class GbufEnergy(_Model):
    """Global buffer, per word."""

    read: EnergyEntry
    write: EnergyEntry


class DramEnergy(_Model):
    """Off-chip memory, per byte moved."""

    read: EnergyEntry = Field(description="energy per byte read [pJ/B]")
    write: EnergyEntry = Field(description="energy per byte written [pJ/B]")


class EnergyTable(_Model):
    """Energy per action per level (``alu spad noc gbuf dram``)."""

    name: Name
    description: str = ""
    technology_nm: PosInt
    word_bits: PosInt = 16
    alu: AluEnergy
    spad: SpadEnergy
    noc: NocEnergy
    gbuf: GbufEnergy
    dram: DramEnergy


# ---- layers (user networks) -------------------------------------------------------------
class LayerSpec(_Model):
    """One layer of a user-supplied network file."""

    name: Name
    N: PosInt = 4
    C: PosInt
    H: PosInt
    W: PosInt
    K: PosInt
    R: PosInt
    S: PosInt
    stride: PosInt | tuple[PosInt, PosInt] = 1
    padding: (
        NonNegInt
        | tuple[NonNegInt, NonNegInt]
        | tuple[tuple[NonNegInt, NonNegInt], tuple[NonNegInt, NonNegInt]]
    ) = 0
    dilation: PosInt | tuple[PosInt, PosInt] = 1
    groups: PosInt = 1
    kind: Literal["conv", "tconv"] = "conv"

    def to_layer(self) -> ConvLayer:
        """The validated :class:`ConvLayer`."""
        return ConvLayer(**self.model_dump())

    @model_validator(mode="after")
    def _valid_convolution(self) -> LayerSpec:
        try:
            self.to_layer()
        except LayerError as err:
            raise ValueError(f"[{err.key}] {err.reason}") from None
        return self


class NetworkFile(_Model):
    """A user-supplied network: a list of convolution layers."""

    name: Name
    description: str = ""
    layers: list[LayerSpec] = Field(min_length=1)


# ---- experiment ---------------------------------------------------------------------------
class Fig3Config(_Model):
    """Figure 3: zero multiplications of igrad and fgrad in representative layers."""

    networks: list[Name] = Field(default_factory=lambda: ["resnet50", "alexnet"])
    variants: list[Literal["base", "opt"]] = Field(default_factory=lambda: ["base", "opt"])


class RunConfig(_Model):
    """One dataflow on one hardware."""

    dataflow: Literal["rs", "tpu", "ecoflow", "ganax", "st_os"] = Field(description="dataflow id")
    hardware: Name = Field(description="file stem in config/hardware/")


class SimulateConfig(_Model):
    """Which layers and phases the simulation stage runs."""

    networks: list[Name] | None = Field(
        None, description="networks to simulate (default: every network of the experiment)"
    )
    layers: Literal["all", "paper"] | list[Name] = Field(
        "all",
        description="all: every convolution; paper: the layers Tables 5 and 7 name; or a list "
        "of layer names",
    )
    phases: list[Literal["forward", "igrad", "fgrad"]] = Field(
        default_factory=lambda: ["forward", "igrad", "fgrad"], description="training phases"
    )


class GanConfig(_Model):
    """§6.3: GAN training (Figs. 12-13 on the Table 7 layers, Table 8 end to end)."""

    networks: list[Name] = Field(
        default_factory=list, description="GANs to simulate (none: the stage is skipped)"
    )
    variants: list[Literal["base", "opt"]] = Field(
        default_factory=lambda: ["base"], description="GANs have no pooling to fold: base"
    )
    batch: PosInt = Field(4, description="images per batch of the GAN layer tables")
    layers: Literal["all", "paper"] | list[Name] = Field(
        "all", description="all: every convolution (Table 8); paper: the Table 7 layers only"
    )
    phases: list[Literal["forward", "igrad", "fgrad"]] = Field(
        default_factory=lambda: ["forward", "igrad", "fgrad"], description="training phases"
    )
    runs: list[RunConfig] = Field(
        default_factory=list, description="dataflow and hardware pairs (rs, tpu, ganax, ecoflow)"
    )

    @model_validator(mode="after")
    def _baselines(self) -> GanConfig:
        flows = [r.dataflow for r in self.runs]
        if self.networks and not {"rs", "tpu"} <= set(flows):
            raise ValueError("[gan.runs] Fig. 12 normalises to rs and Table 8 to tpu: both must "
                             f"run, got {flows}")  # fmt: skip
        return self


class FuseconvConfig(_Model):
    """FuSeConv (reference/fuseconv.yaml): inference latency of FuSe variants on ST-OS."""

    networks: list[Name] = Field(
        default_factory=list, description="FuSeConv networks (none: the stage is skipped)"
    )
    variants: list[Literal["baseline", "full", "half", "full_50pct", "half_50pct"]] = Field(
        default_factory=lambda: ["baseline", "full", "half", "full_50pct", "half_50pct"],
        description="network variants (baseline: depthwise KxK on tpu)",
    )
    hardware: Name = Field("tpu_64x64", description="systolic hardware file stem")

    @field_validator("networks")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in FUSECONV_NETWORKS]
        if unknown:
            raise ValueError(f"unknown FuSeConv network(s) {unknown}; known: "
                             f"{list(FUSECONV_NETWORKS)}")  # fmt: skip
        return names

    @model_validator(mode="after")
    def _has_baseline(self) -> FuseconvConfig:
        if self.networks and "baseline" not in self.variants:
            raise ValueError("speedups are over the baseline: variants must include it")
        return self


class EyerissConfig(_Model):
    """Table 2: the Eyeriss chip validation."""

    batch: PosInt = Field(4, description="images per batch (the chip was measured at 4)")


class NocTableConfig(_Model):
    """The §4.4 table of multicast IDs and bus widths."""

    networks: list[Name] = Field(
        default_factory=lambda: ["alexnet", "resnet50"], description="§4.4 sizes them for these"
    )
    layers: Literal["all", "paper"] | list[Name] = Field("all", description="layers analysed")


class ExperimentConfig(_Model):
    """What the workflow runs (``config/config.yaml``)."""

    networks: list[Name] = Field(min_length=1, description="networks to evaluate")
    variants: list[Literal["base", "opt"]] = Field(
        default_factory=lambda: ["base", "opt"], description="opt: pooling folded into stride"
    )
    batch: PosInt = Field(4, description="images per batch (§6.2: 4)")
    layer_source: Literal["zoo", "builder"] = Field(
        "zoo", description="zoo: Keras applications where they have the network, else builders"
    )
    runs: list[RunConfig] = Field(
        default_factory=list, description="dataflow and hardware pairs to simulate"
    )
    simulate: SimulateConfig = SimulateConfig()
    gan: GanConfig = GanConfig()
    fuseconv: FuseconvConfig = FuseconvConfig()
    eyeriss: EyerissConfig = EyerissConfig()
    noc: NocTableConfig = NocTableConfig()
    fig3: Fig3Config = Fig3Config()

    @field_validator("networks")
    @classmethod
    def _known_networks(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in NETWORKS]
        if unknown:
            raise ValueError(f"unknown network(s) {unknown}; known: {list(NETWORKS)}")
        return names

    @model_validator(mode="after")
    def _simulated_networks_have_tables(self) -> ExperimentConfig:
        for key, names in (("simulate.networks", self.simulate.networks or []),
                           ("gan.networks", self.gan.networks),
                           ("noc.networks", self.noc.networks)):  # fmt: skip
            missing = [n for n in names if n not in self.networks]
            if missing:
                raise ValueError(f"[{key}] {missing} are not in networks")
        return self


# ---- loading ------------------------------------------------------------------------------
KIND_BY_KEY: dict[str, type[_Model]] = {
    "array": HardwareConfig,
    "alu": EnergyTable,
    "layers": NetworkFile,
    "networks": ExperimentConfig,
}


def _read_yaml(path: Path) -> Any:
    if not path.exists():
        raise ConfigError(path, "", "file not found")
    if path.is_dir():
        raise ConfigError(path, "", "is a directory, expected a YAML file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise ConfigError(path, where, f"not valid YAML ({getattr(err, 'problem', err)})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "", "expected a mapping of keys at the top level")
    return data


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` (the parent of an unknown key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                current = cand
                break
            for inner in getattr(cand, "__args__", ()):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    break
    return list(getattr(current, "model_fields", {}))


_UNITS = (
    "hz", "khz", "mhz", "ghz", "b", "kb", "mb", "gb", "kib", "mib", "gib", "bits", "bytes",
    "words", "entries", "ns", "us", "ms", "s", "cycles", "fj", "pj", "nj", "uj", "mj", "mw", "w",
)  # fmt: skip
_UNIT_ALT = "|".join(_UNITS)
_UNIT = re.compile(rf"_(?:{_UNIT_ALT})(?:_per_(?:{_UNIT_ALT}))?$")


def _explain(model: type[BaseModel], err: dict[str, Any]) -> tuple[str, str]:
    """Key path and one-line reason for the first pydantic error."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    loc = tuple(p for p in loc if p not in ("int", "tuple[int,int]", "tuple"))
    key = ".".join(str(p) for p in loc)
    reason = err["msg"]
    if err["type"] == "extra_forbidden":
        name = str(loc[-1])
        known = _known_keys(model, loc[:-1])
        stem = _UNIT.sub("", name)
        same_stem = [k for k in known if _UNIT.sub("", k) == stem and k != name]
        if same_stem:
            reason = f"unknown key (wrong unit? this key is spelled {same_stem[0]!r})"
        else:
            close = difflib.get_close_matches(name, known, n=1)
            reason = f"unknown key (did you mean {close[0]!r}?)" if close else "unknown key"
            if known and not close:
                reason += f"; allowed: {', '.join(known)}"
    elif err["type"] == "missing":
        reason = "required key is missing"
    elif err["type"] == "value_error":
        reason = reason.removeprefix("Value error, ")
        m = re.match(r"\[(\w+)\] (.*)", reason)
        if m:
            key = f"{key}.{m.group(1)}" if key else m.group(1)
            reason = m.group(2)
    if "input" in err and err["type"] not in ("missing", "extra_forbidden", "value_error"):
        reason = f"{reason} (got {err['input']!r})"
    return key, reason


def validate(model: type[_Model], data: Any, file: str | Path) -> Any:
    """Validate ``data`` against ``model``; raise :class:`ConfigError` naming the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        key, reason = _explain(model, exc.errors()[0])
        raise ConfigError(file, key, reason) from None


def load(path: str | Path, model: type[_Model] | None = None) -> Any:
    """Load and validate one YAML file.

    Args:
        path: the file.
        model: the expected model; inferred from the top-level keys when omitted.

    Raises:
        ConfigError: the file is missing, not YAML, or does not validate.
    """
    path = Path(path)
    data = _read_yaml(path)
    if model is None:
        model = next((m for k, m in KIND_BY_KEY.items() if k in data), None)
        if model is None:
            raise ConfigError(
                path,
                "",
                f"cannot tell the kind of file: expected one of the top-level keys "
                f"{', '.join(KIND_BY_KEY)}",
            )
    return validate(model, data, path)


def load_hardware(path: str | Path) -> HardwareConfig:
    """Load a hardware file."""
    return load(path, HardwareConfig)


def load_energy(path: str | Path) -> EnergyTable:
    """Load an energy table."""
    return load(path, EnergyTable)


def energy_table_path(hardware_file: str | Path, hw: HardwareConfig) -> Path:
    """The energy table a hardware file names.

    It is ``energy/<energy_table>.yaml`` beside the directory that holds the hardware file:
    ``config/hardware/x.yaml`` uses ``config/energy/<energy_table>.yaml``.

    Raises:
        ConfigError: no such file.
    """
    path = Path(hardware_file).resolve().parent.parent / "energy" / f"{hw.energy_table}.yaml"
    if not path.is_file():
        raise ConfigError(hardware_file, "energy_table", f"no energy table {hw.energy_table!r}:"
                          f" {path} does not exist")  # fmt: skip
    return path


def load_energy_for(hardware_file: str | Path, hw: HardwareConfig) -> EnergyTable:
    """The energy table of a hardware file (see :func:`energy_table_path`)."""
    return load_energy(energy_table_path(hardware_file, hw))


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Load an experiment config."""
    return load(path, ExperimentConfig)


SCHEMAS: dict[str, type[_Model]] = {
    "config.schema.json": ExperimentConfig,
    "hardware.schema.json": HardwareConfig,
    "energy.schema.json": EnergyTable,
    "network.schema.json": NetworkFile,
}


def schema(model: type[_Model]) -> dict[str, Any]:
    """JSON Schema of a model, with the ``$schema`` key Snakemake's ``validate`` needs."""
    body = model.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def render_schemas() -> dict[str, str]:
    """File name -> JSON text of every schema (sorted keys, trailing newline)."""
    return {
        name: json.dumps(schema(m), indent=2, sort_keys=True) + "\n" for name, m in SCHEMAS.items()
    }


def write_schemas(directory: str | Path) -> list[Path]:
    """Write the JSON Schemas of every configuration model into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        target = directory / name
        target.write_text(text)
        written.append(target)
    return written
