"""Wall time of the zero analysis of every shipped network (all layers, variants, phases)."""

from __future__ import annotations

import platform
import time

from ecoflow.workloads import networks
from ecoflow.workloads.zeros import zero_rows


def main() -> None:
    total_rows = 0
    start = time.perf_counter()
    for network in networks.NETWORKS:
        for variant in networks.VARIANTS:
            total_rows += len(zero_rows(networks.load(network, variant)))
    elapsed = time.perf_counter() - start
    print(f"machine: {platform.machine()} {platform.processor() or ''}".strip())
    print(f"zero analysis: {total_rows} layer-phases in {elapsed:.3f} s "
          f"({total_rows / elapsed:.0f} per second)")  # fmt: skip


if __name__ == "__main__":
    main()
