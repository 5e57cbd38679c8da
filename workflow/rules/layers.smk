# Stage 1: layer tables, zero analysis and Fig. 3.


rule layer_table:
    output:
        "results/layers/{network}.csv",
    log:
        "logs/layers/{network}.log",
    conda:
        ENV
    params:
        source=layer_source,
        batch=lambda w: GAN["batch"] if w.network in GAN_NETWORKS else config["batch"],
    script:
        "../scripts/layer_table.py"


rule zero_table:
    input:
        "results/layers/{network}.csv",
    output:
        "results/zeros/{network}.csv",
    log:
        "logs/zeros/{network}.log",
    conda:
        ENV
    script:
        "../scripts/zero_table.py"


rule zero_dataset:
    input:
        layers=expand("results/layers/{network}.csv", network=NETWORKS),
        zeros=expand("results/zeros/{network}.csv", network=NETWORKS),
    output:
        "results/zeros.nc",
    log:
        "logs/zero_dataset.log",
    conda:
        ENV
    params:
        networks=NETWORKS,
    script:
        "../scripts/zero_dataset.py"


rule fig3:
    input:
        "results/zeros.nc",
    output:
        report(
            "figures/fig3_zero_fraction.{ext}",
            caption="../report/fig3.rst",
            category="Zero analysis",
        ),
    log:
        "logs/fig3_{ext}.log",
    conda:
        ENV
    params:
        networks=config["fig3"]["networks"],
        variants=config["fig3"]["variants"],
    script:
        "../scripts/fig3.py"
