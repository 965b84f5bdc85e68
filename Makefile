# SIT Vallenar: `make run` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
ARGS   ?=
export SIT_DATA_DIR ?= $(CURDIR)/var
# Root installs Debian packages directly; other users go through sudo.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test lint bench bench-quick bench-map bench-upload browser postgis ogcapi clean

setup: $(VENV)/.installed static/vendor/.stamp
	$(BIN)/python cli.py build

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Leaflet and its plugins, pinned, from the npm registry (never committed).
static/vendor/.stamp: scripts/vendor_assets.py $(VENV)/.installed
	$(BIN)/python scripts/vendor_assets.py

# views.launch freezes the code, then runs Streamlit's command line (views/heap.py).
# Streamlit's own upload limit equals the product's (SIT_UPLOAD_LIMIT_MB, rounded up to whole MB);
# a bad value has already stopped `setup` with one Spanish line (layers/settings.py).
# ARGS: more of Streamlit's options, such as the reload on save of .streamlit/config.toml. They go
# first: the upload limit after them wins (Streamlit takes an option's last value), so it stays the product's.
run: setup
	$(BIN)/python -m views.launch run app.py --server.port $(PORT) $(ARGS) \
	  --server.maxUploadSize "$$($(BIN)/python -m layers.settings streamlit_upload_mb)"

# Debian's chromium drives the browser tests (no browser download by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; }

# PostgreSQL and PostGIS from Debian: the tests start their own throw-away server (tests/pg.py).
postgis:
	@ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q postgresql postgresql-postgis postgis; }

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: lint setup browser postgis
	$(BIN)/python -m pytest

# OGC API - Features of the store for QGIS (pygeoapi), on http://127.0.0.1:$(OGCAPI_PORT)/
OGCAPI_PORT ?= 5000
ogcapi: setup
	$(BIN)/python cli.py ogcapi --port $(OGCAPI_PORT)

# The real app and a fair naive app in headless Chromium, shipped data and 100x, one table (bench/README.md).
bench: setup browser
	$(BIN)/python bench/bench_app.py

# The same harness on the shipped data only, 2 runs: checks that it works, measures nothing.
bench-quick: setup browser
	$(BIN)/python bench/bench_app.py --quick

# Older in-process figures of the map's HTML (filter, build, render, size).
bench-map: setup
	$(BIN)/python bench/bench_map.py

# Server memory before and after an anonymous visitor pushes 2 x 60 MB to Streamlit's upload endpoint.
bench-upload: setup
	$(BIN)/python bench/bench_upload_memory.py

clean:
	rm -rf $(VENV) var static/vendor static/mapas tests/artifacts .pytest_cache
