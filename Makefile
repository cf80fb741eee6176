# Two commands: `make run` serves the app with demo data, `make test` runs every check.
# Everything the project needs is installed from here; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
CATALOG := translations/de/LC_MESSAGES/messages

.PHONY: install system-packages run test lint typecheck layers unit e2e bench translations extract-messages clean

# Debian packages the tests drive for real: Chromium (browser tests) and ClamAV's clamd (virus
# scanning). Installed when missing; needs root and apt (as on the development and CI machines).
DEBIAN_PACKAGES := chromium:/usr/bin/chromium clamav-daemon:/usr/sbin/clamd

install: $(VENV)/.installed node_modules/.installed $(CATALOG).mo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CATALOG).mo: $(CATALOG).po $(VENV)/.installed
	$(BIN)/pybabel compile -d translations -D messages -l de
	@test -f $@ || { echo "the German catalogue did not compile (fuzzy header?)"; exit 1; }

translations: $(CATALOG).mo

# StaffError carries an English msgid that the page translates when it shows the refusal.
EXTRACT_KEYWORDS := -k _l -k lazy_gettext -k StaffError -k OrderError -k StaleOrder

# Refresh the message catalogue after changing texts; then translate what is new in messages.po.
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_KEYWORDS) -o translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -D messages -l de --no-fuzzy-matching --ignore-obsolete --width 100

run: install
	$(BIN)/amtsweg db upgrade
	$(BIN)/amtsweg clearing seed-rules
	$(BIN)/amtsweg demo-data --if-empty
	@echo "Amtsweg runs on http://127.0.0.1:$(PORT)  (staff: http://127.0.0.1:$(PORT)/intern/)"
	$(BIN)/amtsweg run --host 127.0.0.1 --port $(PORT) --no-reload

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy amtsweg portal reports clearing backoffice ihv storage tests bench migrations

# Also run by tests/test_layers.py inside the test suite.
layers: install
	$(BIN)/lint-imports

system-packages:
	@missing=""; for entry in $(DEBIAN_PACKAGES); do \
		[ -x "$${entry#*:}" ] || missing="$$missing $${entry%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root or install them:$$missing"; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# One pytest worker per core (pytest-xdist); each worker gets its own PostgreSQL database.
unit: install system-packages
	$(BIN)/pytest -n auto --dist worksteal

# The browser tests alone (they are part of `make unit` and `make test` too).
e2e: install system-packages
	$(BIN)/pytest tests/e2e

test: lint typecheck unit

# As modules (python -m bench.NAME): run as scripts, bench/queue.py would shadow the stdlib's queue.
bench: install
	@for b in storage queue cases bescheide submit load; do echo "== bench/$$b.py"; \
		$(BIN)/python -m bench.$$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
