# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-types test-faq bench install-dev browser redis audit clean

# The packages go in with uv, which fetches and unpacks them in parallel: set-up takes about 8 s
# where pip took 50. uv itself comes from PyPI by the interpreter's own pip, into the venv.
# Then one import of the server and uvicorn's command line compiles what `make run` imports (2 s),
# so that its first start is nearly as quick as the next ones; uv's --compile-bytecode took 7 s,
# for every module of every package.
# Python compiles the rest as it is imported and keeps it, as run and test let it (below).
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_INSTALL := $(UV) pip install --quiet --python $(PY)

$(VENV)/bin/python:
	$(PYTHON) -m venv --without-pip $(VENV)

$(UV): | $(VENV)/bin/python
	$(PYTHON) -m pip --python $(PY) install --quiet uv==$(UV_VERSION) \
	  || { $(PY) -m ensurepip --default-pip >/dev/null && $(PY) -m pip install --quiet uv==$(UV_VERSION); }

$(STAMP): requirements.txt | $(UV)
	$(UV_INSTALL) -r requirements.txt
	PYTHONDONTWRITEBYTECODE= $(PY) -c "import server, uvicorn.main"
	touch $(STAMP)

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(STAMP)
	$(UV_INSTALL) -r requirements-dev.txt
	touch $@

run: $(STAMP)
	exec $(PY) -m uvicorn server:app --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

install-dev: $(VENV)/.dev-installed

# The browser tests need Debian's Chromium and the Redis tests a redis-server;
# install them when missing and we may (root, or passwordless sudo). The browser is Chromium's
# headless shell, which Playwright also uses for headless runs: the same Blink and V8 without the
# desktop browser around them, it spent 31 s of CPU on the widget tests where chromium spent 66.
browser:
	@command -v chromium-headless-shell >/dev/null || bash scripts/apt-install.sh chromium-headless-shell
redis:
	@command -v redis-server >/dev/null || bash scripts/apt-install.sh redis-server

# This machine's environment sets PYTHONDONTWRITEBYTECODE. For the server and the tests it is
# cleared, so that Python keeps what it compiles in __pycache__ (ignored by git): with it, every
# start of `make run` compiled what set-up did not (uvicorn's protocols, ...) again, each
# of the tests' processes compiled the bot's modules again (~0.3 s a process), and pytest rewrote
# the assertions of every module of its plugins (~4 s a process) on every run.
run test test-unit test-types test-faq: export PYTHONDONTWRITEBYTECODE :=

# The three checks after ruff run side by side, each one's output printed whole as it ends: the
# tests leave a core idle about a third of the time (they wait on browsers, servers and timers),
# which mypy (12 s alone on an empty cache) and the FAQ suites (3 s) fill. `make test-unit` shows pytest's progress.
test: install-dev browser redis
	$(VENV)/bin/ruff check .
	@$(MAKE) --no-print-directory -j3 --output-sync=target test-faq test-types test-unit

# One worker more than there are cores: some files mostly wait (test_line.py: 15 s for 1 s of CPU,
# on servers, a fake LINE API and timers), and while they do, a core would idle. Alternated, three
# workers against two on this 2-core machine: make test after set-up 67, 62, 65 s against 66, 69,
# 72 s. A file's tests stay in one worker (--dist loadfile: its servers are shared), and files go
# out in the order conftest.py gives, longest first, not by their number of tests.
PYTEST_WORKERS ?= $(shell expr $$(nproc) + 1)
test-unit: install-dev browser redis
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test-types: install-dev
	$(VENV)/bin/mypy

test-faq: install-dev
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
