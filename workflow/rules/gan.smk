# Stage 4: GAN training (§6.3): Figs. 12-13 on the Table 7 layers, Table 8 end to end.


rule gan_tables:
    input:
        "results/gan_summary.nc",
    output:
        layers="results/tables/gan_layers.csv",
        table8_csv=report(
            "results/tables/table8_gan_end_to_end.csv",
            caption="../report/table8.rst",
            category="GAN training",
        ),
        table8_md="results/tables/table8_gan_end_to_end.md",
    log:
        "logs/gan_tables.log",
    conda:
        ENV
    params:
        runs=GAN_RUNS,
    script:
        "../scripts/gan_tables.py"


rule fig12:
    input:
        "results/tables/gan_layers.csv",
    output:
        report(
            "figures/fig12_gan_speedup.{ext}",
            caption="../report/fig12_gan_speedup.rst",
            category="GAN training",
        ),
    log:
        "logs/fig12_gan_speedup_{ext}.log",
    conda:
        ENV
    params:
        figure="fig12_gan_speedup",
    script:
        "../scripts/gan_figure.py"


rule fig13:
    input:
        "results/tables/gan_layers.csv",
    output:
        report(
            "figures/fig13_gan_energy.{ext}",
            caption="../report/fig13_gan_energy.rst",
            category="GAN training",
        ),
    log:
        "logs/fig13_gan_energy_{ext}.log",
    conda:
        ENV
    params:
        figure="fig13_gan_energy",
    script:
        "../scripts/gan_figure.py"
