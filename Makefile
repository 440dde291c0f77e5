# Two commands for a newcomer (see README):
#   make run    set up, build the index over seeds/ if there is none, and start the main job
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch 2.13.0 is the CPU build; it must be installed before anything pulls torch in,
# or pip fetches a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
# Debian's chromium drives the browser test (Playwright's own browser download is never used).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test,distributed]'
	touch $@

setup: $(VENV)/.installed

$(CHROMIUM):
	@echo "The browser test needs Debian's chromium; installing it."
	$(SUDO) apt-get install -y -qq chromium || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

# The chat over the index (built from seeds/ first if there is none) at http://127.0.0.1:7860
run: setup
	$(BIN)/qa serve

test: setup $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n auto --maxprocesses=4 --dist loadgroup

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
