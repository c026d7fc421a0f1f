# Two commands do everything on a fresh machine:
#   make run    # .venv, install, migrate, demo data, then web + worker + beat (+ embedded Redis)
#   make test   # .venv, test tools, Chromium, lint, then the suite on SQLite and on PostgreSQL + Redis
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/pulsera
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test test-sqlite test-postgres lint browser format clean bench-ingest bench-alerts bench-inference pulsenet-train pulsenet-evaluate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "Installing requirements.txt into $(VENV) (first run takes a minute or two)..."
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	@echo "Installing test tools..."
	$(PIP) -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	$(BIN)/python -m pulsera.devstack

test: $(VENV)/.installed-dev browser lint test-sqlite test-postgres

# Debian's chromium + chromedriver for the browser tests (installed with apt-get when root).
browser:
	@bash scripts/ensure-browser.sh

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

test-sqlite: $(VENV)/.installed-dev
	@echo "== pass 1/2: the whole suite on SQLite =="
	$(BIN)/python -m pytest

# On a machine without PostgreSQL/Redis the second pass is skipped with instructions; in CI it must run.
test-postgres: $(VENV)/.installed-dev
	@echo "== pass 2/2: the whole suite on PostgreSQL, with real Redis, Celery and channels-redis =="
	@if $(BIN)/python -m tests.probe "$(PG_TEST_URL)"; then \
		PULSERA_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/python -m pytest; \
	elif [ -n "$$CI" ]; then \
		echo "CI needs PostgreSQL and Redis on 127.0.0.1 (see above)."; exit 1; \
	else \
		echo "Skipped the PostgreSQL pass (see above for how to run it)."; \
	fi

# The ingest benchmark (docs/benchmarks.md); needs PostgreSQL and Redis on 127.0.0.1.
bench-ingest: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench_ingest.py

# Red-flag latency under ingest load: anomalous sample -> first caregiver notification, with the
# Procfile's processes (docs/benchmarks.md); about 5 minutes.
bench-alerts: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench_alert_latency.py --watches 2000 --urgent-worker --probes 300 --duration 120

# PulseNet: retrain the committed checkpoint (seeded, ~1 min) and rewrite docs/pulsenet.md.
pulsenet-train: $(VENV)/.installed
	DJANGO_DEBUG=true $(BIN)/python manage.py pulsenet_train

pulsenet-evaluate: $(VENV)/.installed
	DJANGO_DEBUG=true $(BIN)/python manage.py pulsenet_evaluate

# Batch scoring throughput and live detection latency (docs/benchmarks.md).
bench-inference: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench_inference.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var
