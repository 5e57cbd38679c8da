# Stage 2: cycle-level simulation, one job per (network, hardware, dataflow), and the merge.


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
    resources:
        mem_mb=job_mem_mb,
    params:
        variants=sim_setting("variants"),
        layers=sim_setting("layers"),
        phases=sim_setting("phases"),
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


rule gan_summary:
    input:
        GAN_OUTPUTS,
    output:
        "results/gan_summary.nc",
    log:
        "logs/gan_summary.log",
    conda:
        ENV
    script:
        "../scripts/summary.py"
