# Stage 3: figures and tables of the simulated layers (Figs. 9-11, Table 6).


rule training_tables:
    input:
        "results/summary.nc",
    output:
        layers="results/tables/layers.csv",
        table6_csv=report(
            "results/tables/table6_end_to_end.csv",
            caption="../report/table6.rst",
            category="CNN training",
        ),
        table6_md="results/tables/table6_end_to_end.md",
    log:
        "logs/training_tables.log",
    conda:
        ENV
    params:
        runs=RUNS,
    script:
        "../scripts/training_tables.py"


rule fig9:
    input:
        "results/tables/layers.csv",
    output:
        report(
            "figures/fig9_igrad_speedup.{ext}",
            caption="../report/fig9_igrad_speedup.rst",
            category="CNN training",
        ),
    log:
        "logs/fig9_igrad_speedup_{ext}.log",
    conda:
        ENV
    params:
        figure="fig9_igrad_speedup",
    script:
        "../scripts/training_figure.py"


rule fig10:
    input:
        "results/tables/layers.csv",
    output:
        report(
            "figures/fig10_fgrad_speedup.{ext}",
            caption="../report/fig10_fgrad_speedup.rst",
            category="CNN training",
        ),
    log:
        "logs/fig10_fgrad_speedup_{ext}.log",
    conda:
        ENV
    params:
        figure="fig10_fgrad_speedup",
    script:
        "../scripts/training_figure.py"


rule fig11:
    input:
        "results/tables/layers.csv",
    output:
        report(
            "figures/fig11_energy.{ext}",
            caption="../report/fig11_energy.rst",
            category="CNN training",
        ),
    log:
        "logs/fig11_energy_{ext}.log",
    conda:
        ENV
    params:
        figure="fig11_energy",
    script:
        "../scripts/training_figure.py"


rule eyeriss_table:
    input:
        hardware="config/hardware/eyeriss_chip_12x14.yaml",
        energy="config/energy/horowitz_45nm_int16.yaml",
    output:
        csv=report(
            "results/tables/table2_eyeriss.csv",
            caption="../report/table2.rst",
            category="Validation",
        ),
        md="results/tables/table2_eyeriss.md",
    log:
        "logs/eyeriss_table.log",
    conda:
        ENV
    params:
        batch=config["eyeriss"]["batch"],
    script:
        "../scripts/eyeriss_table.py"


rule noc_table:
    input:
        hardware="config/hardware/ecoflow_13x15.yaml",
        layers=expand("results/layers/{network}.csv", network=config["noc"]["networks"]),
    output:
        csv=report(
            "results/tables/noc_ids.csv",
            caption="../report/noc.rst",
            category="Networks on chip",
        ),
        md="results/tables/noc_ids.md",
    log:
        "logs/noc_table.log",
    conda:
        ENV
    params:
        networks=config["noc"]["networks"],
        layers=config["noc"]["layers"],
    script:
        "../scripts/noc_table.py"


rule paper_comparison:
    input:
        unpack(comparison_inputs),
    output:
        csv="results/tables/paper_comparison.csv",
        md="results/tables/paper_comparison.md",
        figure=report(
            expand("figures/paper_comparison.{ext}", ext=["png", "pdf"]),
            caption="../report/paper_comparison.rst",
            category="Paper comparison",
        ),
    log:
        "logs/paper_comparison.log",
    conda:
        ENV
    script:
        "../scripts/paper_comparison.py"
