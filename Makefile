PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test chat lint check install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, serve the simulator on 127.0.0.1:8000 (a real channel: set the
## LINE credentials and run `supportnavi serve`; the simulator refuses to start beside them)
run: $(STAMP)
	$(BIN)/supportnavi db upgrade
	$(BIN)/supportnavi serve --no-migrate --simulator

## make chat: talk to the bot in this terminal (starts its own simulator unless URL= is given)
chat: $(STAMP)
	$(BIN)/supportnavi chat $(if $(URL),--url $(URL),--simulator)

lint: $(STAMP)
	$(BIN)/supportnavi lint
	$(BIN)/ruff check linebot tests
	$(BIN)/mypy

## make test: install, lint, type-check, and run every test (SQLite and PostgreSQL)
test: $(STAMP) lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
