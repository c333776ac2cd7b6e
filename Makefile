# 职评 Zhiping — the whole set-up on a fresh machine is `make run` or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STATIC := app/static
export FLASK_APP := wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
DEBIAN_PACKAGES := wkhtmltopdf fonts-noto-cjk poppler-utils zbar-tools chromium redis-server
CI_DATABASE_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: help setup system-packages python-packages assets db run test test-sqlite test-postgres lint bench clean \
	bench-review-chain bench-inbox bench-engine-step bench-load

help:
	@echo "make run    install what is missing, prepare the database with demo data, serve on http://$(HOST):$(PORT)"
	@echo "make test   install what is missing and run the whole suite (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)"
	@echo "make lint   ruff and mypy"
	@echo "make bench  benchmarks in bench/ (one of them: make bench-review-chain, bench-inbox, bench-engine-step, bench-load)"

setup: system-packages python-packages assets

# Debian packages for PDFs (wkhtmltopdf + CJK fonts, poppler and zbar to read them back in tests) and browser tests
# (chromium); only as root, only when missing.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: missing Debian packages:$$missing (run make setup as root to install them)"; fi; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

python-packages: $(VENV)/.installed

$(STATIC)/node_modules/.package-lock.json: $(STATIC)/package.json $(STATIC)/package-lock.json
	cd $(STATIC) && npm ci --no-audit --no-fund --loglevel=error

# Front-end packages come from the npm registry and are copied into the git-ignored vendor/ folder.
# bpmn-js: the navigated viewer draws diagrams on task pages, the modeler edits them (流程管理); its bpmn.io
# watermark stays visible (its licence).
$(STATIC)/vendor/.copied: $(STATIC)/node_modules/.package-lock.json
	rm -rf $(STATIC)/vendor && mkdir -p $(STATIC)/vendor/bootstrap $(STATIC)/vendor/bootstrap-icons $(STATIC)/vendor/htmx $(STATIC)/vendor/bpmn-js
	cp -r $(STATIC)/node_modules/bootstrap/dist/css $(STATIC)/node_modules/bootstrap/dist/js $(STATIC)/vendor/bootstrap/
	cp -r $(STATIC)/node_modules/bootstrap-icons/font $(STATIC)/vendor/bootstrap-icons/
	cp $(STATIC)/node_modules/htmx.org/dist/htmx.min.js $(STATIC)/vendor/htmx/
	cp $(STATIC)/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(STATIC)/vendor/bpmn-js/
	cp $(STATIC)/node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(STATIC)/vendor/bpmn-js/
	cp -r $(STATIC)/node_modules/bpmn-js/dist/assets/bpmn-font $(STATIC)/vendor/bpmn-js/
	cp $(STATIC)/node_modules/bpmn-js/dist/assets/*.css $(STATIC)/vendor/bpmn-js/
	touch $@

assets: $(STATIC)/vendor/.copied

db: python-packages
	$(BIN)/flask db upgrade
	$(BIN)/flask workflow deploy
	$(BIN)/flask seed-demo

# The web server, one Celery worker for background jobs and Celery beat (BPMN timers every 30 s, stale-job
# recovery), on the embedded broker in instance/; all three stop together.
run: setup db
	@echo "serving on http://$(HOST):$(PORT) with a job worker and beat  (Ctrl-C to stop)"
	@$(BIN)/celery -A app.worker worker --loglevel=WARNING --concurrency=1 -n zhiping@%h & worker=$$!; \
	$(BIN)/celery -A app.worker beat --loglevel=WARNING -s instance/celerybeat-schedule & beat=$$!; \
	trap "kill $$worker $$beat 2>/dev/null; wait $$worker $$beat 2>/dev/null" EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# Under CI=true the PostgreSQL run is mandatory: fail loudly when the server cannot be reached.
test: setup
	@if [ "$$CI" = "true" ]; then export TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$(CI_DATABASE_URL)}"; fi; \
	if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(BIN)/python -c "import sys, sqlalchemy as sa; e = sa.create_engine(sys.argv[1]); e.connect().close()" "$$TEST_DATABASE_URL" \
	    || { echo "ERROR: PostgreSQL at $$TEST_DATABASE_URL cannot be reached; the PostgreSQL run must not be skipped." >&2; exit 1; }; \
	fi; \
	if [ "$$CI" = "true" ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  echo "starting redis-server on 127.0.0.1:6379 for the job tests"; \
	  redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes >/dev/null; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done; \
	  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 \
	    || { echo "ERROR: Redis on 127.0.0.1:6379 cannot be started; the job tests on Redis must not be skipped." >&2; exit 1; }; \
	fi; \
	echo "== test suite on SQLite =="; env -u TEST_DATABASE_URL $(BIN)/python -m pytest -n 2 || exit $$?; \
	if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== test suite on PostgreSQL =="; TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/python -m pytest -n 2 || exit $$?; \
	fi

lint: python-packages
	$(BIN)/ruff check app services tests bench
	$(BIN)/mypy services

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit $$?; done

# One benchmark each (PostgreSQL too when TEST_DATABASE_URL is set; bench-load needs it).
bench-review-chain: setup
	$(BIN)/python bench/review_chain.py --declarations 1000
bench-inbox: setup
	$(BIN)/python bench/inbox.py --explain
bench-engine-step: setup
	$(BIN)/python bench/engine_step.py
bench-load: setup
	$(BIN)/python bench/load_review.py --seconds 60

clean:
	rm -rf $(VENV) $(STATIC)/node_modules $(STATIC)/vendor instance
