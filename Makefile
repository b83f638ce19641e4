# The two commands of the README, each doing its own set-up on a fresh machine:
#   make train   trains the reference CNN      make test   runs the test suite (make test-slow: the rest)
# Both create .venv (once), install the package editable with its dev tools (again only when
# pyproject.toml changes) and fetch MNIST into the cache (once).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: train test test-slow bench lint format data docs docs-assets serve clean help

help:
	@echo "make train   train the reference CNN: 5 epochs, about 50 s on 2 cores (sets up on first use)"
	@echo "make test    run the test suite on every core, about 8 minutes on 2 cores (sets up on first use)"
	@echo "make test-slow  the tests that train for over a minute (5 to 9 minutes on 2 cores)"
	@echo "make bench   measure the zoo's targets and time to accuracy (about 50 minutes on 2 cores)"
	@echo "make lint    ruff check and format check"
	@echo "make docs    build the course site into site/ (make serve: browse it locally)"
	@echo "make docs-assets  regenerate the site's figures, tables and numbers (trains models: minutes)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

data: $(STAMP)
	$(BIN)/mnist-lab data fetch

train: data
	$(BIN)/mnist-lab train reference

# The suite includes the course site: built strictly, then opened in a headless Chromium.
# One pytest-xdist worker per core, each module on one worker (its fixtures are built once; see
# tests/conftest.py). Tests marked slow (training for over a minute) run in `make test-slow`
# instead: CI runs both.
PYTEST_ARGS := --durations=25
test: data $(DOCS_STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow" $(PYTEST_ARGS)

test-slow: data $(DOCS_STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

bench: data
	$(BIN)/python tests/perf/targets.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Trains and benchmarks real models: run it when the code behind a figure changes, then commit
# docs/assets/generated/ and README.md. `make docs` and `make test` only read what it wrote.
# The exercises' numbers come from their solutions, chapters 9-11's from small trainings
# (docs/_tools/chapter_figures.py, a few minutes); the README's blocks from all the facts.
docs-assets: data
	$(BIN)/python docs/_tools/site_assets.py
	$(BIN)/python docs/_tools/exercise_facts.py
	$(BIN)/python docs/_tools/chapter_figures.py
	$(BIN)/python docs/_tools/learn_figures.py
	$(BIN)/python docs/_tools/backprop_figures.py
	$(BIN)/python docs/_tools/calibration_figures.py
	$(BIN)/python docs/_tools/init_figures.py
	$(BIN)/python docs/_tools/shift_figures.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python docs/_tools/numpy_cnn_figures.py
	$(BIN)/python docs/_tools/readme_facts.py

serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf site .pytest_cache .hypothesis .ruff_cache
