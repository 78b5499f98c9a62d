# Two commands for a fresh machine: `make demo` and `make test` (`make lint`, then the suite).
# Both install the exact versions in requirements-test.lock (with hashes), so a fresh clone on any day
# runs what was tested. `make lock` refreshes the lock from pyproject.toml's ranges; `make test-latest`
# runs the suite on the newest versions those ranges allow, to see breakage coming.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LATEST := .venv-latest
UV_VERSION := 0.13.9
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: demo test lint install lock test-latest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml requirements-test.lock | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) --require-hashes --no-deps -r requirements-test.lock
	$(BIN)/python -m pip install $(PIP_QUIET) --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bot demo

test: lint
	$(BIN)/python -m pytest -q

# Style, complexity (C901 <= 12) and the import contracts (layers, no cycles), all in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo

# uv resolves for every platform at once (--universal) and records every file's hash.
lock: | $(BIN)/python
	$(BIN)/python -m pip install $(PIP_QUIET) uv==$(UV_VERSION)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet --extra test -o requirements-test.lock

test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install $(PIP_QUIET) --upgrade --upgrade-strategy eager '.[test]'
	$(LATEST)/bin/python -m pip freeze --exclude-editable
	$(LATEST)/bin/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(LATEST) demo-output
