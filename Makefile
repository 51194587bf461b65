# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SRC_DIRS := src solutions autograde tests benchmarks

.PHONY: demo test release bundle site lint format venv clean

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

# The course website, offline: build/site/html/index.html (autograde/build/site.py)
site: $(STAMP)
	$(PY) -m autograde.build.site

demo: $(STAMP) release
	$(PY) -m autograde.build.execute
	$(VENV)/bin/cnnlab-grade demo

test: $(STAMP)
	@test -x /usr/bin/chromium || echo "make test: no /usr/bin/chromium, so the browser tests \
	(tests/browser, marker 'browser') will be SKIPPED; to run them: apt-get install -y chromium \
	fonts-dejavu-core (.ci/run does)"
	$(PY) -m pytest -n 2 --dist loadgroup --durations=20

lint: $(STAMP)
	$(VENV)/bin/ruff check $(SRC_DIRS)
	$(VENV)/bin/ruff format --check $(SRC_DIRS)

format: $(STAMP)
	$(VENV)/bin/ruff format $(SRC_DIRS)
	$(VENV)/bin/ruff check --fix $(SRC_DIRS)

clean:
	rm -rf build .pytest_cache
