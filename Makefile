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
LAB_PORT ?= 8888
# Temporary files of builds (kernel connection files) stay in the checkout, so even a build
# stopped half-way leaves /tmp as it found it. Tests keep the system's: pytest runs started
# inside the checkout would pick up this project's pytest settings.
RUN_TMP := $(CURDIR)/.cache/tmp

.PHONY: help setup serve build test lab bench lock fmt lint clean

help:
	@echo "make serve  - set up .venv and serve the site on http://$(HOST):$(PORT) with live reload"
	@echo "make test   - set up .venv and run every test (unit, notebooks, site build, lint)"
	@echo "make build  - strict static build into site/ (executes the notebooks)"
	@echo "make lab    - JupyterLab on notebooks/ with the project kernel registered (LAB_PORT=8888)"
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
	@mkdir -p $(RUN_TMP)
	TMPDIR=$(RUN_TMP) $(VENV)/bin/mkdocs build --strict

# pytest exits 5 when it collects nothing; an empty folder is not a failure.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n $(JOBS) --dist loadfile; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

lab: $(STAMP)
	@mkdir -p $(RUN_TMP)
	@# ipykernel install leaves an empty *_kernels folder in TMPDIR: keep it out of /tmp.
	TMPDIR=$(RUN_TMP) $(PY) -m ipykernel install --user --name resource-cleanup-handbook \
		--display-name "Resource Cleanup Handbook (.venv)"
	@echo "JupyterLab: http://$(HOST):$(LAB_PORT)/lab (open the address with ?token=... printed below)"
	@# JupyterLab refuses root unless told; a container often runs as root.
	$(VENV)/bin/jupyter lab --ip $(HOST) --port $(LAB_PORT) --port-retries 0 \
		--notebook-dir notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

bench: $(STAMP)
	$(PY) -m leaklab.bench

# rfc3987-syntax (wanted by jupyter-events through jsonschema[format-nongpl]) only checks the
# "iri" string format, which nothing here validates, and compiles a grammar when jsonschema
# imports it: about 1.3 s of every site build. Left out, jsonschema skips that format.
lock: $(STAMP)
	$(VENV)/bin/uv pip compile -q pyproject.toml --extra dev --universal \
		--python-version 3.11 --no-emit-package rfc3987-syntax -o requirements.lock
	$(VENV)/bin/uv pip compile -q requirements-ldr.in --universal \
		--python-version 3.12 -o requirements-ldr.lock

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf site .cache .pytest_cache
