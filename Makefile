# respool — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export RESPOOL_HOME ?= $(CURDIR)
DATA   := $(RESPOOL_HOME)/data
export RESPOOL_DB ?= $(DATA)/respool.duckdb
export RESPOOL_LANDING ?= $(DATA)/landing
DAYS   ?= 7
SCALE  ?= 0.2
SEED   ?= 20261026

.PHONY: run test lint bench dagster venv clean sample mutate browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11 ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	rm -rf $(RESPOOL_LANDING)
	$(BIN)/respool generate --out $(RESPOOL_LANDING) --days $(DAYS) --scale $(SCALE) --seed $(SEED)
	@# the sample carries damaged deliveries on purpose: ingest exits 1 after loading the good ones
	-$(BIN)/respool ingest --landing $(RESPOOL_LANDING) --landing $(RESPOOL_LANDING)/redelivery --db $(RESPOOL_DB)
	$(BIN)/respool build --db $(RESPOOL_DB)
	-$(BIN)/respool check --db $(RESPOOL_DB) --all-dates --manifest $(RESPOOL_LANDING)/generation.json
	$(BIN)/respool report --db $(RESPOOL_DB)
	$(BIN)/respool catalog build --db $(RESPOOL_DB)
	-$(BIN)/respool publish --db $(RESPOOL_DB)
	$(BIN)/respool summary --db $(RESPOOL_DB)
	@# a demo analyst of 杭州供电 (ZJ01) for the data service; a re-run issues a new token
	@$(BIN)/respool access revoke demo >/dev/null 2>&1 || true  # none yet on a first run
	@$(BIN)/respool access add-user demo --org ZJ01
	@echo "统一数据服务 data service: $(BIN)/respool serve   →  http://127.0.0.1:8000/docs  (Authorization: Bearer <the token above>)"
	@echo "  e.g. curl -H 'Authorization: Bearer <token>' 'http://127.0.0.1:8000/api/aging?as_of=2026-11-01'"

lint: $(STAMP)
	$(BIN)/ruff check .

# the browser tests (tests/test_pages.py) drive Debian's Chromium; Playwright cannot download its own here
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium fonts-noto-cjk)

test: lint browser
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# mutation testing of the ingest, publish and pool modules with the tests that cover them (not part
# of `make test` or CI): mutmut, then the score per module (target 90% killed)
mutate: $(STAMP)
	rm -rf mutants
	GX_ANALYTICS_ENABLED=false $(BIN)/python -m benchmarks.mutation_run --max-children 2 --min 90

dagster: $(STAMP)
	$(BIN)/python -m pipelines.orchestration.dagster_home $(RESPOOL_HOME)/.dagster
	DAGSTER_HOME=$(RESPOOL_HOME)/.dagster $(BIN)/dagster dev -m pipelines.orchestration.definitions

sample: $(STAMP)
	rm -rf sample_data/landing
	$(BIN)/respool generate --out sample_data/landing --days 3 --scale 0.02 --seed 7 --rows-per-file 1500

clean:
	rm -rf $(DATA) $(RESPOOL_HOME)/.dagster
