# Stage 5: FuSeConv (reference/fuseconv.yaml): FuSe variants on st_os beside the baselines on tpu.


rule fuseconv_sim:
    input:
        hardware=f"config/hardware/{FUSE['hardware']}.yaml",
    output:
        "results/fuseconv/{fnet}.csv",
    log:
        "logs/fuseconv/{fnet}.log",
    conda:
        ENV
    params:
        variants=FUSE["variants"],
    script:
        "../scripts/fuseconv_sim.py"


rule fuseconv_table:
    input:
        reference="reference/fuseconv.yaml",
        layers=expand("results/fuseconv/{fnet}.csv", fnet=FUSE["networks"]),
    output:
        csv=report(
            "results/tables/fuseconv.csv",
            caption="../report/fuseconv.rst",
            category="FuSeConv",
        ),
        md="results/tables/fuseconv.md",
        figure=report(
            expand("figures/fuseconv_speedup.{ext}", ext=["png", "pdf"]),
            caption="../report/fuseconv.rst",
            category="FuSeConv",
        ),
    log:
        "logs/fuseconv_table.log",
    conda:
        ENV
    script:
        "../scripts/fuseconv_table.py"
