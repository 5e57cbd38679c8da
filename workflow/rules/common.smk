from snakemake.utils import min_version, validate

from ecoflow.workloads.zoo import ZOO

min_version("9.0")


validate(config, "../schemas/config.schema.json")

NETWORKS = config["networks"]
# The package's environment, for users who run with --software-deployment-method conda.
ENV = "../../environment.yml"


wildcard_constraints:
    network="|".join(NETWORKS),
    ext="png|pdf",


def layer_source(wildcards):
    """zoo where the model zoo has the network and the config asks for it, else builder."""
    if config["layer_source"] == "zoo" and wildcards.network in ZOO:
        return "zoo"
    return "builder"
