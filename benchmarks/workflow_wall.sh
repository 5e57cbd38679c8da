#!/usr/bin/env bash
# Wall time of a cold workflow run: a fresh copy of the workflow, configs and reference data in a
# temporary folder, then `snakemake --cores N` with the given config (default: the full one).
#   benchmarks/workflow_wall.sh                      # config/config.yaml, 2 cores
#   benchmarks/workflow_wall.sh .test/config/config.yaml 2
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="${1:-config/config.yaml}"
cores="${2:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/workflow" "$root/config" "$root/.test" "$root/reference" "$root/environment.yml" "$work/"
cd "$work"
start=$(date +%s.%N)
SOURCE_DATE_EPOCH=0 "$root/.venv/bin/snakemake" --cores "$cores" --configfile "$config" \
    > "$work/snakemake.log" 2>&1 || { tail -40 "$work/snakemake.log"; exit 1; }
end=$(date +%s.%N)
steps=$(grep -Eo '[0-9]+ of [0-9]+ steps' "$work/snakemake.log" | tail -1)
printf 'config %s, --cores %s: %s in %.1f s on %s (%s CPUs)\n' "$config" "$cores" "$steps" \
    "$(echo "$end - $start" | bc)" "$(uname -m)" "$(nproc)"
