# Resource Cleanup Handbook — every entry point sets up .venv from the lock first.
SHELL := /bin/sh
export NO_MKDOCS_2_WARNING := 1
PYTHON ?= $(shell scripts/find-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest-xdist workers; notebooks are spread one file per worker.
JOBS ?= 2

.PHONY: help setup serve build test lab bench lock fmt lint clean

help:
	@echo "make serve  - set up .venv and serve the site on http://$(HOST):$(PORT) with live reload"
	@echo "make test   - set up .venv and run every test (unit, notebooks, site build, lint)"
	@echo "make build  - strict static build into site/ (executes the notebooks)"
	@echo "make lab    - JupyterLab on notebooks/ with the project kernel registered"
	@echo "make bench  - print benchmark figures"
	@echo "make lock   - re-resolve requirements.lock (and requirements-ldr.lock for ldr-check)"

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check "$$(grep -E '^uv==' requirements.lock | cut -d' ' -f1)"
	$(VENV)/bin/uv pip sync -q --python $(PY) requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	@touch $(STAMP)

serve: $(STAMP)
	scripts/serve.sh $(HOST) $(PORT)

build: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

# pytest exits 5 when it collects nothing; an empty folder is not a failure.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n $(JOBS) --dist loadfile; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

lab: $(STAMP)
	$(PY) -m ipykernel install --user --name resource-cleanup-handbook \
		--display-name "Resource Cleanup Handbook (.venv)"
	$(VENV)/bin/jupyter lab --ip $(HOST) --notebook-dir notebooks

bench: $(STAMP)
	$(PY) -m leaklab.bench

lock: $(STAMP)
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev --universal \
		--python-version 3.11 -o requirements.lock
	$(VENV)/bin/uv pip compile -q requirements-ldr.in --universal \
		--python-version 3.12 -o requirements-ldr.lock

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf site .cache .pytest_cache
