import os

from snakemake.utils import min_version, validate

from ecoflow.config import FuseconvConfig, GanConfig
from ecoflow.workloads.zoo import ZOO

min_version("9.0")


validate(config, "../schemas/config.schema.json")

# Jobs share compiled simulator kernels through JAX's persistent cache (results do not depend
# on it; delete the folder to start cold).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.abspath(".cache/jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
# Simulation jobs keep each layer phase's result as it is simulated (ecoflow.resultcache): a job
# run again after an interruption simulates only the rest. Entries are found by a digest of the
# code, hardware and layer, so results never depend on it; delete the folder to start cold.
os.environ.setdefault("ECOFLOW_RESULT_CACHE", os.path.abspath(".cache/results"))

NETWORKS = config["networks"]
RUNS = config["runs"]
GAN = GanConfig(**config.get("gan", {})).model_dump()  # with the defaults
GAN_NETWORKS = GAN.get("networks", [])
GAN_RUNS = GAN.get("runs", [])
GAN_OUTPUTS = [
    f"results/sim/{network}/{run['hardware']}/{run['dataflow']}.nc"
    for network in GAN_NETWORKS
    for run in GAN_RUNS
]
GAN_TARGETS = (
    [
        "results/tables/table8_gan_end_to_end.md",
        *(
            f"figures/{f}.{e}"
            for f in ("fig12_gan_speedup", "fig13_gan_energy")
            for e in ("png", "pdf")
        ),
    ]
    if GAN_NETWORKS
    else []
)
FUSE = FuseconvConfig(**config.get("fuseconv", {})).model_dump()
FUSE_TARGETS = (
    [
        "results/tables/fuseconv.md",
        *(f"figures/fuseconv_speedup.{e}" for e in ("png", "pdf")),
    ]
    if FUSE["networks"]
    else []
)
# the CNNs (Table 6); GANs are simulated with the gan settings (Table 8)
SIM_NETWORKS = [
    n for n in config["simulate"].get("networks") or NETWORKS if n not in GAN_NETWORKS
]
SIM_OUTPUTS = [
    f"results/sim/{network}/{run['hardware']}/{run['dataflow']}.nc"
    for network in SIM_NETWORKS
    for run in RUNS
]
# Peak resident memory of one simulation job [MB], a bound from the largest jobs measured
# (benchmarks/README.md): the scheduler runs no more jobs at once than --resources mem_mb
# allows (`make results` passes 80% of the machine's memory).
# MobileNet-V1 on ecoflow: 8.2 GB peak; pix2pix (every layer, batch 1) on rs: 11.2 GB
# (ganax, row stationary with decomposed programs, takes the rs bound)
JOB_MEM_MB = {"ecoflow": 9000, "rs": 12000, "ganax": 12000}
# jobs measured above their dataflow's bound (every layer, batch 1): pix2pix on ecoflow 19.2 GB
# resident (the file pages of paged programs counted, base.paged), pix2pix on ganax 15.0 GB.
# Snakemake caps a declaration at --resources mem_mb: on a smaller machine such a job runs alone.
NETWORK_MEM_MB = {("pix2pix", "ecoflow"): 20000, ("pix2pix", "ganax"): 16000}


def job_mem_mb(wildcards):
    key = (wildcards.network, wildcards.dataflow)
    return NETWORK_MEM_MB.get(key, JOB_MEM_MB.get(wildcards.dataflow, 6000))


# The package's environment, for users who run with --software-deployment-method conda.
ENV = "../../environment.yml"


wildcard_constraints:
    network="|".join(NETWORKS),
    dataflow="|".join(sorted({r["dataflow"] for r in RUNS + GAN_RUNS}) or ["none"]),
    hardware="[A-Za-z0-9_.-]+",
    ext="png|pdf",
    fnet="|".join(FUSE["networks"]) or "none",


def layer_source(wildcards):
    """zoo where the model zoo has the network and the config asks for it, else builder."""
    if config["layer_source"] == "zoo" and wildcards.network in ZOO:
        return "zoo"
    return "builder"


def energy_table(wildcards):
    """The energy table the hardware file names (editing it re-runs the jobs that use it)."""
    from ecoflow.config import energy_table_path, load_hardware

    hw_file = f"config/hardware/{wildcards.hardware}.yaml"
    return str(energy_table_path(hw_file, load_hardware(hw_file)))


def sim_setting(key):
    """A simulation job's setting: from ``gan`` for the GANs, else from ``simulate``."""

    def get(wildcards):
        if wildcards.network in GAN_NETWORKS:
            return GAN[key]
        return config["variants"] if key == "variants" else config["simulate"][key]

    return get


def comparison_inputs(wildcards):
    """The paper comparison's tables, the GAN ones when the GAN stage runs."""
    inputs = {
        "reference": "reference/ecoflow_paper.yaml",
        "layers": "results/tables/layers.csv",
        "table6": "results/tables/table6_end_to_end.csv",
        "table2": "results/tables/table2_eyeriss.csv",
        "noc": "results/tables/noc_ids.csv",
        "zeros": "results/zeros.nc",
    }
    if GAN_NETWORKS:
        inputs["gan_layers"] = "results/tables/gan_layers.csv"
        inputs["table8"] = "results/tables/table8_gan_end_to_end.csv"
    return inputs
