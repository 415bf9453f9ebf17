# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-faq bench install-dev browser redis clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(PY) -m uvicorn server:app --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

install-dev: $(VENV)/.dev-installed

# The browser tests need Debian's Chromium and the Redis tests a redis-server;
# install them when missing and we may (root, or passwordless sudo).
browser:
	@command -v chromium >/dev/null || bash scripts/apt-install.sh chromium
redis:
	@command -v redis-server >/dev/null || bash scripts/apt-install.sh redis-server

test: install-dev browser redis
	$(PY) -m pytest -q
	$(PY) -m bot test-faq tests/faq/*.yaml --quiet --threshold 0.85

bench: install-dev
	$(PY) bench/bench_match.py
	$(PY) bench/bench_http.py
	$(PY) bench/bench_ws.py

clean:
	rm -rf $(VENV) data test-output .pytest_cache
