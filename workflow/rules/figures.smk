# Stage 3: figures and tables of the simulated layers (Figs. 9-11, Table 6).


rule training_tables:
    input:
        "results/summary.nc",
    output:
        layers="results/tables/layers.csv",
        table6_csv="results/tables/table6_end_to_end.csv",
        table6_md="results/tables/table6_end_to_end.md",
    log:
        "logs/training_tables.log",
    conda:
        ENV
    params:
        runs=RUNS,
    script:
        "../scripts/training_tables.py"


rule training_figure:
    input:
        "results/tables/layers.csv",
    output:
        report(
            "figures/{figure}.{ext}",
            caption="../report/{figure}.rst",
            category="CNN training",
        ),
    log:
        "logs/{figure}_{ext}.log",
    wildcard_constraints:
        figure="fig9_igrad_speedup|fig10_fgrad_speedup|fig11_energy",
    conda:
        ENV
    script:
        "../scripts/training_figure.py"
