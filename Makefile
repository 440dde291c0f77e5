# Two commands for a newcomer (see README):
#   make run    set up, build the index over seeds/ if there is none, and start the main job
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch 2.13.0 is the CPU build; it must be installed before anything pulls torch in,
# or pip fetches a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
QUESTIONS := "How much was SenseTime's planned IPO worth?" "Who founded SenseTime?" "Why did SenseTime postpone its IPO?"

.PHONY: setup run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	@$(BIN)/qa index stats >/dev/null 2>&1 || $(BIN)/qa index build seeds
	@for q in $(QUESTIONS); do echo "> $$q"; $(BIN)/qa ask "$$q"; echo; done

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
