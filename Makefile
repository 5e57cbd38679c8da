# Two commands set everything up on a fresh machine:
#   make results   create .venv if missing, install, run the workflow (snakemake --cores 8)
#   make test      create .venv if missing, install, run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-ecoflow
CORES ?= 8
# memory the workflow's jobs may take together [MB] (80% of the machine's; Linux)
MEM_MB ?= $(shell awk '/^MemTotal:/ {print int($$2 / 1024 * 0.8)}' /proc/meminfo 2>/dev/null)
RESOURCES := $(if $(MEM_MB),--resources mem_mb=$(MEM_MB))
export SOURCE_DATE_EPOCH ?= 0
# the test files spread over one worker per core (at most 4), each file on one worker
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadfile

.PHONY: results test lint report schemas tables clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

results: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) $(RESOURCES)

report: results
	$(BIN)/snakemake --cores 1 --report results/report.html

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ecoflow tests benchmarks workflow/scripts
	$(BIN)/ruff format --check ecoflow tests benchmarks workflow/scripts
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint --cores 1

schemas: $(STAMP)
	$(BIN)/ecoflow write-schemas workflow/schemas

tables: $(STAMP)
	$(BIN)/python -c "from ecoflow.workloads import networks; networks.write_tables('ecoflow/workloads/data')"

clean:
	rm -rf results figures logs .snakemake .cache
