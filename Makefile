# Two commands do all set-up on a fresh machine:
#   make run   - venv, install, serve on 127.0.0.1:8969 with ./collector.db
#   make test  - every test dependency (Python, npm, Debian), then lint and the whole suite
# Quicker checks: make lint, make test-unit (seconds), make test-fast (no browser).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-unit test-fast lint install test-deps chromium bench bench-attacks screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund

tests/browser/node_modules/.package-lock.json: tests/browser/package.json tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund

# The real @sentry/react-native under React Native's Jest preset. No install
# scripts: the only ones are sentry-cli's, for source map uploads, unused here.
tests/rn/node_modules/.package-lock.json: tests/rn/package.json tests/rn/package-lock.json
	cd tests/rn && npm ci --no-audit --no-fund --ignore-scripts

# The replay page's player (Sentry's rrweb-player, pinned in player/package-lock.json),
# rebuilt into templates/static/vendor. Those files are committed: `make run` needs no npm.
.PHONY: player
player:
	cd player && npm ci --no-audit --no-fund && npm run build

install: $(VENV)/.installed

# `make run HOST=… PORT=… DB=…` passes those as flags; otherwise the collector
# reads COLLECTOR_HOST, COLLECTOR_PORT and COLLECTOR_DB, then its defaults. Only
# variables given on make's command line count: an exported PORT or HOST meant
# for another program does not move the collector.
given = $(if $(filter command line,$(origin $(1))),$(2) $($(1)))

run: install
	$(BIN)/collector serve $(call given,HOST,--host) $(call given,PORT,--port) $(call given,DB,--db)

# Debian's chromium, for the browser tests (Playwright drives it; it never
# downloads a browser of its own).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium', then make test again" >&2; exit 1; fi; }

test-deps: $(VENV)/.test-installed chromium \
	tests/node/node_modules/.package-lock.json tests/browser/node_modules/.package-lock.json \
	tests/rn/node_modules/.package-lock.json

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite; pytest exits 5 when no test ran, which fails make.
test: test-deps lint
	$(BIN)/python -m pytest -q

# No server: seconds.
test-unit: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q tests/unit

# Unit and HTTP tests (the app in-process or as a subprocess); no SDKs, Node or browser.
test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q tests/unit tests/http

# Debian's wrk (the closed-loop load of make bench) and chromium (the trace
# page's time to scroll); Playwright comes with the test extras.
.PHONY: bench-deps
bench-deps: $(VENV)/.test-installed chromium
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; \
	  else echo "wrk is missing: run 'sudo apt-get install wrk', then make bench again" >&2; exit 1; fi; }

# Ingest throughput and p99 against a do-nothing aiohttp server (wrk, closed
# loop, then an open loop at 70%), the 10k-span trace page, lookups at 1M spans,
# live clients and forwarding; PASS/FAIL per target, writes bench-results/.
bench: install bench-deps
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# make bench with Spotlight's sidecar (bench/peers, npm ci from its lock) in
# every closed-loop run; skips Spotlight with a message when npm is missing.
.PHONY: bench-peers
bench-peers: install bench-deps
	$(BIN)/python bench/run.py --peers $(BENCH_ARGS)

# What small hostile requests cost other clients (issue 11): brotli bombs,
# a 360,000-span envelope, over-limit items; loopback only, about a minute.
bench-attacks: install
	$(BIN)/python bench/attacks.py

# What --max-db-size costs ingest (issue 16): the transaction load without
# and with a bound it fills several times over; medians, ratios, peak size.
.PHONY: bench-retention
bench-retention: install
	$(BIN)/python bench/retention.py $(BENCH_ARGS)

# README's screenshot: a real stitched trace from the end-to-end test, the
# user naming itself after login and a backend segment's received headers;
# and the replay of an error (docs/replay-view.png), its request beside it.
screenshot: test-deps
	SCREENSHOT_DIR=docs $(BIN)/python -m pytest -q \
	  tests/e2e/test_trace_story_sdk.py::test_the_page_marks_the_user_switch_and_what_the_backend_received \
	  tests/e2e/test_replay_sdk.py::test_the_error_links_to_its_replay_which_plays_and_links_its_request_to_the_trace \
	  tests/e2e/test_live_pages.py::test_a_health_check_stays_hidden_and_the_count_updates

clean:
	rm -rf $(VENV) tests/node/node_modules tests/browser/node_modules tests/rn/node_modules player/node_modules
