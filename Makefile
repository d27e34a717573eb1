# Everything a newcomer needs: `make dev` runs the service locally, `make test` passes the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# `make package STAGE=prod` builds the production template (see docs/aws.md).
STAGE ?= dev
# `make test` runs test files in this many processes (CI has 2 cores). The OpenAPI fuzz runs on
# its own: under pytest-xdist, Schemathesis would run only a handful of its cases.
TEST_WORKERS ?= 2
FUZZ := tests/e2e/test_openapi_fuzz.py
# The browser tests drive Debian's Chromium (Playwright cannot download its own builds here).
CHROMIUM := /usr/bin/chromium

.PHONY: setup dev rotate-key test lint contracts package bench clean

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26.3"
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else echo "the browser tests need Chromium: run 'sudo apt-get install -y chromium'"; exit 1; fi

setup: $(PY_STAMP) $(NODE_STAMP) $(CHROMIUM)

dev: setup
	$(PY) -m local.dev

# Rotate a hot key of the running `make dev` (PURPOSE=faucet or escrow; see docs/operations.md).
PURPOSE ?= faucet
rotate-key:
	$(PY) -m local.rotate_key $(PURPOSE)

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=$(FUZZ)
	$(PY) -m pytest $(FUZZ)

lint: setup
	$(VENV)/bin/ruff check .

contracts: setup
	$(PY) scripts/compile_contracts.py

package: setup
	$(PY) -m scripts.package_app build/package-$(STAGE) --stage $(STAGE)

bench: setup
	@for b in bench/bench_*.py; do n=$$(basename $$b .py); echo "== $$n"; $(PY) -m bench.$$n || exit 1; done

clean:
	rm -rf $(VENV) node_modules build .pytest_cache
