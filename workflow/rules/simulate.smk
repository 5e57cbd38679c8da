# Stage 2: cycle-level simulation, one job per (network, hardware, dataflow), and the merge.


def energy_table(wildcards):
    """The energy table the hardware file names (editing it re-runs the jobs that use it)."""
    from ecoflow.config import energy_table_path, load_hardware

    hw_file = f"config/hardware/{wildcards.hardware}.yaml"
    return str(energy_table_path(hw_file, load_hardware(hw_file)))


rule simulate:
    input:
        layers="results/layers/{network}.csv",
        hardware="config/hardware/{hardware}.yaml",
        energy=energy_table,
    output:
        "results/sim/{network}/{hardware}/{dataflow}.nc",
    log:
        "logs/sim/{network}/{hardware}/{dataflow}.log",
    conda:
        ENV
    params:
        variants=config["variants"],
        layers=config["simulate"]["layers"],
        phases=config["simulate"]["phases"],
    script:
        "../scripts/simulate.py"


rule summary:
    input:
        SIM_OUTPUTS,
    output:
        "results/summary.nc",
    log:
        "logs/summary.log",
    conda:
        ENV
    script:
        "../scripts/summary.py"
