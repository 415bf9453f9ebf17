# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-faq bench install-dev browser redis audit clean

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
	exec $(PY) -m uvicorn server:app --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

install-dev: $(VENV)/.dev-installed

# The browser tests need Debian's Chromium and the Redis tests a redis-server;
# install them when missing and we may (root, or passwordless sudo).
browser:
	@command -v chromium >/dev/null || bash scripts/apt-install.sh chromium
redis:
	@command -v redis-server >/dev/null || bash scripts/apt-install.sh redis-server

test: install-dev browser redis
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n auto --dist loadfile  # one worker per core; a file's servers stay in one worker
	$(PY) -m bot test-faq tests/faq/*.yaml --quiet --threshold 0.85

bench: install-dev
	$(PY) bench/bench_match.py
	$(PY) bench/bench_http.py
	$(PY) bench/bench_ws.py

# Known vulnerabilities in the pinned dependencies, as PyPI's advisory data reports them today
# (`make audit AUDIT_SERVICE=osv` asks OSV instead). Needs the network, so it is not part of
# `make test`. pip-audit lives in a venv of its own: its dependencies stay out of the bot's, and
# it resolves each requirements file afresh in isolation, so the report covers exactly what those
# files install, transitive ones included. --strict: a package the service cannot answer for fails
# the audit, where pip-audit would otherwise say "No known vulnerabilities found" and exit 0.
AUDIT_VENV := .venv-audit
PIP_AUDIT := pip-audit==2.10.1
AUDIT_SERVICE ?= pypi
AUDIT := $(AUDIT_VENV)/bin/pip-audit --vulnerability-service $(AUDIT_SERVICE) --desc on --progress-spinner off --strict

$(AUDIT_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AUDIT_VENV)/bin/python -m pip install --quiet $(PIP_AUDIT)
	touch $@

audit: $(AUDIT_VENV)/.installed
	@date -u '+%Y-%m-%d %H:%M UTC'; $(AUDIT_VENV)/bin/pip-audit --version
	@echo "== requirements.txt: what the bot runs on =="
	@$(AUDIT) -r requirements.txt; runtime=$$?; \
	echo "== requirements-dev.txt: the above, and the tools that test it (not deployed) =="; \
	$(AUDIT) -r requirements-dev.txt; dev=$$?; \
	test $$runtime -eq 0 && test $$dev -eq 0

clean:
	rm -rf $(VENV) $(AUDIT_VENV) data test-output .pytest_cache
