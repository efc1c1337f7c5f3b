# Every target sets itself up: a fresh clone needs only python3 (3.11+).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: demo test ui lint format bench services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## demo: the main job on embedded defaults (SQLite, local folder, sandbox providers)
demo: $(STAMP)
	$(BIN)/beat demo

## test: the whole suite against real PostgreSQL, Redis and RabbitMQ (started if down)
test: $(STAMP) services
	$(BIN)/ruff check .
	$(BIN)/pytest -q

## ui: Dagster's UI on the demo's world (its instance and settings, providers = a local sandbox)
ui: $(STAMP)
	$(BIN)/python -m beat.ui

services:
	bash scripts/ensure-services.sh

bench: $(STAMP) services
	$(BIN)/python bench/queue_bench.py
	$(BIN)/python bench/pipeline_bench.py
	$(BIN)/python bench/followers_bench.py
	$(BIN)/python bench/relay_bench.py
	$(BIN)/python bench/media_bench.py
	$(BIN)/python bench/gpt_bench.py
	$(BIN)/python bench/analytics_bench.py
	$(BIN)/python bench/read_api_bench.py
	$(BIN)/python bench/youtube_bench.py
	$(BIN)/python bench/shopify_bench.py
	$(BIN)/python bench/export_bench.py
	$(BIN)/python bench/retention_bench.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

## clean: everything the demo and the UI stored (.beat: databases, objects, events, instance)
clean:
	rm -rf .beat
