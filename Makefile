# The two commands an operator needs: `make demo` and `make test`.
# Both create the virtualenv (.venv) and install the pinned dependencies first.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test test-core test-molecule lint sanity units galaxy-build-check docs bench bench-quick chaos diagnosis clean venv

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
test: $(STAMP) lint sanity units
	$(BIN)/python -m pytest tests -q -p no:cacheprovider $(PYTEST_ARGS)

## make test-molecule: only the Molecule scenarios (podman containers; also run by make test)
test-molecule: $(STAMP)
	$(BIN)/python -m pytest tests/molecule -q -p no:cacheprovider $(PYTEST_ARGS)

## Quality gates (also run by make test). The galaxy build-and-install check is a pytest
## file, so `make test` runs it with the other suites; `make galaxy-build-check` runs it alone.
PYVER = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
## make lint: ansible-lint, production profile, over the whole repository (.ansible-lint)
lint: $(STAMP)
	$(BIN)/ansible-lint --profile production
## make sanity: ansible-test sanity for the collection, no Docker (tools in ansible-test's venvs)
sanity: $(STAMP)
	scripts/ansible-test-offline.sh sanity --venv --python $(PYVER) --color no
## make units: ansible-test units (module_utils and filters) for the collection
units: $(STAMP)
	scripts/ansible-test-offline.sh units --venv --python $(PYVER) --color no
galaxy-build-check: $(STAMP)
	$(BIN)/python -m pytest tests/ecosystem/test_galaxy_build.py -q -p no:cacheprovider
## make docs: regenerate docs/modules, docs/roles (scripts/gen_docs.py) and CHANGELOG.rst (antsibull-changelog)
docs: $(STAMP)
	$(BIN)/python scripts/gen_docs.py
	cd collections/ansible_collections/tsh/zoho_sync && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections \
	  $(CURDIR)/$(BIN)/antsibull-changelog release --refresh --reload-plugins

## make bench-quick: the benchmarks at 10k and 100k history, a small dense dataset and a 4-host fleet
## (about two minutes); make bench: up to 10M, dense up to 10M (cached, bench/dense.py), 20-host fleet
bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

bench: $(STAMP)
	$(BIN)/python -m bench.run --full

## make chaos: the long form of the reliability suite (50,000-item race, 20 killed heals, ...);
## writes the table of docs/reliability.md from the run's results (also when a test fails)
chaos: $(STAMP)
	@mkdir -p artifacts/chaos
	ZOHO_CHAOS=1 ZOHO_CHAOS_RESULTS=artifacts/chaos/results.json $(BIN)/python -m pytest tests/reliability -q \
	  -p no:cacheprovider --junitxml=artifacts/chaos/junit.xml $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/python -m tests.reliability.report artifacts/chaos/results.json artifacts/chaos/junit.xml \
	  docs/reliability.md && exit $$status

## make diagnosis: the diagnosis scenario corpus (also run by make test); writes its precision/recall
## table into docs/diagnosis.md from the run's results (also when a scenario fails)
diagnosis: $(STAMP)
	@mkdir -p artifacts/diagnosis
	ZOHO_DIAGNOSIS_RESULTS=artifacts/diagnosis/corpus.json $(BIN)/python -m pytest tests/diagnosis -q \
	  -p no:cacheprovider $(PYTEST_ARGS); status=$$?; \
	  $(BIN)/python -m tests.diagnosis.report artifacts/diagnosis/corpus.json docs/diagnosis.md && exit $$status

clean:
	rm -rf $(VENV) .pytest_cache reports artifacts
