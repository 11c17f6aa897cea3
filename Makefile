# The two commands an operator needs: `make demo` and `make test`.
# Both create the virtualenv (.venv) and install the pinned dependencies first.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test test-core test-molecule lint sanity bench bench-quick chaos clean venv

venv: $(STAMP)
$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	@touch $(STAMP)

## make demo: a throwaway PostgreSQL with a realistic, troubled queue; health and a check-mode heal
demo: $(STAMP)
	@bash scripts/demo.sh

## make test: every test (pytest suites, lint, sanity, Molecule scenarios)
test: $(STAMP)
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache reports artifacts
