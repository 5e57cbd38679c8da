import os

from snakemake.utils import min_version, validate

from ecoflow.workloads.zoo import ZOO

min_version("9.0")


validate(config, "../schemas/config.schema.json")

# Jobs share compiled simulator kernels through JAX's persistent cache (results do not depend
# on it; delete the folder to start cold).
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.abspath(".cache/jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")

NETWORKS = config["networks"]
RUNS = config["runs"]
SIM_NETWORKS = config["simulate"].get("networks") or NETWORKS
SIM_OUTPUTS = [
    f"results/sim/{network}/{run['hardware']}/{run['dataflow']}.nc"
    for network in SIM_NETWORKS
    for run in RUNS
]
# The package's environment, for users who run with --software-deployment-method conda.
ENV = "../../environment.yml"


wildcard_constraints:
    network="|".join(NETWORKS),
    dataflow="|".join(sorted({r["dataflow"] for r in RUNS}) or ["none"]),
    hardware="[A-Za-z0-9_.-]+",
    ext="png|pdf",


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
