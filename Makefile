# calea: two commands.  `make run` sets everything up and runs the system with a demo
# account; `make test` runs the whole suite (SQLite, and PostgreSQL when one is reachable).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export CALEA_HOME ?= $(CURDIR)/var
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test install unit integration lint clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/calea serve --demo --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python scripts/run_tests.py $(ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit -q $(ARGS)

integration: install
	$(BIN)/python scripts/run_tests.py tests/integration $(ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
