# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SRC_DIRS := src solutions autograde tests benchmarks

.PHONY: demo test release bundle lint format venv clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

release: $(STAMP)
	$(PY) -m autograde.build.release

bundle: $(STAMP) release
	$(VENV)/bin/cnnlab-grade bundle --out dist/

demo: $(STAMP) release
	$(PY) -m autograde.build.execute
	$(VENV)/bin/cnnlab-grade demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check $(SRC_DIRS)
	$(VENV)/bin/ruff format --check $(SRC_DIRS)

format: $(STAMP)
	$(VENV)/bin/ruff format $(SRC_DIRS)
	$(VENV)/bin/ruff check --fix $(SRC_DIRS)

clean:
	rm -rf build .pytest_cache
