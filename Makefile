# Two commands matter: `make run` (set up, build, serve on http://127.0.0.1:5000) and `make test`.
# Both work on a fresh machine with Python 3.11+, pip and make; `make test` also installs, through apt-get, what the
# browser tests need (Debian's chromium) and the store the remote-backend tests also run over (Debian's Virtuoso),
# and the web UI's npm packages.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall when the dependencies change.
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run build test lint format bench clean

# The browser tests drive Debian's chromium through Playwright (the Python package, from PyPI): a browser is
# never downloaded. apt-get runs through sudo when make does not run as root.
CHROMIUM := /usr/bin/chromium
# Virtuoso: a SPARQL store whose default graph is the union of its named graphs (tests/test_serve_store.py).
VIRTUOSO := /usr/bin/virtuoso-t
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $@

# The web UI's libraries (YASGUI, Chart.js, Swagger UI), served from this machine: never a CDN.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(STAMP) node_modules/.installed

build: install
	$(BIN)/mlcloudkg build

run: build
	$(BIN)/mlcloudkg serve

$(CHROMIUM) $(VIRTUOSO) &:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver virtuoso-opensource

test: build $(CHROMIUM) $(VIRTUOSO)
	# Two test processes: the suite waits on live servers and subprocesses as much as it computes.
	$(BIN)/python -m pytest -n 2

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: build
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .pytest_cache node_modules
